"""`solid train-base | train-spg | train-sml | train-scl`: fit configurations, every seed at once.

A configuration (one planned run of `solidcli.grid`) is trained once per training seed of
`seeds`, all seeds together as one batched model (`engine.fit`); each seed is then saved as a
complete run, `models/<dataset>/<family>/<config>/seed<s>/` (see `solidcli.runs`). A stage
trains a whole family (`--all`, `--sweep`) and hands its configurations to worker processes
(`solidcli.workers`); a single command trains one configuration.

Seed s of a group starts from the weights `torch.manual_seed(s)` gives a one-member model, so
`--seed s` alone and seed s inside a group start, and train, alike (to float rounding).

The SCL codebook of seed s is initialised from the semantic table of the trained SML model of
seed s (the paper's metacode, Sec. 3.3.2-3.3.3); `solid.metacode: spg` takes the SPG model's
table as the authors' code does, `random` a Xavier-uniform table, and `centroids` the mean of
each semantic id's items in the SML model's item table (codes in the space the codebook
searches). `solid.warm_start: true` also starts SCL from that model's weights, every tensor
the two share (item table, backbone, trunk, branch), so the codes and the item
representations they quantise live in one space from the first step (docs: SOLID's mechanics); by default
SCL trains from scratch with only the codebook copied, as the paper and the authors' code do.
Every run's run.json carries `diagnostics` at initialisation and at the kept epoch
(`solidcli.diagnostics`). `--tag` names a run apart
(a sweep cell), `--metacode-tag` picks the tagged SML/SPG run that provides the metacode.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from solidcli import provenance
from solidcli._io import Timer, console, folder_lock, run_record, write_json
from solidcli.config import (
    Params,
    check_backbone,
    check_dsr,
    from_dict,
    load_overrides,
    to_dict,
)
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.grid import Planned, family_runs, find_tagged, stage_command, train_command
from solidcli.layout import RunId, config_dir, model_dir, stage_record
from solidcli.runs import (
    build_spec,
    load_item_semantics,
    load_trained,
    resolve_semantics,
    save_runs,
)
from solidcli.workers import plan, run_units


def _metacode(params: Params, run: RunId, k: int, dim: int, tag: str | None):
    """The codebook seed `run.seed` starts from, where it came from, and the trained model
    it was taken from and its model.pt (None, None for a random codebook)."""
    import torch
    from torch import nn

    source = params.solid.metacode
    if source == "random":
        if params.solid.warm_start:
            raise SolidError("solid.warm_start needs a metacode from a trained model "
                             "(solid.metacode sml, spg or centroids), not random")
        table = torch.empty(k, dim)
        nn.init.xavier_uniform_(table)
        return table, "random (xavier-uniform)", None, None
    variant = "sml" if source == "centroids" else source
    src = find_tagged(params, RunId(run.dataset, run.backbone, run.dsr, variant, tag)
                      ).with_seed(run.seed)
    model, _ = load_trained(src, make=train_command(params, src))
    if model.semantics is None or model.semantics.weight.shape[1:] != (k + 1, dim):
        raise SolidError(f"{model_dir(src)}: its semantic table does not match K = {k}, "
                         f"D = {dim}; retrain it with `{train_command(params, src)}`")
    weights = model_dir(src) / "model.pt"
    if source == "centroids":
        return (_centroids(model.items.weight.detach()[0, 1:], model.item_to_semantic[1:], k),
                f"{model_dir(src)} item table, mean per semantic id", model, weights)
    return (model.semantics.weight.detach()[0, 1:].clone(), f"{model_dir(src)} semantics table",
            model, weights)


def _centroids(items, semantic, k: int):
    """The mean item representation (N, D) of each semantic id 1..K (`semantic`, (N,)); a
    semantic id no item has takes the mean of all items."""
    import torch

    sums = torch.zeros(k, items.shape[1]).index_add_(0, semantic.long() - 1, items)
    counts = torch.bincount(semantic.long() - 1, minlength=k).to(items.dtype)
    table = sums / counts.clamp(min=1).unsqueeze(1)
    table[counts == 0] = items.mean(dim=0)
    return table


def _warm_start(member, source) -> list[str]:
    """Copy every tensor `source` (a trained one-member model) shares with `member` (the SCL
    model about to train); returns the names copied. The codebook is SCL's own."""
    mine, theirs = member.state_dict(), source.state_dict()
    shared = [name for name in mine if name in theirs]
    for name in shared:
        if mine[name].shape != theirs[name].shape:
            raise SolidError(f"solid.warm_start: '{name}' has shape {tuple(theirs[name].shape)} "
                             f"in the metacode's model but {tuple(mine[name].shape)} here; "
                             "train both with the same params")
    member.load_state_dict({**mine, **{name: theirs[name] for name in shared}})
    return shared


