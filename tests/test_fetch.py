"""Downloads against a local HTTP server: resume after a dropped connection, checksums, 404."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from solidcli.data.fetch import fetch
from solidcli.errors import SolidError

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    drops = 0  # how many responses still get cut in the middle
    ranges: ClassVar[list] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        if self.path != "/data.bin":
            self.send_error(404, "Not Found")
            return
        start = 0
        header = self.headers.get("Range")
        Handler.ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if Handler.drops > 0:
            Handler.drops -= 1
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.close()  # the connection drops mid-file
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.drops, Handler.ranges = 0, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_caches(server, tmp_path):
    dest = fetch(f"{server}/data.bin", tmp_path / "data.bin", SHA, quiet=True)
    assert dest.read_bytes() == PAYLOAD
    Handler.ranges.clear()
    fetch(f"{server}/data.bin", dest, SHA, quiet=True)
    assert Handler.ranges == []  # served from the cache, no request made


def test_dropped_connection_resumes_with_range(server, tmp_path):
    Handler.drops = 2
    dest = fetch(f"{server}/data.bin", tmp_path / "data.bin", SHA, backoff=0.01, quiet=True)
    assert dest.read_bytes() == PAYLOAD
    assert Handler.ranges[0] is None and Handler.ranges[1].startswith("bytes=")
    assert int(Handler.ranges[1].split("=")[1].rstrip("-")) > 0
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
