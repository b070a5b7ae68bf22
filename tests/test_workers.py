"""Units of work on worker processes: never more threads than cores, results in order,
and a failure in a worker is the command's one-line error."""

import pytest

from solidcli import workers
from solidcli.errors import SolidError


def _square(x: int) -> int:
    import torch

    return x * x + torch.get_num_threads() * 1000  # the worker's thread count shows


def _fail(x: int) -> int:
    """Unit 2 fails; any other returns its argument."""
    if x == 2:
        raise SolidError(f"unit {x} failed")
    return x


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(workers, "cores", lambda: 2)
    for name in ("SOLID_WORKERS", "SOLID_THREADS"):
        monkeypatch.delenv(name, raising=False)


def test_plan_fills_the_cores_and_never_oversubscribes(two_cores, monkeypatch):
    assert workers.plan(12) == workers.Plan(workers=2, threads=1)
    assert workers.plan(1) == workers.Plan(workers=1, threads=1)  # one unit: one worker
    assert workers.plan(5, threads=2) == workers.Plan(workers=1, threads=2)
    with pytest.raises(SolidError, match="would oversubscribe the 2 cores"):
        workers.plan(5, workers=2, threads=2)
    with pytest.raises(SolidError, match="3 threads per worker, but this machine has 2"):
        workers.plan(5, threads=3)
    monkeypatch.setenv("SOLID_WORKERS", "1")
    assert workers.plan(12).workers == 1
    monkeypatch.setenv("SOLID_WORKERS", "two")
    with pytest.raises(SolidError, match="SOLID_WORKERS='two' must be a positive whole number"):
        workers.plan(12)


def test_units_run_in_order_on_workers_with_their_thread_count(two_cores):
    how = workers.Plan(workers=2, threads=1)
    assert workers.run_units(_square, [(1,), (2,), (3,)], how) == [1001, 1004, 1009]


def test_a_failing_unit_raises_its_error(two_cores):
    """(Only unit 2 fails: with both failing, which one fails first depends on timing.)"""
    with pytest.raises(SolidError, match="unit 2 failed"):
        workers.run_units(_fail, [(2,), (3,)], workers.Plan(workers=2, threads=1))


def test_workers_end_when_their_parent_is_killed(tmp_path):
    """A killed stage (say, a stopped `dvc repro`) leaves no worker training on."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = ("import time; from solidcli.workers import Plan, run_units\n"
              "if __name__ == '__main__':\n"
              "    run_units(time.sleep, [(60,), (60,)], Plan(workers=2, threads=1))\n")
    (tmp_path / "stage.py").write_text(script)
    from conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's solidcli
    parent = subprocess.Popen([sys.executable, str(tmp_path / "stage.py")], cwd=tmp_path,
                              env=env)
    children: set[int] = set()
    deadline = time.monotonic() + 60
    while len(children) < 3 and time.monotonic() < deadline:  # 2 workers + the tracker
        time.sleep(0.2)
        for task in Path(f"/proc/{parent.pid}/task").glob("*/children"):
            children |= {int(c) for c in task.read_text().split()}
    assert len(children) >= 2, children
    time.sleep(3)  # the workers are up and sleeping in their unit
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() and
                                             "Z" not in _state(c) for c in children):
        time.sleep(0.2)
    alive = [c for c in children if Path(f"/proc/{c}").exists() and "Z" not in _state(c)]
    assert not alive, f"workers {alive} outlived their killed parent"


def _state(pid: int) -> str:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def _visible_gpu(meeting: str, i: int) -> str:
    """The worker's CUDA_VISIBLE_DEVICES, once both units are running (so each worker holds
    one)."""
    import os
    import time
    from pathlib import Path

    (Path(meeting) / str(i)).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(meeting).iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.environ.get("CUDA_VISIBLE_DEVICES", "")


def test_plan_on_gpus_is_one_worker_per_gpu_with_the_cores_shared(monkeypatch):
    """Issue 27: on CUDA, as many workers as GPUs (not cores), each with cores // workers
    threads; the CPU plan is unchanged."""
    monkeypatch.setattr(workers, "cores", lambda: 16)
    for name in ("SOLID_WORKERS", "SOLID_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(workers, "gpu_count", lambda device: 2 if device == "cuda" else 0)
    assert workers.plan(12, device="cuda") == workers.Plan(workers=2, threads=8, gpus=2)
    assert workers.plan(1, device="cuda") == workers.Plan(workers=1, threads=16, gpus=2)
    assert workers.plan(12, threads=2, device="cuda") == workers.Plan(2, 2, gpus=2)
    assert workers.plan(12, device="cpu") == workers.Plan(workers=12, threads=1)
    with pytest.raises(SolidError, match="3 workers on 2 GPU"):
        workers.plan(12, workers=3, device="cuda")


def test_gpu_count_follows_the_device(monkeypatch):
    import torch

    assert workers.gpu_count("cpu") == 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert workers.gpu_count("cuda") == workers.gpu_count("auto") == 4


def test_each_gpu_worker_is_pinned_to_its_own_gpu(two_cores, monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    for n, (given, pinned) in enumerate(((None, ["0", "1"]), ("5,7", ["5", "7"]))):
        if given:  # ids as the parent sees them
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", given)
        meeting = tmp_path / str(n)
        meeting.mkdir()
        units = [(str(meeting), 0), (str(meeting), 1)]
        seen = workers.run_units(_visible_gpu, units, workers.Plan(2, 1, gpus=2))
        assert sorted(seen) == pinned
