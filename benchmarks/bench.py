"""Speed figures for the project's targets, printed (not asserted).

    python benchmarks/bench.py              # SASRec-DUET-SCL epoch, one full evaluation,
                                            # and the epoch time of every backbone x dsr
    python benchmarks/bench.py --repro      # also the whole `dvc repro` in a fresh copy

Targets on a 2-core CPU: an SCL training epoch on Scientific <= 3 s; scoring 2,928 users x 100
candidates (model + metrics) <= 1 s; no backbone more than 3x slower per epoch than SASRec
(same dsr and variant); the whole default `dvc repro` <= 20 min.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _prepare(workdir: Path) -> None:
    from solidcli.config import load_params
    from solidcli.pipeline import download, embed, semantics

    params = load_params(REPO / "params.yaml")
    os.chdir(workdir)
    download.run(params, "scientific")
    embed.run(params, "scientific")
    semantics.run(params, "scientific")


def bench_epoch_and_eval(epochs: int) -> dict:
    import torch

    from solidcli.config import load_params
    from solidcli.data.prepared import PreparedDataset
    from solidcli.device import seed_everything
    from solidcli.engine import EvalSet, fit, score
    from solidcli.metrics import evaluate_scores
    from solidcli.models.recommender import Recommender
    from solidcli.runs import build_spec, load_item_semantics

    params = load_params(REPO / "params.yaml")
    data = PreparedDataset.load("scientific")
    mapping, k, _ = load_item_semantics(params, "scientific", data.n_items)
    spec = build_spec(params, data.n_items, "sasrec", "duet", "scl", k)
    seed_everything(0)
    model = Recommender(spec, item_to_semantic=mapping,
                        codebook_init=torch.randn(k, spec.dim) * 0.05)
    t = params.train
    cfg = dataclasses.replace(t, epochs=epochs, patience=epochs, min_epochs=epochs,
                              min_delta=0.0)
    result = fit(model, data, cfg, lam=spec.lam, seed=0, device=torch.device("cpu"),
                 ties="conservative", label="bench scl")
    ev = EvalSet.from_split(data, "test", t.max_len)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        scores = score(model, ev, t.eval_batch_size, torch.device("cpu"))
        mid = time.perf_counter()
        evaluate_scores(scores, ev.labels)
        runs.append((mid - start, time.perf_counter() - mid))
    best = min(runs, key=sum)
    return {
        "scl_epoch_seconds": result.epoch_seconds,
        "eval_users": int(ev.candidates.shape[0]),
        "eval_candidates": int(ev.candidates.shape[1]),
        "eval_model_seconds": best[0],
        "eval_metrics_seconds": best[1],
        "eval_total_seconds": sum(best),
        "torch_threads": torch.get_num_threads(),
    }


def bench_backbones(epochs: int = 2) -> dict:
    """Best training-epoch seconds of every backbone x (dsr, variant), and the ratio to SASRec."""
    import torch

    from solidcli.config import load_params
    from solidcli.data.prepared import PreparedDataset
    from solidcli.device import seed_everything
    from solidcli.engine import fit
    from solidcli.models.recommender import Recommender
    from solidcli.runs import build_spec, load_item_semantics

    params = load_params(REPO / "params.yaml")
    data = PreparedDataset.load("scientific")
    mapping, k, _ = load_item_semantics(params, "scientific", data.n_items)
    t = params.train
    combos = [("none", "base"), ("apg", "base"), ("duet", "base"), ("apg", "scl"),
              ("duet", "scl")]
    seconds: dict[str, dict[str, float]] = {}
    for backbone in ("sasrec", "din", "gru4rec", "bert4rec"):
        for dsr, variant in combos:
            spec = build_spec(params, data.n_items, backbone, dsr, variant,
                              k if variant != "base" else 0)
            seed_everything(0)
            model = Recommender(spec, item_to_semantic=mapping)
            cfg = dataclasses.replace(t, epochs=epochs, patience=epochs, min_epochs=epochs,
                              min_delta=0.0)
            result = fit(model, data, cfg, lam=spec.lam, seed=0, device=torch.device("cpu"),
                         ties="conservative", label=f"bench {backbone}/{dsr}/{variant}")
            seconds.setdefault(backbone, {})[f"{dsr}/{variant}"] = min(result.epoch_seconds)
    ratio = {bb: {c: v / seconds["sasrec"][c] for c, v in row.items()}
             for bb, row in seconds.items()}
    return {"epoch_seconds": seconds, "ratio_to_sasrec": ratio}


def bench_repro() -> dict:
    from solidcli.config import load_params
    from solidcli.grid import dataset_runs
    from solidcli.layout import model_dir

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
        start = time.perf_counter()
        subprocess.run(["dvc", "repro", "-q"], cwd=work, check=True, env=env)
        total = time.perf_counter() - start
        stages = {}
        os.chdir(work)
        params = load_params("params.yaml")
        for dataset in params.datasets:
            for planned in dataset_runs(params, dataset):
                rec = json.loads((model_dir(planned.run) / "run.json").read_text())
                stages[str(planned.run)] = {
                    "fit_s": rec["timings_s"]["fit"], "epochs": rec["epochs_run"],
                    "epoch_mean_s": rec["timings_s"]["epoch_mean"]}
        os.chdir(REPO)
    return {"dvc_repro_seconds": total, "training_runs": stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repro", action="store_true", help="also time a full dvc repro")
    ap.add_argument("--epochs", type=int, default=3, help="SCL epochs to time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        _prepare(Path(tmp))
        figures = bench_epoch_and_eval(args.epochs)
        figures["backbones"] = bench_backbones()
        os.chdir(cwd)
    if args.repro:
        figures.update(bench_repro())
    print(json.dumps(figures, indent=2))
    epoch = min(figures["scl_epoch_seconds"])
    print(f"SCL epoch (best of {args.epochs}): {epoch:.2f} s   [target <= 3 s]")
    print(f"evaluate {figures['eval_users']} x {figures['eval_candidates']}: "
          f"{figures['eval_total_seconds']:.2f} s   [target <= 1 s]")
    worst = max((r, bb, c) for bb, row in figures["backbones"]["ratio_to_sasrec"].items()
                for c, r in row.items())
    print(f"slowest backbone vs SASRec: {worst[1]} {worst[2]} at {worst[0]:.2f}x   [target <= 3x]")
    if args.repro:
        print(f"dvc repro: {figures['dvc_repro_seconds'] / 60:.1f} min   [target <= 20 min]")


if __name__ == "__main__":
    main()
