"""The training objectives of `train.loss`, per member of a seed group (`engine.fit`).

* `bce` (the paper, Sec. 4.1): binary cross-entropy of the positive (column 0) and the
  `train.negatives` sampled negatives, each a separate click / no-click label.
* `sampled-ce`: softmax cross-entropy over the same 1 + `negatives` candidates (the positive
  is class 0), as sampled-softmax recommenders train.
* `ce`: next-item training as RecBole and the SASRec / BERT4Rec literature train: softmax
  cross-entropy over every item of the catalogue, the target the true class. Its logits come
  from `Recommender.item_logits` (the full-ranking scoring path, with gradients). No
  negatives are sampled; items of the user's history are negatives like any other item.

Both cross-entropies are torch's `cross_entropy`; this module only arranges the member axis.
Each returns the mean over a batch per member, shape (S,), so the group's loss is their sum
and each member's gradient is its own.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

LOSSES = ("bce", "ce", "sampled-ce")


def bce(logits: torch.Tensor) -> torch.Tensor:
    """logits (S, B, 1 + n), the positive first -> (S,) mean binary cross-entropy."""
    labels = torch.zeros_like(logits)
    labels[..., 0] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(dim=(1, 2))


def softmax_ce(logits: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """logits (S, B, C) and the true class (S, B) of each row (None: class 0, the sampled
    positive) -> (S,) mean softmax cross-entropy."""
    s, b, c = logits.shape
    if target is None:
        target = torch.zeros(s, b, dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits.reshape(s * b, c), target.reshape(s * b),
                           reduction="none").view(s, b).mean(dim=1)
