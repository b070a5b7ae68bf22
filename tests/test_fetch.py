"""Downloads against a local HTTP server: resume after a dropped connection, checksums, 404."""

import hashlib

import pytest
from local_http import FileServer, serving

from solidcli.data.fetch import fetch
from solidcli.errors import SolidError

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def ranges() -> list[str | None]:
    """The Range header of every request so far."""
    return [r for _, r in FileServer.requests]


@pytest.fixture
def server():
    with serving({"/data.bin": PAYLOAD}) as base:
        yield base


def test_download_verifies_and_caches(server, tmp_path):
    dest = fetch(f"{server}/data.bin", tmp_path / "data.bin", SHA, quiet=True)
    assert dest.read_bytes() == PAYLOAD
    FileServer.requests.clear()
    fetch(f"{server}/data.bin", dest, SHA, quiet=True)
    assert ranges() == []  # served from the cache, no request made


def test_dropped_connection_resumes_with_range(server, tmp_path):
    FileServer.drops["/data.bin"] = 2
    dest = fetch(f"{server}/data.bin", tmp_path / "data.bin", SHA, backoff=0.01, quiet=True)
    assert dest.read_bytes() == PAYLOAD
    assert ranges()[0] is None and ranges()[1].startswith("bytes=")
    assert int(ranges()[1].split("=")[1].rstrip("-")) > 0
    assert not (tmp_path / "data.bin.part").exists()


def test_wrong_checksum_is_an_error_and_nothing_is_cached(server, tmp_path):
    with pytest.raises(SolidError, match="checksum mismatch"):
        fetch(f"{server}/data.bin", tmp_path / "data.bin", "0" * 64, quiet=True)
    assert not (tmp_path / "data.bin").exists()
    assert not (tmp_path / "data.bin.part").exists()


def test_404_names_the_url_and_where_to_put_the_file(server, tmp_path):
    with pytest.raises(SolidError, match=r"HTTP 404.*place the file by hand at .*missing\.bin"):
        fetch(f"{server}/missing.bin", tmp_path / "missing.bin", None, quiet=True)


def test_no_network_says_where_to_place_the_file(tmp_path):
    with pytest.raises(SolidError, match=r"cannot download http://127\.0\.0\.1:9/x\.bin .*"
                                         r"place it at .*x\.bin"):
        fetch("http://127.0.0.1:9/x.bin", tmp_path / "x.bin", None, retries=0, quiet=True)


def test_a_file_placed_by_hand_is_used_offline(tmp_path):
    dest = tmp_path / "x.bin"
    dest.write_bytes(PAYLOAD)
    assert fetch("http://127.0.0.1:9/x.bin", dest, SHA, quiet=True) == dest


def test_a_hung_host_is_given_up_after_two_silent_timeouts(tmp_path):
    """A host that accepts the connection and never answers: two timeouts, not every retry."""
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts; nobody ever reads or answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.bin"
        start = time.perf_counter()
        with pytest.raises(SolidError, match=r"no data for 0\.3 s, 2 times.*place it at"):
            fetch(url, tmp_path / "x.bin", None, retries=10, timeout=0.3, backoff=0.01,
                  quiet=True)
        assert time.perf_counter() - start < 0.3 * 10 / 2  # not the ten retries' timeouts
