"""Helpers of the cluster tests (tests/test_executors_ray.py, tests/test_executors_slurm.py):
skip-or-fail when a cluster cannot start, every process stopped by PID, a tiny project made
ready to train, and run folders compared byte for byte."""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

# the files of a run folder that must be byte-identical whatever ran it (run.json carries
# timings and the device, so it differs by nature; curves.csv is compared without its two
# timing columns, train_seconds and seconds)
SAME_BYTES = ("model.pt", "metrics.json", "curves.csv")
TIMING_COLUMNS = ("train_seconds", "seconds")


def _untimed(path: Path) -> bytes:
    """curves.csv without its timing columns; any other file as it is."""
    data = path.read_bytes()
    if path.name != "curves.csv" or not data:
        return data
    rows = [line.split(",") for line in data.decode().splitlines()]
    keep = [i for i, col in enumerate(rows[0]) if col not in TIMING_COLUMNS]
    return "\n".join(",".join(row[i] for i in keep) for row in rows).encode()


def unavailable(reason: str):
    """Skip with `reason` on a developer machine; in CI (CI=true) a cluster test that cannot
    run is a failure."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI=true, and {reason}")
    pytest.skip(reason)


def descendants(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                kids = {int(c) for c in task.read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_pids(pids: set[int], grace: float = 5.0) -> list[int]:
    """SIGTERM then SIGKILL each of `pids` still alive; returns those that had to be killed."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    killed = [p for p in pids if alive(p)]
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    return killed


class Bound:
    """A hard time bound on a block of tests: past it, every thread's stack is dumped and
    the test process exits (a hung cluster never hangs the suite)."""

    def __init__(self, seconds: float) -> None:
        faulthandler.dump_traceback_later(seconds, exit=True)

    def close(self) -> None:
        faulthandler.cancel_dump_traceback_later()


def ready_to_train(root: Path) -> None:
    """The tiny project under `root` (cwd) downloaded, embedded and assigned semantics."""
    from typer.testing import CliRunner

    from solidcli.cli import app

    for cmd in (["download"], ["embed"], ["assign-semantics"]):
        result = CliRunner().invoke(app, cmd)
        assert result.exit_code == 0, (cmd, result.output)


def run_files(models: Path) -> dict[str, bytes]:
    """The SAME_BYTES files of every run folder under `models` (curves.csv untimed), by
    relative path."""
    return {str(p.relative_to(models)): _untimed(p) for name in SAME_BYTES
            for p in sorted(models.rglob(name))}


def staging_left(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


_REFERENCE: dict[str, tuple[Path, dict[str, bytes]]] = {}


def local_reference(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The tiny project prepared, and its train-base family trained by local workers (one
    thread each), once per test process for both cluster modules: (the project, without its
    models, to copy; the run files local workers wrote)."""
    if "base" not in _REFERENCE:
        from conftest import inside_tiny_project
        from typer.testing import CliRunner

        from solidcli.cli import app

        with inside_tiny_project(tmp_path_factory.mktemp("local-reference")) as root:
            ready_to_train(root)
            result = CliRunner().invoke(app, ["train-base", "--all", "--threads", "1"])
            assert result.exit_code == 0, result.output
            files = run_files(root / "models")
            shutil.rmtree(root / "models")
        _REFERENCE["base"] = (root, files)
    return _REFERENCE["base"]


def copy_project(reference: Path, target: Path) -> Path:
    """A private copy of `reference` (its prepared data) at `target`."""
    shutil.copytree(reference, target)
    return target


def slow_unit(out: str, i: int, seconds: float) -> int:
    """A unit for the cluster tests: mark the attempt (by process id), sleep, then write
    out/unit<i> (staged, renamed into place) and a completion mark."""
    import uuid

    from solidcli._io import staged_dir, write_text

    root = Path(out)
    (root / f"attempt-{i}-{os.getpid()}").touch()
    time.sleep(seconds)
    with staged_dir(root / f"unit{i}") as tmp:
        write_text(tmp / "value", f"{i * i}\n")
    (root / f"done-{i}-{uuid.uuid4().hex[:6]}").touch()
    return i * i


def failure_line() -> str:
    """The one-line error of a stage whose unit 1 fails for good (`fails_unit_1`)."""
    from solidcli.errors import SolidError
    from solidcli.workers import Plan, run_units

    with pytest.raises(SolidError) as caught:
        run_units(fails_unit_1, [(0,), (1,)], Plan(2, 1), label="fail test")
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("unit 1 failed on node ")
    return line


def fails_unit_1(i: int) -> int:
    """A unit for the cluster tests that fails for good on unit 1."""
    from solidcli.errors import SolidError

    if i == 1:
        raise SolidError("the data of unit 1 is broken")
    return i


def train_family_on(executor: str, tmp_path_factory, tmp_path: Path, monkeypatch,
                    cluster_yaml: str | None = None):
    """`solid train-base --all` of the tiny project through `executor`, in a copy of the
    local reference project: (the copy, the CLI result, the local run files to compare)."""
    from typer.testing import CliRunner

    from solidcli.cli import app

    reference, local = local_reference(tmp_path_factory)
    assert len(local) >= 6, sorted(local)  # configurations x seeds x files
    project = copy_project(reference, tmp_path / "p")
    monkeypatch.chdir(project)
    if cluster_yaml is not None:
        (project / "cluster.yaml").write_text(cluster_yaml)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["train-base", "--all", "--threads", "1",
                                      "--executor", executor])
    assert result.exit_code == 0, result.output
    print(f"\ntrain-base --all on {executor}: {time.monotonic() - start:.1f} s")
    return project, result, local
