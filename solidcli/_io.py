"""Artifact I/O shared by every stage: atomic writes, run records, console and progress.

A stage writes its whole output directory under a temporary sibling name and renames it into
place at the end (`staged_dir`), so an interrupted or failed stage never leaves a half-written
artifact that DVC or the next stage would trust; a Ctrl-C or SIGTERM during the renames waits
until they are done (`signals_held`). Several outputs of one command are renamed together
(`staged_dirs` for folders, `staged_files` for a table's .md / .tex / .csv): all or none. A
sibling left behind by a killed process is removed when the same artifact is next saved.
`folder_lock` keeps two processes from writing one artifact at once. JSON is written
strictly: NaN and infinity are not JSON, and a value that would need them is an error, never a
file.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from solidcli.layout import STAGING_MARKERS

console = Console(stderr=True, log_path=False)


@contextlib.contextmanager
def staged_dir(final: Path | str) -> Iterator[Path]:
    """Yield an empty temp directory; on success it replaces `final` in one rename."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_staging(final)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with signals_held():  # a Ctrl-C or SIGTERM now waits until `final` is replaced whole
        old = None
        if final.exists():
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def signals_held(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Hold `signals` for the block and deliver them after it, so a step that must not stop
    halfway (renaming a group of folders into place) completes first. It swaps the Python
    handlers rather than masking the signals: pthread_sigmask masks one thread only, the
    kernel then hands the signal to another (a progress bar's, a worker's watchdog), and
    Python still runs the handler in the main thread, mid-block. Handlers can only be set
    from the main thread; in any other the block runs unprotected."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for sig in signals:
        handler = signal.getsignal(sig)
        if handler is not None:  # None: set outside Python, which could not restore it
            previous[sig] = handler
            signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)  # as it would have been: a handler, an exit, or ignored


@contextlib.contextmanager
def staged_dirs(*finals: Path | str) -> Iterator[list[Path]]:
    """`staged_dir` for several outputs of one command (evaluate's metrics and curves): each
    written under a temp name, and all renamed into place in one held block, so an interrupt
    never leaves one new and the other old."""
    stack = contextlib.ExitStack()
    try:
        temps = [stack.enter_context(staged_dir(final)) for final in finals]
        yield temps
    except BaseException:
        if not stack.__exit__(*sys.exc_info()):  # each removes its temp folder
            raise
    else:
        with signals_held():
            stack.close()


@contextlib.contextmanager
def folder_lock(folder: Path | str, busy: str) -> Iterator[None]:
    """Hold `folder` (made if missing) exclusively for the block; another process asking
    for it meanwhile fails at once with SolidError(busy). The lock is flock on the folder
    itself, so no lock file lands in a DVC-tracked output, and the kernel drops it with its
    holder, so a killed process never leaves a stale one. Folders this made and left empty
    are removed again. Without fcntl (Windows), or on a file system without locks, the block
    runs unguarded."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no flock, no guard
        yield
        return
    from solidcli.errors import SolidError

    folder = Path(folder)
    while True:
        made = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY)
        except FileNotFoundError:  # its last holder removed it (empty) as it left: again
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SolidError(busy) from None
        except OSError:  # no locks here (some network file systems): run unguarded
            break
        try:  # its last holder may have removed it (empty) just before: lock the new one
            if os.path.samestat(os.fstat(fd), os.stat(folder)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        for empty in made:  # deepest first; stop at the first that is not empty
            try:
                empty.rmdir()
            except OSError:
                break
        os.close(fd)  # releases the lock


def clean_staging(final: Path) -> None:
    """Remove the temporary siblings of `final` that an interrupted save left behind."""
    for marker in STAGING_MARKERS:
        for stale in final.parent.glob(f".{final.name}{marker}*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(final: Path | str) -> Iterator[Path]:
    """Yield a temp path next to `final`; it is renamed onto `final` only on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_staging(final)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path | str, data: Any) -> Path:
    """`data` as strict JSON (no NaN or infinity: a non-finite value is a SolidError)."""
    from solidcli.errors import SolidError

    try:
        text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False)
    except ValueError:
        raise SolidError(f"refusing to write {path}: it would hold a NaN or infinite "
                         "value") from None
    with atomic_file(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)


