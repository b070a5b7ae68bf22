"""`solid download`: fetch a dataset's raw files and write the prepared-data contract.

A registered dataset comes from its source (`solidcli.data.registry`): the bundled copies
(scientific, scientific-full) are checked against their SHA-256 sums and read in place;
the others are downloaded into `data/raw/<name>/` and turned into atomic files by their
recipe. A folder (`--dataset path/to/folder` or `data.<name>.path`) is read as it is; a folder
the params file has no `data.<name>` for gets its data/embed/semantics sections derived from its
files and written there (`solidcli.data.own`), so later commands need no `-S`. Every
source ends as RecBole/UniSRec atomic files, read here. Item and user ids shift to 1..N so 0 is
padding. The train/valid/test sequences are the files' own leave-one-out split. Valid and test
candidates (the positive first, then `eval_negatives` negatives the user never interacted
with) are drawn once here with the seed, so every model is scored on identical lists.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from solidcli import provenance
from solidcli._io import console, staged_dir, write_json
from solidcli.config import Params
from solidcli.data import own, registry
from solidcli.data.atomic import read_atomic
from solidcli.data.sampling import InteractionIndex, sample_negatives
from solidcli.errors import SolidError
from solidcli.layout import prepared_dir


def run(params: Params, dataset: str, params_file: Path | None = None) -> list[Path]:
    """Prepare `dataset`; `params_file` is where a new folder's derived sections go (None:
    nowhere)."""
    import pandas as pd
    import pyarrow.parquet as pq

    cfg = params.data_cfg(dataset)
    if cfg.path is not None:
        source = registry.resolve_source(dataset, cfg.path)
        origin = provenance.source_of(source.folder, source.stem, None)
    else:
        origin = provenance.source_of(None, None, dataset)
        provenance.check_target(dataset, origin)  # before any download
        source = registry.materialize(dataset)
    provenance.check_target(dataset, origin)
    raw = read_atomic(source.folder, source.stem)
    n_items, n_users = len(raw.item_tokens), len(raw.user_tokens)

    texts = raw.texts or [None] * n_items
    items = pd.DataFrame({
        "item": np.arange(1, n_items + 1, dtype=np.int32),
        "token": raw.item_tokens,
        "text": pd.array(texts, dtype="string"),
        "category": pd.array(raw.categories or [_category(t, cfg.category_prefix)
                                                for t in texts], dtype="string"),
        "image": pd.array(raw.images or [None] * n_items, dtype="string"),
    })
    users = pd.DataFrame({
        "user": np.arange(1, n_users + 1, dtype=np.int32), "token": raw.user_tokens,
    })
    sequences = _sequence_table(raw.splits)
    index = InteractionIndex.from_flat(raw.splits.values(), n_items)
    text, doc = (own.load_document(params_file)
                 if params_file is not None and cfg.path is not None else (None, None))
    derived = None
    if doc is not None and dataset not in doc["data"]:
        derived = _derive(params, dataset, cfg, source, raw, index)
        cfg = dataclasses.replace(cfg, eval_negatives=derived.sections["data"]["eval_negatives"])
    else:
        _check_negatives(dataset, cfg.eval_negatives, raw, index)
    cand_frames = []
    for offset, split in enumerate(("valid", "test"), start=1):
        u, t = raw.splits[split].users, raw.splits[split].targets
        rng = np.random.default_rng([params.seed, offset])
        negs = sample_negatives(rng, np.asarray(u), cfg.eval_negatives, index)
        lists = np.concatenate([np.asarray(t)[:, None], negs], axis=1).astype(np.int32)
        cand_frames.append(pd.DataFrame({"user": np.asarray(u, dtype=np.int32), "split": split,
                                         "items": list(lists)}))
    candidates = pd.concat(cand_frames, ignore_index=True)

    stats = _stats(dataset, source.citation or str(source.folder), n_users, n_items, raw,
                   index)
    stats["with_text"] = sum(bool(t) for t in texts)
    stats["with_category"] = int(items["category"].notna().sum())
    stats["with_image"] = int(items["image"].notna().sum())
    out = prepared_dir(dataset)
    with staged_dir(out) as tmp:
        items.to_parquet(tmp / "items.parquet", index=False)
        users.to_parquet(tmp / "users.parquet", index=False)
        pq.write_table(sequences, tmp / "sequences.parquet")
        candidates.to_parquet(tmp / "candidates.parquet", index=False)
        write_json(tmp / "stats.json", stats)
        provenance.write_manifest(tmp, dataset, origin, params.seed)
    console.log(
        f"[bold]{dataset}[/]: {n_users} users, {n_items} items, "
        f"{stats['interactions']} interactions -> {out}"
    )
    if derived is not None:
        added = own.add_sections(params_file, text, doc, dataset, derived, origin["folder"])
        summary = (f"{params_file}: added {', '.join(added)} (derived from the data; edit "
                   "them there)")
        for line in (summary, *derived.notes):  # one line each, however wide the terminal
            console.print(line, soft_wrap=True, markup=False, highlight=False)
    return [out]


def _fewest_free(raw, index: InteractionIndex) -> tuple[int, int]:
    """(user id, count) of the valid/test user with the fewest items never interacted with:
    the most negatives every candidate list can hold."""
    users = np.concatenate([raw.splits[s].users.astype(np.int64) for s in ("valid", "test")])
    free = index.n_items - index.count[np.minimum(users, len(index.count) - 1)]
    at = int(np.argmin(free))
    return int(users[at]), int(free[at])


def _check_negatives(dataset: str, k: int, raw, index: InteractionIndex) -> None:
    """A configured `eval_negatives` every valid/test user has enough free items for."""
    user, free = _fewest_free(raw, index)
    if free < k:
        raise SolidError(f"{dataset}: user '{raw.user_tokens[user - 1]}' has only {free} items "
                         f"they never interacted with, fewer than eval_negatives = {k}; set "
                         f"data.{dataset}.eval_negatives to at most {free} in params.yaml")


def _derive(params: Params, dataset: str, cfg, source, raw, index: InteractionIndex):
    """The sections of a folder the params file does not know yet (`own.derive`)."""
    _, free = _fewest_free(raw, index)
    n_items = len(raw.item_tokens)
    negatives = own.eval_negatives(cfg.eval_negatives, free, dataset, n_items)
    base = params.id_semantics
    return own.derive(dataset, source.folder, source.stem, raw, negatives, cfg.eval_negatives,
                      params.embed_cfg(dataset).batch_size,
                      f"solid train-base --dataset {dataset} --backbone {base.backbone} "
                      f"--dsr {base.dsr}")


def _sequence_table(splits):
    """sequences.parquet's table, built from the split arrays with the schema (pandas metadata
    included) that pandas gives the same frame, so the file's bytes are what `to_parquet` of
    that frame writes, without a Python object per row."""
    import pandas as pd
    import pyarrow as pa

    sample = pd.DataFrame({"user": np.zeros(1, dtype=np.int32), "split": "train",
                           "history": [np.zeros(1, dtype=np.int32)],
                           "target": np.zeros(1, dtype=np.int32)})
    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    parts = list(splits.values())
    names = pa.array(list(splits), type=schema.field("split").type)
    which = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p) for p in parts])
    starts = np.cumsum([0] + [int(p.offsets[-1]) for p in parts[:-1]])
    offsets = np.concatenate([p.offsets[:-1] + at for p, at in zip(parts, starts, strict=True)]
                             + [[starts[-1] + parts[-1].offsets[-1]]])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise SolidError(f"{offsets[-1]} history entries: more than one Parquet list column "
                         "chunk holds (2^31 - 1)")
    history = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                       pa.array(np.concatenate([p.items for p in parts])))
    return pa.Table.from_arrays([
        pa.array(np.concatenate([p.users for p in parts])), names.take(pa.array(which)),
        history, pa.array(np.concatenate([p.targets for p in parts])),
    ], schema=schema)


def _category(text: str | None, prefix: str | None) -> str | None:
    """The category path segment of a UniSRec text line ('title. category path. brand.')."""
    if not text or not prefix:
        return None
    for segment in text.split(". "):
        if segment.strip().startswith(prefix):
            return segment.strip().rstrip(".")
    return None


def _stats(dataset, citation, n_users, n_items, raw, index) -> dict:
    # A user's sequence length: the test history plus its target, unless that history was cut
    # to the last 50 items; UniSRec's files then still tell it, as train rows + 3 (n - 3 train
    # rows per user, one valid, one test).
    train_rows = np.bincount(raw.splits["train"].users, minlength=n_users + 1)
    test = raw.splits["test"]
    lengths = np.maximum(test.lengths() + 1, train_rows[test.users] + 3)
    interactions = int(lengths.sum())
    pairs = len(index.keys)
    q = np.quantile(lengths, [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]).tolist()
    return {
        "dataset": dataset,
        "source": citation,
        "users": n_users,
        "items": n_items,
        "interactions": interactions,
        "distinct_user_item_pairs": pairs,
        "density": pairs / (n_users * n_items),
        "rows": {split: len(v) for split, v in raw.splits.items()},
        "sequence_length": {
            "mean": float(lengths.mean()),
            "quantiles": dict(zip(["min", "q25", "median", "q75", "q90", "max"], q, strict=True)),
        },
    }
