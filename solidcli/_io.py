"""Artifact I/O shared by every stage: atomic writes, run records, console and progress.

A stage writes its whole output directory under a temporary sibling name and renames it into
place at the end (`staged_dir`), so an interrupted or failed stage never leaves a half-written
artifact that DVC or the next stage would trust. A sibling left behind by a killed process is
removed when the same artifact is next saved. JSON is written strictly: NaN and infinity are
not JSON, and a value that would need them is an error, never a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
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
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
