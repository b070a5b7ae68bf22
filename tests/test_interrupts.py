"""Ctrl-C and SIGTERM stop a training at once, and two trainings of one run never overlap.

Each ends with one stderr line and its exit code (SIGINT 130, SIGTERM 143, a busy run 1), no
traceback, no worker process left, and nothing incomplete saved: every file of the project is
byte-identical afterwards, and no staging folder is left behind. The stopped commands run as
real subprocesses (`python -m solidcli`), trained far longer than the test waits.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, inside_tiny_project, private_copy, snapshot
from test_cli import assert_one_line_error, invoke

from solidcli import layout
from solidcli._io import folder_lock, signals_held
from solidcli.layout import RunId

SLOW = ["-S", "train.epochs=100000", "-S", "train.patience=100000",
        "-S", "train.min_epochs=100000"]  # never done within a test
EPOCH = re.compile(r"(\S+) epoch +\d+ +valid UAUC")  # a worker's epoch line: its run
NONE, DUET = "tiny/sasrec/none/base", "tiny/sasrec/duet/base"
BUSY = ("another process is training tiny/sasrec/none/base (models/tiny/base/sasrec-none); "
        "wait for it to finish")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny project, its data prepared and both base runs trained (two epochs): the runs a
    stopped retraining must leave as they were."""
    with inside_tiny_project(tmp_path_factory.mktemp("trained-base")) as root:
        for cmd in (["download"], ["train-base", "--all", "--workers", "1"]):
            result = invoke(*cmd)
            assert result.exit_code == 0, (cmd, result.output)
    return root


@pytest.fixture
def copy(trained, tmp_path, monkeypatch) -> Path:
    """A private copy of `trained` (cwd moves there); tmp_path/ outside it holds stderr."""
    return private_copy(trained, tmp_path, monkeypatch)


class Training:
    """`solid train-base <args>` (slow) as a subprocess of `root`, stderr to a file beside."""

    def __init__(self, root: Path, args: list[str], group: bool) -> None:
        self.log = root.parent / "stderr.txt"
        env = {**os.environ, "PYTHONPATH": str(REPO), "SOLID_WORKERS": "2",
               "SOLID_THREADS": "1", "COLUMNS": "300"}  # wide: a log line is one line
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "solidcli", "train-base", *args, *SLOW], cwd=root,
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=group)

    def stderr(self) -> str:
        return self.log.read_text()

    def wait_training(self, runs: set[str], timeout: float = 90.0) -> list:
        """Until each of `runs` has logged an epoch; the processes under the command then."""
        import psutil

        deadline = time.monotonic() + timeout
        while {m.group(1) for m in EPOCH.finditer(self.stderr())} < runs:
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, f"not training after {timeout} s"
            time.sleep(0.2)
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self, sig: int, group: bool = False) -> tuple[int, float, str]:
        """Send `sig` (to the process group with `group`); exit code, seconds to exit, and
        the stderr written after the signal."""
        seen = len(self.stderr())
        start = time.monotonic()
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            os.kill(self.proc.pid, sig)
        code = self.proc.wait(timeout=30)
        return code, time.monotonic() - start, self.stderr()[seen:]


@pytest.fixture
def train() -> Iterator[Callable[..., Training]]:
    """Starts `Training`s; any still running at the end is killed, with its workers."""
    started: list[Training] = []

    def start(root: Path, *args: str, group: bool = False) -> Training:
        started.append(Training(root, list(args), group))
        return started[-1]

    yield start
    for t in started:
        if t.proc.poll() is None:
            import psutil

            for p in [*psutil.Process(t.proc.pid).children(recursive=True)]:
                p.kill()
            t.proc.kill()
            t.proc.wait()


def assert_stopped(code: int, seconds: float, after: str, workers: list, expect: int,
                   line: str, full: str) -> None:
    """Exit `expect` within a few seconds, `line` the one stderr line after the signal (epoch
    lines a worker logged before it stopped aside), no traceback and no worker left."""
    import psutil

    assert code == expect, full
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    lines = [ln for ln in after.splitlines() if ln.strip() and not EPOCH.search(ln)]
    assert len(lines) == 1 and lines[0].startswith(line), after
    assert after.rstrip().endswith(lines[0]), after  # nothing after it either
    assert "Traceback" not in full, full
    deadline = time.monotonic() + 5  # the resource tracker leaves once its parent is gone
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers):
        assert time.monotonic() < deadline, [p for p in workers if p.is_running()]
        time.sleep(0.1)


def assert_untouched(root: Path, before: dict[str, str]) -> None:
    assert snapshot(root) == before
    leftovers = [p for p in root.rglob("*") if any(m in p.name for m in layout.STAGING_MARKERS)]
    assert not leftovers, leftovers


