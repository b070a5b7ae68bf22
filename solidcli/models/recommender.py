"""The one Recommender, composed from a ModelSpec (no class per variant).

    user_state = backbone(E_v[s_v])                     static layers
    params     = where the dynamic layers' W, b come from (by dsr and variant, below)
    user_vec   = dynamic layers(user_state; params)
    logit      = < user_vec, TT(E_v[v]) >               for every candidate v at once

Where the parameters come from:
* dsr none, variant base:  learned static weights (the SR model alone).
* dsr duet, variant base:  generated from the item sequence (DSR, paper Eq. 5-6).
* spg: generated from the semantic sequence s_c (paper Eq. 11; the item history and the item
  target still feed the primary model, as Eq. 11 writes it).
* sml: trunk from s_c plus the item branch clipped to +-T, trained jointly (paper Eq. 12).
* scl: as sml, with each item representation of the branch replaced by its nearest codebook
  entry; loss adds lambda * MSE(E_v, E'_v) (paper Eq. 13).

A history is encoded once and all its candidates (1 positive + negatives in training, 100 in
evaluation) are scored against it.
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.codebook import SemanticCodebook, masked_mse
from solidcli.models.generators import (
    DuetGenerator,
    SequenceCondition,
    StaticParams,
    add_params,
    clip_params,
)
from solidcli.models.layers import DenseLayers
from solidcli.models.sasrec import SASRec
from solidcli.models.spec import ModelSpec


def build_backbone(spec: ModelSpec) -> nn.Module:
    if spec.backbone == "sasrec":
        o = spec.backbone_opts
        return SASRec(spec.dim, spec.max_len, o["layers"], o["heads"], o["dropout"], o["causal"])
    raise ValueError(f"backbone '{spec.backbone}' is not built")


def _embedding(rows: int, dim: int) -> nn.Embedding:
    emb = nn.Embedding(rows, dim, padding_idx=0)
    nn.init.xavier_uniform_(emb.weight)
    with torch.no_grad():
        emb.weight[0].zero_()
    return emb


class Recommender(nn.Module):
    def __init__(self, spec: ModelSpec, item_to_semantic: torch.Tensor | None = None,
                 codebook_init: torch.Tensor | None = None) -> None:
        super().__init__()
        self.spec = spec
        d = spec.dim
        self.items = _embedding(spec.n_items + 1, d)
        self.backbone = build_backbone(spec)
        self.target = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, d))
        self.layers = DenseLayers([d] * (spec.dsr_opts["layers"] + 1))
        shapes = self.layers.param_shapes()

        self.static = self.item_condition = self.item_generator = None
        self.semantics = self.semantic_condition = self.semantic_generator = None
        self.codebook = None
        if spec.dsr == "none":
            if spec.variant != "base":
                raise ValueError("SOLID variants need a dynamic model (dsr apg or duet)")
            self.static = StaticParams(shapes)
            return
        if spec.dsr != "duet":
            raise ValueError(f"dsr '{spec.dsr}' is not built")
        gen_opts = {"init": spec.dsr_opts["init"], "freeze": spec.dsr_opts["freeze"]}
        if spec.variant in ("base", "sml", "scl"):
            self.item_condition = SequenceCondition(d)
            self.item_generator = DuetGenerator(d, shapes, **gen_opts)
        if spec.uses_semantics:
            if item_to_semantic is None:
                item_to_semantic = torch.zeros(spec.n_items + 1, dtype=torch.long)
            if item_to_semantic.shape != (spec.n_items + 1,):
                raise ValueError("item_to_semantic must have one entry per item plus padding")
            self.register_buffer("item_to_semantic", item_to_semantic.long())
            self.semantics = _embedding(spec.n_semantics + 1, d)
            self.semantic_condition = SequenceCondition(d)
            self.semantic_generator = DuetGenerator(d, shapes, **gen_opts)
        if spec.variant == "scl":
            if codebook_init is None:
                codebook_init = torch.zeros(spec.n_semantics, d)
            self.codebook = SemanticCodebook(codebook_init, trainable=spec.train_codebook)

    # ---------------------------------------------------------------------------------------
    def dynamic_params(self, hist: torch.Tensor, item_seq: torch.Tensor,
                       lengths: torch.Tensor):
        """Parameters of the dynamic layers for each history, and the auxiliary loss."""
        aux = item_seq.new_zeros(())
        if self.static is not None:
            return self.static(), aux
        branch = None
        if self.item_generator is not None:
            seq = item_seq
            if self.codebook is not None:
                quantised = self.codebook(item_seq)
                mask = (hist != 0).float() if self.spec.mask_padding else None
                aux = masked_mse(item_seq, quantised, mask)
                seq = quantised
            branch = self.item_generator(self.item_condition(seq, lengths))
        if self.semantic_generator is None:
            return branch, aux
        sem_seq = self.semantics(self.item_to_semantic[hist])
        trunk = self.semantic_generator(self.semantic_condition(sem_seq, lengths))
        if branch is None:
            return trunk, aux
        return add_params(trunk, clip_params(branch, self.spec.clip)), aux

    def forward(self, hist: torch.Tensor, lengths: torch.Tensor, candidates: torch.Tensor):
        """hist (B, L) right-padded item ids, lengths (B,), candidates (B, C) -> logits (B, C), aux."""
        item_seq = self.items(hist)
        state = self.backbone(item_seq, lengths)
        params, aux = self.dynamic_params(hist, item_seq, lengths)
        user = self.layers(state, params)  # (B, D)
        targets = self.target(self.items(candidates))  # (B, C, D)
        logits = torch.einsum("bd,bcd->bc", user, targets)
        return logits, aux
