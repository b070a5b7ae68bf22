"""Histories as padded arrays, and the batches the models consume.

A history is right-padded (valid ids first, oldest to newest, zeros after) and cut to its
`max_len` most recent items. A batch is trimmed to its longest history.
"""

from __future__ import annotations

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
