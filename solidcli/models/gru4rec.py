"""GRU4Rec backbone (Hidasi et al., ICLR 2016), as SOLID uses it: history -> one user state.

The authors' sequence transform (Linear + Tanh) on each embedded item, `layers` GRU layers over
the right-padded history, and the hidden state at the last valid position. Trained as a CTR
model (BCE on sampled negatives) like the other backbones, not with GRU4Rec's session-parallel
mini-batches and ranking losses; call it "GRU4Rec as used by SOLID".
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.backbones import Gru4recCfg
from solidcli.models.ensemble import GRU, Dropout, Linear
from solidcli.models.transformer import gather_last


class GRU4Rec(nn.Module):
    target_dependent = False
    per_position = True  # a recurrent state at position p has read the prefix up to p only

    def __init__(self, dim: int, max_len: int, cfg: Gru4recCfg, members: int = 1) -> None:
        super().__init__()
        self.seq_transform = Linear(members, dim, dim)
        self.dropout = Dropout(cfg.dropout)
        self.gru = GRU(members, dim, dim, layers=cfg.layers, dropout=cfg.dropout)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor | None = None) -> torch.Tensor:
        """seq (S, B, L, D), lengths (S, B) -> last valid hidden state (S, B, D)."""
        return gather_last(self.states(seq, lengths), (lengths - 1).clamp(min=0))

    def states(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The hidden state after every position (S, B, L, D)."""
        return self.gru(self.dropout(torch.tanh(self.seq_transform(seq))))
