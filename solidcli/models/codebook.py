"""The semantic codebook of SCL (paper Sec. 3.3.3, Eq. 13).

Each item representation of a history is replaced by its nearest codebook entry (Euclidean),
E_v -> E'_v. The codebook (N_c x L_r) is initialised from a semantic embedding table, the
"metacode". By default it is a trainable parameter: it learns through the branch (the codes
chosen feed the item-to-parameter generator) and through the lambda * MSE(E_v, E'_v) term,
which also pulls item representations toward their codes.

Deviations available as options (method-spec 4.3, 8.2-8.5): the authors' code freezes the
codebook (`solid.train_codebook: false`) and includes padding in the MSE
(`solid.mask_padding: false`); it also takes the metacode from the SPG model rather than
the SML model the paper describes (`solid.metacode: spg`).
"""

from __future__ import annotations

import torch
from torch import nn


class SemanticCodebook(nn.Module):
    def __init__(self, init: torch.Tensor, trainable: bool = True) -> None:
        super().__init__()
        self.codes = nn.Parameter(init.detach().clone().float(), requires_grad=trainable)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for every vector of x (..., D) -> (...)."""
        flat = x.reshape(-1, x.shape[-1])
        codes = self.codes
        dist = (
            flat.pow(2).sum(1, keepdim=True)
            - 2.0 * flat @ codes.t()
            + codes.pow(2).sum(1)[None, :]
        )
        return dist.argmin(dim=1).view(x.shape[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Replace every vector of x (..., D) by its nearest code (differentiable in the codes).

        The lookup is an embedding lookup: its CPU backward is deterministic, unlike the
        accumulating scatter behind `codes[index]`, which made repeated runs drift apart."""
        with torch.no_grad():
            index = self.nearest(x)
        return nn.functional.embedding(index, self.codes)


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean squared difference over the positions where mask (B, L) is True (all if None)."""
    sq = (a - b).pow(2).mean(dim=-1)
    if mask is None:
        return sq.mean()
    return (sq * mask).sum() / mask.sum().clamp(min=1)
