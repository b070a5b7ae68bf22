"""Histories as padded arrays, and the batches the models consume.

A history is right-padded (valid ids first, oldest to newest, zeros after) and cut to its
`max_len` most recent items. A batch is trimmed to its longest history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pad_histories(histories: list[np.ndarray], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, max_len) int64 right-padded matrix of the last `max_len` items, and lengths (M,)."""
    lengths = np.fromiter((min(len(h), max_len) for h in histories), dtype=np.int64,
                          count=len(histories))
    out = np.zeros((len(histories), max_len), dtype=np.int64)
    for row, (h, n) in enumerate(zip(histories, lengths, strict=True)):
        if n:
            out[row, :n] = h[len(h) - n:]
    return out, np.maximum(lengths, 1)


def length_batches(lengths: np.ndarray, size: int, rng: np.random.Generator | None = None,
                   order: np.ndarray | None = None) -> list[np.ndarray]:
    """Batches of row indices of similar history length (each trimmed to its longest row).

    Rows are sorted by length and cut into batches of `size`; with `rng` (training) rows of
    equal length are shuffled first, and `order` (a permutation of the batches) sets the order
    they come in. Without them (scoring) the order is fixed. Bucketing keeps padding, and so
    the cost of the recurrent and attention layers, close to the real history lengths. The
    k-th batch of the sorted order has the same size and width whatever `rng` drew, so seeds
    that share `order` share every batch's shape (the training seeds of a group, `engine`).
    """
    n = len(lengths)
    key = lengths.astype(np.float64)
    if rng is not None:  # a uniform in [0, 1) breaks ties between equal integer lengths only
        key = key + rng.random(n)
    ranked = np.argsort(key, kind="stable")
    batches = [ranked[lo:lo + size] for lo in range(0, n, size)]
    if order is not None:
        batches = [batches[i] for i in order]
    return batches


@dataclass
class Windows:
    """Training rows regrouped by user into windows a causal model encodes once (`train.
    encoding: sequence`): `hist` (W, max_len) right-padded inputs, `lengths` (W,), and `rows`
    (W, max_len), the training row whose target the output at each position predicts (-1: a
    position read as context only, or padding).

    A user's rows are the prefixes x[:t] -> x[t] (t = 1..n) of one sequence x. The first
    window is x[:min(n, max_len)], whose output at position p is row t = p + 1 with exactly the
    history the row has (prefix mode reads the same items at the same positions). Rows with
    t > max_len, whose prefix mode history is the last max_len items, come from later windows
    that start every `max_len // 2` items; each predicts only the targets the previous window
    did not, so every row is predicted exactly once, reading between max_len - max_len // 2
    and max_len items of history instead of exactly max_len."""

    hist: np.ndarray
    lengths: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_rows(cls, users: np.ndarray, histories: list[np.ndarray], targets: np.ndarray,
                  max_len: int) -> Windows:
        """Windows of the rows (users, histories, targets) of a training split. A user's
        rows are put in order by history length, and rows of equal (capped: prepared files
        keep a history's last 50 items) length by the order their targets chain in (each
        row's last history item is the previous row's target; the files list a user's
        newest row first); anything else is refused."""
        n_rows = len(histories)
        lengths_all = np.fromiter((len(h) for h in histories), np.int64, n_rows)
        last = np.fromiter((h[-1] if len(h) else -1 for h in histories), np.int64, n_rows)
        stride = max(1, max_len // 2)
        hists, widths, rows = [], [], []
        for ids in _rows_by_user(users, lengths_all, last, targets):
            n = len(ids)
            # the user's sequence x[0..n]: the first row's one item, then every target
            x = np.concatenate([histories[ids[0]][-1:], targets[ids]])
            start, end = 0, 0  # the window's first input; rows t <= end are predicted
            while end < n:
                width = min(max_len, n - start)
                predicts = np.arange(start + 1, start + width + 1)  # row t at each position
                row_ids = np.full(max_len, -1, dtype=np.int64)
                new = predicts > end
                row_ids[:width][new] = ids[predicts[new] - 1]
                padded = np.zeros(max_len, dtype=np.int64)
                padded[:width] = x[start:start + width]
                hists.append(padded)
                widths.append(width)
                rows.append(row_ids)
                end = start + width
                start = end - max_len + stride  # only reached after a full window
        if not hists:
            empty = np.zeros((0, max_len), np.int64)
            return cls(empty, np.zeros(0, np.int64), empty.copy())
        return cls(np.stack(hists), np.asarray(widths, dtype=np.int64), np.stack(rows))

    @property
    def outputs(self) -> np.ndarray:
        """Rows predicted per window (W,)."""
        return (self.rows >= 0).sum(axis=1)

    def batches(self, size: int, rng: np.random.Generator | None = None,
                order_seed: list[int] | None = None) -> list[np.ndarray]:
        """Batches of windows predicting about `size` rows each, as `length_batches` makes
        them: windows sorted by (length, rows predicted) and cut where the rows reach `size`;
        `rng` shuffles only windows of equal key, and `order_seed` draws the order the batches
        come in, so every seed that shares `order_seed` gets batches of the same shapes and
        the same positions predicted (a training group's members, `engine`)."""
        outputs = self.outputs
        key = self.lengths.astype(np.float64) * (self.rows.shape[1] + 1) + outputs
        if rng is not None:  # in [0, 1): reorders only windows of equal integer key
            key = key + rng.random(len(key))
        ranked = np.argsort(key, kind="stable")
        # windows of equal key predict equally many rows, so the cuts are the same for any rng
        counts = np.cumsum(outputs[ranked])
        total = int(counts[-1]) if len(counts) else 0
        cuts = np.searchsorted(counts, np.arange(size, total, size), side="left") + 1
        batches = [b for b in np.split(ranked, np.unique(cuts)) if len(b)]
        if order_seed is not None:
            perm = np.random.default_rng(order_seed).permutation(len(batches))
            batches = [batches[i] for i in perm]
        return batches


def _rows_by_user(users: np.ndarray, lengths: np.ndarray, last: np.ndarray,
                  targets: np.ndarray) -> list[np.ndarray]:
    """Each user's row indices in sequence order (t = 1..n), checked: the first history is
    one item long, lengths never fall, and each row's last history item is the previous
    row's target. Rows of equal length keep their file order reversed (newest first in the
    files), or their file order where that is the one that chains."""
    position = np.arange(len(users))
    out = []
    by_user = np.lexsort((-position, lengths, users))
    bounds = np.flatnonzero(np.diff(users[by_user])) + 1
    for ids in np.split(by_user, bounds):
        if len(ids) == 0:
            continue
        if not _chains(ids, lengths, last, targets):
            ids = ids[np.lexsort((position[ids], lengths[ids]))]  # oldest first instead
            if not _chains(ids, lengths, last, targets):
                raise ValueError(f"user {users[ids[0]]}: the training rows are not the "
                                 "prefixes x[:1] -> x[1], x[:2] -> x[2], ... of one sequence")
        out.append(ids)
    return out


def _chains(ids: np.ndarray, lengths: np.ndarray, last: np.ndarray,
            targets: np.ndarray) -> bool:
    steps = np.diff(lengths[ids])
    return bool(lengths[ids[0]] == 1 and ((steps == 0) | (steps == 1)).all()
                and (last[ids[1:]] == targets[ids[:-1]]).all())
