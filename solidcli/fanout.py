"""Train a family for every dataset at once: the grid's independent units handed to the
executor together, not one DVC stage (one dataset) at a time.

`dvc repro` runs stages one after another, so on a cluster an 8-dataset grid would still train
its datasets in a row, each stage's few units leaving most of the cluster idle. This command
takes, for each family in dependency order (base, spg, sml, then scl: SCL reads SML's models),
every configuration of every dataset and runs them as one set of units (`workers.run_units`:
local workers, Ray tasks or one SLURM array), then writes each dataset's stage record as
`solid train-<family> --dataset <d> --all` would; `--commit` then records those stages in
dvc.lock (`dvc commit`), so the next `dvc repro` finds them up to date and goes on with
evaluation and the tables. The outputs are the stage's own (same units, same bytes): it is the
same work, scheduled wider. docs/cluster.md shows the whole sequence.

    python -m solidcli.fanout --executor ray [--families base,spg,sml,scl] [--datasets a,b]
                              [--threads N] [--params params.yaml] [--commit]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from solidcli.errors import SolidError

ORDER = ("base", "spg", "sml", "scl")  # scl after sml (its metacode), the rest independent


def run_grid(params, families: list[str], datasets: list[str], threads: int | None = None,
             workers: int | None = None) -> dict[str, dict]:
    """Every configuration of `families` x `datasets`, family by family, each family's units
    across all datasets at once; returns {family: {"units", "seconds", "datasets"}}."""
    from solidcli._io import console, write_json
    from solidcli.grid import family_runs
    from solidcli.layout import stage_record
    from solidcli.pipeline.train import train_unit
    from solidcli.workers import plan, run_units

    done: dict[str, dict] = {}
    for family in [f for f in ORDER if f in families]:
        units, owner = [], []
        for dataset in datasets:
            for planned in family_runs(params, family, dataset):
                units.append((params.as_dict(), planned, list(params.seeds)))
                owner.append(dataset)
        if not units:
            continue
        how = plan(len(units), workers, threads, params.device)
        start = time.perf_counter()
        run_units(train_unit, units, how, label=f"{family} x {len(datasets)} datasets")
        seconds = time.perf_counter() - start
        for dataset in dict.fromkeys(owner):
            write_json(stage_record(dataset, family), {
                "family": family, "dataset": dataset, "configurations": owner.count(dataset),
                "seeds": list(params.seeds), "workers": how.workers, "threads": how.threads,
                "wall_seconds": round(seconds, 3), "fanout_units": len(units)})
        console.log(f"{family}: {len(units)} units over {len(set(owner))} datasets in "
                    f"{seconds:.0f} s")
        done[family] = {"units": len(units), "seconds": seconds,
                        "datasets": list(dict.fromkeys(owner))}
    return done


def commit(done: dict[str, dict]) -> None:
    """Record the trained stages in dvc.lock (`dvc commit -f train-<family>@<dataset>`)."""
    stages = [f"train-{family}@{d}" for family, rec in done.items() for d in rec["datasets"]]
    if stages:
        subprocess.run(["dvc", "commit", "-f", *stages], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m solidcli.fanout", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default=",".join(ORDER))
    ap.add_argument("--datasets", default=None, help="default: params.yaml's datasets")
    ap.add_argument("--executor", default=None, help="local, ray or slurm (env "
                    "SOLID_EXECUTOR; default local)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--commit", action="store_true", help="then `dvc commit` those stages")
    args = ap.parse_args(argv)
    from solidcli import executors
    from solidcli.config import load_params

    try:
        families = [f.strip() for f in args.families.split(",") if f.strip()]
        unknown = [f for f in families if f not in ORDER]
        if unknown:
            raise SolidError(f"unknown family '{unknown[0]}' (choose from {', '.join(ORDER)})")
        params = load_params(Path(args.params))
        datasets = (list(params.datasets) if args.datasets is None
                    else [d.strip() for d in args.datasets.split(",") if d.strip()])
        with executors.using(args.executor):
            done = run_grid(params, families, datasets, args.threads, args.workers)
        if args.commit:
            commit(done)
    except SolidError as exc:
        print(f"solid fanout: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
