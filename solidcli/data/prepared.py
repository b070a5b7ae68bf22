"""The prepared-dataset contract (`data/prepared/<dataset>/`) and its loader.

    items.parquet      item (1..N; 0 is padding), token, text, category, image
    users.parquet      user (1..U), token
    sequences.parquet  user, split (train|valid|test), history (list<int32>, oldest first), target
    candidates.parquet user, split (valid|test), items (list<int32>: the positive, then negatives)
    stats.json         counts, density, history-length quantiles

Every later stage reads a dataset only through `PreparedDataset`, which checks every row of
every file against this contract as whole Arrow columns (types, nulls, ids in range, one valid
and one test row per user, each user's candidates distinct items starting with the positive):
a file `download` would never write is an error naming it, never a cast or a skipped row.
"""

from __future__ import annotations

import itertools
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
    users: object = None  # pandas.DataFrame: user 1..U, token (the dataset's user ids)

    @staticmethod
    def _read(dataset: str, names: tuple[str, ...]) -> list:
        """The named Parquet tables of a prepared dataset, as pyarrow Tables (one clear error
        if any is missing or unreadable), so that they are checked as whole columns."""
        import pyarrow.parquet as pq

        folder = prepared_dir(dataset)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise SolidError(
                f"prepared dataset '{dataset}' is incomplete ({folder / missing[0]} missing); "
                f"run `solid download --dataset {dataset}` first"
            )
        tables = []
        for name in names:
            path = folder / f"{name}.parquet"
            try:
                tables.append(pq.read_table(path))
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise SolidError(f"cannot read {path}: {first}; {_redo(dataset)}") from None
        return tables

    @classmethod
    def load_items(cls, dataset: str):
        """Only the item table (a DataFrame, items numbered 1..N): what `embed` and the
        category semantics need, without building the splits."""
        (table,) = cls._read(dataset, ("items",))
        path = prepared_dir(dataset) / "items.parquet"
        _columns(path, table, {"item": "int", "token": "str", "text": "text",
                               "category": "text", "image": "text"}, dataset)
        _numbered(path, "items", _ints(table, "item"), dataset)
        _unique_tokens(path, table, dataset)
        return table.to_pandas()

    @classmethod
    def load(cls, dataset: str) -> PreparedDataset:
        """Every file of the prepared dataset, checked against the contract (module
        docstring) in every row: a damaged file is an error naming it, never a number."""
        items = cls.load_items(dataset)
        users, seqs, cands = cls._read(dataset, ("users", "sequences", "candidates"))
        folder = prepared_dir(dataset)
        n_items, n_users = len(items), users.num_rows
        user_path = folder / "users.parquet"
        _columns(user_path, users, {"user": "int", "token": "str"}, dataset)
        _numbered(user_path, "users", _ints(users, "user"), dataset)
        _unique_tokens(user_path, users, dataset)
        seq_path, cand_path = folder / "sequences.parquet", folder / "candidates.parquet"
        _columns(seq_path, seqs, {"user": "int", "split": "str", "history": "list",
                                  "target": "int"}, dataset)
        _columns(cand_path, cands, {"user": "int", "split": "str", "items": "list"}, dataset)
        splits = {}
        for name, part in _by_split(seq_path, seqs, SPLITS, "split", dataset).items():
            offsets, values = _lists(part, "history")
            bounds = itertools.pairwise(offsets.tolist())
            split = Split(users=_ints(part, "user"), histories=[values[a:b] for a, b in bounds],
                          targets=_ints(part, "target"))
            _ids(seq_path, f"split '{name}' users", split.users, n_users, dataset)
            _ids(seq_path, f"split '{name}' targets", split.targets, n_items, dataset)
            _ids(seq_path, f"split '{name}' histories", values, n_items, dataset)
            if name != "train":  # leave-one-out: one valid and one test row per user
                _once(seq_path, name, split.users, dataset)
            splits[name] = split
        candidates = {}
        for name, part in _by_split(cand_path, cands, ("valid", "test"), "candidates",
                                    dataset).items():
            split, listed = splits[name], _ints(part, "user")
            _once(cand_path, name, listed, dataset)
            order = np.argsort(listed, kind="stable")
            at = np.minimum(np.searchsorted(listed, split.users, sorter=order), len(listed) - 1)
            if len(listed) != len(split.users) or not (listed[order[at]] == split.users).all():
                raise SolidError(f"{cand_path}: split '{name}' does not list candidates for "
                                 f"exactly the users of that split; {_redo(dataset)}")
            offsets, values = _lists(part, "items")
            width = np.diff(offsets)
            if width.min() != width.max() or width[0] < 2:
                raise SolidError(f"{cand_path}: split '{name}' has candidate lists of unequal "
                                 f"length (or fewer than 2); {_redo(dataset)}")
            matrix = values.reshape(len(listed), -1)[order[at]]  # in the split's user order
            _ids(cand_path, f"split '{name}' candidates", matrix, n_items, dataset)
            _candidate_rows(cand_path, name, matrix, split.targets, dataset)
            candidates[name] = matrix
        return cls(
            name=dataset,
            n_items=n_items,
            n_users=n_users,
            items=items,
            splits=splits,
            candidates=candidates,
            stats=read_json(folder / "stats.json"),
            users=users.to_pandas(),
        )


def _redo(dataset: str) -> str:
    return f"rebuild it with `solid download --dataset {dataset}`"


STRING_TYPES = ("is_string", "is_large_string", "is_string_view")  # pyarrow.types predicates
LIST_TYPES = ("is_list", "is_large_list", "is_fixed_size_list")


