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
from itertools import pairwise
from pathlib import Path

import numpy as np

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
class Split:
    """One `.inter` file's rows as arrays (ids shifted by one): row r is user `users[r]`, history
    `items[offsets[r]:offsets[r + 1]]` (oldest first) and target `targets[r]`."""

    users: np.ndarray  # int32
    offsets: np.ndarray  # int64, rows + 1 entries
    items: np.ndarray  # int32, every history concatenated
    targets: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.users)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def lists(self) -> tuple[list[int], list[list[int]], list[int]]:
        """(users, histories, targets) as Python lists (small data: tests, inspection)."""
        flat, ends = self.items.tolist(), self.offsets.tolist()
        return (self.users.tolist(), [flat[a:b] for a, b in pairwise(ends)],
                self.targets.tolist())


@dataclass
class AtomicDataset:
    item_tokens: list[str]  # position i holds the token of item i + 1
    user_tokens: list[str]  # position u holds the token of user u + 1
    splits: dict[str, Split]
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


def _read_inter(path: Path, n_users: int, n_items: int) -> Split:
    """One `.inter` file, parsed vectorised when every line is canonical (`<digits>\\t<digits
    separated by single spaces>\\t<digits>`, ids in range); any other file goes through the
    line-by-line reader, which accepts what it always did and names the first bad line."""
    fast = _parse_inter(path, n_users, n_items) if path.is_file() else None
    if fast is not None:
        return fast
    users, hists, targets = _read_inter_lines(path, n_users, n_items)
    offsets = np.zeros(len(hists) + 1, dtype=np.int64)
    np.cumsum([len(h) for h in hists], out=offsets[1:])
    flat = np.fromiter((i for h in hists for i in h), dtype=np.int32, count=int(offsets[-1]))
    return Split(np.asarray(users, dtype=np.int32), offsets, flat,
                 np.asarray(targets, dtype=np.int32))


_CHUNK = 1 << 22  # bytes parsed at a time: a few dozen MB of temporaries
_TAB, _NL, _SPACE = 9, 10, 32


def _parse_inter(path: Path, n_users: int, n_items: int) -> Split | None:
    """The canonical `.inter` file at `path` as a Split, or None when any byte, line or id
    is out of the canonical form (the caller then reads it line by line)."""
    data = path.read_bytes()
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    header = header_line(INTER_HEADER).encode()
    if data[start:start + len(header)] != header:
        return None
    start += len(header)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    while start < len(data):
        end = data.rfind(b"\n", start, start + _CHUNK) + 1
        if end <= start:  # a line longer than a chunk
            end = data.find(b"\n", start + _CHUNK) + 1 or len(data)
        chunk = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
        if chunk[-1] != _NL:  # the last line, without its newline
            chunk = np.append(chunk, np.uint8(_NL))
        part = _parse_chunk(chunk, n_users, n_items)
        if part is None:
            return None
        parts.append(part)
        start = end
    if not parts:
        return None
    users, lengths, items, targets = (np.concatenate(c) for c in zip(*parts, strict=True))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Split(users, offsets, items, targets)


def _parse_chunk(a: np.ndarray, n_users: int, n_items: int):
    """(users, history lengths, history items, targets) of whole lines `a` (bytes ending in a
    newline), or None unless every line is canonical with ids in range."""
    digit = (a >= 48) & (a <= 57)
    tab, nl = a == _TAB, a == _NL
    if not a.size or not digit[0] or not (digit | tab | nl | (a == _SPACE)).all():
        return None
    sep = np.flatnonzero(~digit)
    before, after = a[sep - 1], a[np.minimum(sep + 1, a.size - 1)]
    kind = a[sep]
    double_tab = (kind == _TAB) & (after == _TAB)
    # one separator between two numbers, but for the empty history's tab pair
    if not ((before >= 48) | ((kind == _TAB) & (before == _TAB))).all():
        return None
    if not ((after >= 48) | double_tab)[:-1].all():
        return None
    # per line, the separators are: tab, spaces, tab, newline
    ends = np.flatnonzero(kind == _NL)
    starts = np.concatenate(([0], ends[:-1] + 1))
    if ((kind[starts] != _TAB) | (kind[ends - 1] != _TAB)).any():
        return None
    if (np.add.reduceat((kind == _TAB).astype(np.int64), starts) != 2).any():
        return None
    # the numbers: digit runs, each ended by the separator after it
    first = np.flatnonzero(digit & ~np.concatenate(([False], digit[:-1])))
    last = np.flatnonzero(digit & ~np.concatenate((digit[1:], [False]))) + 1
    width = last - first
    if width.max() > 18:
        return None
    values = np.zeros(first.size, dtype=np.int64)
    for k in range(int(width.max())):
        more = width > k
        values[more] = values[more] * 10 + (a[first[more] + k] - 48)
    values += 1  # ids shift by one: 0 is padding
    line_end = a[last] == _NL
    line_start = np.concatenate(([True], line_end[:-1]))
    users, targets = values[line_start], values[line_end]
    items = values[~(line_start | line_end)]
    lengths = np.diff(np.flatnonzero(line_end), prepend=-1) - 2
    if users.max() > n_users or max(items.max(initial=1), targets.max()) > n_items:
        return None
    return (users.astype(np.int32), lengths, items.astype(np.int32),
            targets.astype(np.int32))


def _read_inter_lines(path: Path, n_users: int, n_items: int):
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
        split_users = seqs[split].users
        if len(np.unique(split_users)) != len(split_users):
            raise SolidError(f"{folder / f'{stem}.{split}.inter'}: a user has more than one row")
    position = {tok: i for i, tok in enumerate(items)}  # item token -> index
    index = folder / f"{stem}.item2index"
    texts = _read_texts(folder / f"{stem}.text", position, index)
    categories, images = _read_item_meta(folder / f"{stem}.item", position, index)
    return AtomicDataset(item_tokens=items, user_tokens=users, splits=seqs, texts=texts,
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