@pytest.mark.parametrize(("sig", "code", "line"), [
    (signal.SIGINT, 130, "solid: interrupted (SIGINT)"),
    (signal.SIGTERM, 143, "solid: terminated (SIGTERM)"),
], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_every_worker_at_once_and_saves_nothing(copy, train, sig, code, line):
    """The parent alone gets the signal (`kill`): it stops both workers mid-training, without
    waiting for their units, and neither saves its model over the trained one."""
    before = snapshot(copy)
    run = train(copy, "--all")
    workers = run.wait_training({NONE, DUET})
    assert sum("spawn_main" in " ".join(p.cmdline()) for p in workers) == 2, workers
    assert_stopped(*run.stop(sig), workers, code, line, run.stderr())
    assert_untouched(copy, before)


def test_ctrl_c_in_a_terminal_reaches_the_whole_group_quietly(copy, train):
    """A terminal's Ctrl-C goes to every process of the group: the workers leave it to the
    parent (no traceback of theirs), which stops them."""
    before = snapshot(copy)
    run = train(copy, "--all", group=True)
    workers = run.wait_training({NONE, DUET})
    assert_stopped(*run.stop(signal.SIGINT, group=True), workers, 130,
                   "solid: interrupted (SIGINT)", run.stderr())
    assert_untouched(copy, before)


def test_a_second_training_of_a_run_fails_at_once_and_the_first_stops_on_ctrl_c(copy, train):
    """One configuration trains in the command's own process (one worker): a second command
    training it meanwhile fails at once and writes nothing; a Ctrl-C stops the first."""
    before = snapshot(copy)
    run = train(copy, "--dsr", "none")
    workers = run.wait_training({NONE})
    start = time.monotonic()
    assert_one_line_error(invoke("train-base", "--dsr", "none"), BUSY)
    assert time.monotonic() - start < 5
    assert snapshot(copy) == before
    assert_stopped(*run.stop(signal.SIGINT), workers, 130, "solid: interrupted (SIGINT)",
                   run.stderr())
    assert_untouched(copy, before)


def test_a_busy_run_stops_the_other_workers_of_its_stage(copy, monkeypatch):
    """`--all` on two workers, one run locked by another process: that unit fails, and the
    other worker is stopped, not waited for (it would train 100000 epochs); nothing is
    written. The error is the one line after the stage's opening log line."""
    monkeypatch.setenv("SOLID_WORKERS", "2")
    monkeypatch.setenv("SOLID_THREADS", "1")
    before = snapshot(copy)
    folder = layout.config_dir(RunId("tiny", "sasrec", "none", "base"))
    with folder_lock(folder, "held by the test"):
        start = time.monotonic()
        result = invoke("train-base", "--all", *SLOW)
    assert time.monotonic() - start < 30  # two workers start (torch), one fails at once
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1] == f"solid: error: {BUSY}", result.stderr
    assert not any(ln.startswith("solid:") for ln in lines[:-1]), result.stderr
    assert "Traceback" not in result.output
    assert_untouched(copy, before)


def test_a_lock_made_folder_is_removed_again(tmp_path):
    """The lock makes a missing folder (and its parents), and removes them if left empty."""
    folder = tmp_path / "models" / "tiny" / "base" / "sasrec-none"
    with folder_lock(folder, "busy"):
        assert folder.is_dir()
    assert not (tmp_path / "models").exists()
    folder.mkdir(parents=True)
    with folder_lock(folder, "busy"):
        (folder / "seed0").mkdir()
    assert (folder / "seed0").is_dir()


def test_signals_wait_until_a_held_step_is_done():
    """A SIGINT during `signals_held` (another thread running, which a signal mask would not
    cover) is delivered after the block, not in it."""
    done = []
    idle = threading.Thread(target=time.sleep, args=(1,), daemon=True)
    idle.start()
    with pytest.raises(KeyboardInterrupt), signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        done.append("renamed")
    assert done == ["renamed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_during_the_renames_leaves_every_seed_saved(tmp_path, monkeypatch):
    """A group of seeds is never half replaced: a SIGTERM at the first rename of `save_runs`
    waits until every seed's folder is in place."""
    from solidcli.errors import Terminated
    from solidcli.runs import save_runs

    monkeypatch.chdir(tmp_path)
    config = RunId("tiny", "sasrec", "none", "base")
    spec = {"backbone": "sasrec"}  # save_runs records its hash; nothing here reads it back
    items = [(config.with_seed(s), {}, {"seed": s, "spec": spec}, {}, []) for s in (0, 1)]
    save_runs(items)
    rename = Path.rename

    def interrupted(self, target):
        if not calls:
            os.kill(os.getpid(), signal.SIGTERM)
        calls.append(self)
        return rename(self, target)

    def terminate(signum, frame):
        raise Terminated()

    calls: list[Path] = []
    monkeypatch.setattr(Path, "rename", interrupted)
    old = signal.signal(signal.SIGTERM, terminate)  # as `solid` has it (cli.main)
    try:
        with pytest.raises(Terminated):
            save_runs([(config.with_seed(s), {}, {"seed": 10 + s, "spec": spec}, {}, [])
                       for s in (0, 1)])
    finally:
        signal.signal(signal.SIGTERM, old)
    assert len(calls) == 4  # each seed: old folder aside, new one in place
    for s in (0, 1):
        record = layout.model_dir(config.with_seed(s)) / "run.json"
        assert f'"seed": {10 + s}' in record.read_text()
