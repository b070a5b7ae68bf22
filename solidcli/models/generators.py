"""Where the dynamic layers' parameters come from: static, or generated from a sequence.

* `StaticParams`  - dsr `none`: ordinary learned weights (the SR model alone, paper Eq. 1).
* `SequenceCondition` - encodes an embedded sequence (item or semantic ids) into a condition
  vector: GRU over the right-padded sequence, state at the last valid position, then
  Linear-Tanh-Linear. This is E_v / E_c of paper Eq. 5 and 11.
All of them carry the member axis of `ensemble` (S models at once; S = 1 for a solo run).
* `Hypernetwork` - every tensor the dynamic layers are handed is a linear function of the
  condition, reshape(c G + g) (paper Eq. 5, 11, 12); all tensors come from one product. With `DenseLayers` these are DUET's full
  weights and biases (Lv et al., 2023); with `LowRankLayers` they are APG's K x K cores.

Deviations from the authors' released code, paper's way by default:
* The authors keep G and g in plain Python lists (DUET and APG alike), so they are never trained and are missing
  from the state_dict. Here they are registered parameters and train with the rest;
  `dsr.<duet|apg>.freeze: true` keeps them at their initial values (saved in the state_dict).
* The authors initialise G and g with fmod(randn, 2), which makes generated weights of
  standard deviation ~2 and saturates the first Tanh. `init: scaled` (default) starts the
  generated weights at Xavier scale; `init: authors` restores fmod(randn, 2).
* The authors' condition encoder reads the backbone's position-embedded, transformed history;
  here it reads the raw embeddings, so the same encoder serves item and semantic sequences.

SOLID's item branch (Eq. 12): with either init above, the generated entries start
at a standard deviation of about 0.18, eighteen times T = 0.01, so the clip saturates nearly
every entry and the branch is a constant sign pattern with no gradient. `init: unit` with
`scale=T` (`solid.branch_scale: T`) generates T times a unit-scale tensor (entries start at
about T/2, mostly inside the bound), so Adam's steps are steps of the unit tensor; measured,
that is not enough: the steps grow the branch past the bound again during training (README,
"SOLID's mechanics"). `rms=T/2` (`solid.branch_scale: rms`) also rescales each sample's
generated tensor to a root mean square of T/2 at every step, so the branch stays inside its
bound by construction (about 95% of the entries of a Gaussian tensor lie within two RMS)
while its direction, and so its difference across users, is learned; a deliberate addition
to the paper's Eq. 12, whose magnitude the clip alone bounds. `bound` is Eq. 12's hard clip
or the smooth T tanh(x / T).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from solidcli.models.ensemble import GRU, MLP
from solidcli.models.layers import Params, Shapes
from solidcli.models.transformer import at_positions, gather_last


class StaticParams(nn.Module):
    """Learned, input-independent parameters (S, *shape) of the given shapes (Xavier W, 0 b)."""

    def __init__(self, shapes: Shapes, members: int) -> None:
        super().__init__()
        self.tensors = nn.ParameterList()
        self.layout = [len(layer) for layer in shapes]
        for layer in shapes:
            for shape in layer:
                t = torch.zeros(members, *shape)
                if len(shape) >= 2:
                    bound = math.sqrt(6.0 / (shape[0] + shape[1]))
                    t.uniform_(-bound, bound)
                self.tensors.append(nn.Parameter(t))

    def forward(self) -> Params:
        it = iter(self.tensors)
        return [tuple(next(it) for _ in range(n)) for n in self.layout]


class SequenceCondition(nn.Module):
    """Embedded sequence (S, B, L, D) + lengths (S, B) -> condition vector c (S, B, D), or,
    with `at` (flat indices into B x L), the condition of the prefix ending at each of those
    positions (S, R, D): the GRU's state there (`train.encoding: sequence`)."""

    def __init__(self, dim: int, members: int) -> None:
        super().__init__()
        self.gru = GRU(members, dim, dim)
        self.mlp = MLP(members, dim)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                at: torch.Tensor | None = None) -> torch.Tensor:
        if at is None:
            return self.mlp(gather_last(self.gru(seq), (lengths - 1).clamp(min=0)))
        return self.mlp(at_positions(self.gru(seq), at))


class Hypernetwork(nn.Module):
    """Condition c (S, B, D) -> per-sample tensors (S, B, *shape) of the given shapes, c G + g.

    G (S, D, total) and g (S, total) hold every tensor's columns side by side, so one batched
    product generates all of them."""

    def __init__(self, dim: int, shapes: Shapes, members: int, init: str = "scaled",
                 freeze: bool = False, scale: float = 1.0, rms: float | None = None):
        """`scale` multiplies every generated entry (the branch: T, with `init: unit`); `rms`
        rescales each sample's tensor to that root mean square (the branch: T / 2)."""
        super().__init__()
        self.shapes = shapes
        self.scale, self.rms = scale, rms
        sizes = [math.prod(shape) for layer in shapes for shape in layer]
        self.sizes = sizes
        total = sum(sizes)
        self.weight = nn.Parameter(torch.empty(members, dim, total), requires_grad=not freeze)
        self.bias = nn.Parameter(torch.empty(members, total), requires_grad=not freeze)
        with torch.no_grad():
            lo = 0
            for shape, size in zip((s for layer in shapes for s in layer), sizes, strict=True):
                big_g, small_g = self.weight[:, :, lo:lo + size], self.bias[:, lo:lo + size]
                lo += size
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
                elif init == "unit":  # entries start at sd ~0.5 (half from c G, half from g)
                    big_g.normal_(0.0, 0.5 / math.sqrt(2.0 * dim))
                    small_g.normal_(0.0, 0.5 / math.sqrt(2.0))
                else:
                    raise ValueError(f"unknown generator init '{init}'")

    def forward(self, cond: torch.Tensor) -> Params:
        s, b = cond.shape[:2]
        flat = torch.baddbmm(self.bias.unsqueeze(1), cond, self.weight)  # (S, B, total)
        if self.scale != 1.0:
            flat = flat * self.scale
        # split, not slicing: its backward is one cat, not a zeroed (S, B, total) per tensor
        parts = flat.split(self.sizes, dim=-1)
        if self.rms is not None:  # each sample's tensor at RMS `rms`, whatever G and g became
            parts = [p * (self.rms * torch.rsqrt(p.pow(2).mean(-1, keepdim=True) + 1e-20))
                     for p in parts]
        parts = iter(parts)
        return [tuple(next(parts).reshape(s, b, *shape) for shape in layer)
                for layer in self.shapes]


def bound_params(params: Params, bound: float, kind: str = "clip") -> Params:
    """Bound every generated entry to [-bound, bound] (the branch of paper Eq. 12): `clip`
    is Eq. 12's Clip (no gradient outside the range), `tanh` the smooth bound tanh(x / T) T."""
    if kind == "clip":
        return [tuple(t.clamp(-bound, bound) for t in layer) for layer in params]
    if kind == "tanh":
        return [tuple(torch.tanh(t / bound) * bound for t in layer) for layer in params]
    raise ValueError(f"unknown bound '{kind}' (choose from clip, tanh)")


def add_params(trunk: Params, branch: Params) -> Params:
    """Trunk + branch, entry by entry (paper Eq. 12: M_c(E_c(s_c)) + Clip(M_v(E_v(s_v)), T))."""
    return [tuple(a + b for a, b in zip(la, lb, strict=True))
            for la, lb in zip(trunk, branch, strict=True)]
