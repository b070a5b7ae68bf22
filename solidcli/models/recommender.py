"""The one Recommender, composed from a ModelSpec (no class per variant).

    state    = backbone(E_v[s_v], target)           static layers; (B, D), or (B, C, 2D) for DIN
    params   = where the dynamic layers' tensors come from (by dsr and variant, below)
    out      = dynamic layers(state; params)         DenseLayers (none, DUET) | LowRankLayers (APG)
    logit    = <out, TT(E_v[v])> for every candidate v, or out itself for DIN

Where the parameters come from (one code path for DUET and APG, which differ only in the
layers they feed):
* dsr none: learned static tensors (the SR model alone).
* base:     generated from the item sequence (DSR, paper Eq. 5-6).
* spg:      generated from the semantic sequence s_c (paper Eq. 11; the item history and
            item target still feed the primary model, as Eq. 11 writes it).
* sml:      trunk from s_c plus the item branch clipped to +-T, trained jointly (Eq. 12).
* scl:      as sml, with each item representation of the branch replaced by its nearest
            codebook entry (codebook initialised from the metacode); loss adds
            lambda * MSE(E_v, E'_v) (Eq. 13).
* scl_only: "SCL without semantic information" (Table 2, row 4): no semantic trunk; the item
            sequence goes through a codebook of the same size initialised at random
            (Xavier-uniform) and generates all parameters (no clip: there is no trunk).

A history is encoded once and all its candidates are scored against it.
"""

from __future__ import annotations

import torch
from torch import nn

from solidcli.models.codebook import SemanticCodebook, masked_mse
from solidcli.models.generators import (
    Hypernetwork,
    SequenceCondition,
    StaticParams,
    add_params,
    clip_params,
)
from solidcli.models.layers import DenseLayers, LowRankLayers
from solidcli.models.registry import BACKBONES
from solidcli.models.spec import ModelSpec


def build_backbone(spec: ModelSpec) -> nn.Module:
    """The registered backbone class, with its `models.<name>` section rebuilt from the spec."""
    entry = BACKBONES[spec.backbone]
    return entry.load()(spec.dim, spec.max_len, entry.config(**spec.backbone_opts))


def build_layers(spec: ModelSpec, backbone: nn.Module) -> nn.Module:
    if backbone.target_dependent:  # the layers map the target-dependent state to the logit
        sizes = backbone.head_sizes
    else:
        sizes = [spec.dim] * (spec.dsr_opts["layers"] + 1)
    if spec.dsr == "apg":
        return LowRankLayers(sizes, spec.dsr_opts["rank"], spec.dsr_opts["authors_simplified"])
    return DenseLayers(sizes)


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
        if spec.dsr == "none" and spec.variant != "base":
            raise ValueError("SOLID variants need a dynamic model (dsr apg or duet)")
        self.spec = spec
        d = spec.dim
        self.items = _embedding(spec.n_items + 1, d)
        self.backbone = build_backbone(spec)
        self.target = None
        if not self.backbone.target_dependent:
            self.target = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, d))
        self.layers = build_layers(spec, self.backbone)
        shapes = self.layers.param_shapes()

        self.static = self.item_condition = self.item_generator = None
        self.semantics = self.semantic_condition = self.semantic_generator = None
        self.codebook = None
        if spec.dsr == "none":
            self.static = StaticParams(shapes)
            return
        gen_opts = {"init": spec.dsr_opts["init"], "freeze": spec.dsr_opts["freeze"]}
        if spec.item_branch:
            self.item_condition = SequenceCondition(d)
            self.item_generator = Hypernetwork(d, shapes, **gen_opts)
        if spec.semantic_trunk:
            if item_to_semantic is None:  # filled by load_state_dict when loading
                item_to_semantic = torch.zeros(spec.n_items + 1, dtype=torch.long)
            if item_to_semantic.shape != (spec.n_items + 1,):
                raise ValueError("item_to_semantic must have one entry per item plus padding")
            self.register_buffer("item_to_semantic", item_to_semantic.long())
            self.semantics = _embedding(spec.n_semantics + 1, d)
            self.semantic_condition = SequenceCondition(d)
            self.semantic_generator = Hypernetwork(d, shapes, **gen_opts)
        if spec.codebook:
            if codebook_init is None:
                codebook_init = torch.empty(spec.n_semantics, d)
                nn.init.xavier_uniform_(codebook_init)
            self.codebook = SemanticCodebook(codebook_init, trainable=spec.train_codebook)

    # ---------------------------------------------------------------------------------------
    def dynamic_params(self, hist: torch.Tensor, item_seq: torch.Tensor,
                       lengths: torch.Tensor):
        """Tensors for the dynamic layers of each history, and the auxiliary loss."""
        aux = item_seq.new_zeros(())
        if self.static is not None:
            return self.static(), aux
        branch = None
        if self.item_generator is not None:
            seq = item_seq
            if self.codebook is not None:
                quantised = self.codebook(item_seq)
                mask = (hist != 0).to(item_seq.dtype) if self.spec.mask_padding else None
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
        """hist (B, L) right-padded ids, lengths (B,), candidates (B, C) -> logits (B, C), aux."""
        item_seq = self.items(hist)
        targets = self.items(candidates)  # (B, C, D)
        state = self.backbone(item_seq, lengths, targets)
        params, aux = self.dynamic_params(hist, item_seq, lengths)
        out = self.layers(state, params)
        if self.target is None:  # target-dependent state: the layers output the logit
            return out.squeeze(-1), aux
        return torch.einsum("bd,bcd->bc", out, self.target(targets)), aux
