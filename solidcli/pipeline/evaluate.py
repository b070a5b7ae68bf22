"""`solid evaluate`: score trained models on the valid and test candidates.

For each model writes `reports/metrics/<dataset>/<backbone>-<dsr>-<run>/metrics.json` (AUC,
UAUC, NDCG@10/20, Recall@10/20 for valid and test; sampled: 1 positive + 99 negatives per user)
with `run.json` beside it, and copies its training curves to
`reports/curves/<dataset>/<backbone>-<dsr>-<run>.csv` (a DVC plot). The model was selected on
valid during training; test is scored here once.

`--all` evaluates every trained model of a dataset in one process and rewrites both folders
whole: the DVC stage does this, which keeps the pipeline to one evaluation process per dataset
(re-scoring all models costs seconds; starting a process per model cost minutes).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from solidcli._io import Timer, atomic_file, console, progress, run_record, staged_dir, write_json
from solidcli.config import Params, check_backbone, check_dsr
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.pipeline.train import load_trained, model_dir, run_name


def metrics_dir(dataset: str) -> Path:
    return Path("reports") / "metrics" / dataset


def curves_dir(dataset: str) -> Path:
    return Path("reports") / "curves" / dataset


def run_key(backbone: str, dsr: str, variant: str, tag: str | None = None) -> str:
    return f"{backbone}-{dsr}-{run_name(variant, tag)}"


def _score(params: Params, data: PreparedDataset, folder: Path, device,
           eval_sets: dict | None = None) -> tuple[dict, dict]:
    """metrics.json and run.json contents for the model saved in `folder`. `eval_sets`
    keeps the padded splits, keyed by (split, max_len), for the next model of the dataset."""
    from solidcli.engine import EvalSet, evaluate

    eval_sets = {} if eval_sets is None else eval_sets
    timer = Timer()
    with timer("load"):
        model, record = load_trained(folder, device)
    spec = model.spec
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
        "variant": spec.variant, "tag": record.get("tag"),
        "lambda": spec.lam if spec.codebook else None,
        "T": spec.clip if spec.variant in ("sml", "scl") else None,
        "seed": record.get("seed"), "ties": params.eval.ties,
        "protocol": f"sampled 1+{n_candidates - 1}", "best_epoch": record.get("best_epoch"),
        "valid": results["valid"], "test": results["test"],
    }
    evaluation = run_record(
        "evaluate", {"eval": params.as_dict()["eval"], "dataset": data.name}, params.seed,
        timer.times, model=str(folder), model_git_revision=record.get("git_revision"),
        device=str(device))
    return metrics, evaluation


def _write(target: Path, curves_target: Path, folder: Path, metrics: dict, record: dict):
    write_json(target / "metrics.json", metrics)
    write_json(target / "run.json", record)
    if (folder / "curves.csv").is_file():
        curves_target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(curves_target) as tmp:
            shutil.copyfile(folder / "curves.csv", tmp)


def _log(name: str, metrics: dict) -> None:
    t = metrics["test"]
    console.log(f"[bold]{name}[/] test: AUC {t['AUC']:.4f}  UAUC {t['UAUC']:.4f}  "
                f"NDCG@10 {t['NDCG@10']:.4f}  Recall@10 {t['Recall@10']:.4f}")


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None) -> list[Path]:
    """Evaluate one trained model."""
    from solidcli.engine import pick_device

    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    device = pick_device(params.device)
    data = PreparedDataset.load(dataset)
    folder = model_dir(dataset, backbone, dsr, variant, tag)
    metrics, record = _score(params, data, folder, device)
    key = run_key(backbone, dsr, variant, tag)
    out = metrics_dir(dataset) / key
    with staged_dir(out) as tmp:
        _write(tmp, curves_dir(dataset) / f"{key}.csv", folder, metrics, record)
    _log(f"{dataset}/{key}", metrics)
    return [out]


def run_all(params: Params, dataset: str) -> list[Path]:
    """Evaluate every model trained for `dataset`; rewrite its metrics and curves folders."""
    from solidcli.engine import pick_device

    root = Path("models") / dataset
    folders = sorted(p.parent for p in root.glob("*/*/*/model.pt"))
    if not folders:
        raise SolidError(f"no trained models under {root}; run the train-* commands first")
    device = pick_device(params.device)
    data = PreparedDataset.load(dataset)
    out, curves = metrics_dir(dataset), curves_dir(dataset)
    with staged_dir(out) as tmp, staged_dir(curves) as tmp_curves, progress() as bar:
        task = bar.add_task(f"evaluate {dataset}", total=len(folders))
        eval_sets: dict = {}
        for folder in folders:
            metrics, record = _score(params, data, folder, device, eval_sets)
            key = run_key(folder.parent.parent.name, folder.parent.name, folder.name)
            (tmp / key).mkdir()
            _write(tmp / key, tmp_curves / f"{key}.csv", folder, metrics, record)
            _log(f"{dataset}/{key}", metrics)
            bar.advance(task)
    return [out, curves]
