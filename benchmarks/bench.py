"""Speed figures for the project's targets, printed (not asserted).

    python benchmarks/bench.py            # 5 seeds one after another vs 5 together (epoch and
                                          # validation), and the pipeline's per-stage times
                                          # from the last `dvc repro` of this checkout
    python benchmarks/bench.py --repro    # also a whole `dvc repro` in a fresh copy, timed
    python benchmarks/bench.py --scale [--sizes office-full:1 ...]  # benchmarks/scale_bench.py
    python benchmarks/bench.py --encoding [--like office-full]  # encoding_bench.py: train.encoding
                                          # prefix vs sequence, one epoch
    python benchmarks/bench.py --kmeans [--quick]  # kmeans_bench.py: lloyd vs mini-batch
                                          # k-means for semantic ids (issue 27)
    python benchmarks/bench.py --executors [--no-ray] [--no-slurm]  # executor_bench.py: per-unit
                                          # overhead of local, Ray and SLURM workers

It also times full-ranking evaluation (issue 10: every test user against all 1,585 items) beside
the sampled protocol, for SASRec and for DIN, whose state depends on the target.

Targets (issue 9) on this project's 2-core CPU: training S = 5 seeds of one configuration
together costs at most 1.5x one seed alone (epoch and validation both); the whole default
`dvc repro` with 5 seeds <= 30 min, Table 1's stages alone <= 15 min. The comparison runs in
one process with one torch thread (what each pipeline worker uses), on the bundled Scientific
data prepared in a temporary folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE1_FAMILIES = ("base", "spg", "sml", "scl")
CONFIGS = [("sasrec", "duet", "base"), ("sasrec", "duet", "scl")]
FULL_CONFIGS = [("sasrec", "duet", "scl"), ("din", "duet", "scl")]  # DIN: target-dependent
# issue 12: an epoch under each `train.loss` (RecBole's SASRec: 7.1 s per CE epoch, one thread)
LOSS_CONFIGS = [("sasrec", "none", "base"), ("sasrec", "duet", "scl"), ("din", "none", "base")]
LOSSES = ("bce", "ce", "sampled-ce")


def _prepare(workdir: Path) -> None:
    from solidcli.config import load_params
    from solidcli.pipeline import download, embed, semantics

    params = load_params(REPO / "params.yaml")
    os.chdir(workdir)
    download.run(params, "scientific")
    embed.run(params, "scientific")
    semantics.run(params, "scientific")


def _untrained(backbone: str, dsr: str, variant: str, seeds: list[int]):
    """(params, prepared data, spec, a group of untrained models, one per seed)."""
    import torch

    from solidcli.config import load_params
    from solidcli.data.prepared import PreparedDataset
    from solidcli.models.recommender import Recommender
    from solidcli.runs import build_spec, load_item_semantics

    params = load_params(REPO / "params.yaml")
    data = PreparedDataset.load("scientific")
    mapping, k, _ = load_item_semantics(params, "scientific", data.n_items)
    spec = build_spec(params, data.n_items, backbone, dsr, variant, 0 if variant == "base" else k)
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        codes = torch.randn(k, spec.dim) * 0.05 if spec.codebook else None
        members.append(Recommender(spec, item_to_semantic=mapping, codebook_init=codes))
    model = members[0] if len(members) == 1 else Recommender.group(members)
    return params, data, spec, model


def bench_group(backbone: str, dsr: str, variant: str, seeds: list[int], epochs: int) -> dict:
    """Seconds per epoch (training, validation) of `seeds` one after another and together."""
    import torch

    from solidcli.config import load_params
    from solidcli.engine import fit

    params = load_params(REPO / "params.yaml")
    cfg = dataclasses.replace(params.train, epochs=epochs, patience=epochs, min_epochs=epochs)

    def run(group: list[int]) -> tuple[float, float]:
        _, data, spec, model = _untrained(backbone, dsr, variant, group)
        res = fit(model, data, cfg, lam=spec.lam, seeds=group, data_seed=0,
                  device=torch.device("cpu"), ties="conservative", label="bench")[0]
        rows = res.curves[1:] or res.curves  # the first epoch pays one-off costs
        train = min(r["train_seconds"] for r in rows)
        valid = min(r["seconds"] - r["train_seconds"] for r in rows)
        return train, valid

    solo = [run([seed]) for seed in seeds]
    together = run(seeds)
    one_after_another = (sum(t for t, _ in solo), sum(v for _, v in solo))
    one = (one_after_another[0] / len(seeds), one_after_another[1] / len(seeds))
    return {
        "config": f"{backbone}/{dsr}/{variant}", "seeds": seeds,
        "one_seed_s": {"train": one[0], "valid": one[1]},
        "one_after_another_s": {"train": one_after_another[0], "valid": one_after_another[1]},
        "together_s": {"train": together[0], "valid": together[1]},
        "together_vs_one_seed": {"train": together[0] / one[0], "valid": together[1] / one[1]},
        "speedup_vs_one_after_another": (sum(one_after_another) / sum(together)),
    }


def bench_losses(backbone: str, dsr: str, variant: str, epochs: int) -> dict:
    """Seconds per training epoch of one seed under each `train.loss` (validation apart)."""
    import torch

    from solidcli.config import load_params
    from solidcli.engine import fit

    params = load_params(REPO / "params.yaml")
    out = {"config": f"{backbone}/{dsr}/{variant}"}
    for loss in LOSSES:
        cfg = dataclasses.replace(params.train, epochs=epochs, patience=epochs,
                                  min_epochs=epochs, loss=loss)
        _, data, spec, model = _untrained(backbone, dsr, variant, [0])
        res = fit(model, data, cfg, lam=spec.lam, seeds=[0], data_seed=0,
                  device=torch.device("cpu"), ties="conservative", label=f"bench {loss}")[0]
        rows = res.curves[1:] or res.curves  # the first epoch pays one-off costs
        out[loss] = min(r["train_seconds"] for r in rows)
    return out


def bench_full_ranking(backbone: str, dsr: str, variant: str, seeds: list[int]) -> dict:
    """Seconds to score the test users of a group of `seeds` (untrained: the cost does not
    depend on the weights) on the sampled candidates and against every item (full ranking)."""
    import torch

    from solidcli.engine import EvalSet, score, score_full

    params, data, spec, model = _untrained(backbone, dsr, variant, seeds)
    ev = EvalSet.from_split(data, "test", spec.max_len)
    cpu, size = torch.device("cpu"), params.train.eval_batch_size
    start = time.perf_counter()
    score(model, ev, size, cpu)
    sampled = time.perf_counter() - start
    start = time.perf_counter()
    score_full(model, ev, size, cpu, params.eval.ties)  # the sampled scores come with it
    full = time.perf_counter() - start
    return {"config": f"{backbone}/{dsr}/{variant}", "seeds": len(seeds),
            "users": len(ev.lengths), "items": data.n_items, "sampled_s": sampled,
            "full_s": full}


def stage_times(root: Path) -> dict:
    """Seconds of each training stage of the last `dvc repro` in `root`, from its stage.json
    (wall time of the stage's work, workers). `bench_repro` times every stage, DVC included."""
    from solidcli import layout
    from solidcli.config import load_params
    from solidcli.grid import FAMILIES, family_runs

    cwd = os.getcwd()
    os.chdir(root)
    try:
        params = load_params("params.yaml")
        out = {}
        for dataset in params.datasets:
            for family in FAMILIES:
                if not family_runs(params, family, dataset):
                    continue
                path = layout.stage_record(dataset, family)
                if path.is_file():
                    rec = json.loads(path.read_text())
                    out[f"{family}@{dataset}"] = {
                        "seconds": rec["wall_seconds"], "runs": rec["configurations"],
                        "seeds": len(rec["seeds"]), "workers": rec["workers"]}
        return out
    finally:
        os.chdir(cwd)


def stage_walls(lines, clock=time.perf_counter) -> tuple[dict[str, float], float]:
    """Wall seconds of each stage of a streamed `dvc repro` output (`lines`, read as they
    come): from its "Running stage 'name':" line to the next one (the last: to the end), so
    DVC's own work between stages is counted with the stage before. Returns (per stage, total).
    """
    start = clock()
    walls: dict[str, float] = {}
    current, since = None, start
    for line in lines:
        sys.stdout.write(line)
        if line.startswith("Running stage '"):
            now = clock()
            if current is not None:
                walls[current] = now - since
            current, since = line.split("'")[1], now
    end = clock()
    if current is not None:
        walls[current] = end - since
    return walls, end - start


def table1_seconds(seconds: dict[str, float], prefix: str = "") -> float:
    """The seconds of Table 1's training stages among `seconds`, keyed `<prefix><family>@...`
    (`stage_times`' keys: no prefix; DVC's stage names in `stage_walls`: `train-`)."""
    names = {prefix + family for family in TABLE1_FAMILIES}
    return sum(v for k, v in seconds.items() if k.split("@")[0] in names)


def bench_repro() -> dict:
    """A whole `dvc repro` in a fresh copy of the tracked files, timed stage by stage."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "solid"
        for f in files:
            if f.startswith("reports/") or f == "dvc.lock":
                continue  # start from nothing
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, work / f)
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        with subprocess.Popen(["dvc", "repro"], cwd=work, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
            walls, total = stage_walls(proc.stdout)
        if proc.returncode:
            raise SystemExit(f"dvc repro failed (exit {proc.returncode})")
        return {"dvc_repro_seconds": total, "stage_walls": walls,
                "stages": stage_times(work)}


SUB_BENCHMARKS = {
    "--scale": "scale_bench",  # every stage at the paper's sizes
    "--encoding": "encoding_bench",  # train.encoding prefix vs sequence, per epoch
    "--kmeans": "kmeans_bench",  # lloyd vs mini-batch k-means for semantic ids
    "--executors": "executor_bench",  # per-unit overhead of local, Ray and SLURM
}


def main() -> None:
    for flag, module in SUB_BENCHMARKS.items():  # each its own script in benchmarks/
        if flag in sys.argv[1:]:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            importlib.import_module(module).main([a for a in sys.argv[1:] if a != flag])
            return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repro", action="store_true", help="also time a full dvc repro")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per measurement (the "
                    "first is not counted)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds in the group")
    ap.add_argument("--losses-only", action="store_true", help="only the epoch time of each "
                    "train.loss (issue 12)")
    args = ap.parse_args()
    import torch

    from solidcli.device import keep_freed_memory

    torch.set_num_threads(1)  # what every pipeline worker uses
    keep_freed_memory()
    seeds = list(range(args.seeds))
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        _prepare(Path(tmp))
        losses = [bench_losses(*c, args.epochs) for c in LOSS_CONFIGS]
        if args.losses_only:
            os.chdir(cwd)
            _print_losses(losses)
            return
        groups = [bench_group(*c, seeds, args.epochs) for c in CONFIGS]
        full = [bench_full_ranking(*c, seeds) for c in FULL_CONFIGS]
        os.chdir(cwd)
    figures = {"groups": groups, "full_ranking": full, "losses": losses,
               "pipeline_stages": stage_times(REPO)}
    if args.repro:
        figures["fresh_repro"] = bench_repro()
    print(json.dumps(figures, indent=2))
    s = len(seeds)
    for g in groups:
        r = g["together_vs_one_seed"]
        print(f"{g['config']}: one seed {g['one_seed_s']['train']:.2f} s train + "
              f"{g['one_seed_s']['valid']:.2f} s valid per epoch; {s} seeds together "
              f"{g['together_s']['train']:.2f} s + {g['together_s']['valid']:.2f} s = "
              f"{r['train']:.2f}x / {r['valid']:.2f}x one seed   [target <= 1.5x]; "
              f"{g['speedup_vs_one_after_another']:.2f}x faster than {s} seeds one after "
              "another")
    for f in full:
        print(f"{f['config']}, {f['seeds']} seeds: scoring {f['users']} test users on 1 + 99 "
              f"candidates {f['sampled_s']:.1f} s, against all {f['items']} items (full "
              f"ranking, the sampled scores from the same pass) {f['full_s']:.1f} s")
    _print_losses(losses)
    for name, stages in (("last dvc repro here", figures["pipeline_stages"]),
                         *((("fresh dvc repro", figures["fresh_repro"]["stages"]),)
                           if args.repro else ())):
        if not stages:
            print(f"{name}: no training stage records (run `dvc repro` first)")
            continue
        print(f"{name}, training stages:")
        for stage, rec in stages.items():
            print(f"  {stage:28s} {rec['seconds'] / 60:6.1f} min  ({rec['runs']} runs x "
                  f"{rec['seeds']} seeds, {rec['workers']} workers)")
        table1 = table1_seconds({k: r["seconds"] for k, r in stages.items()})
        total = sum(r["seconds"] for r in stages.values())
        print(f"  Table 1's stages {table1 / 60:.1f} min [target <= 15 min]; all training "
              f"{total / 60:.1f} min")
    if args.repro:
        walls = figures["fresh_repro"]["stage_walls"]
        print("fresh dvc repro, every stage (wall, DVC's own work included):")
        for stage, seconds in walls.items():
            print(f"  {stage:40s} {seconds / 60:6.1f} min")
        table1 = table1_seconds(walls, prefix="train-")
        print(f"fresh dvc repro: {figures['fresh_repro']['dvc_repro_seconds'] / 60:.1f} min   "
              f"[target <= 30 min]; Table 1's training stages {table1 / 60:.1f} min "
              "[target <= 15 min]")


def _print_losses(losses: list[dict]) -> None:
    for row in losses:
        print(f"{row['config']}, one seed, training epoch: " + ", ".join(
            f"{loss} {row[loss]:.2f} s" for loss in LOSSES)
            + "   [ce target < 1.5 s; RecBole's SASRec 7.1 s]")


if __name__ == "__main__":
    main()
