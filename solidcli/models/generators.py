"""Where the dynamic layers' parameters come from: static, or generated from a sequence.

* `StaticParams`  - dsr `none`: ordinary learned weights (the SR model alone, paper Eq. 1).
* `SequenceCondition` - encodes an embedded sequence (item or semantic ids) into a condition
  vector: GRU over the right-padded sequence, state at the last valid position, then
  Linear-Tanh-Linear. This is E_v / E_c of paper Eq. 5 and 11.
* `Hypernetwork` - every tensor the dynamic layers are handed is a linear function of the
  condition, reshape(c G + g) (paper Eq. 5, 11, 12). With `DenseLayers` these are DUET's full
  weights and biases (Lv et al., 2023); with `LowRankLayers` they are APG's K x K cores.

Deviations from the authors' code (method-spec 3.2, 8.1), paper's way by default:
* The authors keep G and g in plain Python lists (DUET and APG alike), so they are never trained and are missing
  from the state_dict. Here they are registered parameters and train with the rest;
  `dsr.<duet|apg>.freeze: true` keeps them at their initial values (saved in the state_dict).
* The authors initialise G and g with fmod(randn, 2), which makes generated weights of
  standard deviation ~2 and saturates the first Tanh. `init: scaled` (default) starts the
  generated weights at Xavier scale; `init: authors` restores fmod(randn, 2).
* The authors' condition encoder reads the backbone's position-embedded, transformed history;
  here it reads the raw embeddings, so the same encoder serves item and semantic sequences.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from solidcli.models.layers import Params, Shapes


class StaticParams(nn.Module):
    """Learned, input-independent parameters with the given shapes (Xavier W, zero b)."""

    def __init__(self, shapes: Shapes) -> None:
        super().__init__()
        self.tensors = nn.ParameterList()
        self.layout = [len(layer) for layer in shapes]
        for layer in shapes:
            for shape in layer:
                t = torch.empty(shape)
                if len(shape) >= 2:
                    nn.init.xavier_uniform_(t)
                else:
                    nn.init.zeros_(t)
                self.tensors.append(nn.Parameter(t))

    def forward(self) -> Params:
        it = iter(self.tensors)
        return [tuple(next(it) for _ in range(n)) for n in self.layout]


class SequenceCondition(nn.Module):
    """Embedded sequence (B, L, D) + lengths -> condition vector c (B, D)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, dim))
        for name, p in self.gru.named_parameters():
            (nn.init.xavier_uniform_ if "weight" in name else nn.init.zeros_)(p)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(seq)
        last = (lengths - 1).clamp(min=0)
        return self.mlp(out[torch.arange(out.shape[0], device=out.device), last])


class Hypernetwork(nn.Module):
    """Condition c (B, D) -> per-sample tensors of the given shapes, each c G + g."""

    def __init__(self, dim: int, shapes: Shapes, init: str = "scaled", freeze: bool = False):
        super().__init__()
        self.shapes = shapes
        self.weights = nn.ParameterList()  # G: (D, numel)
        self.biases = nn.ParameterList()  # g: (numel,)
        for layer in shapes:
            for shape in layer:
                numel = math.prod(shape)
                big_g, small_g = torch.empty(dim, numel), torch.empty(numel)
                if init == "authors":
                    big_g.normal_().fmod_(2.0)
                    small_g.normal_().fmod_(2.0)
                elif init == "scaled":
                    # generated matrices start at Xavier-normal scale, vectors near zero
                    std = math.sqrt(2.0 / sum(shape)) if len(shape) >= 2 else 0.1
                    big_g.normal_(0.0, std / math.sqrt(dim))
                    if len(shape) >= 2:
                        small_g.normal_(0.0, std)
                    else:
                        small_g.zero_()
                else:
                    raise ValueError(f"unknown generator init '{init}'")
                self.weights.append(nn.Parameter(big_g, requires_grad=not freeze))
                self.biases.append(nn.Parameter(small_g, requires_grad=not freeze))

    def forward(self, cond: torch.Tensor) -> Params:
        batch = cond.shape[0]
        out: Params = []
        k = 0
        for layer in self.shapes:
            tensors = []
            for shape in layer:
                flat = torch.addmm(self.biases[k], cond, self.weights[k])
                tensors.append(flat.view(batch, *shape))
                k += 1
            out.append(tuple(tensors))
        return out


def clip_params(params: Params, bound: float) -> Params:
    """Clip every generated entry to [-bound, bound] (the branch of paper Eq. 12)."""
    return [tuple(t.clamp(-bound, bound) for t in layer) for layer in params]


def add_params(trunk: Params, branch: Params) -> Params:
    """Trunk + branch, entry by entry (paper Eq. 12: M_c(E_c(s_c)) + Clip(M_v(E_v(s_v)), T))."""
    return [tuple(a + b for a, b in zip(la, lb, strict=True))
            for la, lb in zip(trunk, branch, strict=True)]
