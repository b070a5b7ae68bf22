"""DIN backbone (Zhou et al., KDD 2018), as SOLID uses it: (history, target) -> state per target.

Each history item h_l (after the authors' sequence transform, Linear + Tanh) is weighted by
DIN's activation unit, an MLP over [h_l, t, h_l - t, h_l * t] with a PReLU hidden layer, where
t = Tanh(Linear(e_target)) (the authors' one-layer target transform). The weights are not
softmax-normalised (DIN's "relaxed" attention) and padding gets weight 0. The state is
[t ; sum_l w_l h_l] (2D), and the dynamic layers map it straight to the logit (D_in = 2D, then
`classifier` hidden sizes, then 1), as in the authors' DIN heads.

The state depends on the target, so it is computed for all C candidates of a history in one
batched pass. The activation unit's first layer is split algebraically,
W [h, t, h - t, h * t] = (W_h + W_d) h + (W_t - W_d) t + W_p (h * t),
so the history and target parts are projected once and only the product term is formed per
(candidate, position); candidates are processed in chunks to bound memory.
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.registry import DinCfg

CHUNK_ELEMENTS = 1 << 23  # B * C_chunk * L * D floats per chunk (32 MB)


class DIN(nn.Module):
    target_dependent = True

    def __init__(self, dim: int, max_len: int, cfg: DinCfg) -> None:
        super().__init__()
        attention_hidden, dropout = cfg.attention_hidden, cfg.dropout
        self.dim = dim
        self.state_dim = 2 * dim
        self.head_sizes = [self.state_dim, *cfg.classifier, 1]  # the dynamic layers' sizes
        self.seq_transform = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.query = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.unit_in = nn.Linear(4 * dim, attention_hidden)
        self.unit_act = nn.PReLU()
        self.unit_out = nn.Linear(attention_hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """seq (B, L, D), lengths (B,), targets (B, C, D) embedded -> state (B, C, 2D)."""
        h = self.dropout(self.seq_transform(seq))  # (B, L, D)
        t = self.query(targets)  # (B, C, D)
        w_h, w_t, w_d, w_p = self.unit_in.weight.split(self.dim, dim=1)  # each (H, D)
        hist_part = h @ (w_h + w_d).t()  # (B, L, H)
        target_part = t @ (w_t - w_d).t() + self.unit_in.bias  # (B, C, H)
        b, width, _ = h.shape
        valid = (torch.arange(width, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)
        step = max(1, CHUNK_ELEMENTS // max(1, b * width * self.dim))
        pooled = []
        for lo in range(0, t.shape[1], step):
            tc = t[:, lo:lo + step]  # (B, c, D)
            product = (h[:, None] * tc[:, :, None]) @ w_p.t()  # (B, c, L, H)
            pre = product + hist_part[:, None] + target_part[:, lo:lo + step, None]
            weight = self.unit_out(self.unit_act(pre)).squeeze(-1) * valid[:, None]  # (B, c, L)
            pooled.append(weight @ h)  # (B, c, D)
        return torch.cat([t, torch.cat(pooled, dim=1)], dim=-1)
