"""The Transformer encoder shared by the SASRec and BERT4Rec backbones.

Learned positions are added to the item embeddings, then the authors' sequence transform
(Linear + Tanh, method-spec 2.1), dropout and `layers` standard encoder layers (4 heads by
default, 4D feed-forward). The backbones differ only in masking, layer norm placement,
activation and where they read the state; those are arguments here.
"""

from __future__ import annotations

import torch
from torch import nn


class TransformerStack(nn.Module):
    def __init__(self, dim: int, positions: int, layers: int, heads: int, dropout: float,
                 norm_first: bool = False, activation: str = "relu") -> None:
        super().__init__()
        self.positions = nn.Embedding(positions, dim)
        self.seq_transform = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout,
                                       activation=activation, batch_first=True,
                                       norm_first=norm_first)
            for _ in range(layers)
        )
        self.final_norm = nn.LayerNorm(dim) if norm_first else nn.Identity()
        nn.init.xavier_uniform_(self.positions.weight)

    def forward(self, seq: torch.Tensor, padding: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """seq (B, L, D), padding (B, L) True where padded, mask (L, L) True = blocked."""
        h = self.dropout(self.seq_transform(seq + self.positions.weight[: seq.shape[1]]))
        for layer in self.layers:
            h = layer(h, src_mask=mask, src_key_padding_mask=padding)
        return self.final_norm(h)


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) bool, True at positions >= length (right padding)."""
    return torch.arange(width, device=lengths.device)[None, :] >= lengths[:, None]


def gather_last(h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """h (B, L, D) at position index[b] for each row -> (B, D)."""
    return h[torch.arange(h.shape[0], device=h.device), index]
