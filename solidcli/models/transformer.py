"""The Transformer encoder shared by the SASRec and BERT4Rec backbones, S members at once.

Learned positions are added to the item embeddings, then the authors' sequence transform
(Linear + Tanh, as the authors' released code; `input: tanh`) or, as standard SASRec (Kang & McAuley 2018,
RecBole), a LayerNorm (`input: layernorm`), dropout and `layers` standard encoder layers (4
heads by default, 4D feed-forward; the layer of torch.nn.TransformerEncoderLayer: dropout on
the attention weights, after attention and inside and after the feed-forward block). `init:
xavier` draws positions and weights Xavier-uniform (the authors'), `normal` from N(0, 0.02)
with zero biases (BERT's and RecBole's initialisation). The backbones differ only in masking,
layer norm placement, activation and where they read the state; those are arguments here.
Written on the member-axis layers of `ensemble` (see there why).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from solidcli.models.ensemble import Dropout, LayerNorm, Linear


class SelfAttention(nn.Module):
    """Multi-head self-attention: x (S, B, L, D), blocked (S, B, L, L) True = masked.

    The keys have no bias: a key bias adds the same number to every score of a query, which
    softmax removes, so its gradient is pure rounding noise, and Adam (which divides by the
    gradient's own size) would turn that noise into steps of the full learning rate."""

    def __init__(self, members: int, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"{heads} heads do not divide dim {dim}")
        self.heads = heads
        self.qkv = Linear(members, dim, 3 * dim, init="xavier")  # bias starts at zero
        keep = torch.ones(3 * dim)
        keep[dim:2 * dim] = 0.0
        self.register_buffer("bias_keep", keep)  # 0 on the keys' part
        self.out = Linear(members, dim, dim)
        nn.init.zeros_(self.out.bias)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        s, b, width, dim = x.shape
        h, dh = self.heads, dim // self.heads
        flat = torch.baddbmm((self.qkv.bias * self.bias_keep).unsqueeze(1),
                             x.reshape(s, -1, dim), self.qkv.weight)
        qkv = flat.view(s, b, width, 3, h, dh).permute(3, 0, 1, 4, 2, 5)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (S, B, H, L, dh)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(blocked[:, :, None], float("-inf"))
        weights = self.dropout(softmax(scores))
        merged = (weights @ v).transpose(2, 3).reshape(s, b, width, dim)
        return self.out(merged)


class EncoderLayer(nn.Module):
    def __init__(self, members: int, dim: int, heads: int, dropout: float, norm_first: bool,
                 activation: str) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.attention = SelfAttention(members, dim, heads, dropout)
        self.ff_in = Linear(members, dim, 4 * dim)
        self.ff_out = Linear(members, 4 * dim, dim)
        self.norm1, self.norm2 = LayerNorm(members, dim), LayerNorm(members, dim)
        self.drop_attention, self.drop_ff = Dropout(dropout), Dropout(dropout)
        self.drop_inner = Dropout(dropout)
        self.activation = F.gelu if activation == "gelu" else F.relu

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff_out(self.drop_inner(self.activation(self.ff_in(x))))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        if self.norm_first:
            x = x + self.drop_attention(self.attention(self.norm1(x), blocked))
            return x + self.drop_ff(self._ff(self.norm2(x)))
        x = self.norm1(x + self.drop_attention(self.attention(x, blocked)))
        return self.norm2(x + self.drop_ff(self._ff(x)))


class TransformerStack(nn.Module):
    def __init__(self, dim: int, positions: int, layers: int, heads: int, dropout: float,
                 members: int, norm_first: bool = False, activation: str = "relu",
                 input_kind: str = "tanh", init: str = "xavier") -> None:
        super().__init__()
        bound = math.sqrt(6.0 / (positions + dim))  # xavier-uniform, as the item tables
        self.positions = nn.Parameter(torch.empty(members, positions, dim).uniform_(-bound, bound))
        self.seq_transform = Linear(members, dim, dim) if input_kind == "tanh" else None
        self.input_norm = LayerNorm(members, dim) if input_kind == "layernorm" else None
        self.dropout = Dropout(dropout)
        self.layers = nn.ModuleList(EncoderLayer(members, dim, heads, dropout, norm_first,
                                                 activation) for _ in range(layers))
        self.final_norm = LayerNorm(members, dim) if norm_first else None
        if init == "normal":  # every Linear, then the positions, from N(0, 0.02); LayerNorms 1, 0
            with torch.no_grad():
                for sub in self.modules():
                    if isinstance(sub, Linear):
                        sub.weight.normal_(0.0, 0.02)
                        if sub.bias is not None:
                            sub.bias.zero_()
                self.positions.normal_(0.0, 0.02)

    def forward(self, seq: torch.Tensor, padding: torch.Tensor,
                causal: bool = False) -> torch.Tensor:
        """seq (S, B, L, D), padding (S, B, L) True where padded -> (S, B, L, D)."""
        width = seq.shape[2]
        h = seq + self.positions[:, None, :width]
        if self.seq_transform is not None:
            h = self.dropout(torch.tanh(self.seq_transform(h)))
        else:
            h = self.dropout(self.input_norm(h))
        blocked = padding[:, :, None, :].expand(-1, -1, width, -1)  # (S, B, L query, L key)
        if causal:
            future = torch.triu(torch.ones(width, width, dtype=torch.bool, device=seq.device), 1)
            blocked = blocked | future
        for layer in self.layers:
            h = layer(h, blocked)
        return h if self.final_norm is None else self.final_norm(h)


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension, written out: torch's CPU kernel is slow on rows this
    short (4-6x slower than these three operations for rows of 10)."""
    e = (x - x.amax(dim=-1, keepdim=True).detach()).exp()
    return e / e.sum(dim=-1, keepdim=True)


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(..., width) bool, True at positions >= length (right padding)."""
    return torch.arange(width, device=lengths.device) >= lengths.unsqueeze(-1)


def at_positions(h: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    """h (S, B, L, D) at the flat positions `at` (R,) of its B x L grid -> (S, R, D)."""
    return h.flatten(1, 2).index_select(1, at)


def gather_last(h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """h (S, B, L, D) at position index[s, b] for each row -> (S, B, D)."""
    return torch.gather(h, 2, index[..., None, None].expand(-1, -1, 1, h.shape[-1])).squeeze(2)
