"""Reader for RecBole/UniSRec/MISSRec atomic files (the format of the bundled data).

A folder holds `<stem>.item2index` and `<stem>.user2index` (token, 0-based index),
`<stem>.{train,valid,test}.inter` (header `user_id:token item_id_list:token_seq item_id:token`,
ids given as those 0-based indices, one prefix -> next-item pair per line, leave-one-out:
valid and test hold each user's last two targets), and optionally `<stem>.text`
(`item_id:token text:token_seq`, keyed by item token), optionally `<stem>.item` (item
metadata: header `item_id:token` then any of `category:token` (e.g. "A > B > C") and
`image:token` (an http(s) URL, or a file path relative to the folder)), and `<stem>.feat*CLS`
feature matrices (raw float32, one row per item index, any dimension).

Ids are shifted by one at load time so that 0 can be padding: item index i becomes item i + 1.
Every file is read as UTF-8 with a leading byte-order mark dropped (an editor's BOM would
otherwise become part of the first token, and that item would lose its text unseen). An index is
ASCII digits only (`int()` also takes '٣', '1_0' and '+1'); a token named twice in an index is
an error, and a `.text` / `.item` line naming a token the item index lacks is left out with one
warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solidcli.errors import SolidError

INTER_HEADER = ["user_id:token", "item_id_list:token_seq", "item_id:token"]
TEXT_HEADER = ["item_id:token", "text:token_seq"]
ITEM_HEADER = ["item_id:token", "category:token", "image:token"]  # columns after the first optional
SPLITS = ("train", "valid", "test")


def header_line(columns: list[str]) -> str:
    return "\t".join(columns) + "\n"


def write_index(path: Path, tokens: list[str]) -> None:
    """`<stem>.item2index` / `.user2index`: token<TAB>index, indices 0..N-1 (read back by
    `_read_index`)."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(f"{tok}\t{n}\n" for n, tok in enumerate(tokens))


@dataclass
class AtomicDataset:
    item_tokens: list[str]  # position i holds the token of item i + 1
    user_tokens: list[str]  # position u holds the token of user u + 1
    sequences: dict[str, tuple[list[int], list[list[int]], list[int]]]  # split -> users, hists, targets
    texts: list[str | None] | None  # position i: text of item i + 1
    categories: list[str | None] | None = None  # from <stem>.item
    images: list[str | None] | None = None  # from <stem>.item: URL or folder-relative path


