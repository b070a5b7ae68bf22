"""BERT4Rec backbone (Sun et al., CIKM 2019), as SOLID uses it: history -> one user state.

Bidirectional self-attention over the history with padding masked (pre-LN layers, GELU, as in
BERT), with a learned [mask] token appended after the last valid item; the user state is the
encoder output at that [mask] position, i.e. the representation BERT4Rec uses to predict the
next item.

Departure from the original: BERT4Rec is trained with the Cloze objective (random items masked
and predicted over the whole catalogue). SOLID treats every backbone as a CTR model, so here it
is trained like the others, with BCE on 1 positive + sampled negatives scored against the
[mask]-position state. No authors' implementation is public; depth, dropout
and the pre-LN/GELU choices follow BERT4Rec's paper.
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.backbones import TransformerCfg
from solidcli.models.transformer import TransformerStack, gather_last, padding_mask


class BERT4Rec(nn.Module):
    target_dependent = False
    per_position = False  # bidirectional: a position's output has seen the items after it

    def __init__(self, dim: int, max_len: int, cfg: TransformerCfg, members: int = 1) -> None:
        super().__init__()
        self.mask_token = nn.Parameter(torch.empty(members, dim).normal_(std=0.02))
        self.encoder = TransformerStack(dim, max_len + 1, cfg.layers, cfg.heads, cfg.dropout,
                                        members, norm_first=True, activation="gelu",
                                        input_kind=cfg.input, init=cfg.init)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor | None = None) -> torch.Tensor:
        """seq (S, B, L, D) embedded history, lengths (S, B) -> state at [mask] (S, B, D)."""
        s, b, width, dim = seq.shape
        extended = torch.cat([seq, seq.new_zeros(s, b, 1, dim)], dim=2)
        at_mask = torch.arange(width + 1, device=seq.device) == lengths.unsqueeze(-1)
        extended = torch.where(at_mask.unsqueeze(-1), self.mask_token[:, None, None], extended)
        h = self.encoder(extended, padding_mask(lengths + 1, width + 1))
        return gather_last(h, lengths)
