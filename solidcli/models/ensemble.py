"""Layers with a leading *member* axis: S models of one spec (one per training seed) in one pass.

Every parameter here has shape (S, ...), and every activation (S, B, ...): member s only ever
meets its own slice, so S members train exactly as S separate models would (the loss is the
sum of the members' losses, so each member's gradient is its own; Adam is element-wise). One
batched operation for S members pays each operation's overhead once, not S times; measured,
that saves less than hoped (5 members cost 3.6-4x one, not 1.5x: the time is
arithmetic and memory traffic, which grow with S; `benchmarks/bench.py`, README "Seeds").

A solo run is the S = 1 case of the same code. `stack` builds a group from S one-member
models, each initialised under its own seed, and `member_state` cuts one member back out, so
a member of a group starts from, and is saved as, exactly the weights its solo run has.

Written here rather than taken from torch because torch's layers hold one set of weights:
`torch.func.vmap` over stacked weights cannot batch `nn.GRU`, and its dropout cannot follow a
per-seed random stream. Dropout draws each member's mask from that member's own generator
(`MemberRNG`), with the solo shape, so grouping never changes a mask.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def per_member(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-member tensor (S, *k) viewed to broadcast against (S, ..., *k)."""
    extra = like.dim() - t.dim()
    return t.view(t.shape[0], *([1] * extra), *t.shape[1:])


class MemberRNG:
    """Each member's dropout stream, from its seed alone.

    On the CPU a NumPy PCG64 generator per member (4x faster than torch's Mersenne twister,
    which made dropout a sixth of an epoch); on an accelerator a torch.Generator per member on
    that device. The two streams differ, as CPU and GPU numbers do anyway."""

    def __init__(self) -> None:
        self.seeds: list[int] = []
        self.device = torch.device("cpu")
        self._numpy: list[np.random.Generator] = []
        self._torch: list[torch.Generator] = []

    def seed(self, seeds: list[int], device: torch.device) -> None:
        self.seeds, self.device = [int(s) for s in seeds], torch.device(device)
        if self.device.type == "cpu":
            self._numpy = [np.random.default_rng([s, DROPOUT_STREAM]) for s in self.seeds]
        else:
            self._torch = [torch.Generator(device=self.device).manual_seed(s)
                           for s in self.seeds]

    def keep(self, index: list[int]) -> None:
        """Only these members go on (their streams continue where they are)."""
        self.seeds = [self.seeds[i] for i in index]
        self._numpy = [self._numpy[i] for i in index] if self._numpy else []
        self._torch = [self._torch[i] for i in index] if self._torch else []

    def uniform(self, shape: torch.Size) -> torch.Tensor:
        """U[0, 1) of shape (S, *shape): member s's part from member s's stream."""
        if self.device.type == "cpu":
            out = np.empty((len(self._numpy), *shape), dtype=np.float32)
            for s, gen in enumerate(self._numpy):
                gen.random(dtype=np.float32, out=out[s])
            return torch.from_numpy(out)
        return torch.stack([torch.rand(shape, generator=g, device=self.device)
                            for g in self._torch])


DROPOUT_STREAM = 0x5D  # the dropout stream of a seed: default_rng([seed, DROPOUT_STREAM])


class Dropout(nn.Module):
    """Inverted dropout; member s's mask comes from member s's stream (`MemberRNG`)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.rng: MemberRNG | None = None  # set by the model that owns this layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.rng is None or len(self.rng.seeds) != x.shape[0]:
            raise RuntimeError("dropout in training needs one seeded stream per member")
        scale = (self.rng.uniform(x.shape[1:]) >= self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * scale.to(x.device)


def member_matmul(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (S, ..., in) times each member's matrix, weight (S, in, out) -> (S, ..., out)."""
    s = x.shape[0]
    return torch.bmm(x.reshape(s, -1, x.shape[-1]), weight).view(*x.shape[:-1],
                                                                 weight.shape[-1])