def _columns(path: Path, table, want: dict[str, str], dataset: str) -> None:
    """Each wanted column is there, of the wanted kind in every row: int (an integer type, no
    null), str (a string type, no null), text (a string type, nulls allowed: an item without
    text, category or image) or list (lists of integers, no null list or element). An Arrow
    type and null count describe the whole column, so a bad row anywhere is found, and a float
    column is refused, never cast (a float id is no id; `download` writes int32)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def is_(predicates: tuple[str, ...], kind_of) -> bool:
        return any(getattr(pa.types, p, lambda _: False)(kind_of) for p in predicates)

    described = {"int": "integer", "str": "string", "text": "string", "list": "integer list"}
    for col, kind in want.items():
        if col not in table.column_names:
            raise SolidError(f"{path} has no column '{col}' (columns: "
                             f"{', '.join(table.column_names)}); {_redo(dataset)}")
        column = table.column(col)
        kind_of = column.type
        if kind == "list":
            ok = is_(LIST_TYPES, kind_of) and pa.types.is_integer(kind_of.value_type)
        elif kind == "int":
            ok = pa.types.is_integer(kind_of)
        else:
            ok = is_(STRING_TYPES, kind_of) or (kind == "text" and pa.types.is_null(kind_of))
        if not ok:
            raise SolidError(f"{path}: column '{col}' holds {kind_of}, not {described[kind]} "
                             f"values; {_redo(dataset)}")
        if kind != "text" and column.null_count:
            row = pc.index(pc.is_null(column), True).as_py()
            raise SolidError(f"{path}: column '{col}' is null in {column.null_count} of "
                             f"{len(column)} rows (the first: row {row}); {_redo(dataset)}")
        flat = pc.list_flatten(column) if kind == "list" else None
        if flat is not None and flat.null_count:
            first = pc.index(pc.is_null(flat), True).as_py()
            ends = np.cumsum(pc.list_value_length(column).to_numpy())
            row = int(np.searchsorted(ends, first, side="right"))
            raise SolidError(f"{path}: column '{col}' has {flat.null_count} null values inside "
                             f"its lists (the first in row {row}); {_redo(dataset)}")


def _ints(table, col: str) -> np.ndarray:
    """An integer column (checked by `_columns`) as int64."""
    return np.asarray(table.column(col).to_numpy(), dtype=np.int64)


def _lists(table, col: str) -> tuple[np.ndarray, np.ndarray]:
    """A list column (checked by `_columns`) as (offsets (M + 1,), values) int64 arrays: row r
    is values[offsets[r]:offsets[r + 1]]."""
    import pyarrow.compute as pc

    column = table.column(col)
    lengths = np.asarray(pc.list_value_length(column).to_numpy(), dtype=np.int64)
    values = np.asarray(pc.list_flatten(column).to_numpy(), dtype=np.int64)
    return np.r_[0, np.cumsum(lengths)], values


def _numbered(path: Path, what: str, ids: np.ndarray, dataset: str) -> None:
    """`ids` are 1..N in order (N >= 1): row n holds id n + 1."""
    if not ids.size or not np.array_equal(ids, np.arange(1, ids.size + 1)):
        raise SolidError(f"{path}: {what} must be numbered 1..N; {_redo(dataset)}")


def _unique_tokens(path: Path, table, dataset: str) -> None:
    """No two rows share a token (two ids for one item or user would split its data)."""
    import pyarrow.compute as pc

    tokens = table.column("token")
    if pc.count_distinct(tokens).as_py() != table.num_rows:
        counts = pc.value_counts(tokens)
        twice = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise SolidError(f"{path}: token '{twice}' appears twice; {_redo(dataset)}")


def _by_split(path: Path, table, names: tuple[str, ...], what: str, dataset: str) -> dict:
    """The rows of each split in `names`, in file order; a split without rows, or a row of any
    other split, is an error."""
    import pyarrow.compute as pc

    column = table.column("split")
    found = set(pc.unique(column).to_pylist())
    other = sorted(found - set(names))
    if other:
        raise SolidError(f"{path}: split '{other[0]}' is not one of {', '.join(names)}; "
                         f"{_redo(dataset)}")
    for need in names:
        if need not in found:
            raise SolidError(f"{path} has no '{need}' {what}; {_redo(dataset)}")
    return {name: table.filter(pc.equal(column, name)) for name in names}


def _once(path: Path, split: str, users: np.ndarray, dataset: str) -> None:
    """Each user at most once in `split`."""
    ids, counts = np.unique(users, return_counts=True)
    if (counts > 1).any():
        raise SolidError(f"{path}: split '{split}' lists user {ids[counts > 1][0]} more than "
                         f"once; {_redo(dataset)}")


def _candidate_rows(path: Path, split: str, matrix: np.ndarray, targets: np.ndarray,
                    dataset: str) -> None:
    """Each user's candidates are the positive, then negatives that are other items, each
    once: so every user has one positive and a negative, and each sampled metric is defined
    for every user (`pairing.PerUser` relies on it)."""
    if not (matrix[:, 0] == targets).all():
        raise SolidError(f"{path}: split '{split}' candidates do not start with the positive; "
                         f"{_redo(dataset)}")
    ordered = np.sort(matrix, axis=1)
    twice = ordered[:, 1:] == ordered[:, :-1]
    if twice.any():
        row, col = np.argwhere(twice)[0]
        raise SolidError(f"{path}: split '{split}' lists item {ordered[row, col]} twice among "
                         f"one user's candidates (row {row} of that split); {_redo(dataset)}")


def _ids(path: Path, what: str, ids: np.ndarray, n: int, dataset: str) -> None:
    """Every id in 1..n (0 is padding and never a real id)."""
    if ids.size and (ids.min() < 1 or ids.max() > n):
        bad = ids[(ids < 1) | (ids > n)].flat[0]
        raise SolidError(f"{path}: {what} hold id {bad}, outside 1..{n}; {_redo(dataset)}")