def train_unit(raw_params: dict, planned: Planned, seeds: list[int]) -> list[Path]:
    """A unit of work (`solidcli.workers`): params travel as their dict form."""
    return train_group(from_dict(raw_params), planned, seeds)


def train_group(params: Params, planned: Planned, seeds: list[int]) -> list[Path]:
    """Train one configuration under every seed of `seeds` together; save each seed's run.
    The configuration's folder is locked from the start until its runs are saved: a second
    process training it meanwhile (which would delete this one's staging folders) fails at
    once, having written nothing."""
    folder = config_dir(planned.run)
    with folder_lock(folder, f"another process is training {planned.run} ({folder}); wait "
                             "for it to finish"):
        return _train_group(params, planned, seeds)


def _train_group(params: Params, planned: Planned, seeds: list[int]) -> list[Path]:
    """`train_group`, under its lock."""
    import torch

    from solidcli.device import check_fits, pick_device
    from solidcli.diagnostics import diagnose, kept
    from solidcli.engine import EvalSet, fit
    from solidcli.models.recommender import Recommender

    params = load_overrides(params, list(planned.sets))
    config = planned.run
    dataset, variant, by_modality = config.dataset, config.variant, planned.by_modality
    by_k = planned.by_k
    timer = Timer()
    with timer("load"):
        data = PreparedDataset.load(dataset)
        provenance.check_seed(dataset, params.seed)
        inputs = {"data": provenance.data_input(dataset)}
        mapping, k, semantics_file = None, 0, None
        if variant in ("spg", "sml", "scl"):
            mapping, k, semantics_file = load_item_semantics(params, dataset, data.n_items,
                                                             by_modality, by_k)
            inputs["semantics"] = provenance.entry(semantics_file)
        elif variant == "scl_only":  # a codebook of the same size, no semantic ids
            k = params.semantics_cfg(dataset).k
    spec = build_spec(params, data.n_items, config.backbone, config.dsr, variant, k)
    check_fits(spec, len(seeds), params.train.batch_size, what=f"{config} x {len(seeds)} seeds")
    device = pick_device(params.device)
    members, metacodes, warm, sources = [], [], [], []
    for seed in seeds:
        codebook_init, metacode, source, weights = None, None, None, None
        if variant == "scl":
            codebook_init, metacode, source, weights = _metacode(
                params, config.with_seed(seed), k, spec.dim, planned.metacode_tag)
        elif variant == "scl_only":
            metacode = "none: random (xavier-uniform) codebook, no semantic trunk"
        sources.append(None if weights is None else provenance.entry(weights))
        torch.manual_seed(seed)
        member = Recommender(spec, item_to_semantic=mapping, codebook_init=codebook_init)
        if variant == "scl" and params.solid.warm_start:
            warm.append({"from": metacode.split(" ")[0],
                         "tensors": len(_warm_start(member, source))})
        members.append(member)
        metacodes.append(metacode)
    model = (members[0] if len(members) == 1 else Recommender.group(members)).to(device)
    label = str(config)
    select_on = "test" if params.protocol == "authors" else "valid"  # the profile alone
    probe = EvalSet.from_split(data, "valid", params.train.max_len)
    init_diag, init_codes = diagnose(model, probe, device)
    with timer("fit"):
        results = fit(model, data, params.train, lam=spec.lam, seeds=seeds,
                      data_seed=params.seed, device=device, ties=params.eval.ties, label=label,
                      select_on=select_on)
    n_params = sum(p[0].numel() for p in model.parameters())
    used = _used_params(params, config, by_modality, by_k)
    items = []
    for m, (res, metacode, source) in enumerate(zip(results, metacodes, sources, strict=True)):
        run = config.with_seed(res.seed)
        extra = {"warm_start": warm[m]} if warm else {}
        if init_diag[m]:  # a SOLID run (SPG: its codebook-free trunk has nothing to measure)
            at_kept = Recommender(spec, item_to_semantic=mapping).to(device)
            at_kept.load_state_dict(res.state)
            extra["diagnostics"] = {"init": init_diag[m], "kept": kept(
                at_kept, probe, device, None if init_codes is None else init_codes[m])}
        record = run_record(
            f"train-{variant}", used, res.seed,
            {**timer.times, "epoch_mean": float(np.mean(res.epoch_seconds))},
            spec=spec.to_dict(), device=str(device), parameters=n_params,
            vocab={"items": data.n_items, "semantics": k}, metacode=metacode,
            best_epoch=res.best_epoch, epochs_run=len(res.curves), encoding=res.encoding,
            torch=torch.__version__,
            tag=config.tag, family=config.stage_family, metacode_tag=planned.metacode_tag,
            semantics=semantics_file, data_seed=params.seed, trained_with_seeds=list(seeds),
            selected_on=select_on, inputs={**inputs, "metacode": source}, **extra,
        )
        items.append((run, res.state, record, {"split": select_on, "epoch": res.best_epoch,
                                               "seed": res.seed, **res.best_valid},
                      res.curves))
    out = save_runs(items)
    for res, path in zip(results, out, strict=True):
        console.log(f"[bold]{config} seed {res.seed}[/]: best epoch {res.best_epoch}, "
                    f"{select_on} UAUC {res.best_valid['UAUC']:.4f} -> {path}")
    return out


