"""`solid evaluate`: score a trained model on the valid and test candidates.

Writes `reports/metrics/<dataset>-<backbone>-<dsr>-<variant>/metrics.json` (AUC, UAUC,
NDCG@10/20, Recall@10/20 for valid and test; sampled: 1 positive + 99 negatives per user)
`run.json` beside it, and a copy of the training curves (`curves.csv`, a DVC plot). The model was selected on valid during training; test is scored
here once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from solidcli._io import Timer, console, run_record, staged_dir, write_json
from solidcli.config import Params, check_backbone, check_dsr
from solidcli.data.prepared import PreparedDataset
from solidcli.pipeline.train import load_trained, model_dir, run_name


def metrics_dir(dataset: str, backbone: str, dsr: str, variant: str,
                tag: str | None = None) -> Path:
    return Path("reports") / "metrics" / f"{dataset}-{backbone}-{dsr}-{run_name(variant, tag)}"


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None) -> list[Path]:
    from solidcli.engine import EvalSet, evaluate, pick_device

    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    timer = Timer()
    device = pick_device(params.device)
    with timer("load"):
        data = PreparedDataset.load(dataset)
        trained = model_dir(dataset, backbone, dsr, variant, tag)
        model, train_record = load_trained(trained, device)
    max_len = model.spec.max_len
    results = {}
    for split in ("valid", "test"):
        with timer(split):
            ev = EvalSet.from_split(data, split, max_len)
            results[split] = evaluate(model, ev, params.train.eval_batch_size, device,
                                      params.eval.ties)
    spec = model.spec
    metrics = {
        "dataset": dataset, "backbone": backbone, "dsr": dsr, "variant": variant, "tag": tag,
        "lambda": spec.lam if spec.codebook else None,
        "T": spec.clip if variant in ("sml", "scl") else None,
        "seed": train_record.get("seed"), "ties": params.eval.ties, "protocol": "sampled 1+99",
        "best_epoch": train_record.get("best_epoch"),
        "valid": results["valid"], "test": results["test"],
    }
    out = metrics_dir(dataset, backbone, dsr, variant, tag)
    curves = trained / "curves.csv"
    with staged_dir(out) as tmp:
        write_json(tmp / "metrics.json", metrics)
        if curves.is_file():
            shutil.copyfile(curves, tmp / "curves.csv")
        write_json(tmp / "run.json", run_record(
            "evaluate", {"eval": params.as_dict()["eval"], "dataset": dataset},
            params.seed, timer.times, model=str(trained),
            model_git_revision=train_record.get("git_revision"), device=str(device),
        ))
    t = results["test"]
    console.log(f"[bold]{dataset}/{backbone}/{dsr}/{trained.name}[/] test: AUC {t['AUC']:.4f}  "
                f"UAUC {t['UAUC']:.4f}  NDCG@10 {t['NDCG@10']:.4f}  Recall@10 "
                f"{t['Recall@10']:.4f} -> {out}")
    return [out]
