"""`solid evaluate`: score trained models on the valid and test candidates.

For each model writes `reports/metrics/<dataset>/<backbone>-<dsr>-<run>/metrics.json` (AUC,
UAUC, NDCG@10/20, Recall@10/20 for valid and test; sampled: 1 positive + 99 negatives per user)
with `run.json` beside it, and copies its training curves to
`reports/curves/<dataset>/<backbone>-<dsr>-<run>.csv` (a DVC plot). The model was selected on
valid during training; test is scored here once.

`--all` evaluates, in one process, exactly the runs params.yaml defines for the dataset
(`solidcli.grid`, the axes dvc.yaml expands), and rewrites both folders whole: a folder left
in models/ by a removed backbone or an interrupted save is never scored. This is the DVC
stage: re-scoring all models costs seconds; starting a process per model cost minutes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from solidcli._io import Timer, atomic_file, console, progress, run_record, staged_dir, write_json
from solidcli.config import Params, check_backbone, check_dsr
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.grid import dataset_runs, train_command
from solidcli.layout import RunId, curves_dir, curves_file, metrics_dir, model_dir, run_metrics_dir
from solidcli.runs import load_trained


def _score(params: Params, data: PreparedDataset, run: RunId, device,
           eval_sets: dict | None = None) -> tuple[dict, dict]:
    """metrics.json and run.json contents for the trained `run`. `eval_sets` keeps the
    padded splits, keyed by (split, max_len), for the next model of the dataset."""
    from solidcli.engine import EvalSet, evaluate

    eval_sets = {} if eval_sets is None else eval_sets
    timer = Timer()
    with timer("load"):
        model, record = load_trained(run, device, make=train_command(params, run))
    spec = model.spec
    if spec.n_items != data.n_items:
        raise SolidError(f"{model_dir(run)} was trained on {spec.n_items} items, the prepared "
                         f"data has {data.n_items}; retrain it (`{train_command(params, run)}`)")
    results = {}
    for split in ("valid", "test"):
        with timer(split):
            key = (split, spec.max_len)
            if key not in eval_sets:
                eval_sets[key] = EvalSet.from_split(data, split, spec.max_len)
            results[split] = evaluate(model, eval_sets[key], params.train.eval_batch_size,
                                      device, params.eval.ties)
    n_candidates = data.candidates["test"].shape[1]
    metrics = {
        "dataset": data.name, "backbone": spec.backbone, "dsr": spec.dsr,
        "variant": spec.variant, "tag": run.tag,
        "lambda": spec.lam if spec.codebook else None,
        "T": spec.clip if spec.variant in ("sml", "scl") else None,
        "seed": record.get("seed"), "ties": params.eval.ties,
        "protocol": f"sampled 1+{n_candidates - 1}", "best_epoch": record.get("best_epoch"),
        "valid": results["valid"], "test": results["test"],
    }
    evaluation = run_record(
        "evaluate", {"eval": params.as_dict()["eval"], "dataset": data.name}, params.seed,
        timer.times, model=str(model_dir(run)), model_git_revision=record.get("git_revision"),
        device=str(device))
    return metrics, evaluation


def _write(target: Path, curves_target: Path, run: RunId, metrics: dict, record: dict):
    write_json(target / "metrics.json", metrics)
    write_json(target / "run.json", record)
    source = model_dir(run) / "curves.csv"
    if source.is_file():
        curves_target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(curves_target) as tmp:
            shutil.copyfile(source, tmp)


def _log(run: RunId, metrics: dict) -> None:
    t = metrics["test"]
    console.log(f"[bold]{run}[/] test: AUC {t['AUC']:.4f}  UAUC {t['UAUC']:.4f}  "
                f"NDCG@10 {t['NDCG@10']:.4f}  Recall@10 {t['Recall@10']:.4f}")


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None) -> list[Path]:
    """Evaluate one trained model."""
    from solidcli.device import pick_device

    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    target = RunId(dataset, backbone, dsr, variant, tag)
    device = pick_device(params.device)
    data = PreparedDataset.load(dataset)
    metrics, record = _score(params, data, target, device)
    out = run_metrics_dir(target)
    with staged_dir(out) as tmp:
        _write(tmp, curves_file(target), target, metrics, record)
    _log(target, metrics)
    return [out]


def run_all(params: Params, dataset: str) -> list[Path]:
    """Evaluate every run params.yaml defines for `dataset`; rewrite its reports folders."""
    from solidcli.device import pick_device

    planned = dataset_runs(params, dataset)
    device = pick_device(params.device)
    data = PreparedDataset.load(dataset)
    out, curves = metrics_dir(dataset), curves_dir(dataset)
    with staged_dir(out) as tmp, staged_dir(curves) as tmp_curves, progress() as bar:
        task = bar.add_task(f"evaluate {dataset}", total=len(planned))
        eval_sets: dict = {}
        for item in planned:
            metrics, record = _score(params, data, item.run, device, eval_sets)
            (tmp / item.run.key).mkdir()
            _write(tmp / item.run.key, tmp_curves / f"{item.run.key}.csv", item.run, metrics,
                   record)
            _log(item.run, metrics)
            bar.advance(task)
    return [out, curves]
