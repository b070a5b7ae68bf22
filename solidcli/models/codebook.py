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

from solidcli.models.ensemble import member_lookup


class SemanticCodebook(nn.Module):
    """Codes (S, N_c, D), one codebook per member."""

    def __init__(self, init: torch.Tensor, trainable: bool = True) -> None:
        super().__init__()
        self.codes = nn.Parameter(init.detach().clone().float(), requires_grad=trainable)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for every vector of x (S, ..., D) -> (S, ...)."""
        s = x.shape[0]
        flat = x.reshape(s, -1, x.shape[-1])
        codes = self.codes
        dist = torch.baddbmm(codes.pow(2).sum(-1).unsqueeze(1), flat, codes.transpose(1, 2),
                             alpha=-2.0) + flat.pow(2).sum(-1, keepdim=True)
        return dist.argmin(dim=-1).view(x.shape[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Replace every vector of x (S, ..., D) by its nearest code (differentiable in the
        codes only)."""
        with torch.no_grad():
            index = self.nearest(x)
        return member_lookup(self.codes, index)


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-member mean squared difference (S,) over the positions where mask (S, B, L) is
    True (all if None)."""
    sq = (a - b).pow(2).mean(dim=-1).flatten(1)
    if mask is None:
        return sq.mean(dim=1)
    mask = mask.flatten(1)
    return (sq * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
