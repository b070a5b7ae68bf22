"""`solid embed`: item feature matrices for the semantic assignment.

For MISSRec-format datasets the release ships CLIP features: `.feat1CLS` (text) and
`.feat3CLS` (image), 512-d float32 in item-index order. They are imported, checked (row count,
dimension, finite values) and written as `data/features/<dataset>/{text,image}.npy` with row
i = item i and row 0 (padding) all zeros, plus `meta.json`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli._io import console, staged_dir, write_json
from solidcli.config import Params
from solidcli.data.atomic import read_features
from solidcli.data.prepared import PreparedDataset
from solidcli.data.registry import resolve_source, verify_checksums
from solidcli.errors import SolidError


def features_dir(dataset: str) -> Path:
    return Path("data") / "features" / dataset


def run(params: Params, dataset: str) -> list[Path]:
    cfg = params.embed_cfg(dataset)
    source = resolve_source(dataset, params.data_cfg(dataset).path)
    verify_checksums(source)
    prepared = PreparedDataset.load(dataset)
    wanted = {m: suffix for m, suffix in (("text", cfg.text), ("image", cfg.image)) if suffix}
    if not wanted:
        raise SolidError(f"embed.{dataset}: no modality configured (set text and/or image)")
    meta: dict[str, dict] = {}
    out = features_dir(dataset)
    with staged_dir(out) as tmp:
        for modality, suffix in wanted.items():
            path = source.folder / f"{source.stem}.{suffix}"
            feats = read_features(path, prepared.n_items, cfg.dim)
            table = np.zeros((prepared.n_items + 1, cfg.dim), dtype=np.float32)
            table[1:] = feats
            np.save(tmp / f"{modality}.npy", table)
            meta[modality] = {
                "source": path.name,
                "model": "CLIP ViT-B/32 (features as released by MISSRec)",
                "pooling": "CLS, projected",
                "dim": cfg.dim,
                "rows": int(table.shape[0]),
                "zero_rows": int((np.abs(feats).sum(axis=1) == 0).sum()),
            }
        write_json(tmp / "meta.json", {"dataset": dataset, "row_0": "padding (zeros)",
                                       "modalities": meta})
    console.log(f"[bold]{dataset}[/]: features {', '.join(meta)} -> {out}")
    return [out]
