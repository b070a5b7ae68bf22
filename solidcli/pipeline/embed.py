"""`solid embed`: item feature matrices for the semantic assignment (paper Sec. 3.3.1).

Each modality of `embed.<dataset>` is either imported or encoded:

* `file:<suffix>` imports a feature file shipped with the dataset, `<stem>.<suffix>` (raw
  float32 in item-index order, e.g. MISSRec's CLIP ViT-B/32 `.feat1CLS` text and `.feat3CLS`
  image features), checked for row count, dimension and finite values;
* an encoder spec (`minilm`, `clip`, `bert`, `clip:<model>`, `bert:<model>`,
  `sentence:<model>`; see `solidcli.features.encoders`) encodes the item texts or images of
  the prepared data. Image references are URLs (downloaded once into
  `data/raw/<dataset>/images/`) or paths relative to the dataset folder; a missing or broken
  image gives a zero row and is counted in meta.json.

Writes `data/features/<dataset>/{text,image}.npy` with row i = item i and row 0 (padding)
all zeros, plus `meta.json` (source, model, pooling, dimension, zero rows, image counts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solidcli import provenance
from solidcli._io import console, staged_dir, write_json
from solidcli.config import EmbedCfg, Params
from solidcli.data.atomic import read_features
from solidcli.data.prepared import PreparedDataset
from solidcli.data.registry import resolve_source
from solidcli.errors import SolidError
from solidcli.layout import features_dir, image_cache_dir

FILE_PREFIX = "file:"


def run(params: Params, dataset: str) -> list[Path]:
    cfg = params.embed_cfg(dataset)
    items = PreparedDataset.load_items(dataset)
    n_items = len(items)
    wanted = {m: spec for m, spec in (("text", cfg.text), ("image", cfg.image)) if spec}
    tables: dict[str, np.ndarray] = {}
    meta: dict[str, dict] = {}
    for modality, spec in wanted.items():
        if spec.startswith(FILE_PREFIX):
            feats, meta[modality] = _import(params, dataset, cfg, spec, n_items)
        elif modality == "text":
            feats, meta[modality] = _encode_texts(params, dataset, cfg, spec, items)
        else:
            feats, meta[modality] = _encode_images(params, dataset, cfg, spec, items)
        table = np.zeros((n_items + 1, feats.shape[1]), dtype=np.float32)
        table[1:] = feats
        tables[modality] = table
        meta[modality].update(rows=int(table.shape[0]), dim=int(table.shape[1]),
                              zero_rows=int((~feats.any(axis=1)).sum()))
    out = features_dir(dataset)
    with staged_dir(out) as tmp:
        for modality, table in tables.items():
            np.save(tmp / f"{modality}.npy", table)
        write_json(tmp / "meta.json", {"dataset": dataset, "row_0": "padding (zeros)",
                                       "modalities": meta,
                                       "inputs": {"data": provenance.data_input(dataset)}})
    if not tables:
        console.log(f"[bold]{dataset}[/]: no text or image modality configured (an ID-only "
                    f"dataset); its semantics need the id modality -> {out}")
    else:
        console.log(f"[bold]{dataset}[/]: features {', '.join(tables)} -> {out}")
    return [out]


def _source(params: Params, dataset: str):
    return resolve_source(dataset, params.data_cfg(dataset).path)


def _import(params: Params, dataset: str, cfg: EmbedCfg, spec: str, n_items: int):
    source = _source(params, dataset)
    suffix = spec[len(FILE_PREFIX):]
    path = source.folder / f"{source.stem}.{suffix}"
    feats = read_features(path, n_items, cfg.dim)
    return feats, {"source": path.name, "model": "imported file (as shipped with the dataset)"}


def _column(items, name: str) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in items[name].tolist()]


def _encode_texts(params: Params, dataset: str, cfg: EmbedCfg, spec: str, items):
    from solidcli.features.encoders import encode_texts

    texts = _column(items, "text")
    if not any(texts):
        raise SolidError(f"embed: '{dataset}' has no item texts to encode (set "
                         f"embed.{dataset}.text to null, or use file:<suffix>)")
    feats, info = encode_texts(texts, spec, device=params.device, batch_size=cfg.batch_size)
    return feats, {"source": "item text", **info}


def _encode_images(params: Params, dataset: str, cfg: EmbedCfg, spec: str, items):
    from solidcli.features.encoders import encode_images

    refs = _column(items, "image")
    if not any(refs):
        raise SolidError(f"embed: '{dataset}' has no item images (an image column in "
                         f"<stem>.item); set embed.{dataset}.image to null")
    feats, info = encode_images(refs, spec, cache_dir=image_cache_dir(dataset),
                                base_dir=_source(params, dataset).folder,
                                device=params.device, batch_size=cfg.batch_size)
    failed = {k: info[k] for k in ("missing", "unreachable", "unreadable") if info[k]}
    summary = ", ".join(f"{n} {k}" for k, n in failed.items())
    if info["encoded"] == 0:
        raise SolidError(f"embed: none of the {len(refs)} item images of '{dataset}' could be "
                         f"used ({summary}); check the image column of <stem>.item")
    if failed:
        console.log(f"[yellow]{dataset}: {info['encoded']} images encoded; {summary} "
                    "(zero rows, counted in meta.json)")
    return feats, {"source": "item images", **info}
