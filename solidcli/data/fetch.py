"""Download one file: streamed, resumable, checksummed, retried, cached.

`fetch(url, dest, sha256)` is what every downloadable dataset goes through:

* the file is streamed into `<dest>.part` with a rich progress bar in bytes;
* an interrupted transfer resumes from the bytes already on disk (HTTP Range);
* transient failures (connection reset or dropped, timeout, HTTP 5xx) are retried with
  back-off, resuming each time; a host that sends nothing for `timeout` s twice in a row is
  given up on (a hung mirror costs about 2 x 30 s, not every retry's);
* the finished file is checked against its SHA-256 when one is known; a mismatch deletes the
  partial file and is an error, so nothing unverified is ever cached;
* only a complete, verified file is renamed to `dest`; a later call finds it and returns;
* when the host cannot be reached the error names the URL and the path where a user can
  place the file by hand, after which the next run proceeds offline.

`fetch_first(urls, dest, sha256)` tries several mirrors of one file in order and moves on
when a host answers 4xx or cannot be reached (`SourceUnavailable`); a checksum mismatch stops.

Only the standard library is used (urllib), so no extra dependency is needed.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.client import HTTPException
from pathlib import Path

from solidcli._io import task_bar
from solidcli.errors import SolidError
from solidcli.provenance import sha256_of

CHUNK = 1 << 16
STALLS = 2  # attempts that time out without a byte before a host counts as hung
USER_AGENT = "solid"


class SourceUnavailable(SolidError):
    """This URL did not give the file (HTTP error, host unreachable, retries spent)."""


def by_hand(url: str, dest: Path, reason: object) -> SourceUnavailable:
    """The error for a file that could not be fetched: where to put it by hand."""
    return SourceUnavailable(f"cannot download {url} ({reason}); download it by hand "
                             f"and place it at {dest}, then run the command again")


def _unreachable(exc: BaseException) -> bool:
    """No network or no such host: retrying will not help."""
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (socket.gaierror, ConnectionRefusedError))


def fetch(url: str, dest: Path | str, sha256: str | None = None, *, retries: int = 4,
          timeout: float = 30.0, backoff: float = 0.5, quiet: bool = False) -> Path:
    """Return `dest` after making sure it holds the verified content of `url`."""
    dest = Path(dest)
    if dest.is_file():
        if sha256 is None or sha256_of(dest) == sha256:
            return dest
        dest.unlink()  # a cached file that does not verify is fetched again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    attempt = stalled = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            _transfer(url, part, timeout, quiet)
            break
        except TimeoutError:  # a host that accepts and then says nothing: a hung host
            # is given STALLS tries of `timeout` s, however many retries a transfer that
            # makes progress may take
            got = part.stat().st_size if part.exists() else 0
            stalled = 0 if got > before else stalled + 1
            if stalled >= STALLS or attempt >= retries:
                raise by_hand(url, dest, f"no data for {timeout:g} s, {stalled} times") from None
        except ValueError:  # urllib: "unknown url type"
            raise SolidError(f"cannot download '{url}': not a valid URL") from None
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt >= retries:
                raise SourceUnavailable(f"download failed: {url} answered HTTP {exc.code} "
                                        f"({exc.reason}); place the file by hand at {dest}") from None
        except (urllib.error.URLError, HTTPException, OSError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError):  # timed out connecting
                stalled += 1
            if _unreachable(exc) or attempt >= retries or stalled >= STALLS:
                raise by_hand(url, dest, getattr(exc, "reason", None) or exc) from None
        attempt += 1
        time.sleep(backoff * 2 ** (attempt - 1))
    if sha256 is not None:
        got = sha256_of(part)
        if got != sha256:
            part.unlink()
            raise SolidError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; "
                             "the download was discarded")
    os.replace(part, dest)
    return dest


def fetch_first(urls: Sequence[str], dest: Path | str, sha256: str | None = None, *,
                quiet: bool = False) -> Path:
    """`fetch` from the first of several mirrors that serves the file.

    A mirror that answers 4xx or cannot be reached is skipped; when all fail, the error is the
    first mirror's (its URL and where to place the file by hand).
    """
    first: SourceUnavailable | None = None
    for url in urls:
        try:
            return fetch(url, dest, sha256, quiet=quiet)
        except SourceUnavailable as exc:
            first = first or exc
    if first is None:
        raise SolidError(f"no URL to download {dest} from")
    more = f" ({len(urls) - 1} other mirrors failed too)" if len(urls) > 1 else ""
    raise SourceUnavailable(f"{first}{more}")


def _transfer(url: str, part: Path, timeout: float, quiet: bool) -> None:
    """Append the rest of `url` to `part`; raise on any failure (the caller retries)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # its open response would otherwise leak a socket
        if exc.code == 416 and have:  # nothing left to fetch: the part is complete
            return
        raise
    with response:
        if have and response.status != 206:  # the server ignored Range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        mode = "ab" if have else "wb"
        with part.open(mode) as out, task_bar(url.rsplit("/", 1)[-1], total, quiet=quiet,
                                              in_bytes=True, completed=have) as bar:
            received = have
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.advance(len(block))
        if total is not None and received < total:
            raise HTTPException(f"connection closed after {received} of {total} bytes")
