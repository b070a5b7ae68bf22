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


def length_batches(lengths: np.ndarray, size: int,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Batches of row indices of similar history length (each trimmed to its longest row).

    With `rng` (training) rows of equal length are shuffled and the batch order is random;
    without it (scoring) the order is fixed. Bucketing keeps padding, and so the cost of the
    recurrent and attention layers, close to the real history lengths.
    """
    n = len(lengths)
    key = lengths.astype(np.float64)
    if rng is not None:
        key = key + rng.random(n)
    order = np.argsort(key, kind="stable")
    batches = [order[lo:lo + size] for lo in range(0, n, size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
