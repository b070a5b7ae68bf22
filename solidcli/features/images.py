"""Item images for the image encoder: local files or http(s) URLs, downloaded once and cached.

A reference is a local file path (absolute, or relative to the working directory; `file://`
URLs work too) or an http(s) URL. A URL is downloaded once with `solidcli.data.fetch.fetch`
into the cache folder as `<sha256 of the URL, 32 hex digits><original extension>`, so a later
run (or a file a user puts there by hand) needs no network.

Nothing about a single image is fatal. Every reference ends in one of four statuses, which the
caller counts:

* `encoded`: the image was opened, fully decoded and converted to RGB;
* `missing`: no reference (None or empty), or a local file that does not exist;
* `unreachable`: the download failed (no route to the host, HTTP error, timeout);
* `unreadable`: the file is not an image pillow can decode, or is truncated or corrupt.
  A downloaded file in that state is deleted from the cache, so a later run tries again.

When a host cannot be reached for `GIVE_UP_AFTER` URLs in a row (no network, dead host), its
remaining URLs are not tried: each would wait for its own timeout and retries. They count as
unreachable, and one warning line says so and how to supply the images by hand.
"""

from __future__ import annotations

import hashlib
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from solidcli._io import task_bar
from solidcli.errors import SolidError

if TYPE_CHECKING:
    from PIL import Image

ENCODED, MISSING, UNREACHABLE, UNREADABLE = "encoded", "missing", "unreachable", "unreadable"
STATUSES = (ENCODED, MISSING, UNREACHABLE, UNREADABLE)
GIVE_UP_AFTER = 3  # consecutive unreachable-host failures before a host is given up


def is_url(ref: str) -> bool:
    return ref.strip().lower().startswith(("http://", "https://"))


def cache_path(url: str, cache_dir: Path | str) -> Path:
    """Where the download of `url` is kept: a hash of the URL plus its file extension."""
    url = url.strip()
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    suffix = PurePosixPath(urllib.parse.urlsplit(url).path).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ""
    return Path(cache_dir) / f"{digest}{suffix}"


def open_image(path: Path | str) -> Image.Image | None:
    """The decoded RGB image at `path`, or None when pillow cannot read it completely."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():  # e.g. palette transparency notes: not our business
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.load()  # decodes every pixel: a truncated or corrupt file fails here
                return img.convert("RGB")
    except Exception:  # noqa: BLE001 - pillow raises many types for a bad file
        return None


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


def _host_failure(exc: SolidError) -> bool:
    """Did the download fail because the host could not be reached at all?

    `fetch` raises SolidError from the underlying urllib error (kept as __context__). An
    HTTPError means the server answered (404, 403, 5xx after retries): the host is up.
    """
    return not isinstance(exc.__context__, urllib.error.HTTPError)


def _reason(exc: BaseException) -> str:
    """The underlying cause of a failed download, short (fetch's message adds advice)."""
    cause = exc.__context__ if isinstance(exc, SolidError) and exc.__context__ else exc
    return str(getattr(cause, "reason", None) or cause)


class ImageLoader:
    """Loads image references, downloading URLs into `cache_dir`; counts every outcome.

    A reference is an http(s) URL, a file:// URL, or a path; a relative path is taken
    relative to `base_dir` (the dataset's folder) when one is given.

    `timeout` and `retries` are handed to `fetch` for each URL; they are kept short because
    one image is not worth a long wait. `warn` receives the one-line warnings.
    """

    def __init__(self, cache_dir: Path | str, *, base_dir: Path | str | None = None,
                 timeout: float = 10.0, retries: int = 1, give_up_after: int = GIVE_UP_AFTER,
                 warn: Callable[[str], None] | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.timeout = timeout
        self.retries = retries
        self.give_up_after = give_up_after
        self.warn = warn or _console_warning
        self.counts: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
        self._failures: dict[str, int] = {}  # host -> consecutive unreachable failures
        self._given_up: set[str] = set()
        self._failed: set[str] = set()  # URLs whose download failed in this run
        self._lock = threading.Lock()

    # -- downloads ---------------------------------------------------------------------

    def download(self, url: str) -> Path | None:
        """The cached file for `url`, downloading it first if needed; None when that fails."""
        from solidcli.data.fetch import fetch

        url = url.strip()
        dest = cache_path(url, self.cache_dir)
        if dest.is_file():
            return dest
        host = _host(url)
        with self._lock:
            if host in self._given_up or url in self._failed:
                return None
        try:
            fetch(url, dest, timeout=self.timeout, retries=self.retries, quiet=True)
        except (SolidError, ValueError) as exc:  # ValueError: a malformed URL
            with self._lock:
                self._failed.add(url)
            host_down = isinstance(exc, SolidError) and _host_failure(exc)
            self._record(host, failed=host_down, reason=_reason(exc))
            return None
        self._record(host, failed=False)
        return dest

    def _record(self, host: str, *, failed: bool, reason: str = "") -> None:
        with self._lock:
            if not failed:
                self._failures[host] = 0
                return
            self._failures[host] = self._failures.get(host, 0) + 1
            if self._failures[host] < self.give_up_after or host in self._given_up:
                return
            self._given_up.add(host)
        self.warn(
            f"images: host {host or '?'} could not be reached for {self.give_up_after} URLs in a "
            f"row ({reason}); its other URLs are not tried and count as unreachable (images "
            f"already in {self.cache_dir} are used). Run again with network, or give local "
            "file paths instead of URLs"
        )

    def prefetch(self, urls: Iterable[str], *, workers: int = 8, quiet: bool = True) -> None:
        """Download the URLs not cached yet, `workers` at a time (a bar unless quiet)."""
        todo = list(dict.fromkeys(u.strip() for u in urls if u and is_url(u)))
        todo = [u for u in todo if not cache_path(u, self.cache_dir).is_file()]
        if not todo:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with (task_bar("downloading images", len(todo), quiet=quiet) as bar,
              ThreadPoolExecutor(max_workers=max(1, workers)) as pool):
            for _ in pool.map(self.download, todo):
                bar.advance()

    # -- loading -----------------------------------------------------------------------

    def load(self, ref: str | None) -> tuple[Image.Image | None, str]:
        """(RGB image, "encoded") or (None, why not); the status is also counted."""
        image, status = self._load(ref)
        with self._lock:
            self.counts[status] += 1
        return image, status

    def _load(self, ref: str | None) -> tuple[Image.Image | None, str]:
        if not isinstance(ref, str) or not ref.strip():
            return None, MISSING
        ref = ref.strip()
        downloaded = False
        if is_url(ref):
            path = self.download(ref)
            if path is None:
                return None, UNREACHABLE
            downloaded = True
        elif ref.lower().startswith("file://"):
            path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(ref).path))
        else:
            path = Path(ref).expanduser()
            if self.base_dir is not None and not path.is_absolute():
                path = self.base_dir / path
        if not path.is_file():
            return None, MISSING
        image = open_image(path)
        if image is None:
            if downloaded:  # not an image (an error page?): do not keep it in the cache
                path.unlink(missing_ok=True)
            return None, UNREADABLE
        return image, ENCODED


def _console_warning(message: str) -> None:
    from rich.markup import escape

    from solidcli._io import console

    console.log(f"[yellow]{escape(message)}[/]")
