"""Streaming readers for downloaded raw files: text lines of a plain or gzip file, the lines of
one member of a tar archive, and selected members of a zip or tar archive copied to a folder.

Every reader streams (the real files are hundreds of MB to GB) and shows a transient rich
progress bar over the file's bytes. A file found unreadable (truncated or corrupt gzip, not
an archive, a member missing) is deleted and reported as one `SolidError` naming it, so the
next run downloads it again instead of failing on the same bad copy.
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from solidcli._io import BarTask, task_bar
from solidcli.errors import SolidError

CHUNK = 1 << 20
READ_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile)
T = TypeVar("T")


def corrupt(path: Path, why: str) -> SolidError:
    """Delete a cached raw file that cannot be used and return the error that says so."""
    path.unlink(missing_ok=True)
    return SolidError(f"{path} {why}; deleted it, run the command again to download it anew")


def _guarded(path: Path, items: Iterable[T], raw: IO[bytes], bar: BarTask,
             every: int = 1 << 16) -> Iterator[T]:
    """Iterate `items` read from `path`; a read error means the file is corrupt."""
    it = iter(items)
    n = 0
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except READ_ERRORS as exc:
            raise corrupt(path, f"is truncated or corrupt ({exc})") from None
        n += 1
        if n % every == 0:
            bar.to(raw.tell())
        yield item


def lines(path: Path, *, quiet: bool = False) -> Iterator[bytes]:
    """The lines of a plain or gzip-compressed file (told apart by content), streamed."""
    with path.open("rb") as raw, task_bar(f"read {path.name}", path.stat().st_size,
                                          quiet=quiet, in_bytes=True) as bar:
        packed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if packed else raw
        yield from _guarded(path, stream, raw, bar)


def _open_tar(path: Path, raw: IO[bytes]) -> tarfile.TarFile:
    """A tar archive (any compression) read as a stream from `raw`."""
    try:
        return tarfile.open(fileobj=raw, mode="r|*")
    except READ_ERRORS:
        raise corrupt(path, "is not a zip or tar archive") from None


def tar_member_lines(path: Path, member: str, *, quiet: bool = False) -> Iterator[bytes]:
    """The lines of one member of a (compressed) tar archive, read in a single pass."""
    label = f"read {path.name}:{member}"
    with path.open("rb") as raw, _open_tar(path, raw) as tar, \
            task_bar(label, path.stat().st_size, quiet=quiet, in_bytes=True) as bar:
        for info in _guarded(path, tar, raw, bar, every=1):
            if info.name.removeprefix("./") == member and info.isfile():
                yield from _guarded(path, tar.extractfile(info), raw, bar)
                return
    raise corrupt(path, f"has no member {member}")


def extract_members(path: Path, pick: Callable[[str], str | None], out: Path, *,
                    quiet: bool = False) -> list[str]:
    """Copy the members of a zip or tar archive for which `pick(name)` gives a file name into
    `out` under that name (the first one wins); return the names written, in archive order.

    Archive paths are never used as output paths, so a hostile archive cannot write elsewhere.
    """
    if zipfile.is_zipfile(path):
        return _extract_zip(path, pick, out, quiet)
    with path.open("rb") as raw:
        written: dict[str, None] = {}  # insertion-ordered set
        with _open_tar(path, raw) as tar, task_bar(f"extract {path.name}", path.stat().st_size,
                                                   quiet=quiet, in_bytes=True) as bar:
            for info in _guarded(path, tar, raw, bar, every=1):
                name = pick(info.name.removeprefix("./")) if info.isfile() else None
                if name is not None and name not in written:
                    _copy(path, tar.extractfile(info), out / name)
                    written[name] = None
        return list(written)


def _extract_zip(path: Path, pick: Callable[[str], str | None], out: Path,
                 quiet: bool) -> list[str]:
    try:
        archive = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise corrupt(path, f"is not a readable zip archive ({exc})") from None
    with archive:
        chosen: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            name = None if info.is_dir() else pick(info.filename)
            if name is not None:
                chosen.setdefault(name, info)
        total = sum(info.file_size for info in chosen.values())
        with task_bar(f"extract {path.name}", total, quiet=quiet, in_bytes=True) as bar:
            done = 0
            for name, info in chosen.items():
                try:
                    src = archive.open(info)
                except READ_ERRORS as exc:
                    raise corrupt(path, f"is truncated or corrupt ({exc})") from None
                with src:
                    _copy(path, src, out / name)
                done += info.file_size
                bar.to(done)
    return list(chosen)


def _copy(path: Path, src: IO[bytes] | None, dest: Path) -> None:
    """Stream one archive member into `dest`; a read error means the archive is corrupt."""
    if src is None:
        raise corrupt(path, f"has an unreadable member for {dest.name}")
    with dest.open("wb") as out:
        while True:
            try:
                block = src.read(CHUNK)
            except READ_ERRORS as exc:
                raise corrupt(path, f"is truncated or corrupt ({exc})") from None
            if not block:
                return
            out.write(block)
