"""The semantic codebook of SCL (paper Sec. 3.3.3, Eq. 13), and the vector-quantisation
practice that lets it learn (docs: SOLID's mechanics).

Each item representation of a history is replaced by its nearest codebook entry (Euclidean),
E_v -> E'_v. The codebook (N_c x L_r) is initialised from a semantic embedding table, the
"metacode". By default it is a trainable parameter. The search for the nearest code runs
over chunks of rows with a bounded table of distances (`nearest_code`), with the
results of the whole table bit for bit.

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

Deviations available as options: the authors' released code freezes the
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
        """Index of the nearest code for every vector of x (S, ..., D) -> (S, ...), in
        chunks of rows (`nearest_code`)."""
        return nearest_code(x, self.codes)

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


CHUNK_BYTES = 64 << 20  # distances `nearest_code` holds at once (64 MiB)
MIN_CHUNK_ROWS = 64  # fewest rows per chunk: below ~16 rows MKL's gemm takes other paths


def chunk_rows(members: int, n_codes: int, element_size: int) -> int:
    """Rows per chunk of `nearest_code`: as many as fit S x rows x N_c distances in
    CHUNK_BYTES, at least MIN_CHUNK_ROWS. Depends on the sizes and the element size only,
    never on the device."""
    return max(MIN_CHUNK_ROWS, CHUNK_BYTES // max(1, members * n_codes * element_size))


def _distances(flat: torch.Tensor, codes: torch.Tensor, sq_codes: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ||x||^2 - 2 x.c + ||c||^2 (S, n, N_c) of the rows of
    flat (S, n, D) to the codes (S, N_c, D), ||c||^2 = sq_codes (S, N_c). The sum is added
    in place: the same IEEE additions as `a + b`, one table instead of two."""
    dist = torch.baddbmm(sq_codes.unsqueeze(1), flat, codes.transpose(1, 2), alpha=-2.0)
    return dist.add_(flat.pow(2).sum(-1, keepdim=True))


@torch.no_grad()
def nearest_code(x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Index of each member's nearest code (S, N_c, D) for every vector of x (S, ..., D)
    -> (S, ...); ties go to the first code (torch.argmin).

    Memory is bounded: the whole (S, rows, N_c) table, 4.5 GB for 5 members x
    26k items x 8.6k codes, was built, and held twice, on every step. Now at most
    `chunk_rows` rows are held at a time, about CHUNK_BYTES of distances. Rows that fit in
    one chunk (every step and item table of Scientific's Table 1 runs, K = 32) take the one
    call they always took. Larger inputs are cut into windows of exactly `chunk_rows` rows,
    the last one moved back to end at the last row, so that every matrix product has the
    same shape and no short tail chunk reaches BLAS's small-matrix kernels, whose sums round
    differently (measured: MKL's products of 1-8 rows differ in the last bits). A row's
    distances, and so its argmin, are then bitwise those of the whole table: MKL's gemm
    gives a row the same bits for any number of rows >= 16 (tests/test_codebook_chunks.py
    checks this over many shapes; a GPU's BLAS is not checked). The search has no gradient: the codes' and items' gradients (Eq. 13's MSE,
    straight-through) follow from the indices alone, so they are unchanged too. While
    tracing for ONNX (`solid export`) the whole table is built, as a loop over traced sizes
    would freeze the chunk count into the graph."""
    s, d = x.shape[0], x.shape[-1]
    flat = x.reshape(s, -1, d)
    n = flat.shape[1]
    sq_codes = codes.pow(2).sum(-1)
    rows = chunk_rows(s, codes.shape[1], flat.element_size())
    if torch.jit.is_tracing() or n <= rows:
        return _distances(flat, codes, sq_codes).argmin(dim=-1).view(x.shape[:-1])
    index = torch.empty(s, n, dtype=torch.long, device=x.device)
    for lo in range(0, n, rows):
        start = min(lo, n - rows)  # the last window ends at the last row
        best = _distances(flat[:, start:start + rows], codes, sq_codes).argmin(dim=-1)
        index[:, lo:start + rows] = best[:, lo - start:]
    return index.view(x.shape[:-1])


def aux_loss(kind: str, items: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor | None,
             commitment: float, semantic: torch.Tensor | None = None) -> torch.Tensor:
    """The codebook's auxiliary loss per member (S,) of item representations `items` and
    their codes (both (S, B, L, D)); `semantic` is the semantic history (`authors`)."""
    if kind == "paper":  # Eq. 13
        return masked_mse(items, codes, mask)
    if kind == "vq":
        return (masked_mse(items.detach(), codes, mask)
                + commitment * masked_mse(items, codes.detach(), mask))
    if kind == "authors":  # the authors' released code
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
