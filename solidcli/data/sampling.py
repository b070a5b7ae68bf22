"""Negative sampling: seeded, vectorised, never an item the user interacted with.

Used twice: once in `download` to fix the valid/test candidate lists (1 positive + 99
negatives, paper 4.1.1), and every training epoch to draw 4 fresh negatives per positive.
Negatives are distinct within a row and drawn uniformly from the items the user never
interacted with (over all splits).
"""

from __future__ import annotations

import numpy as np

from solidcli.errors import SolidError


class InteractionIndex:
    """Membership test for (user, item) pairs, as a sorted array of `user * stride + item`."""

    def __init__(self, users: np.ndarray, items: np.ndarray, n_items: int) -> None:
        self.stride = n_items + 1
        self.n_items = n_items
        keys = users.astype(np.int64) * self.stride + items.astype(np.int64)
        self.keys = np.unique(keys)
        self.count = np.bincount(self.keys // self.stride)  # distinct items per user id

    @classmethod
    def from_splits(cls, splits, n_items: int, rows: int = 1 << 16) -> InteractionIndex:
        """From (users, histories, targets) per split: every history item and every target,
        `rows` rows at a time (a user's items repeat in each of its prefixes: 49 M history
        items for 1.9 M interactions at Douban-Book size)."""
        stride = n_items + 1
        keys = []
        for split_users, histories, targets in splits:
            split_users = np.asarray(split_users, dtype=np.int64)
            keys.append(np.unique(split_users * stride + np.asarray(targets, dtype=np.int64)))
            for lo in range(0, len(histories), rows):
                part = histories[lo:lo + rows]
                lens = np.fromiter((len(h) for h in part), dtype=np.int64, count=len(part))
                if not lens.sum():
                    continue
                owner = np.repeat(split_users[lo:lo + rows], lens)
                flat = np.concatenate([np.asarray(h, dtype=np.int64) for h in part])
                keys.append(np.unique(owner * stride + flat))
        flat = np.unique(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
        return cls(flat // stride, flat % stride, n_items)

    @classmethod
    def from_flat(cls, splits, n_items: int, rows: int = 1 << 16) -> InteractionIndex:
        """From `atomic.Split`s (users, history offsets and items, targets), as `from_splits`;
        `rows` rows at a time, so the temporaries stay small however many histories repeat."""
        stride = n_items + 1
        keys = []
        for split in splits:
            users = split.users.astype(np.int64)
            keys.append(np.unique(users * stride + split.targets))
            for lo in range(0, len(users), rows):
                ends = split.offsets[lo:lo + rows + 1]
                owner = np.repeat(users[lo:lo + rows], np.diff(ends))
                keys.append(np.unique(owner * stride + split.items[ends[0]:ends[-1]]))
        flat = np.unique(np.concatenate(keys)) if keys else np.empty(0, dtype=np.int64)
        return cls(flat // stride, flat % stride, n_items)

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users.astype(np.int64) * self.stride + items.astype(np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        return self.keys[pos] == keys


def sample_negatives(rng: np.random.Generator, users: np.ndarray, k: int,
                     index: InteractionIndex, max_rounds: int = 1000) -> np.ndarray:
    """`k` distinct negatives per entry of `users`, shape (len(users), k), int64.

    Rejection sampling, redrawing only the entries that hit an interacted item or a repeat; a
    row still unfinished after `max_rounds` (its user has hardly more free items than `k`, as
    in a small catalogue) is completed exactly from the items it may still take."""
    users = np.asarray(users, dtype=np.int64)
    counts = index.count[np.minimum(users, len(index.count) - 1)]
    free = index.n_items - counts
    if users.size and free.min() < k:
        worst = int(users[np.argmin(free)])
        raise SolidError(
            f"user {worst} interacted with {int(counts.max())} of {index.n_items} items: "
            f"cannot sample {k} distinct negatives"
        )
    out = rng.integers(1, index.n_items + 1, size=(users.size, k), dtype=np.int64)
    rows = np.repeat(users, k).reshape(users.size, k)
    for _ in range(max_rounds):
        bad = index.contains(rows, out) | _duplicates(out)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return out
        out[bad] = rng.integers(1, index.n_items + 1, size=n_bad, dtype=np.int64)
    bad = index.contains(rows, out) | _duplicates(out)
    for row in np.flatnonzero(bad.any(axis=1)):
        lo, hi = np.searchsorted(index.keys, [users[row] * index.stride,
                                              (users[row] + 1) * index.stride])
        taken = np.concatenate([index.keys[lo:hi] % index.stride, out[row][~bad[row]]])
        pool = np.setdiff1d(np.arange(1, index.n_items + 1), taken)
        out[row, bad[row]] = rng.choice(pool, int(bad[row].sum()), replace=False)
    return out


def _duplicates(mat: np.ndarray) -> np.ndarray:
    """True at every repeat of a value earlier in its row (the first occurrence stays False)."""
    order = np.argsort(mat, axis=1, kind="stable")
    ranked = np.take_along_axis(mat, order, axis=1)
    repeat = np.zeros_like(mat, dtype=bool)
    if mat.shape[1] > 1:
        same = ranked[:, 1:] == ranked[:, :-1]
        rows, cols = np.nonzero(same)
        repeat[rows, order[rows, cols + 1]] = True
    return repeat