def run(params: Params, planned: Planned, workers: int | None = None,
        threads: int | None = None) -> list[Path]:
    """Train one configuration (every seed of `params.seeds`)."""
    check_backbone(planned.run.backbone)
    check_dsr(planned.run.dsr, solid=planned.run.variant != "base")
    return run_units(train_unit, [(params.as_dict(), planned, list(params.seeds))],
                     plan(1, workers, threads, params.device))[0]


def run_family(params: Params, family: str, dataset: str, workers: int | None = None,
               threads: int | None = None) -> list[Path]:
    """Train every configuration of a family (a DVC stage), spread over the workers."""
    planned = family_runs(params, family, dataset)
    if not planned:
        raise SolidError(f"`{stage_command(family, dataset)}`: params.yaml defines no runs "
                         f"of this family for {dataset}")
    units = [(params.as_dict(), p, list(params.seeds)) for p in planned]
    how = plan(len(units), workers, threads, params.device)
    start = time.perf_counter()
    paths = run_units(train_unit, units, how, label=f"{dataset} {family}")
    seconds = time.perf_counter() - start
    record = stage_record(dataset, family)
    write_json(record, {"family": family, "dataset": dataset, "configurations": len(units),
                        "seeds": list(params.seeds), "workers": how.workers,
                        "threads": how.threads, "wall_seconds": round(seconds, 3)})
    console.log(f"{dataset} {family}: {len(units)} runs x {len(params.seeds)} seeds in "
                f"{seconds:.0f} s ({how.workers} workers x {how.threads} thread(s))")
    return [path for group in paths for path in group] + [record]


def _used_params(params: Params, run: RunId, by_modality, by_k=None) -> dict:
    d = params.as_dict()
    used = {
        "protocol": d["protocol"], "seed": d["seed"], "seeds": d["seeds"],
        "device": d["device"], "dataset": run.dataset,
        "data": to_dict(params.data_cfg(run.dataset)), "train": d["train"], "eval": d["eval"],
        "models": {run.backbone: d["models"][run.backbone]}, "dsr": {run.dsr: d["dsr"][run.dsr]},
    }
    if run.variant != "base":
        used["semantics"] = to_dict(resolve_semantics(params, run.dataset, by_modality,
                                                      by_k)[0])
    if run.variant in ("sml", "scl", "scl_only"):
        used["solid"] = d["solid"]
    return used
