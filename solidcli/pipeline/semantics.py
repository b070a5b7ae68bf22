"""`solid assign-semantics`: item -> semantic id, the input of SPG/SML/SCL.

Writes `data/semantics/<dataset>/<stem>.parquet` (item, semantic in 1..K),
`<stem>.centroids.npy` and `<stem>.json` (method, K, cluster sizes, category names), where
<stem> is the modalities (`text+image`) for k-means and `category-text+image` for the
category-centroid method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli._io import console, read_json, staged_dir, write_json
from solidcli.config import MODALITIES, Params
from solidcli.errors import NotImplementedYet, SolidError
from solidcli.features.semantics import category_semantics, item_matrix, kmeans_semantics
from solidcli.pipeline.embed import features_dir


def semantics_dir(dataset: str) -> Path:
    return Path("data") / "semantics" / dataset


def modality_key(modalities: list[str]) -> str:
    """Canonical file stem: modalities in the fixed order id, text, image, joined by '+'."""
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown:
        raise SolidError(f"unknown modality '{unknown[0]}' (choose from {', '.join(MODALITIES)})")
    if not modalities:
        raise SolidError("semantics: choose at least one modality")
    return "+".join(m for m in MODALITIES if m in modalities)


def semantics_stem(method: str, modalities: list[str]) -> str:
    """File stem: the modalities for k-means (`text+image`), prefixed by any other method."""
    key = modality_key(modalities)
    return key if method == "kmeans" else f"{method}-{key}"


def semantics_path(dataset: str, method: str, modalities: list[str]) -> Path:
    return semantics_dir(dataset) / f"{semantics_stem(method, modalities)}.parquet"


def run(params: Params, dataset: str) -> list[Path]:
    import pandas as pd

    cfg = params.semantics_cfg(dataset)
    key = modality_key(cfg.modalities)
    stem = semantics_stem(cfg.method, cfg.modalities)
    if "id" in cfg.modalities:
        raise NotImplementedYet("semantics from id embeddings are not implemented yet "
                                "(use text and/or image)")
    feat_dir = features_dir(dataset)
    meta = read_json(feat_dir / "meta.json")
    tables = []
    for modality in (m for m in MODALITIES if m in cfg.modalities):
        path = feat_dir / f"{modality}.npy"
        if modality not in meta.get("modalities", {}) or not path.is_file():
            raise SolidError(f"no {modality} features for '{dataset}': {path} missing "
                             f"(set embed.{dataset}.{modality} and run `solid embed`)")
        try:
            tables.append(np.load(path))
        except (OSError, ValueError):
            raise SolidError(f"corrupt feature file: {path}") from None
    if len({t.shape[0] for t in tables}) != 1:
        raise SolidError(f"feature files in {feat_dir} disagree on the number of items")
    x = item_matrix(tables)
    names = None
    if cfg.method == "category":
        from solidcli.data.prepared import PreparedDataset

        items = PreparedDataset.load(dataset).items
        if len(items) != x.shape[0]:
            raise SolidError(f"{feat_dir} has {x.shape[0]} items, the prepared data "
                             f"{len(items)}; rerun `solid embed`")
        semantic, centroids, names = category_semantics(x, items["category"].tolist())
    else:
        semantic, centroids = kmeans_semantics(x, cfg.k, params.seed)
    k = centroids.shape[0] - 1
    sizes = np.bincount(semantic, minlength=k + 1)[1:]
    frame = pd.DataFrame({"item": np.arange(1, len(semantic) + 1, dtype=np.int32),
                          "semantic": semantic.astype(np.int32)})
    out = semantics_dir(dataset)
    with staged_dir(out) as tmp:
        frame.to_parquet(tmp / f"{stem}.parquet", index=False)
        np.save(tmp / f"{stem}.centroids.npy", centroids)
        write_json(tmp / f"{stem}.json", {
            "dataset": dataset, "method": cfg.method, "k": k, "modalities": key,
            "categories": names,
            "seed": params.seed, "items": len(semantic),
            "cluster_size": {"min": int(sizes.min()), "median": float(np.median(sizes)),
                             "max": int(sizes.max()), "singletons": int((sizes == 1).sum())},
        })
    console.log(f"[bold]{dataset}[/]: {len(semantic)} items -> {k} semantics "
                f"({cfg.method}, {key}) -> {out}")
    return [out]
