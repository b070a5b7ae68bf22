"""The prepared-dataset contract (`data/prepared/<dataset>/`) and its loader.

    items.parquet      item (1..N; 0 is padding), token, text, category, image
    users.parquet      user (1..U), token
    sequences.parquet  user, split (train|valid|test), history (list<int32>, oldest first), target
    candidates.parquet user, split (valid|test), items (list<int32>: the positive, then negatives)
    stats.json         counts, density, history-length quantiles

Every later stage reads a dataset only through `PreparedDataset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solidcli._io import read_json
from solidcli.data.atomic import SPLITS
from solidcli.errors import SolidError

FILES = ("items.parquet", "users.parquet", "sequences.parquet", "candidates.parquet", "stats.json")


def prepared_dir(dataset: str) -> Path:
    return Path("data") / "prepared" / dataset


@dataclass
class Split:
    """One split as arrays: users (M,), histories (list of int arrays), targets (M,)."""

    users: np.ndarray
    histories: list[np.ndarray]
    targets: np.ndarray


@dataclass
class PreparedDataset:
    name: str
    n_items: int
    n_users: int
    items: object  # pandas.DataFrame
    splits: dict[str, Split]
    candidates: dict[str, np.ndarray]  # split -> (users in split order, C) item ids
    stats: dict

    @staticmethod
    def _read(dataset: str, names: tuple[str, ...]) -> list:
        """The named Parquet tables of a prepared dataset (one clear error if any is missing
        or unreadable)."""
        import pandas as pd

        folder = prepared_dir(dataset)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise SolidError(
                f"prepared dataset '{dataset}' is incomplete ({folder / missing[0]} missing); "
                f"run `solid download --dataset {dataset}` first"
            )
        try:
            return [pd.read_parquet(folder / f"{name}.parquet") for name in names]
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
            raise SolidError(f"cannot read prepared dataset in {folder}: {exc}") from None

    @classmethod
    def load_items(cls, dataset: str):
        """Only the item table (a DataFrame, items numbered 1..N): what `embed` and the
        category semantics need, without building the splits."""
        (items,) = cls._read(dataset, ("items",))
        n_items = int(items["item"].max()) if len(items) else 0
        if n_items == 0 or list(items["item"]) != list(range(1, n_items + 1)):
            raise SolidError(f"{prepared_dir(dataset) / 'items.parquet'}: items must be "
                             "numbered 1..N")
        return items

    @classmethod
    def load(cls, dataset: str) -> PreparedDataset:
        items = cls.load_items(dataset)
        users, seqs, cands = cls._read(dataset, ("users", "sequences", "candidates"))
        folder = prepared_dir(dataset)
        splits = {}
        for name, part in seqs.groupby("split", sort=False):
            splits[str(name)] = Split(
                users=part["user"].to_numpy(np.int64),
                histories=[np.asarray(h, dtype=np.int64) for h in part["history"]],
                targets=part["target"].to_numpy(np.int64),
            )
        for need in SPLITS:
            if need not in splits:
                raise SolidError(f"{folder / 'sequences.parquet'} has no '{need}' split")
        candidates = {}
        for name, part in cands.groupby("split", sort=False):
            split = splits[str(name)]
            by_user = dict(zip(part["user"].to_numpy(), part["items"], strict=True))
            candidates[str(name)] = np.stack(
                [np.asarray(by_user[u], dtype=np.int64) for u in split.users]
            )
        return cls(
            name=dataset,
            n_items=len(items),
            n_users=len(users),
            items=items,
            splits=splits,
            candidates=candidates,
            stats=read_json(folder / "stats.json"),
        )
