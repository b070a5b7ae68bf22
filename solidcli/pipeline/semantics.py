"""`solid assign-semantics`: item -> semantic id, the input of SPG/SML/SCL.

Writes `data/semantics/<dataset>/<stem>.parquet` (item, semantic in 1..K),
`<stem>.centroids.npy` and `<stem>.json` (method, the k-means algorithm that ran: lloyd or
minibatch, `features.semantics.choose_algorithm`; K, cluster sizes, category names), where
<stem> is the modalities (`text+image`) for k-means and `category-text+image` for the
category-centroid method.

Modalities: `text` and `image` are the `embed` features; `id` is the item-embedding table of
a trained baseline (`id_semantics.backbone` / `.dsr`, the base run), so semantics that use it
depend on that model (an edge in dvc.yaml). `--modalities id+text` (Table 3) overrides the
dataset's modality set and writes to `data/semantics-by-modality/<dataset>/<set>/` instead, so
the default semantics and the seven ablation sets live side by side as separate DVC outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli import provenance
from solidcli._io import console, read_json, staged_dir, write_json
from solidcli.config import MODALITIES, Params, modality_key
from solidcli.errors import SolidError
from solidcli.features.semantics import (
    category_semantics,
    choose_algorithm,
    item_matrix,
    kmeans_semantics,
)
from solidcli.grid import train_command
from solidcli.layout import RunId, features_dir, model_dir, prepared_dir
from solidcli.runs import load_trained, resolve_semantics


def id_table(params: Params, dataset: str) -> tuple[np.ndarray, str]:
    """The item-embedding table (row 0 padding) of the baseline named by `id_semantics`,
    trained with the first training seed of `seeds` (one semantics serves every seed)."""
    src = params.id_semantics
    run = RunId(dataset, src.backbone, src.dsr, "base", seed=params.seeds[0])
    model, _ = load_trained(run, make=train_command(params, run))
    return (model.items.weight.detach()[0].cpu().numpy().astype(np.float32),
            str(model_dir(run)))


def _inputs(dataset: str, sources: dict[str, str]) -> dict[str, dict]:
    """What a semantics file was made from: the data, each feature file, the id model."""
    inputs = {"data": provenance.data_input(dataset)}
    for modality, where in sources.items():
        path = Path(where) / "model.pt" if modality == "id" else Path(where)
        inputs[modality] = provenance.entry(path)
    return inputs


def _feature_tables(params: Params, dataset: str, modalities: list[str]):
    """One (N + 1, d) table per modality in the canonical order, and where each came from."""
    feat_dir = features_dir(dataset)
    meta = read_json(feat_dir / "meta.json") if set(modalities) - {"id"} else {}
    if meta:  # made from the prepared data there is now
        provenance.verify_inputs(meta, feat_dir / "meta.json",
                                 f"solid embed --dataset {dataset}")
    tables, sources = [], {}
    for modality in (m for m in MODALITIES if m in modalities):
        if modality == "id":
            table, sources["id"] = id_table(params, dataset)
            tables.append(table)
            continue
        path = feat_dir / f"{modality}.npy"
        if modality not in meta.get("modalities", {}) or not path.is_file():
            raise SolidError(f"no {modality} features for '{dataset}': {path} missing (set "
                             f"embed.{dataset}.{modality} and run `solid embed --dataset "
                             f"{dataset}`)")
        tables.append(_load_features(path, dataset, modality))
        empty = int((~tables[-1][1:].any(axis=1)).sum())
        if empty:
            console.log(f"[yellow]{dataset}: {empty} items have no {modality} features "
                        "(zero rows); they are grouped by their other modalities only")
        sources[modality] = str(path)
    if len({t.shape[0] for t in tables}) != 1:
        raise SolidError(f"the {', '.join(sources)} tables of '{dataset}' disagree on the "
                         f"number of items; rerun `solid embed --dataset {dataset}` (and "
                         "train-base for id)")
    return tables, sources


def _load_features(path: Path, dataset: str, modality: str) -> np.ndarray:
    """A (N + 1, d) float feature table written by `embed`, checked."""
    redo = f"rerun `solid embed --dataset {dataset}`"
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        raise SolidError(f"corrupt feature file {path}; {redo}") from None
    if table.ndim != 2 or table.shape[0] < 2 or not np.issubdtype(table.dtype, np.floating):
        raise SolidError(f"{path}: expected a 2-d float table, got {table.dtype} of shape "
                         f"{table.shape}; {redo}")
    bad = ~np.isfinite(table).all(axis=1)
    if bad.any():
        raise SolidError(f"{path}: {int(bad.sum())} item rows of the {modality} features hold "
                         f"NaN or infinite values; {redo}")
    return table


def run_study_k(params: Params) -> list[Path]:
    """The K study: the study dataset's semantics under every setting of `grid.k_settings`
    (data/semantics-by-k/<dataset>/<setting>/)."""
    from solidcli.config import load_overrides
    from solidcli.grid import k_settings

    return [path for setting, sets in k_settings(params)
            for path in run(load_overrides(params, list(sets)), params.study.dataset,
                            by_k=setting)]


def run_study_sets(params: Params) -> list[Path]:
    """Table 3: the study dataset's semantics from every set of `study.modalities`."""
    return [path for text in params.study.modalities
            for path in run(params, params.study.dataset, by_modality=text)]


