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

Scoring every item (full ranking, and training under `train.loss: ce`) folds the target part
into that product: [h, t, h - t, h * t] W + b = t (diag(h) W_p + W_t - W_d) + ((W_h + W_d) h + b), one matrix per
history position, so all items meet all positions of a batch in one matrix product
(`pool_items`). It gives `forward`'s numbers up to rounding.
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.backbones import DinCfg
from solidcli.models.ensemble import Dropout, Linear, PReLU, member_matmul

CHUNK_ELEMENTS = 1 << 21  # S * B * C_chunk * L * D floats per chunk (8 MB)
ITEM_CHUNK_ELEMENTS = 1 << 23  # S * B * C_chunk * L * H floats per chunk of `pool_items`


class DIN(nn.Module):
    target_dependent = True
    per_position = False  # target-aware pooling: every prefix is pooled on its own

    def __init__(self, dim: int, max_len: int, cfg: DinCfg, members: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.state_dim = 2 * dim
        self.head_sizes = [self.state_dim, *cfg.classifier, 1]  # the dynamic layers' sizes
        self.seq_transform = Linear(members, dim, dim)
        self.query = Linear(members, dim, dim)
        self.unit_in = Linear(members, 4 * dim, cfg.attention_hidden)
        self.unit_act = PReLU(members)
        self.unit_out = Linear(members, cfg.attention_hidden, 1)
        self.dropout = Dropout(cfg.dropout)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """seq (S, B, L, D), lengths (S, B), targets (S, B, C, D) -> state (S, B, C, 2D)."""
        h = self.dropout(torch.tanh(self.seq_transform(seq)))  # (S, B, L, D)
        t = torch.tanh(self.query(targets))  # (S, B, C, D)
        w_h, w_t, w_d, w_p = self.unit_in.weight.split(self.dim, dim=1)  # each (S, D, H)
        hist_part = member_matmul(h, w_h + w_d)  # (S, B, L, H)
        target_part = member_matmul(t, w_t - w_d) + self.unit_in.bias[:, None, None]  # (S, B, C, H)
        s, b, width, _ = h.shape
        valid = (torch.arange(width, device=h.device) < lengths.unsqueeze(-1)).to(h.dtype)
        step = max(1, CHUNK_ELEMENTS // max(1, s * b * width * self.dim))
        pooled = []
        for lo in range(0, t.shape[2], step):
            tc = t[:, :, lo:lo + step]  # (S, B, c, D)
            product = member_matmul(h[:, :, None] * tc[:, :, :, None], w_p)  # (S, B, c, L, H)
            pre = product + hist_part[:, :, None] + target_part[:, :, lo:lo + step, None]
            weight = self.unit_out(self.unit_act(pre)).squeeze(-1) * valid[:, :, None]
            pooled.append(weight @ h)  # (S, B, c, L) @ (S, B, L, D) -> (S, B, c, D)
        return torch.cat([t, torch.cat(pooled, dim=2)], dim=-1)

    def context(self, seq: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What `pool_items` needs of a batch of histories, seq (S, B, L, D): the transformed
        items h (with `forward`'s dropout in training), one (D + 1, H) matrix per position (the
        folded unit's first layer, its last row the history part and the bias) and the
        padding mask."""
        h = self.dropout(torch.tanh(self.seq_transform(seq)))  # (S, B, L, D)
        w_h, w_t, w_d, w_p = self.unit_in.weight.split(self.dim, dim=1)  # each (S, D, H)
        s, _b, width, d = h.shape
        rows = h[..., :, None] * w_p[:, None, None] + (w_t - w_d)[:, None, None]  # (S,B,L,D,H)
        last = member_matmul(h, w_h + w_d) + self.unit_in.bias[:, None, None]  # (S, B, L, H)
        folded = torch.cat([rows, last[..., None, :]], dim=3)  # (S, B, L, D + 1, H)
        folded = folded.permute(0, 3, 1, 2, 4).reshape(s, d + 1, -1)  # (S, D + 1, B L H)
        valid = (torch.arange(width, device=h.device) < lengths.unsqueeze(-1)).to(h.dtype)
        return h, folded, valid

    def pool_items(self, context: tuple[torch.Tensor, ...], targets: torch.Tensor
                   ) -> torch.Tensor:
        """The state (S, B, C, 2D) of every history of `context` against the item embeddings
        targets (S, C, D): `forward`'s state for those candidates."""
        h, folded, valid = context
        s, b, width, _d = h.shape
        hidden = folded.shape[-1] // (b * width)
        t = torch.tanh(self.query(targets))  # (S, C, D)
        t1 = torch.cat([t, t.new_ones(*t.shape[:2], 1)], dim=-1)  # (S, C, D + 1)
        step = max(1, ITEM_CHUNK_ELEMENTS // max(1, s * b * width * hidden))
        slope = self.unit_act.weight
        pooled = []
        # split, not slices t1[:, lo:lo + step]: traced for ONNX (`solid export`), a slice's
        # end would be recomputed from each request's batch size, a split's sizes are fixed
        for chunk in t1.split(step, dim=1):
            pre = torch.bmm(chunk, folded)  # (S, c, B L H)
            c = pre.shape[1]
            act = torch.nn.functional.prelu(pre.view(1, s, -1), slope).view(s, -1, hidden)
            weight = torch.baddbmm(self.unit_out.bias[:, None], act, self.unit_out.weight)
            weight = weight.view(s, c, b, width).permute(0, 2, 1, 3) * valid[:, :, None]
            pooled.append(weight @ h)  # (S, B, c, L) @ (S, B, L, D) -> (S, B, c, D)
        t_state = t[:, None].expand(s, b, -1, -1)
        return torch.cat([t_state, torch.cat(pooled, dim=2)], dim=-1)