def _lines(path: Path) -> list[str]:
    """The file's lines, read as UTF-8 without a leading byte-order mark."""
    if not path.is_file():
        raise SolidError(f"missing file: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SolidError(f"{path} is not UTF-8 text") from None
    return text.splitlines()


def _digits(text: str) -> bool:
    """Whether `text` is a non-empty run of ASCII digits (str.isdigit alone accepts '²', which
    int() then refuses, and int() alone accepts '٣', '1_0' and '+1')."""
    return text.isascii() and text.isdigit()


def _read_index(path: Path) -> list[str]:
    tokens: dict[int, str] = {}
    line_of: dict[str, int] = {}  # token -> the line naming it
    for n, line in enumerate(_lines(path), start=1):
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not _digits(parts[1].strip()):
            raise SolidError(f"{path} line {n}: expected '<token>\\t<index>' (the index in "
                             "ASCII digits)")
        idx = int(parts[1])
        if idx in tokens:
            raise SolidError(f"{path} line {n}: index {idx} appears twice")
        if parts[0] in line_of:
            raise SolidError(f"{path} line {n}: token '{parts[0]}' appears twice (also line "
                             f"{line_of[parts[0]]}), so two indices would be one item")
        line_of[parts[0]] = n
        tokens[idx] = parts[0]
    if not tokens:
        raise SolidError(f"{path} is empty")
    if sorted(tokens) != list(range(len(tokens))):
        raise SolidError(f"{path}: indices must be 0..{len(tokens) - 1} without gaps")
    return [tokens[i] for i in range(len(tokens))]


def _read_inter(path: Path, n_users: int, n_items: int):
    lines = _lines(path)
    if not lines or lines[0].split("\t") != INTER_HEADER:
        raise SolidError(f"{path}: header must be {' '.join(INTER_HEADER)} (tab-separated)")
    users: list[int] = []
    hists: list[list[int]] = []
    targets: list[int] = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        fields = parts[1].split() if len(parts) == 3 else []
        if (len(parts) != 3 or not _digits(parts[0].strip()) or not _digits(parts[2].strip())
                or (fields and not _digits("".join(fields)))):
            raise SolidError(f"{path} line {n}: expected '<user>\\t<items...>\\t<item>' (indices "
                             "in ASCII digits)")
        user = int(parts[0]) + 1  # ids shift by one: 0 is padding
        hist = [int(x) + 1 for x in fields]
        target = int(parts[2]) + 1
        if not 1 <= user <= n_users:
            raise SolidError(f"{path} line {n}: user index {user - 1} is not in the user index")
        if (hist and (min(hist) < 1 or max(hist) > n_items)) or not 1 <= target <= n_items:
            raise SolidError(f"{path} line {n}: item index out of range 0..{n_items - 1}")
        users.append(user)
        hists.append(hist)
        targets.append(target)
    if not users:
        raise SolidError(f"{path} has no rows")
    return users, hists, targets


def _known(path: Path, rows: list[tuple[int, str, object]], position: dict[str, int],
           index: Path) -> list[tuple[int, object]]:
    """(item position, value) for each (line, item token, value) of a `.text` / `.item` file
    whose token the item index has. A token named twice is an error (which line would hold?);
    lines naming tokens the index lacks describe no item here: they are left out, with one
    warning, since a token that only looks alike (a stray byte) would lose its item's data."""
    seen: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    out = []
    for n, token, value in rows:
        if token not in position:
            unknown.append((n, token))
            continue
        if token in seen:
            raise SolidError(f"{path} line {n}: item '{token}' appears twice (also line "
                             f"{seen[token]})")
        seen[token] = n
        out.append((position[token], value))
    if unknown:
        from rich.markup import escape

        from solidcli._io import console

        n, token = unknown[0]
        lines = "1 line names" if len(unknown) == 1 else f"{len(unknown)} lines name"
        console.log(f"[yellow]{escape(str(path))}: {lines} an item token {escape(index.name)} "
                    f"lacks (the first: {escape(repr(token))}, line {n}); left out[/]")
    return out


def _read_texts(path: Path, position: dict[str, int], index: Path
                ) -> list[str | None] | None:
    if not path.is_file():
        return None
    rows = []
    for n, line in enumerate(_lines(path)[1:], start=2):
        token, sep, text = line.partition("\t")
        if not sep:
            raise SolidError(f"{path} line {n}: expected '<item token>\\t<text>'")
        rows.append((n, token, text.strip()))
    texts: list[str | None] = [None] * len(position)
    for at, text in _known(path, rows, position, index):
        texts[at] = text
    return texts


def _read_item_meta(path: Path, position: dict[str, int], index: Path):
    """(categories, images) from `<stem>.item`, each None when the column is absent."""
    if not path.is_file():
        return None, None
    lines = _lines(path)
    header = lines[0].split("\t") if lines else []
    if not header or header[0] != ITEM_HEADER[0]:
        raise SolidError(f"{path}: the header must start with item_id:token (tab-separated)")
    columns = {name.split(":")[0]: i for i, name in enumerate(header)}
    found = {c: [None] * len(position) for c in ("category", "image") if c in columns}
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != len(header):
            raise SolidError(f"{path} line {n}: {len(parts)} fields, the header has "
                             f"{len(header)}")
        rows.append((n, parts[0], parts))
    for at, parts in _known(path, rows, position, index):
        for col, values in found.items():
            values[at] = parts[columns[col]].strip() or None
    return found.get("category"), found.get("image")


def read_atomic(folder: Path, stem: str) -> AtomicDataset:
    """Read and check one atomic-file dataset."""
    items = _read_index(folder / f"{stem}.item2index")
    users = _read_index(folder / f"{stem}.user2index")
    seqs = {s: _read_inter(folder / f"{stem}.{s}.inter", len(users), len(items)) for s in SPLITS}
    for split in ("valid", "test"):
        split_users = seqs[split][0]
        if len(set(split_users)) != len(split_users):
            raise SolidError(f"{folder / f'{stem}.{split}.inter'}: a user has more than one row")
    position = {tok: i for i, tok in enumerate(items)}  # item token -> index
    index = folder / f"{stem}.item2index"
    texts = _read_texts(folder / f"{stem}.text", position, index)
    categories, images = _read_item_meta(folder / f"{stem}.item", position, index)
    return AtomicDataset(item_tokens=items, user_tokens=users, sequences=seqs, texts=texts,
                         categories=categories, images=images)


def read_features(path: Path, n_items: int, dim: int | None = None):
    """A raw float32 `.feat*CLS` matrix of `n_items` rows x `dim` (in item-index order);
    `dim` None infers it from the file size."""
    import numpy as np

    if not path.is_file():
        raise SolidError(f"missing feature file: {path}")
    size = path.stat().st_size
    if dim is None:
        if size == 0 or size % (4 * n_items) != 0:
            raise SolidError(f"{path}: {size} bytes is not {n_items} rows (one per item) of "
                             "float32 values")
        dim = size // (4 * n_items)
    if size % (4 * dim) != 0:
        raise SolidError(f"{path}: {size} bytes is not a whole number of {dim}-d float32 rows")
    rows = size // (4 * dim)
    if rows != n_items:
        raise SolidError(f"{path}: {rows} rows of dimension {dim}, but the dataset has {n_items} items")
    feats = np.fromfile(path, dtype=np.float32).reshape(n_items, dim)
    if not np.isfinite(feats).all():
        bad = int((~np.isfinite(feats)).any(axis=1).sum())
        raise SolidError(f"{path}: {bad} item rows contain NaN or infinite values")
    return feats
