"""The semantic codebook of SCL (paper Sec. 3.3.3, Eq. 13), and the vector-quantisation
practice that lets it learn (issue 11).

Each item representation of a history is replaced by its nearest codebook entry (Euclidean),
E_v -> E'_v. The codebook (N_c x L_r) is initialised from a semantic embedding table, the
"metacode". By default it is a trainable parameter.

What reaches what (the paper leaves it open; `solid.*` picks):
* The lookup itself has no gradient. Without a straight-through estimator
  (`straight_through: false`, the paper read literally) the branch's gradient reaches the
  chosen codes only, never the item representations. With it (van den Oord et al., 2017)
  the branch sees the codes' values, E_v + sg(E'_v - E_v), and its gradient passes to E_v;
  the codes then learn from the auxiliary loss alone, as in VQ-VAE.
* The auxiliary loss (`aux_loss`): `paper` is Eq. 13's single MSE(E_v, E'_v), which pulls
  codes and items toward each other with equal force; `vq` is VQ-VAE's pair,
  MSE(sg(E_v), E'_v) + beta MSE(E_v, sg(E'_v)), with beta = `commitment` (beta = 1 has the
  paper's gradient); `authors` is the authors' code's MSE(semantic history, sg(E'_v)).
* Dead codes (`dead_codes: reinit`): after every epoch each code that is the nearest code of
  no item moves onto a randomly drawn item representation (per member, drawn from the seed
  and the epoch), and its Adam moments are reset, the usual restart of k-means-style VQ
  (Dhariwal et al., 2020; Zeghidour et al., 2021). `keep` leaves them.

Deviations available as options (method-spec 4.3, 8.2-8.5): the authors' code freezes the
codebook (`solid.train_codebook: false`) and includes padding in the MSE
(`solid.mask_padding: false`); it also takes the metacode from the SPG model rather than
the SML model the paper describes (`solid.metacode: spg`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from solidcli.models.ensemble import member_lookup
from solidcli.models.spec import AUX_LOSSES


class SemanticCodebook(nn.Module):
    """Codes (S, N_c, D), one codebook per member."""

    def __init__(self, init: torch.Tensor, trainable: bool = True,
                 straight_through: bool = False) -> None:
        super().__init__()
        self.codes = nn.Parameter(init.detach().clone().float(), requires_grad=trainable)
        self.straight_through = straight_through

    @torch.no_grad()
    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for every vector of x (S, ..., D) -> (S, ...)."""
        s = x.shape[0]
        flat = x.reshape(s, -1, x.shape[-1])
        codes = self.codes
        dist = torch.baddbmm(codes.pow(2).sum(-1).unsqueeze(1), flat, codes.transpose(1, 2),
                             alpha=-2.0) + flat.pow(2).sum(-1, keepdim=True)
        return dist.argmin(dim=-1).view(x.shape[:-1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every vector of x (S, ..., D) quantised: (what the branch reads, the codes).

        The codes (differentiable in the codebook) feed the auxiliary loss; the branch reads
        the codes themselves, or with `straight_through` the same values whose gradient
        goes to x."""
        codes = member_lookup(self.codes, self.nearest(x))
        if self.straight_through:
            return x + (codes - x).detach(), codes
        return codes, codes

    @torch.no_grad()
    def restart_dead(self, items: torch.Tensor, rngs: list[np.random.Generator],
                     optimizer: torch.optim.Optimizer | None = None) -> list[int]:
        """Move every code that is the nearest code of no row of `items` (S, N, D) onto a
        row drawn by the member's generator; zero its Adam moments. Returns the number of
        codes moved per member."""
        index = self.nearest(items)  # (S, N)
        n_codes = self.codes.shape[1]
        state = optimizer.state.get(self.codes, {}) if optimizer is not None else {}
        moved = []
        for m, rng in enumerate(rngs):
            used = torch.bincount(index[m], minlength=n_codes) > 0
            dead = torch.nonzero(~used).flatten()
            if len(dead):
                rows = torch.from_numpy(rng.integers(0, items.shape[1], len(dead))
                                        ).to(items.device)
                self.codes[m, dead] = items[m, rows]
                for key in ("exp_avg", "exp_avg_sq"):
                    if key in state:
                        state[key][m, dead] = 0.0
            moved.append(len(dead))
        return moved


def aux_loss(kind: str, items: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor | None,
             commitment: float, semantic: torch.Tensor | None = None) -> torch.Tensor:
    """The codebook's auxiliary loss per member (S,) of item representations `items` and
    their codes (both (S, B, L, D)); `semantic` is the semantic history (`authors`)."""
    if kind == "paper":  # Eq. 13
        return masked_mse(items, codes, mask)
    if kind == "vq":
        return (masked_mse(items.detach(), codes, mask)
                + commitment * masked_mse(items, codes.detach(), mask))
    if kind == "authors":  # method-spec 4.3, 8.3
        return masked_mse(items if semantic is None else semantic, codes.detach(), mask)
    raise ValueError(f"unknown aux_loss '{kind}' (choose from {', '.join(AUX_LOSSES)})")


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-member mean squared difference (S,) over the positions where mask (S, B, L) is
    True (all if None)."""
    sq = (a - b).pow(2).mean(dim=-1).flatten(1)
    if mask is None:
        return sq.mean(dim=1)
    mask = mask.flatten(1)
    return (sq * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
