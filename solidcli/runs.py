"""Trained runs on disk, and the artifacts a run reads: saving, loading, checking.

A run folder (`layout.model_dir`) holds
  model.pt      the state_dict only (loaded with torch.load(weights_only=True))
  run.json      spec, vocabulary sizes, params, seed, git revision, timings, the SHA-256 of
                model.pt and of every input (`solidcli.provenance`), checked on loading
  metrics.json  valid metrics at the selected (best valid UAUC) epoch
  curves.csv    one row per epoch (loss, aux loss, valid metrics, seconds)

`save_runs` writes all four of every seed under temporary names and renames the folders into
place once all are written, so a kill or a full disk never leaves a half-saved run; `load_trained` rebuilds the Recommender
from run.json's spec (checked field by field) and model.pt. `load_item_semantics` reads the
item -> semantic table SPG/SML/SCL train on. Every error names the file and the command that
makes or remakes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from solidcli import provenance
from solidcli._io import read_json, signals_held, staged_dir, write_json, write_text
from solidcli.config import Params, SemanticsCfg, modality_key, parse_modalities
from solidcli.errors import SolidError
from solidcli.layout import RunId, model_dir, semantics_dir, semantics_stem
from solidcli.models.spec import ModelSpec, SpecError


def build_spec(params: Params, n_items: int, backbone: str, dsr: str, variant: str,
               n_semantics: int) -> ModelSpec:
    """The spec of one run from params: the backbone's and dsr's sections, SOLID's T and
    lambda where the variant uses them."""
    return ModelSpec(
        backbone=backbone, dsr=dsr, variant=variant,
        n_items=n_items, n_semantics=n_semantics,
        dim=params.train.dim, max_len=params.train.max_len,
        backbone_opts=dataclasses.asdict(getattr(params.models, backbone)),
        dsr_opts=dataclasses.asdict(getattr(params.dsr, dsr)),
        clip=params.solid.T if variant in ("sml", "scl") else 0.0,
        lam=params.solid.lam if variant in ("scl", "scl_only") else 0.0,
        train_codebook=params.solid.train_codebook,
        mask_padding=params.solid.mask_padding,
        aux_loss=params.solid.aux_loss,
        bound=params.solid.bound,
        branch_scale=params.solid.branch_scale,
        straight_through=params.solid.straight_through,
        commitment=params.solid.commitment,
        dead_codes=params.solid.dead_codes,
    )


def save_runs(items: list[tuple[RunId, dict, dict, dict, list[dict]]]) -> list[Path]:
    """Write the run folder of each (run, state, record, metrics, curves): every folder is
    written under a temporary name first, and only when all are complete are they renamed
    into place, so a kill or a full disk leaves no seed of the group half-saved; a Ctrl-C or
    SIGTERM during the renames waits until every seed is in place."""
    import torch

    with contextlib.ExitStack() as stack:
        out = []
        for run, state, record, metrics, curves in items:
            final = model_dir(run)
            tmp = stack.enter_context(staged_dir(final))
            try:
                torch.save(state, tmp / "model.pt")
            except RuntimeError as exc:  # torch reports a failed write (disk full) this way
                reason = str(exc).splitlines()[0].split("] ")[-1].strip(" .") or "write failed"
                raise SolidError(f"cannot write {final / 'model.pt'}: the disk is full or not "
                                 f"writable (torch: {reason})") from None
            record = {**record, "model_sha256": provenance.sha256_file(tmp / "model.pt"),
                      "spec_sha256": provenance.spec_digest(record["spec"])}
            write_json(tmp / "run.json", record)
            write_json(tmp / "metrics.json", metrics)
            write_text(tmp / "curves.csv", curves_csv(curves))
            out.append(final)
        with signals_held():
            stack.close()  # every seed's rename, as one step
    return out


def curves_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c])
                              for c in cols))
    return "\n".join(lines) + "\n"


def read_record(run: RunId, make: str | None = None) -> dict[str, Any]:
    """run.json of a trained run, with its spec checked (`record["spec"]` is a ModelSpec)."""
    folder = model_dir(run)
    path = folder / "run.json"
    if not path.is_file():
        how = make or f"the train-{run.variant} command for {run}"
        raise SolidError(f"{run} is not trained ({path} missing); run `{how}` first")
    record = read_json(path)
    if not isinstance(record, dict):
        raise SolidError(f"corrupt run record {path}: not a JSON object; retrain the run")
    if "spec" not in record:
        raise SolidError(f"corrupt run record {path}: no 'spec'; retrain the run")
    try:
        spec = ModelSpec.from_dict(record["spec"])
    except SpecError as exc:
        raise SolidError(f"corrupt run record {path}: {exc}; retrain the run") from None
    if (spec.backbone, spec.dsr, spec.variant) != (run.backbone, run.dsr, run.variant):
        raise SolidError(f"{path} describes a {spec.backbone}/{spec.dsr}/{spec.variant} model, "
                         f"not {run}; retrain the run")
    return {**record, "spec": spec}


def load_trained(run: RunId, device=None, make: str | None = None):
    """Rebuild a saved Recommender from its run.json spec and model.pt state_dict."""
    import torch

    from solidcli.models.recommender import Recommender

    record = read_record(run, make)
    spec: ModelSpec = record["spec"]
    weights = model_dir(run) / "model.pt"
    if not weights.is_file():
        raise SolidError(f"missing checkpoint {weights}; retrain the run")
    rebuild = make or f"the train-{run.variant} command for {run}"
    owner = model_dir(run) / "run.json"
    provenance.verify_file(weights, record.get("model_sha256"), owner, rebuild)
    if "spec_sha256" not in record:
        raise SolidError(f"{owner} records no SHA-256 of its spec (made by an older solid, or "
                         f"damaged); rebuild it with `{rebuild}`")
    if record["spec_sha256"] != provenance.spec_digest(spec.to_dict()):
        raise SolidError(f"{owner}: its spec is not the one the model was trained with (changed "
                         f"after training, or damaged); rebuild it with `{rebuild}`")
    provenance.verify_inputs(record, owner, rebuild)
    try:
        with warnings.catch_warnings():  # torch warns as it refuses a pickle: one line only
            warnings.simplefilter("ignore")
            state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - torch raises many types for a bad file
        raise SolidError(f"corrupt checkpoint: {weights}; retrain the run") from None
    model = Recommender(spec)  # the spec it was trained with (its hash checked): it was built
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError):
        raise SolidError(f"{weights} does not match its run.json spec; retrain the run") from None
    if device is not None:
        model.to(device)
    return model, record


def load_seeds(params: Params, config: RunId, seeds: list[int], n_items: int,
               one_seed: bool = False) -> list[tuple[Any, dict[str, Any]]]:
    """(model, run record) of each seed of `config`, checked to be one configuration trained
    on `n_items` items: what evaluate, export and the API score. `one_seed`: the hint for a
    seed not trained names `--seed s`."""
    from solidcli.grid import train_command

    loaded = []
    for s in seeds:
        run = config.with_seed(s)
        loaded.append(load_trained(run, make=train_command(params, run)
                                   + (f" --seed {s}" if one_seed else "")))
    spec = loaded[0][0].spec
    for s, (model, _) in zip(seeds, loaded, strict=True):
        run = config.with_seed(s)
        if model.spec != spec:
            raise SolidError(f"{model_dir(run)} and {model_dir(config.with_seed(seeds[0]))} are "
                             f"not the same configuration; retrain it "
                             f"(`{train_command(params, run)}`)")
        if spec.n_items != n_items:
            raise SolidError(f"{model_dir(run)} was trained on {spec.n_items} items, the "
                             f"prepared data has {n_items}; retrain it "
                             f"(`{train_command(params, run)}`)")
    return loaded


# ---- semantics: what SPG / SML / SCL read --------------------------------------------------

def resolve_semantics(params: Params, dataset: str, by_modality: str | None = None,
                      by_k: str | None = None) -> tuple[SemanticsCfg, Path, str]:
    """(semantics cfg, folder, file stem) of a dataset's default, by-modality or K-study
    semantics (a K-study setting's method and K are in `params`, set by its run)."""
    cfg = params.semantics_cfg(dataset)
    if by_modality is not None:
        chosen = parse_modalities(by_modality)
        cfg = dataclasses.replace(cfg, modalities=[m for m in ("id", "text", "image")
                                                   if m in chosen])
    stem = semantics_stem(cfg.method, modality_key(cfg.modalities))
    return cfg, semantics_dir(dataset, by_modality, by_k), stem


def load_item_semantics(params: Params, dataset: str, n_items: int,
                        by_modality: str | None = None, by_k: str | None = None):
    """(n_items + 1,) long tensor item -> semantic id (0 for padding), K, and the file read."""
    import pandas as pd
    import torch

    cfg, folder, stem = resolve_semantics(params, dataset, by_modality, by_k)
    path = folder / f"{stem}.parquet"
    flag = f" --modalities {by_modality}" if by_modality else ""
    if by_k:
        flag = " --study-k"
    redo = f"rerun `solid assign-semantics --dataset {dataset}{flag}`"
    if not path.is_file():
        raise SolidError(f"missing {path}; {redo.replace('rerun', 'run')}")
    try:
        frame = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise SolidError(f"corrupt semantics file {path}; {redo}") from None
    for col in ("item", "semantic"):
        if col not in frame.columns or not pd.api.types.is_integer_dtype(frame[col]):
            raise SolidError(f"{path} has no integer column '{col}' (columns: "
                             f"{', '.join(map(str, frame.columns))}); {redo}")
    items = frame["item"].to_numpy()
    sem = frame["semantic"].to_numpy()
    if len(items) != n_items or set(items.tolist()) != set(range(1, n_items + 1)):
        raise SolidError(f"{path} does not cover items 1..{n_items}; {redo}")
    summary = read_json(path.with_suffix(".json"))
    if isinstance(summary, dict):  # made from the features and data there are now
        provenance.verify_inputs(summary, path.with_suffix(".json"), redo[len("rerun `"):-1])
    k = summary.get("k") if isinstance(summary, dict) else None
    if (not isinstance(k, int) or sem.min() < 1 or sem.max() > k
            or (cfg.method == "kmeans" and k != cfg.k)):
        raise SolidError(f"{path} does not match its summary or params (k = {cfg.k}); {redo}")
    mapping = np.zeros(n_items + 1, dtype=np.int64)
    mapping[items] = sem
    return torch.from_numpy(mapping), k, str(path)
