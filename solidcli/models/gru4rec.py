"""GRU4Rec backbone (Hidasi et al., ICLR 2016), as SOLID uses it: history -> one user state.

The authors' sequence transform (Linear + Tanh) on each embedded item, one GRU layer over the
right-padded history, and the hidden state at the last valid position. Trained as a CTR model
(BCE on sampled negatives) like the other backbones, not with GRU4Rec's session-parallel
mini-batches and ranking losses; call it "GRU4Rec as used by SOLID".
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.registry import Gru4recCfg
from solidcli.models.transformer import gather_last


class GRU4Rec(nn.Module):
    target_dependent = False

    def __init__(self, dim: int, max_len: int, cfg: Gru4recCfg) -> None:
        super().__init__()
        layers, dropout = cfg.layers, cfg.dropout
        self.seq_transform = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(dim, dim, num_layers=layers, batch_first=True,
                          dropout=dropout if layers > 1 else 0.0)
        for name, p in self.gru.named_parameters():
            (nn.init.xavier_uniform_ if "weight" in name else nn.init.zeros_)(p)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor | None = None) -> torch.Tensor:
        """seq (B, L, D), lengths (B,) -> last valid hidden state (B, D)."""
        out, _ = self.gru(self.dropout(self.seq_transform(seq)))
        return gather_last(out, (lengths - 1).clamp(min=0))