def run(params: Params, dataset: str, by_modality: str | None = None,
        by_k: str | None = None) -> list[Path]:
    import pandas as pd

    cfg, out, stem = resolve_semantics(params, dataset, by_modality, by_k)
    key = modality_key(cfg.modalities)
    tables, sources = _feature_tables(params, dataset, cfg.modalities)
    x = item_matrix(tables)
    names = algorithm = None  # algorithm: the k-means that ran (null for category)
    if cfg.method == "category":
        from solidcli.data.prepared import PreparedDataset

        items = PreparedDataset.load_items(dataset)
        if len(items) != x.shape[0]:
            raise SolidError(f"the features of '{dataset}' have {x.shape[0]} items, the "
                             f"prepared data {len(items)}; rerun `solid embed --dataset {dataset}`")
        labels = items["category"].tolist()
        if not any(isinstance(c, str) and c for c in labels):
            raise SolidError(
                f"{prepared_dir(dataset) / 'items.parquet'}: no item has a category, which "
                f"semantics.{dataset}.method 'category' needs; set data.{dataset}."
                "category_prefix (how the category path starts in the items' text) or give "
                "the dataset's .item file a category:token column, then rerun `solid download "
                f"--dataset {dataset}`; or set semantics.{dataset}.method to kmeans")
        semantic, centroids, names = category_semantics(x, labels)
    else:
        # `semantics.<d>.algorithm` (auto | lloyd | minibatch); auto where params lack it
        algorithm = choose_algorithm(x.shape[0], cfg.k, cfg.algorithm)
        semantic, centroids = kmeans_semantics(x, cfg.k, params.seed, algorithm)
    k = centroids.shape[0] - 1
    sizes = np.bincount(semantic, minlength=k + 1)[1:]
    frame = pd.DataFrame({"item": np.arange(1, len(semantic) + 1, dtype=np.int32),
                          "semantic": semantic.astype(np.int32)})
    with staged_dir(out) as tmp:
        frame.to_parquet(tmp / f"{stem}.parquet", index=False)
        np.save(tmp / f"{stem}.centroids.npy", centroids)
        write_json(tmp / f"{stem}.json", {
            "dataset": dataset, "method": cfg.method, "algorithm": algorithm, "k": k,
            "modalities": key,
            "sources": sources, "inputs": _inputs(dataset, sources), "categories": names,
            "seed": params.seed, "items": len(semantic),
            "cluster_size": {"min": int(sizes.min()), "median": float(np.median(sizes)),
                             "max": int(sizes.max()), "singletons": int((sizes == 1).sum())},
        })
    console.log(f"[bold]{dataset}[/]: {len(semantic)} items -> {k} semantics "
                f"({cfg.method}, {key}) -> {out}")
    return [out]
