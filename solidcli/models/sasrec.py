"""SASRec backbone (Kang & McAuley, ICDM 2018), as SOLID uses it: history -> one user state.

The embedded, right-padded history goes through `TransformerStack` (post-LN layers, ReLU) and
the state is read at the last valid position; the target does not enter the encoder.

Deviation from the authors' code, which the paper does not describe: their encoder has no mask
at all, so every position (padding included) attends to every other. Here attention is causal
(SASRec's definition) and padding is never attended to, so the state does not depend on how
much padding a batch carries. `causal: false` gives bidirectional attention over the valid
positions (closer to the authors' encoder, without attending to padding).
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.backbones import SasrecCfg
from solidcli.models.transformer import TransformerStack, gather_last, padding_mask


class SASRec(nn.Module):
    target_dependent = False

    def __init__(self, dim: int, max_len: int, cfg: SasrecCfg, members: int = 1) -> None:
        super().__init__()
        self.causal = cfg.causal
        self.per_position = cfg.causal  # each position's state is its prefix's own state
        self.encoder = TransformerStack(dim, max_len, cfg.layers, cfg.heads, cfg.dropout,
                                        members, input_kind=cfg.input, init=cfg.init)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor | None = None) -> torch.Tensor:
        """seq (S, B, L, D) embedded history, lengths (S, B) >= 1 -> user state (S, B, D)."""
        return gather_last(self.states(seq, lengths), (lengths - 1).clamp(min=0))

    def states(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The state at every position (S, B, L, D); with causal attention the state at
        position p is the state of the prefix that ends there (`train.encoding: sequence`)."""
        return self.encoder(seq, padding_mask(lengths, seq.shape[2]), self.causal)
