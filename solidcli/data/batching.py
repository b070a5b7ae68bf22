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


def batch_slices(n: int, size: int, order: np.ndarray | None = None):
    """Index arrays covering range(n) (or `order`) in chunks of `size`."""
    idx = np.arange(n) if order is None else order
    for lo in range(0, n, size):
        yield idx[lo:lo + size]
