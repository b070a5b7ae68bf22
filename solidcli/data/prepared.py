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
from solidcli.layout import prepared_dir

FILES = ("items.parquet", "users.parquet", "sequences.parquet", "candidates.parquet", "stats.json")


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
        path = prepared_dir(dataset) / "items.parquet"
        _columns(path, items, {"item": "int", "token": "str"}, dataset)
        n_items = int(items["item"].max()) if len(items) else 0
        if n_items == 0 or list(items["item"]) != list(range(1, n_items + 1)):
            raise SolidError(f"{path}: items must be numbered 1..N; {_redo(dataset)}")
        return items

    @classmethod
    def load(cls, dataset: str) -> PreparedDataset:
        items = cls.load_items(dataset)
        users, seqs, cands = cls._read(dataset, ("users", "sequences", "candidates"))
        folder = prepared_dir(dataset)
        n_items, n_users = len(items), len(users)
        _columns(folder / "users.parquet", users, {"user": "int"}, dataset)
        seq_path, cand_path = folder / "sequences.parquet", folder / "candidates.parquet"
        _columns(seq_path, seqs, {"user": "int", "split": "str", "history": "list",
                                  "target": "int"}, dataset)
        _columns(cand_path, cands, {"user": "int", "split": "str", "items": "list"}, dataset)
        splits = {}
        for name, part in seqs.groupby("split", sort=False):
            split = Split(
                users=part["user"].to_numpy(np.int64),
                histories=[np.asarray(h, dtype=np.int64) for h in part["history"]],
                targets=part["target"].to_numpy(np.int64),
            )
            _ids(seq_path, f"split '{name}' users", split.users, n_users, dataset)
            _ids(seq_path, f"split '{name}' targets", split.targets, n_items, dataset)
            if split.histories:
                _ids(seq_path, f"split '{name}' histories", np.concatenate(split.histories),
                     n_items, dataset)
            splits[str(name)] = split
        for need in SPLITS:
            if need not in splits:
                raise SolidError(f"{seq_path} has no '{need}' split; {_redo(dataset)}")
        candidates = {}
        for name, part in cands.groupby("split", sort=False):
            split = splits.get(str(name))
            by_user = dict(zip(part["user"].to_numpy(), part["items"], strict=True))
            if split is None or any(u not in by_user for u in split.users):
                raise SolidError(f"{cand_path}: split '{name}' does not list candidates for "
                                 f"every user of that split; {_redo(dataset)}")
            lists = [np.asarray(by_user[u], dtype=np.int64) for u in split.users]
            if len({len(c) for c in lists}) != 1 or len(lists[0]) < 2:
                raise SolidError(f"{cand_path}: split '{name}' has candidate lists of unequal "
                                 f"length (or fewer than 2); {_redo(dataset)}")
            matrix = np.stack(lists)
            _ids(cand_path, f"split '{name}' candidates", matrix, n_items, dataset)
            if not (matrix[:, 0] == split.targets).all():
                raise SolidError(f"{cand_path}: split '{name}' candidates do not start with "
                                 f"the positive; {_redo(dataset)}")
            candidates[str(name)] = matrix
        for need in ("valid", "test"):
            if need not in candidates:
                raise SolidError(f"{cand_path} has no '{need}' candidates; {_redo(dataset)}")
        return cls(
            name=dataset,
            n_items=n_items,
            n_users=n_users,
            items=items,
            splits=splits,
            candidates=candidates,
            stats=read_json(folder / "stats.json"),
        )


def _redo(dataset: str) -> str:
    return f"rebuild it with `solid download --dataset {dataset}`"


def _columns(path: Path, frame, want: dict[str, str], dataset: str) -> None:
    """Each wanted column is there with the wanted kind of values (int, str, list)."""
    import pandas as pd

    for col, kind in want.items():
        if col not in frame.columns:
            raise SolidError(f"{path} has no column '{col}' (columns: "
                             f"{', '.join(map(str, frame.columns))}); {_redo(dataset)}")
        series = frame[col]
        ok = {"int": pd.api.types.is_integer_dtype(series),
              "str": pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(
                  series),
              "list": all(isinstance(v, (list, np.ndarray)) for v in series.head(100))}[kind]
        if not ok:
            raise SolidError(f"{path}: column '{col}' does not hold {kind} values (dtype "
                             f"{series.dtype}); {_redo(dataset)}")


def _ids(path: Path, what: str, ids: np.ndarray, n: int, dataset: str) -> None:
    """Every id in 1..n (0 is padding and never a real id)."""
    if ids.size and (ids.min() < 1 or ids.max() > n):
        bad = ids[(ids < 1) | (ids > n)].flat[0]
        raise SolidError(f"{path}: {what} hold id {bad}, outside 1..{n}; {_redo(dataset)}")