class Linear(nn.Module):
    """x (S, ..., in) -> (S, ..., out); weight (S, in, out), PyTorch's default init."""

    def __init__(self, members: int, n_in: int, n_out: int, bias: bool = True,
                 init: str = "default") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, n_in, n_out))
        self.bias = nn.Parameter(torch.empty(members, n_out)) if bias else None
        bound = 1.0 / math.sqrt(n_in)
        if init == "xavier":
            nn.init.uniform_(self.weight, -math.sqrt(6.0 / (n_in + n_out)),
                             math.sqrt(6.0 / (n_in + n_out)))
            if self.bias is not None:
                nn.init.zeros_(self.bias)
        else:  # as nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
            nn.init.uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return member_matmul(x, self.weight)
        s = x.shape[0]
        out = torch.baddbmm(self.bias.unsqueeze(1), x.reshape(s, -1, x.shape[-1]), self.weight)
        return out.view(*x.shape[:-1], self.weight.shape[-1])


class MLP(nn.Module):
    """Linear - Tanh - Linear (the authors' small transforms)."""

    def __init__(self, members: int, dim: int) -> None:
        super().__init__()
        self.first = Linear(members, dim, dim)
        self.second = Linear(members, dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.tanh(self.first(x)))


class Embedding(nn.Module):
    """Table (S, N, D); ids (S, ...) -> (S, ..., D). Row 0 is padding: zero and never trained."""

    def __init__(self, members: int, rows: int, dim: int, init: str = "xavier") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, rows, dim))
        if init == "xavier":  # as nn.init.xavier_uniform_ on one (rows, dim) table
            bound = math.sqrt(6.0 / (rows + dim))
            nn.init.uniform_(self.weight, -bound, bound)
        else:
            nn.init.normal_(self.weight)
        with torch.no_grad():
            self.weight[:, 0].zero_()

    def forward(self, ids: torch.Tensor, padding: bool = True) -> torch.Tensor:
        out = member_lookup(self.weight, ids)
        if padding:  # padding_idx: row 0 gets no gradient
            out = out * (ids != 0).unsqueeze(-1).to(out.dtype)
        return out