def write_text(path: Path | str, text: str) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read_json(path: Path | str) -> Any:
    from solidcli.errors import SolidError

    path = Path(path)
    if not path.is_file():
        raise SolidError(f"missing file: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SolidError(f"corrupt JSON file: {path}") from None


CODE_PATHS = ("solidcli", "pyproject.toml")  # what a result's code revision covers


def git_revision() -> str:
    """The commit the code runs from, with '+dirty' when the code (solidcli/, pyproject.toml)
    differs from it. Params are recorded in full beside it, and the pipeline's own outputs
    (dvc.lock, reports/) change while it runs, so neither makes a revision dirty."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def run_record(command: str, params: dict[str, Any], seed: int, timings: dict[str, float],
               **extra: Any) -> dict[str, Any]:
    """What `run.json` holds: enough to trace a number back to code, params and seed."""
    from solidcli import __version__

    return {
        "command": command,
        "seed": seed,
        "git_revision": git_revision(),
        "solid_version": __version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        **extra,
        "params": params,
    }


class Timer:
    """Collects named wall-clock durations: `with timer('fit'): ...`."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - start


WORKER_ENV = "SOLID_WORKER"  # set in worker processes (`solidcli.workers`)


def progress(in_bytes: bool = False):
    """A transient rich progress bar on stderr (decoration; epoch lines are logged): counts
    items, or bytes with their rate when `in_bytes`."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    counts = ([DownloadColumn(), TransferSpeedColumn()] if in_bytes
              else [MofNCompleteColumn(), TimeElapsedColumn()])
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        *counts,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=WORKER_ENV in os.environ,  # a worker process: its parent shows the progress
    )


class BarTask:
    """One task of a progress bar; does nothing when there is no bar (quiet)."""

    def __init__(self, bar=None, task=None) -> None:
        self.bar, self.task = bar, task

    def advance(self, n: float = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def to(self, done: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)


@contextlib.contextmanager
def task_bar(description: str, total: float | None, *, quiet: bool = False,
             in_bytes: bool = False, completed: float = 0) -> Iterator[BarTask]:
    """A transient one-task progress bar (`total` None: size unknown); nothing when quiet."""
    if quiet or total == 0:
        yield BarTask()
        return
    with progress(in_bytes) as bar:
        yield BarTask(bar, bar.add_task(description, total=total, completed=completed))


@contextlib.contextmanager
def staged_files(finals: list[Path | str]) -> Iterator[list[Path]]:
    """Yield one temp path beside each of `finals` (a command's several output files, e.g. a
    table as .md, .tex and .csv); only once the block has written them all are they renamed
    into place, so the set is written whole or not at all. On failure (a full disk at the third
    file) the temps are removed and the old files stay as they were; a rename that fails
    halfway puts back the files already replaced."""
    finals = [Path(p) for p in finals]
    tag = uuid.uuid4().hex[:8]
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
        clean_staging(final)
    temps = [f.parent / f".{f.name}.tmp-{tag}" for f in finals]
    olds = [f.parent / f".{f.name}.old-{tag}" for f in finals]
    placed: list[int] = []
    try:
        yield temps
        with signals_held():  # a Ctrl-C now waits until the set is in place
            for i, (tmp, final, old) in enumerate(zip(temps, finals, olds, strict=True)):
                if final.exists():
                    os.replace(final, old)
                placed.append(i)
                os.replace(tmp, final)
    except BaseException as exc:
        for i in reversed(placed):  # undo: each file replaced gets its old bytes back
            if olds[i].exists():
                os.replace(olds[i], finals[i])
            else:  # there was none: the new one goes
                finals[i].unlink(missing_ok=True)
        if isinstance(exc, OSError):
            from solidcli.errors import SolidError

            raise SolidError(_unwritten(exc, finals)) from None
        raise
    else:
        for old in olds:
            old.unlink(missing_ok=True)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def _unwritten(exc: OSError, finals: list[Path]) -> str:
    """The one line for an OSError (a full disk) while `staged_files` wrote `finals`: the file
    it hit, by its final name (not the hidden temp's), and that none of them changed."""
    name = Path(str(exc.filename or "")).name
    hit = next((f for f in finals if name == f.name or name.startswith(f".{f.name}.")),
               finals[0].parent)
    return (f"cannot write {hit}: {exc.strerror or exc}; none of "
            f"{', '.join(f.name for f in finals)} was changed (free space or fix the "
            "permissions, then run the command again)")
