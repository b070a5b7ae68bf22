"""`--executor ray` on a real Ray cluster: a head and two worker nodes on 127.0.0.1 (one
cluster for the module). A tiny family trained through it writes the same bytes as local
workers; a worker node killed mid-run loses nothing and runs nothing twice; a unit that fails
for good fails the stage with one line naming the unit, its node and its log."""

from __future__ import annotations

import os
import secrets
import sys
import time

import cluster_support
import pytest
from cluster_support import (
    Bound,
    descendants,
    failure_line,
    run_files,
    slow_unit,
    staging_left,
    stop_pids,
    train_family_on,
    unavailable,
)

from solidcli import executors
from solidcli.errors import SolidError
from solidcli.workers import Plan, run_units

pytestmark = pytest.mark.cluster

NODE = {"node_ip_address": "127.0.0.1", "object_store_memory": 80 * 2**20}


@pytest.fixture(scope="module")
def ray_cluster():
    """(cluster, ray): a head (no CPUs: units go to the workers) and two worker nodes of one
    CPU each, on loopback; auth mode explicit (a token of this run); every process stopped by
    PID at the end."""
    # auth explicit: a token of this run (read when Ray is first imported, so set before)
    # and loopback only: Ray would otherwise resolve 127.0.0.1 to the host's own address
    env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_ADDRESS": "",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        _restore(before)
        unavailable("Ray is not installed (pip install 'solid-rec[ray]')")
    bound = Bound(240)
    cluster = None
    # this process's children from before the cluster (multiprocessing's resource tracker,
    # say) are not the cluster's: stopping them would break later tests
    ours_before = descendants(os.getpid())
    try:
        start = time.monotonic()
        cluster = Cluster(initialize_head=True,
                          head_node_args={**NODE, "num_cpus": 0, "include_dashboard": False})
        for _ in range(2):
            cluster.add_node(**NODE, num_cpus=1)
        cluster.wait_for_nodes(timeout=90)
        assert cluster.address.startswith("127.0.0.1:"), cluster.address
        ray.init(address=cluster.address, log_to_driver=False)
        for module in (sys.modules[__name__], cluster_support):  # the tests' units
            ray.cloudpickle.register_pickle_by_value(module)
        print(f"\nRay cluster (head + 2 workers on 127.0.0.1) up in "
              f"{time.monotonic() - start:.1f} s")
    except Exception as exc:  # noqa: BLE001 - any failure to start: skip (or fail in CI)
        if cluster is not None:
            _shutdown(ray, cluster, ours_before)
        _restore(before)
        bound.close()
        unavailable(f"cannot start a Ray cluster on 127.0.0.1: {exc}")
    try:
        yield cluster, ray
    finally:
        _shutdown(ray, cluster, ours_before)
        _restore(before)
        bound.close()


def _restore(before: dict) -> None:
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _node_pids(cluster) -> set[int]:
    pids = set()
    for node in [cluster.head_node, *cluster.worker_nodes]:
        if node is None:
            continue
        for infos in node.all_processes.values():
            for info in infos:
                pids.add(info.process.pid)
    return pids | {d for p in pids for d in descendants(p)}


def _shutdown(ray, cluster, keep: set[int]) -> None:
    """ray.shutdown and the cluster's own shutdown, then any process of it still alive
    (raylets, GCS, workers) stopped by PID; `keep`: this process's children from before."""
    pids = (_node_pids(cluster) | descendants(os.getpid())) - keep
    pids.discard(os.getpid())
    ray.shutdown()
    cluster.shutdown()
    stop_pids({p for p in pids if p != os.getpid()})


@pytest.fixture
def on_ray(monkeypatch, tmp_path):
    monkeypatch.setenv(executors.ENV, "ray")
    monkeypatch.chdir(tmp_path)  # the stage's directory: its units run there


def test_a_tiny_family_through_ray_writes_the_local_bytes(ray_cluster, tmp_path_factory,
                                                          tmp_path, monkeypatch):
    project, result, local = train_family_on("ray", tmp_path_factory, tmp_path, monkeypatch)
    assert "Ray tasks" in result.output
    assert run_files(project / "models") == local  # byte-identical, every run folder
    assert not staging_left(project)
    assert executors.chosen() == "local"  # the flag held for that command only


def test_a_killed_worker_node_loses_nothing_and_runs_nothing_twice(ray_cluster, tmp_path,
                                                                  on_ray):
    """A third worker node joins, takes units, and is killed (no grace) mid-run: its units
    are retried on the others, every unit completes once, no staging folder is left."""
    cluster, _ = ray_cluster
    victim = cluster.add_node(**NODE, num_cpus=1)
    cluster.wait_for_nodes(timeout=60)
    out = tmp_path / "out"
    out.mkdir()
    units = [(str(out), i, 6.0) for i in range(6)]

    import threading

    results: list = []
    failure: list = []

    def stage():
        try:
            results.extend(run_units(slow_unit, units, Plan(3, 1), label="kill test"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failure.append(exc)

    runner = threading.Thread(target=stage)
    start = time.monotonic()
    runner.start()
    def on_victim() -> set[int]:
        pids = {info.process.pid for infos in victim.all_processes.values()
                for info in infos}
        return pids | {d for p in pids for d in descendants(p)}

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a unit runs in one of the victim's workers
        running = {int(p.name.rsplit("-", 1)[1]) for p in out.glob("attempt-*")}
        if running & on_victim():
            break
        time.sleep(0.2)
    time.sleep(1.0)
    victim_pids = on_victim()
    cluster.remove_node(victim, allow_graceful=False)
    killed_at = time.monotonic() - start
    runner.join(150)
    assert not runner.is_alive(), "the stage did not finish"
    assert not failure, failure
    assert results == [i * i for i in range(6)]
    for i in range(6):
        assert (out / f"unit{i}" / "value").read_text() == f"{i * i}\n"
        assert len(list(out.glob(f"done-{i}-*"))) == 1, f"unit {i} completed twice"
    attempts = len(list(out.glob("attempt-*")))
    assert attempts > 6, "the killed node was running no unit"
    assert not staging_left(out)
    print(f"\nnode killed at {killed_at:.1f} s; {attempts - 6} unit(s) retried elsewhere; "
          f"stage done in {time.monotonic() - start:.1f} s")
    stop_pids(victim_pids)


def test_a_unit_that_fails_for_good_names_unit_node_and_log(ray_cluster, on_ray):
    line = failure_line()
    assert ", log /" in line and line.endswith("the data of unit 1 is broken")


def _dies(i: int) -> int:
    """Unit 1 kills its own worker process (as the OOM killer would), every attempt."""
    import signal

    if i == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def test_a_unit_whose_worker_always_dies_fails_for_good_naming_node_and_log(
        ray_cluster, on_ray, tmp_path):
    (tmp_path / "cluster.yaml").write_text("ray:\n  max_retries: 1\n")
    with pytest.raises(SolidError) as caught:
        run_units(_dies, [(0,), (1,)], Plan(2, 1), label="crash test")
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("unit 1 failed for good after 1 retries, last attempt on node "), line
    assert ", log /" in line and "WorkerCrashedError" in line
    assert not (tmp_path / ".solid-ray").exists()
