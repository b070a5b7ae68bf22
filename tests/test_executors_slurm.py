"""`--executor slurm` on a real SLURM cluster: munged, slurmctld and three slurmd on
127.0.0.1 (tests/slurm_local.py; one cluster for the module), units as one submitit job
array. A tiny family trained through it writes the same bytes as local workers; a unit that
fails, or a task killed with no result, fails the stage with one line naming the unit, the
node and the log."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import cluster_support
import pytest
from cluster_support import (
    Bound,
    failure_line,
    run_files,
    slow_unit,
    staging_left,
    train_family_on,
    unavailable,
)

from solidcli import executors
from solidcli.errors import SolidError
from solidcli.workers import Plan, run_units

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    try:
        import submitit
    except ImportError:
        unavailable("submitit is not installed (pip install 'solid-rec[slurm]')")
    from slurm_local import LocalSlurm, SlurmUnavailable

    bound = Bound(240)
    start = time.monotonic()
    try:
        cluster = LocalSlurm.start(tmp_path_factory.mktemp("slurm"))
    except SlurmUnavailable as exc:
        bound.close()
        unavailable(f"cannot start SLURM on 127.0.0.1: {exc}")
    print(f"\nSLURM (munged, slurmctld, 3 slurmd on 127.0.0.1) up in "
          f"{time.monotonic() - start:.1f} s")
    submitit.helpers  # noqa: B018 - imported for its side effect: cloudpickle ready
    import cloudpickle

    for module in (sys.modules[__name__], cluster_support):  # the tests' units
        cloudpickle.register_pickle_by_value(module)
    try:
        yield cluster
    finally:
        for module in (sys.modules[__name__], cluster_support):
            cloudpickle.unregister_pickle_by_value(module)
        cluster.stop()
        bound.close()


@pytest.fixture
def on_slurm(monkeypatch, tmp_path):
    monkeypatch.setenv(executors.ENV, "slurm")
    (tmp_path / "cluster.yaml").write_text(f"slurm:\n  folder: {tmp_path / 'jobs'}\n"
                                           "  poll_s: 0.5\n  time_min: 5\n  retries: 0\n")
    monkeypatch.setenv(executors.CLUSTER_ENV, str(tmp_path / "cluster.yaml"))


def test_a_tiny_family_as_a_job_array_writes_the_local_bytes(slurm, tmp_path_factory,
                                                             tmp_path, monkeypatch):
    project, result, local = train_family_on("slurm", tmp_path_factory, tmp_path, monkeypatch,
                                             "slurm:\n  poll_s: 0.5\n  time_min: 5\n")
    assert "SLURM array" in result.output
    assert run_files(project / "models") == local
    assert not staging_left(project / "models")
    logs = list((project / ".solid-slurm").rglob("*_log.err"))
    assert len(logs) == len(local) // 3 // 2  # one task per configuration (2 seeds each)


def test_a_failed_task_fails_the_stage_naming_unit_node_and_log(slurm, on_slurm):
    line = failure_line()
    assert line.startswith("unit 1 failed on node n")
    assert "the data of unit 1 is broken (SLURM task " in line
    log = Path(line.rsplit("log ", 1)[1].rstrip(")"))
    assert log.name.endswith("_log.err") and log.exists()


def _sleeps(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_a_killed_task_fails_the_stage_naming_its_log(slurm, on_slurm, monkeypatch):
    monkeypatch.setattr(executors, "LOST_AFTER_S", 3.0)  # gone from the queue, no result
    failure: list[BaseException] = []

    def stage():
        try:
            run_units(_sleeps, [(30.0,), (30.0,)], Plan(2, 1), label="kill test")
        except BaseException as exc:  # noqa: BLE001 - checked below
            failure.append(exc)

    runner = threading.Thread(target=stage)
    runner.start()
    deadline = time.monotonic() + 60
    running: list[str] = []
    while len(running) < 2 and time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-r", "-t", "R", "-o", "%i"],
                             capture_output=True, text=True, check=False)
        running = out.stdout.split()
        time.sleep(0.3)
    assert len(running) == 2, running
    victim = sorted(running)[1]
    subprocess.run(["scancel", "--signal=KILL", victim], check=True)
    runner.join(90)
    assert not runner.is_alive()
    assert failure and isinstance(failure[0], SolidError), failure
    line = str(failure[0])
    assert line.startswith(f"unit 1 (SLURM task {victim}) ended without a result"), line
    assert "on node n" in line and line.endswith("_log.err")
    deadline = time.monotonic() + 20  # the other task cancelled (KillWait 5 s)
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-o", "%i %t"], capture_output=True, text=True,
                             check=False)
        if not out.stdout.strip():
            break
        time.sleep(0.5)
    assert not out.stdout.strip(), f"the stage left its other task in the queue: {out.stdout}"


def test_a_killed_task_is_submitted_again_and_completes_once(slurm, on_slurm, tmp_path,
                                                            monkeypatch):
    monkeypatch.setattr(executors, "LOST_AFTER_S", 2.0)
    conf = tmp_path / "cluster.yaml"
    conf.write_text(conf.read_text().replace("retries: 0", "retries: 1"))
    out = tmp_path / "out"
    out.mkdir()
    results: list = []
    failure: list = []

    def stage():
        try:
            results.extend(run_units(slow_unit, [(str(out), i, 6.0) for i in range(3)],
                                     Plan(2, 1), label="retry test"))
        except BaseException as exc:  # noqa: BLE001 - checked below
            failure.append(exc)

    runner = threading.Thread(target=stage)
    runner.start()
    deadline = time.monotonic() + 60
    while len(list(out.glob("attempt-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)  # all three running, one per node
    running = subprocess.run(["squeue", "-h", "-r", "-t", "R", "-o", "%i"],
                             capture_output=True, text=True, check=False).stdout.split()
    victim = sorted(running)[1]
    subprocess.run(["scancel", "--signal=KILL", victim], check=True)
    runner.join(90)
    assert not runner.is_alive() and not failure, failure
    assert results == [0, 1, 4]
    for i in range(3):
        assert (out / f"unit{i}" / "value").read_text() == f"{i * i}\n"
        assert len(list(out.glob(f"done-{i}-*"))) == 1, f"unit {i} completed twice"
    assert len(list(out.glob("attempt-*"))) == 4  # the killed one ran again
    assert not staging_left(out)
