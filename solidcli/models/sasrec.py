"""SASRec backbone (Kang & McAuley, ICDM 2018), as SOLID uses it: history -> one user state.

Input is the embedded, right-padded history (B, L, D); output is the state at each user's
last valid position (B, D). Learned positions are added, then the authors' sequence transform
(Linear + Tanh) and `layers` post-LN Transformer encoder layers (4D feed-forward, ReLU).

Deviation from the authors' code, which the paper does not describe: their encoder has no mask
at all, so every position (padding included) attends to every other. Here attention is causal
(SASRec's definition) and padding is never attended to, which also makes the state independent
of how much padding a batch carries. `causal: false` in params gives bidirectional attention
over the valid positions (closer to the authors' encoder, without attending to padding).
"""

from __future__ import annotations

import torch
from torch import nn


class SASRec(nn.Module):
    def __init__(self, dim: int, max_len: int, layers: int, heads: int, dropout: float,
                 causal: bool) -> None:
        super().__init__()
        self.causal = causal
        self.positions = nn.Embedding(max_len, dim)
        self.seq_transform = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout,
                                       batch_first=True)
            for _ in range(layers)
        )
        nn.init.xavier_uniform_(self.positions.weight)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """seq (B, L, D) embedded history, lengths (B,) >= 1 -> user state (B, D)."""
        length = seq.shape[1]
        pos = self.positions.weight[:length]
        h = self.dropout(self.seq_transform(seq + pos))
        arange = torch.arange(length, device=seq.device)
        padding = arange[None, :] >= lengths[:, None]  # True = padding position
        mask = None
        if self.causal:
            mask = torch.triu(torch.ones(length, length, dtype=torch.bool, device=seq.device), 1)
        for layer in self.layers:
            h = layer(h, src_mask=mask, src_key_padding_mask=padding)
        last = (lengths - 1).clamp(min=0)
        return h[torch.arange(h.shape[0], device=h.device), last]
