"""The dynamic layers of the primary model: they own the static parts and apply given params.

Two kinds, one per dynamic model (paper Sec. 3.2.2, Eq. 5). Both take the per-layer tensors
they are handed, shared ((S, in, out): a static head) or per sample ((S, B, in, out):
generated), and map x of shape (S, B, in) or (S, B, C, in) (S: the members of `ensemble`):

* `DenseLayers` (DUET, and the static head of the SR model alone): x <- act(x W + b), every W
  and b handed in.
* `LowRankLayers` (APG, Yan et al., NeurIPS 2022): W = U S V with U (in, K) and V (K, out)
  shared by all samples and learned here, and only the K x K core S handed in, so
  x <- act(((x U) S) V + b) costs O(K (in + out + K)) per sample instead of O(in out).
  APG's over-parameterisation of U and V is a training-time trick that does not change the
  function class and is not built.

Tanh between layers, none after the last (authors' code). `authors_simplified` reproduces the
APG module the authors' code reports as "APG": no activation between layers and no bias.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from solidcli.models.ensemble import Linear, member_matmul, per_member

Shapes = list[tuple[tuple[int, ...], ...]]  # per layer: the shape of each tensor handed in
Params = list[tuple[torch.Tensor, ...]]  # per layer: those tensors, (S, ...) or (S, B, ...)


def _sizes_pairs(sizes: list[int]) -> list[tuple[int, int]]:
    """Consecutive (in, out) sizes; one size alone is no layer (the identity: the SR model
    alone with `dsr.none.layers: 0`, whose state is its output, as in standard SASRec)."""
    if not sizes:
        raise ValueError("dynamic layers need at least an input size")
    return list(itertools.pairwise(sizes))


def _apply(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """x (S, B, C, in) times a shared (S, in, out) or per-sample (S, B, in, out) matrix."""
    return member_matmul(x, matrix) if matrix.dim() == 3 else torch.matmul(x, matrix)


class _LayerStack(nn.Module):
    """Applies `layer(i, x, tensors)` for each layer, Tanh between layers (none after the last)."""

    activation_between = True

    def layer(self, i: int, x: torch.Tensor, tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        """x (S, B, in) or (S, B, C, in) -> (S, B, out) or (S, B, C, out)."""
        squeeze = x.dim() == 3
        if squeeze:
            x = x.unsqueeze(2)
        last = len(params) - 1
        for i, tensors in enumerate(params):
            x = self.layer(i, x, tensors)
            if i < last and self.activation_between:
                x = torch.tanh(x)
        return x.squeeze(2) if squeeze else x


class DenseLayers(_LayerStack):
    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        self.pairs = _sizes_pairs(sizes)

    def param_shapes(self) -> Shapes:
        return [((i, o), (o,)) for i, o in self.pairs]

    def layer(self, i, x, tensors):
        weight, bias = tensors
        x = _apply(x, weight)
        return x + (bias.unsqueeze(-2) if bias.dim() == 3 else per_member(bias, x))


class LowRankLayers(_LayerStack):
    def __init__(self, sizes: list[int], rank: int, members: int,
                 authors_simplified: bool = False) -> None:
        super().__init__()
        self.pairs = _sizes_pairs(sizes)
        self.rank = rank
        self.activation_between = not authors_simplified
        self.down = nn.ModuleList(Linear(members, i, rank, bias=False, init="xavier")
                                  for i, _ in self.pairs)
        self.up = nn.ModuleList(Linear(members, rank, o, bias=not authors_simplified,
                                       init="xavier") for _, o in self.pairs)

    def param_shapes(self) -> Shapes:
        return [((self.rank, self.rank),) for _ in self.pairs]

    def layer(self, i, x, tensors):
        (core,) = tensors
        return self.up[i](_apply(self.down[i](x), core))
