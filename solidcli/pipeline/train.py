"""`solid train-base | train-spg | train-sml | train-scl`: fit one model and save it.

Writes `models/<dataset>/<backbone>/<dsr>/<variant>/`:
  model.pt      the state_dict only (load with torch.load(weights_only=True))
  run.json      spec, vocabulary sizes, params, seed, git revision, timings
  metrics.json  valid metrics at the selected (best valid UAUC) epoch
  curves.csv    one row per epoch (loss, aux loss, valid metrics, seconds)

The SCL codebook is initialised from the semantic table of the trained SML model (the paper's
metacode, Sec. 3.3.2-3.3.3); `solid.metacode: spg` takes the SPG model's table as the authors'
code does, and `random` a Xavier-uniform table. `--tag` names a run apart (the lambda x T
sweep), `--metacode-tag` picks the tagged SML/SPG run that provides the metacode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli._io import Timer, console, read_json, run_record, staged_dir, write_json, write_text
from solidcli.config import Params, check_backbone, check_dsr, to_dict
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.models.spec import ModelSpec
from solidcli.pipeline.semantics import resolve as resolve_semantics


def run_name(variant: str, tag: str | None = None) -> str:
    """Folder name of a run: the variant, plus `-<tag>` for a tagged run (e.g. a sweep cell)."""
    if tag is not None and (not tag or "/" in tag or tag.startswith(".")):
        raise SolidError(f"invalid run tag '{tag}' (a short name without '/')")
    return variant if tag is None else f"{variant}-{tag}"


def model_dir(dataset: str, backbone: str, dsr: str, variant: str,
              tag: str | None = None) -> Path:
    return Path("models") / dataset / backbone / dsr / run_name(variant, tag)


def build_spec(params: Params, data: PreparedDataset, backbone: str, dsr: str, variant: str,
               n_semantics: int) -> ModelSpec:
    bb_cfg = getattr(params.models, backbone)
    dsr_cfg = getattr(params.dsr, dsr)
    return ModelSpec(
        backbone=backbone, dsr=dsr, variant=variant,
        n_items=data.n_items, n_semantics=n_semantics,
        dim=params.train.dim, max_len=params.train.max_len,
        backbone_opts=dict(vars(bb_cfg)), dsr_opts=dict(vars(dsr_cfg)),
        clip=params.solid.T if variant in ("sml", "scl") else 0.0,
        lam=params.solid.lam if variant in ("scl", "scl_only") else 0.0,
        train_codebook=params.solid.train_codebook,
        mask_padding=params.solid.mask_padding,
    )


def load_item_semantics(params: Params, dataset: str, n_items: int,
                        by_modality: str | None = None):
    """(n_items + 1,) long tensor item -> semantic id (0 for padding), K, and the file read."""
    import pandas as pd
    import torch

    cfg, folder, stem = resolve_semantics(params, dataset, by_modality)
    path = folder / f"{stem}.parquet"
    if not path.is_file():
        flag = f" --modalities {by_modality}" if by_modality else ""
        raise SolidError(f"missing {path}; run `solid assign-semantics --dataset {dataset}"
                         f"{flag}`")
    try:
        frame = pd.read_parquet(path)
    except Exception:  # noqa: BLE001
        raise SolidError(f"corrupt semantics file: {path}") from None
    items = frame["item"].to_numpy()
    sem = frame["semantic"].to_numpy()
    if len(items) != n_items or set(items.tolist()) != set(range(1, n_items + 1)):
        raise SolidError(f"{path} does not cover items 1..{n_items}; rerun assign-semantics")
    summary = read_json(path.with_suffix(".json"))
    k = int(summary.get("k", -1))
    if sem.min() < 1 or sem.max() > k or (cfg.method == "kmeans" and k != cfg.k):
        raise SolidError(f"{path} does not match its summary or params (k = {cfg.k}); "
                         "rerun assign-semantics")
    mapping = np.zeros(n_items + 1, dtype=np.int64)
    mapping[items] = sem
    return torch.from_numpy(mapping), k, str(path)


def load_trained(folder: Path, device=None):
    """Rebuild a saved Recommender from its run.json spec and model.pt state_dict."""
    import torch

    from solidcli.models.recommender import Recommender

    record = read_json(folder / "run.json")
    weights = folder / "model.pt"
    if not weights.is_file():
        raise SolidError(f"missing checkpoint {weights}; train the model first")
    spec = ModelSpec.from_dict(record["spec"])
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - torch raises many types for a bad file
        raise SolidError(f"corrupt checkpoint: {weights}") from None
    model = Recommender(spec)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise SolidError(f"{weights} does not match its run.json spec; retrain") from None
    if device is not None:
        model.to(device)
    return model, record


def _metacode(params: Params, dataset: str, backbone: str, dsr: str, k: int, dim: int,
              tag: str | None):
    import torch
    from torch import nn

    source = params.solid.metacode
    if source == "random":
        table = torch.empty(k, dim)
        nn.init.xavier_uniform_(table)
        return table, "random (xavier-uniform)"
    folder = model_dir(dataset, backbone, dsr, source, tag)
    model, _ = load_trained(folder)
    if model.semantics is None or model.semantics.weight.shape != (k + 1, dim):
        raise SolidError(f"{folder}: its semantic table does not match K = {k}, D = {dim}; "
                         f"retrain train-{source}")
    return model.semantics.weight.detach()[1:].clone(), f"{folder} semantics table"


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None, metacode_tag: str | None = None,
        by_modality: str | None = None) -> list[Path]:
    import torch

    from solidcli.engine import fit, pick_device, seed_everything
    from solidcli.models.recommender import Recommender

    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    out = model_dir(dataset, backbone, dsr, variant, tag)
    timer = Timer()
    with timer("load"):
        data = PreparedDataset.load(dataset)
        mapping, k, semantics_file = None, 0, None
        if variant in ("spg", "sml", "scl"):
            mapping, k, semantics_file = load_item_semantics(params, dataset, data.n_items,
                                                             by_modality)
        elif variant == "scl_only":  # a codebook of the same size, no semantic ids
            k = params.semantics_cfg(dataset).k
    spec = build_spec(params, data, backbone, dsr, variant, k)
    seed_everything(params.seed)
    codebook_init, metacode = None, None
    if variant == "scl":
        codebook_init, metacode = _metacode(params, dataset, backbone, dsr, k, spec.dim,
                                            metacode_tag)
    elif variant == "scl_only":
        metacode = "none: random (xavier-uniform) codebook, no semantic trunk"
    device = pick_device(params.device)
    model = Recommender(spec, item_to_semantic=mapping, codebook_init=codebook_init).to(device)
    label = f"{dataset}/{backbone}/{dsr}/{out.name}"
    with timer("fit"):
        result = fit(model, data, params.train, lam=spec.lam, seed=params.seed,
                     device=device, ties=params.eval.ties, label=label)
    n_params = sum(p.numel() for p in model.parameters())
    record = run_record(
        f"train-{variant}", _used_params(params, dataset, backbone, dsr, variant, by_modality), params.seed,
        {**timer.times, "epoch_mean": float(np.mean(result.epoch_seconds))},
        spec=spec.to_dict(), device=str(device), parameters=n_params,
        vocab={"items": data.n_items, "semantics": k}, metacode=metacode,
        best_epoch=result.best_epoch, epochs_run=len(result.curves), torch=torch.__version__,
        tag=tag, metacode_tag=metacode_tag, semantics=semantics_file,
    )
    with staged_dir(out) as tmp:
        torch.save({k_: v.detach().cpu() for k_, v in model.state_dict().items()},
                   tmp / "model.pt")
        write_json(tmp / "run.json", record)
        write_json(tmp / "metrics.json", {"split": "valid", "epoch": result.best_epoch,
                                          "seed": params.seed, **result.best_valid})
        write_text(tmp / "curves.csv", _csv(result.curves))
    console.log(f"[bold]{label}[/]: best epoch {result.best_epoch}, valid UAUC "
                f"{result.best_valid['UAUC']:.4f} -> {out}")
    return [out]


def _used_params(params: Params, dataset, backbone, dsr, variant, by_modality) -> dict:
    d = params.as_dict()
    used = {
        "seed": d["seed"], "device": d["device"], "dataset": dataset,
        "data": to_dict(params.data_cfg(dataset)), "train": d["train"], "eval": d["eval"],
        "models": {backbone: d["models"][backbone]}, "dsr": {dsr: d["dsr"][dsr]},
    }
    if variant != "base":
        used["semantics"] = to_dict(resolve_semantics(params, dataset, by_modality)[0])
    if variant in ("sml", "scl", "scl_only"):
        used["solid"] = d["solid"]
    return used


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c])
                              for c in cols))
    return "\n".join(lines) + "\n"
