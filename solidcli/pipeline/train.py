"""`solid train-base | train-spg | train-sml | train-scl`: fit one model and save it.

Writes the run folder `models/<dataset>/<backbone>/<dsr>/<run>/` (see `solidcli.runs`).

The SCL codebook is initialised from the semantic table of the trained SML model (the paper's
metacode, Sec. 3.3.2-3.3.3); `solid.metacode: spg` takes the SPG model's table as the authors'
code does, and `random` a Xavier-uniform table. `--tag` names a run apart (the lambda x T
sweep), `--metacode-tag` picks the tagged SML/SPG run that provides the metacode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli._io import Timer, console, run_record
from solidcli.config import Params, check_backbone, check_dsr, to_dict
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.grid import train_command
from solidcli.layout import RunId, model_dir
from solidcli.runs import build_spec, load_item_semantics, load_trained, resolve_semantics, save_run


def _metacode(params: Params, run: RunId, k: int, dim: int, tag: str | None):
    import torch
    from torch import nn

    source = params.solid.metacode
    if source == "random":
        table = torch.empty(k, dim)
        nn.init.xavier_uniform_(table)
        return table, "random (xavier-uniform)"
    src = RunId(run.dataset, run.backbone, run.dsr, source, tag)
    model, _ = load_trained(src, make=train_command(params, src))
    if model.semantics is None or model.semantics.weight.shape != (k + 1, dim):
        raise SolidError(f"{model_dir(src)}: its semantic table does not match K = {k}, "
                         f"D = {dim}; retrain it with `{train_command(params, src)}`")
    return model.semantics.weight.detach()[1:].clone(), f"{model_dir(src)} semantics table"


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None, metacode_tag: str | None = None,
        by_modality: str | None = None) -> list[Path]:
    import torch

    from solidcli.device import pick_device, seed_everything
    from solidcli.engine import fit
    from solidcli.models.recommender import Recommender

    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    target = RunId(dataset, backbone, dsr, variant, tag)
    timer = Timer()
    with timer("load"):
        data = PreparedDataset.load(dataset)
        mapping, k, semantics_file = None, 0, None
        if variant in ("spg", "sml", "scl"):
            mapping, k, semantics_file = load_item_semantics(params, dataset, data.n_items,
                                                             by_modality)
        elif variant == "scl_only":  # a codebook of the same size, no semantic ids
            k = params.semantics_cfg(dataset).k
    spec = build_spec(params, data.n_items, backbone, dsr, variant, k)
    seed_everything(params.seed)
    codebook_init, metacode = None, None
    if variant == "scl":
        codebook_init, metacode = _metacode(params, target, k, spec.dim, metacode_tag)
    elif variant == "scl_only":
        metacode = "none: random (xavier-uniform) codebook, no semantic trunk"
    device = pick_device(params.device)
    model = Recommender(spec, item_to_semantic=mapping, codebook_init=codebook_init).to(device)
    label = str(target)
    with timer("fit"):
        result = fit(model, data, params.train, lam=spec.lam, seed=params.seed,
                     device=device, ties=params.eval.ties, label=label)
    n_params = sum(p.numel() for p in model.parameters())
    record = run_record(
        f"train-{variant}", _used_params(params, dataset, backbone, dsr, variant, by_modality),
        params.seed, {**timer.times, "epoch_mean": float(np.mean(result.epoch_seconds))},
        spec=spec.to_dict(), device=str(device), parameters=n_params,
        vocab={"items": data.n_items, "semantics": k}, metacode=metacode,
        best_epoch=result.best_epoch, epochs_run=len(result.curves), torch=torch.__version__,
        tag=tag, metacode_tag=metacode_tag, semantics=semantics_file,
    )
    state = {k_: v.detach().cpu() for k_, v in model.state_dict().items()}
    out = save_run(target, state, record,
                   {"split": "valid", "epoch": result.best_epoch, "seed": params.seed,
                    **result.best_valid}, result.curves)
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
