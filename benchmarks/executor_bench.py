"""Per-unit overhead of each executor (local, Ray, SLURM) on the same tiny family, and the
concurrency an 8-dataset grid reaches per stage vs spanning datasets (issue 28).

    python benchmarks/bench.py --executors [--no-ray] [--no-slurm] [--grid-sleep 3]
    python benchmarks/executor_bench.py ...                              # the same

1. Overhead. The tiny test dataset's `train-base` family (backbones sasrec, gru4rec x dsrs
   none, apg, duet: 6 units of 2 seeds) is trained in-process with one thread, one unit after
   another, after one warm-up unit (the compute, C), then on each executor with 2 slots of one thread (local: 2 workers; Ray: a head
   and 2 one-CPU worker nodes on 127.0.0.1; SLURM: munged, slurmctld and 3 slurmd on
   127.0.0.1, the array limited to 2 tasks at once). Per-unit overhead = (wall x slots - C) /
   units: the slot-seconds each unit costs beyond its own training (start-up of workers or
   tasks, data loading, scheduling, result transfer; the cluster's own start is not counted).
   Also: 20 empty units (a function returning at once), wall / 20.
2. Concurrency. 8 simulated datasets of 2 units each (a unit sleeps --grid-sleep seconds, as
   a training would, and records when it ran) on a Ray cluster of 2 nodes x 8 CPUs: once as
   DVC runs them (one stage per dataset, one after another), once spanning datasets
   (`python -m solidcli.fanout`: every unit handed over at once). Printed: the most units
   running at once, and the wall (after a warm-up that starts the 16 worker processes, which
   on this 2-core machine would otherwise dominate).

Needs the extras (`pip install 'solid-rec[ray,slurm]'`) and, for SLURM, Debian's slurm-wlm
and munge, as root; a part that cannot run is reported and skipped. Every daemon is stopped by
PID at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the tiny dataset and the local-cluster helpers


def _tiny_project(root: Path):
    from conftest import tiny_params, write_params, write_tiny_dataset

    from solidcli.config import load_params
    from solidcli.pipeline import download, embed, semantics

    write_tiny_dataset(root / "raw" / "tiny")
    data = tiny_params(root / "raw" / "tiny")
    data["backbones"] = ["sasrec", "gru4rec"]
    data["dsrs"] = ["none", "apg", "duet"]
    write_params(root / "params.yaml", data)
    os.chdir(root)
    params = load_params("params.yaml")
    for stage in (download, embed, semantics):
        stage.run(params, "tiny")
    return params


def _units(params):
    from solidcli.grid import family_runs

    return [(params.as_dict(), p, list(params.seeds)) for p in family_runs(params, "base",
                                                                             "tiny")]


def _noop(i: int) -> int:
    return i


def _timed(executor: str, units, slots: int) -> float:
    from solidcli import executors
    from solidcli.pipeline.train import train_unit
    from solidcli.workers import Plan, run_units

    with executors.using(executor):
        start = time.perf_counter()
        run_units(train_unit, units, Plan(slots, 1), label=f"bench {executor}")
        return time.perf_counter() - start


def _empty(executor: str, n: int = 20) -> float:
    from solidcli import executors
    from solidcli.workers import Plan, run_units

    with executors.using(executor):
        start = time.perf_counter()
        run_units(_noop, [(i,) for i in range(n)], Plan(2, 1), label=f"empty {executor}")
        return (time.perf_counter() - start) / n


class _Ray:
    def __init__(self, cpus_per_node: int) -> None:
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))  # read once per process
        os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                           "RAY_ADDRESS": "", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
        import ray
        from ray.cluster_utils import Cluster

        node = {"node_ip_address": "127.0.0.1", "object_store_memory": 80 * 2**20}
        start = time.perf_counter()
        self.cluster = Cluster(initialize_head=True, head_node_args={
            **node, "num_cpus": 0, "include_dashboard": False})
        for _ in range(2):
            self.cluster.add_node(**node, num_cpus=cpus_per_node)
        self.cluster.wait_for_nodes(timeout=90)
        ray.init(address=self.cluster.address, log_to_driver=False)
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        self.start_s = time.perf_counter() - start
        self.ray = ray

    def stop(self) -> None:
        from cluster_support import descendants, stop_pids

        pids = set()
        for node in [self.cluster.head_node, *self.cluster.worker_nodes]:
            for infos in node.all_processes.values():
                pids |= {i.process.pid for i in infos}
        pids |= {d for p in pids for d in descendants(p)} | descendants(os.getpid())
        self.ray.shutdown()
        self.cluster.shutdown()
        stop_pids(pids - {os.getpid()})


def overhead(args, root: Path) -> dict:
    params = _tiny_project(root)
    units = _units(params)
    import shutil

    from solidcli.pipeline.train import train_unit
    from solidcli.workers import _start_worker

    _start_worker(1)  # one torch thread, as every worker here
    train_unit(*units[0])  # warm: imports and first-call costs are not the compute
    shutil.rmtree("models", ignore_errors=True)
    start = time.perf_counter()
    for unit in units:  # the compute alone: in-process, one thread, one after another
        train_unit(*unit)
    compute = time.perf_counter() - start
    out = {"units": len(units), "compute_s": compute, "executors": {}}

    def record(name: str, wall: float, empty: float, slots: int = 2, **extra) -> None:
        out["executors"][name] = {"wall_s": wall, "slots": slots,
                                  "overhead_per_unit_s": (wall * slots - compute) / len(units),
                                  "empty_unit_s": empty, **extra}

    shutil.rmtree("models", ignore_errors=True)
    record("local", _timed("local", units, 2), _empty("local"))
    if args.ray:
        try:
            cluster = _Ray(cpus_per_node=1)
        except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
            out["executors"]["ray"] = {"skipped": str(exc).splitlines()[0]}
        else:
            try:
                shutil.rmtree("models", ignore_errors=True)
                record("ray", _timed("ray", units, 2), _empty("ray"),
                       cluster_start_s=cluster.start_s)
            finally:
                cluster.stop()
    if args.slurm:
        from slurm_local import LocalSlurm, SlurmUnavailable

        try:
            start = time.perf_counter()
            slurm = LocalSlurm.start(root / "slurm")
            started = time.perf_counter() - start
        except SlurmUnavailable as exc:
            out["executors"]["slurm"] = {"skipped": str(exc)}
        else:
            try:
                import cloudpickle

                cloudpickle.register_pickle_by_value(sys.modules[__name__])
                Path("cluster.yaml").write_text("slurm:\n  max_parallel: 2\n  poll_s: 0.5\n")
                shutil.rmtree("models", ignore_errors=True)
                record("slurm", _timed("slurm", units, 2), _empty("slurm"),
                       cluster_start_s=started)
            finally:
                slurm.stop()
                Path("cluster.yaml").unlink(missing_ok=True)
    return out


def _sleep_unit(log: str, dataset: int, i: int, seconds: float) -> int:
    start = time.time()
    time.sleep(seconds)
    with open(log, "a") as fh:
        fh.write(f"{dataset} {i} {start} {time.time()}\n")
    return i


def _most_at_once(log: Path) -> int:
    spans = [tuple(map(float, line.split()[2:])) for line in log.read_text().splitlines()]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def concurrency(args, root: Path) -> dict:
    from solidcli import executors
    from solidcli.workers import Plan, run_units

    if not args.ray:
        return {"skipped": "--no-ray"}
    try:
        cluster = _Ray(cpus_per_node=8)
    except Exception as exc:  # noqa: BLE001 - reported
        return {"skipped": str(exc).splitlines()[0]}
    out = {"datasets": 8, "units_per_dataset": 2, "unit_s": args.grid_sleep, "slots": 16}
    try:
        with executors.using("ray"):
            # warm: 16 worker processes up (a fresh one costs ~1 s of CPU, and this machine
            # has 2 cores for 16 slots), so both ways find the same warm workers
            warm = root / "warm.log"
            run_units(_sleep_unit, [(str(warm), 0, i, 2.0) for i in range(16)], Plan(2, 1),
                      label="warm-up")
            out["warm_up"] = {"most_units_at_once": _most_at_once(warm)}
            for how in ("per_dataset_stages", "spanning_datasets"):
                log = root / f"{how}.log"
                grid = [[(str(log), d, i, args.grid_sleep) for i in range(2)] for d in range(8)]
                start = time.perf_counter()
                if how == "per_dataset_stages":  # what `dvc repro` does: one stage at a time
                    for units in grid:
                        run_units(_sleep_unit, units, Plan(2, 1), label=f"dataset {units[0][1]}")
                else:
                    run_units(_sleep_unit, [u for units in grid for u in units], Plan(2, 1),
                              label="8 datasets")
                out[how] = {"wall_s": time.perf_counter() - start,
                            "most_units_at_once": _most_at_once(log)}
    finally:
        cluster.stop()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-ray", dest="ray", action="store_false")
    ap.add_argument("--no-slurm", dest="slurm", action="store_false")
    ap.add_argument("--grid-sleep", type=float, default=3.0)
    args = ap.parse_args(argv)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            figures = {"overhead": overhead(args, Path(tmp)),
                       "grid": concurrency(args, Path(tmp))}
        finally:
            os.chdir(cwd)
    print(json.dumps(figures, indent=2))
    o = figures["overhead"]
    print(f"tiny family: {o['units']} units (2 seeds each), compute {o['compute_s']:.1f} s "
          "in-process one after another")
    for name, rec in o["executors"].items():
        if "skipped" in rec:
            print(f"  {name:6s} skipped: {rec['skipped']}")
            continue
        print(f"  {name:6s} wall {rec['wall_s']:5.1f} s on {rec['slots']} slots: overhead "
              f"{rec['overhead_per_unit_s']:+.2f} s per unit; an empty unit "
              f"{rec['empty_unit_s'] * 1000:.0f} ms"
              + (f"; cluster start {rec['cluster_start_s']:.1f} s (not counted)"
                 if "cluster_start_s" in rec else ""))
    g = figures["grid"]
    if "skipped" in g:
        print(f"8-dataset grid: skipped ({g['skipped']})")
    else:
        for how in ("per_dataset_stages", "spanning_datasets"):
            print(f"8-dataset grid x 2 units of {g['unit_s']:.0f} s on {g['slots']} Ray slots, "
                  f"{how.replace('_', ' ')}: at most {g[how]['most_units_at_once']} units at "
                  f"once, wall {g[how]['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