def member_lookup(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of a per-member table (S, N, D) at index (S, ...) -> (S, ..., D).

    An embedding lookup: its CPU backward is deterministic, unlike the accumulating scatter
    behind fancy indexing, which made repeated runs drift apart."""
    s, rows, dim = table.shape
    offsets = torch.arange(s, device=index.device).view(s, *([1] * (index.dim() - 1))) * rows
    return F.embedding(index + offsets, table.reshape(s * rows, dim))


class LayerNorm(nn.Module):
    def __init__(self, members: int, dim: int) -> None:
        super().__init__()
        self.dim = dim  # a constant, not x's size: the ONNX tracer can export it
        self.weight = nn.Parameter(torch.ones(members, dim))
        self.bias = nn.Parameter(torch.zeros(members, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x, (self.dim,))
        return y * per_member(self.weight, y) + per_member(self.bias, y)


class PReLU(nn.Module):
    def __init__(self, members: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((members,), 0.25))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, per_member(self.weight, x) * x)


class GRU(nn.Module):
    """A GRU layer stack over right-padded sequences (S, B, L, D) -> outputs (S, B, L, H).

    The gates of torch.nn.GRU (r, z, n; n = tanh(W_in x + r (W_hn h + b_hn))), written as a
    loop over positions: the input projections of all positions are one batched product, each
    step one more. Weights Xavier-uniform, biases zero (as the models initialise nn.GRU)."""

    def __init__(self, members: int, dim: int, hidden: int, layers: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = hidden
        # xavier on (in, 3H) and (H, 3H): the bounds nn.init.xavier_uniform_ gives nn.GRU's
        self.inputs = nn.ModuleList(Linear(members, dim if i == 0 else hidden, 3 * hidden,
                                           init="xavier") for i in range(layers))
        self.recurrent = nn.ModuleList(Linear(members, hidden, 3 * hidden, init="xavier")
                                       for _ in range(layers))
        self.between = Dropout(dropout) if layers > 1 and dropout > 0 else None

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        if seq.device.type != "cpu" or (torch.jit.is_tracing() and not self.training):
            return self._fused(seq)  # a GPU's fused kernel (cuDNN), or `solid export`'s tracer
        x = seq
        h_size = self.hidden
        for i, (w_in, w_rec) in enumerate(zip(self.inputs, self.recurrent, strict=True)):
            if i > 0 and self.between is not None:
                x = self.between(x)
            h = x.new_zeros(*x.shape[:2], h_size)
            outs = []
            # unbind/split (not indexing): their backward is one stack/cat, not a zeroed
            # full-size gradient per position
            for g_in in w_in(x).unbind(2):  # (S, B, 3H) per position
                in_rz, in_n = g_in.split([2 * h_size, h_size], dim=-1)
                rec_rz, rec_n = w_rec(h).split([2 * h_size, h_size], dim=-1)
                r, z = torch.sigmoid(in_rz + rec_rz).chunk(2, dim=-1)
                n = torch.tanh(in_n + r * rec_n)
                h = n + z * (h - n)
                outs.append(h)
            x = torch.stack(outs, dim=2)
        return x

    def _fused(self, seq: torch.Tensor) -> torch.Tensor:
        """The same function through torch.gru, one call per member and layer: what a trace
        records (`solid export`), so the ONNX graph holds one GRU node that runs any history
        length instead of the loop unrolled at the traced one, and what a GPU runs (one
        cuDNN kernel per layer instead of a kernel launch per position; the loop keeps the
        CPU's committed results bit for bit). torch.gru's gates are these (r, z, n; its
        weights are our transposes)."""
        x = seq
        for i, (w_in, w_rec) in enumerate(zip(self.inputs, self.recurrent, strict=True)):
            if i > 0 and self.between is not None:
                x = self.between(x)
            h0 = x.new_zeros(1, x.shape[1], self.hidden)
            members = zip(x.unbind(0), w_in.weight.unbind(0), w_rec.weight.unbind(0),
                          w_in.bias.unbind(0), w_rec.bias.unbind(0), strict=True)
            x = torch.stack([torch.gru(xm, h0, [wi.t(), wr.t(), bi, br], True, 1, 0.0, False,
                                       False, True)[0] for xm, wi, wr, bi, br in members])
        return x


def stack(models: list[nn.Module], group: nn.Module) -> nn.Module:
    """Load S one-member models into `group` (built for S members): parameters are
    concatenated along the member axis; buffers, shared by all members, must agree."""
    states = [m.state_dict() for m in models]
    params = {name for name, _ in group.named_parameters()}
    merged = {}
    for key in states[0]:
        if key in params:
            merged[key] = torch.cat([st[key] for st in states], dim=0)
        else:
            first = states[0][key]
            if any(not torch.equal(first, st[key]) for st in states[1:]):
                raise ValueError(f"members disagree on the shared buffer '{key}'")
            merged[key] = first
    group.load_state_dict(merged)
    return group


def member_state(group: nn.Module, index: int) -> dict[str, torch.Tensor]:
    """The state_dict of member `index` as a one-member model (detached copies on the CPU)."""
    params = {name for name, _ in group.named_parameters()}
    return {key: (value[index:index + 1] if key in params else value).detach().cpu().clone()
            for key, value in group.state_dict().items()}


def keep_members(model: nn.Module, index: list[int], optimizer: torch.optim.Optimizer
                 ) -> torch.optim.Optimizer:
    """Cut a group down to the members at `index`: every parameter is replaced by its slices
    of those members, and a new optimiser of the same kind takes the same slices of the old
    one's state (Adam's moments and step), so they go on exactly as before while the others
    stop costing anything. Returns the new optimiser."""
    state = optimizer.state_dict()
    old = [p for group in optimizer.param_groups for p in group["params"]]
    shapes = [p.shape for p in old]
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is None:
                continue
            rows = torch.tensor(index, dtype=torch.long, device=p.device)
            module._parameters[name] = nn.Parameter(p.detach()[rows].clone(),
                                                    requires_grad=p.requires_grad)
    for i, entry in state["state"].items():  # state is keyed by position among `old`
        for key, value in entry.items():
            if torch.is_tensor(value) and value.shape == shapes[i]:
                entry[key] = value[torch.tensor(index, device=value.device)]
    fresh = type(optimizer)([p for p in model.parameters() if p.requires_grad],
                            **optimizer.defaults)
    fresh.load_state_dict(state)
    model.members = len(index)
    model.rng.keep(index)
    return fresh
