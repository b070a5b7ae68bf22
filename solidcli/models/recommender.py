"""The one Recommender, composed from a ModelSpec (no class per variant).

    state    = backbone(E_v[s_v], target)           static layers; (B, D), or (B, C, 2D) for DIN
    params   = where the dynamic layers' tensors come from (by dsr and variant, below)
    out      = dynamic layers(state; params)         DenseLayers (none, DUET) | LowRankLayers (APG)
    logit    = <out, TT(E_v[v])> for every candidate v, or out itself for DIN; TT is the
               authors' Linear-Tanh-Linear, or the identity with `models.<sr>.output: tied`
               (standard SASRec: the item table scores the items it embeds); with
               `models.<sr>.init: normal` the item table starts at N(0, 0.02), as RecBole's

Where the parameters come from (one code path for DUET and APG, which differ only in the
layers they feed):
* dsr none: learned static tensors (the SR model alone).
* base:     generated from the item sequence (DSR, paper Eq. 5-6).
* spg:      generated from the semantic sequence s_c (paper Eq. 11; the item history and
            item target still feed the primary model, as Eq. 11 writes it).
* sml:      trunk from s_c plus the item branch bounded to +-T, trained jointly (Eq. 12):
            `bound` clip (Eq. 12) or tanh; `branch_scale: T` generates the branch at the
            scale of T so it starts inside its bound, `rms` also keeps it at RMS T/2 so it
            stays there (generators.py).
* scl:      as sml, with each item representation of the branch replaced by its nearest
            codebook entry (codebook initialised from the metacode); loss adds
            lambda * MSE(E_v, E'_v) (Eq. 13); `aux_loss: vq` is VQ-VAE's codebook and
            commitment pair, `authors` the authors' code's MSE(semantic history, sg(E'_v))
            (as the authors' code); `straight_through` passes the branch's gradient to E_v
            (codebook.py).
* scl_only: "SCL without semantic information" (Table 2, row 4): no semantic trunk; the item
            sequence goes through a codebook of the same size initialised at random
            (Xavier-uniform) and generates all parameters (no clip: there is no trunk).

A history is encoded once and all its candidates are scored against it. Every tensor carries
the member axis of `ensemble` first: S models of one spec (one per training seed) run as one,
and a solo run is S = 1 (`members`). `group(models)` stacks S one-member models; `member_state`
cuts one out again.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from solidcli.models import registry
from solidcli.models.backbones import BACKBONES
from solidcli.models.codebook import SemanticCodebook, aux_loss
from solidcli.models.dsrs import DSRS, dynamic
from solidcli.models.ensemble import MLP, Dropout, Embedding, MemberRNG, stack
from solidcli.models.generators import (
    Hypernetwork,
    SequenceCondition,
    StaticParams,
    add_params,
    bound_params,
)
from solidcli.models.layers import DenseLayers, LowRankLayers
from solidcli.models.spec import ModelSpec
from solidcli.models.transformer import at_positions

# a catalogue up to this many items (padding included) is scored whole when many candidates
# are (validation, the sampled test): cheaper there than a (S, B, C, D) tensor, and the
# committed results' arithmetic; a larger one scores only its candidates (at Douban-Book
# size, 213k items, scoring every item per user was most of an epoch's validation)
EVERY_ITEM_UP_TO = 16_384


def build_backbone(spec: ModelSpec, members: int) -> nn.Module:
    """The registered backbone class, with its `models.<name>` section rebuilt from the spec."""
    cfg = BACKBONES[spec.backbone].config(**spec.backbone_opts)
    return registry.load(spec.backbone)(spec.dim, spec.max_len, cfg, members)


def _dense(sizes: list[int], opts: dict, members: int) -> nn.Module:
    return DenseLayers(sizes)


def _low_rank(sizes: list[int], opts: dict, members: int) -> nn.Module:
    return LowRankLayers(sizes, opts["rank"], members, opts["authors_simplified"])


# a DSR's `layers` (`solidcli.models.dsrs`) -> builder(layer sizes, dsr options, members)
LAYERS = {"dense": _dense, "low_rank": _low_rank}


def build_layers(spec: ModelSpec, backbone: nn.Module, members: int) -> nn.Module:
    """The dynamic layers the spec's DSR feeds (its registry entry's `layers`)."""
    if backbone.target_dependent:  # the layers map the target-dependent state to the logit
        sizes = backbone.head_sizes
    else:
        sizes = [spec.dim] * (spec.dsr_opts["layers"] + 1)
    return LAYERS[DSRS[spec.dsr].layers](sizes, spec.dsr_opts, members)


class Recommender(nn.Module):
    def __init__(self, spec: ModelSpec, item_to_semantic: torch.Tensor | None = None,
                 codebook_init: torch.Tensor | None = None, members: int = 1) -> None:
        """`codebook_init` (N_c, D) or (members, N_c, D): the metacode of each member."""
        super().__init__()
        if not DSRS[spec.dsr].dynamic and spec.variant != "base":
            raise ValueError(f"SOLID variants need a dynamic model (dsr "
                             f"{' or '.join(dynamic())})")
        self.spec = spec
        self.members = members
        s, d = members, spec.dim
        self.items = Embedding(s, spec.n_items + 1, d)
        self.backbone = build_backbone(spec, s)
        opts = spec.backbone_opts
        self.target = None if self.backbone.target_dependent else (
            nn.Identity() if opts.get("output") == "tied" else MLP(s, d))
        if opts.get("init") == "normal":
            with torch.no_grad():
                self.items.weight.normal_(0.0, 0.02)
                self.items.weight[:, 0].zero_()
        self.layers = build_layers(spec, self.backbone, s)
        shapes = self.layers.param_shapes()

        self.static = self.item_condition = self.item_generator = None
        self.semantics = self.semantic_condition = self.semantic_generator = None
        self.codebook = None
        if not DSRS[spec.dsr].dynamic:
            self.static = StaticParams(shapes, s)
        else:
            gen_opts = {"init": spec.dsr_opts["init"], "freeze": spec.dsr_opts["freeze"]}
            if spec.item_branch:
                branch_opts = gen_opts
                if spec.semantic_trunk and spec.branch_scale != "dsr":  # SOLID's live branch
                    branch_opts = {**gen_opts, "init": "unit", "scale": spec.clip,
                                   "rms": spec.clip / 2 if spec.branch_scale == "rms" else None}
                self.item_condition = SequenceCondition(d, s)
                self.item_generator = Hypernetwork(d, shapes, s, **branch_opts)
            if spec.semantic_trunk:
                if item_to_semantic is None:  # filled by load_state_dict when loading
                    item_to_semantic = torch.zeros(spec.n_items + 1, dtype=torch.long)
                if item_to_semantic.shape != (spec.n_items + 1,):
                    raise ValueError("item_to_semantic must have one entry per item plus "
                                     "padding")
                self.register_buffer("item_to_semantic", item_to_semantic.long())
                self.semantics = Embedding(s, spec.n_semantics + 1, d)
                self.semantic_condition = SequenceCondition(d, s)
                self.semantic_generator = Hypernetwork(d, shapes, s, **gen_opts)
            if spec.codebook:
                if codebook_init is None:
                    codebook_init = torch.empty(s, spec.n_semantics, d)
                    for m in range(s):
                        nn.init.xavier_uniform_(codebook_init[m])
                if codebook_init.dim() == 2:
                    codebook_init = codebook_init.expand(s, -1, -1)
                self.codebook = SemanticCodebook(codebook_init, trainable=spec.train_codebook,
                                                 straight_through=spec.straight_through)
        self.rng = MemberRNG()
        for module in self.modules():
            if isinstance(module, Dropout):
                module.rng = self.rng

    @classmethod
    def group(cls, models: list[Recommender]) -> Recommender:
        """One model whose members are the given one-member models (same spec)."""
        first = models[0]
        if any(m.spec != first.spec or m.members != 1 for m in models):
            raise ValueError("a group is made of one-member models of one spec")
        shared = getattr(first, "item_to_semantic", None)
        out = cls(first.spec, item_to_semantic=shared, members=len(models))
        return stack(models, out.to(first.items.weight.device))

    # ---------------------------------------------------------------------------------------
    def dynamic_params(self, hist: torch.Tensor, item_seq: torch.Tensor,
                       lengths: torch.Tensor, at: torch.Tensor | None = None):
        """Tensors for the dynamic layers of each history (with `at`: of the prefix ending at
        each of those flat positions), and the auxiliary loss (S,)."""
        if self.static is not None:
            return self.static(), item_seq.new_zeros(item_seq.shape[0])
        parts = self.dynamic_parts(hist, item_seq, lengths, at)
        branch, trunk, aux = parts["branch"], parts["trunk"], parts["aux"]
        if trunk is None:
            return branch, aux
        if branch is None:
            return trunk, aux
        return add_params(trunk, bound_params(branch, self.spec.clip, self.spec.bound)), aux

    def dynamic_parts(self, hist: torch.Tensor, item_seq: torch.Tensor,
                      lengths: torch.Tensor, at: torch.Tensor | None = None) -> dict:
        """The generated tensors before they are combined: `branch` (from the item sequence,
        before its bound), `trunk` (from the semantic sequence), either None where the
        variant has none, and `aux`, the codebook's auxiliary loss (S,)."""
        aux = item_seq.new_zeros(item_seq.shape[0])
        branch = trunk = None
        if self.item_generator is not None:
            seq = item_seq
            if self.codebook is not None:
                seq, codes = self.codebook(item_seq)
                mask = (hist != 0).to(item_seq.dtype) if self.spec.mask_padding else None
                semantic = None  # the authors' term: the semantic history (SCL alone: items)
                if self.spec.aux_loss == "authors" and self.semantics is not None:
                    semantic = self.semantics(self.item_to_semantic[hist])
                aux = aux_loss(self.spec.aux_loss, item_seq, codes, mask,
                               self.spec.commitment, semantic)
            branch = self.item_generator(self.item_condition(seq, lengths, at))
        if self.semantic_generator is not None:
            sem_seq = self.semantics(self.item_to_semantic[hist])
            trunk = self.semantic_generator(self.semantic_condition(sem_seq, lengths, at))
        return {"branch": branch, "trunk": trunk, "aux": aux}

    def forward(self, hist: torch.Tensor, lengths: torch.Tensor, candidates: torch.Tensor):
        """hist (S, B, L) right-padded ids, lengths (S, B), candidates (S, B, C) -> logits
        (S, B, C) and the auxiliary loss (S,). Inputs without the member axis ((B, L), (B,),
        (B, C)) are shared by all members."""
        hist, lengths = self._per_member(hist, lengths)
        if candidates.dim() == 2:
            candidates = candidates.expand(self.members, -1, -1)
        item_seq = self.items(hist)
        targets = None
        every = self.items.weight.shape[1] <= EVERY_ITEM_UP_TO
        if self.target is None or self.training or not every:
            targets = self.items(candidates, padding=False)  # (S, B, C, D)
        out, aux = self._layers_out(hist, item_seq, lengths, targets)
        if self.target is None:  # target-dependent state: the layers output the logit
            return out.squeeze(-1), aux
        if self.training or not every:  # a few candidates: multiply and sum (a batched
            # product of 1-row matrices is slower on the CPU)
            return (out.unsqueeze(2) * self.target(targets)).sum(-1), aux
        # scoring many candidates of a small catalogue: every item once, then the candidates'
        # columns (the same numbers up to rounding, without a (S, B, C, D) tensor); above
        # EVERY_ITEM_UP_TO items that would cost more than the candidates' own products
        return torch.gather(self._every_item(out), 2, candidates), aux

    def position_logits(self, hist: torch.Tensor, lengths: torch.Tensor, at: torch.Tensor,
                        candidates: torch.Tensor | None = None, first: int = 1
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass over whole sequences (`train.encoding: sequence`): hist (S, B, L) and
        lengths (S, B) as `forward`'s, `at` (R,) the flat positions of the B x L grid whose
        prefixes are training rows; logits (S, R, C) of `candidates` (S, R, C), or, without
        them, of every item from id `first` on (`train.loss: ce`), and the auxiliary loss.
        Only for backbones whose state at a position is that prefix's state (`per_position`):
        each row's logits are then `forward`'s for its prefix, the sequence encoded once."""
        if not getattr(self.backbone, "per_position", False):
            raise ValueError(f"{self.spec.backbone} cannot be trained one sequence at a time")
        hist, lengths = self._per_member(hist, lengths)
        item_seq = self.items(hist)
        state = at_positions(self.backbone.states(item_seq, lengths), at)
        params, aux = self.dynamic_params(hist, item_seq, lengths, at)
        out = self.layers(state, params)  # (S, R, D)
        if candidates is None:
            return self._every_item(out, first), aux
        targets = self.items(candidates, padding=False)  # (S, R, C, D)
        return (out.unsqueeze(2) * self.target(targets)).sum(-1), aux

    def _per_member(self, hist: torch.Tensor, lengths: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Histories and lengths with the member axis (shared ones expanded to every member)."""
        if hist.dim() == 2:
            return hist.expand(self.members, -1, -1), lengths.expand(self.members, -1)
        return hist, lengths

    def _layers_out(self, hist: torch.Tensor, item_seq: torch.Tensor, lengths: torch.Tensor,
                    targets: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The dynamic layers' output for the backbone's state, and the auxiliary loss."""
        state = self.backbone(item_seq, lengths, targets)
        params, aux = self.dynamic_params(hist, item_seq, lengths)
        return self.layers(state, params), aux

    def _every_item(self, out: torch.Tensor, first: int = 0) -> torch.Tensor:
        """Logits (S, B, N + 1 - first) of the layers' outputs `out` (S, B, D) against every
        item from id `first` on."""
        table = self.target(self.items.weight[:, first:])  # (S, N + 1 - first, D)
        return torch.bmm(out, table.transpose(1, 2))

    def score_items(self, hist: torch.Tensor, lengths: torch.Tensor,
                    chunk: int | None = None) -> torch.Tensor:
        """Logits (S, B, N + 1) of every item (column 0 is the padding id: callers mask it)
        for each history, in eval mode: the numbers `forward` gives for any candidates."""
        return self.item_logits(hist, lengths, chunk=chunk)[0]

    def item_logits(self, hist: torch.Tensor, lengths: torch.Tensor, first: int = 0,
                    chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (S, B, N + 1 - first) of every item from id `first` on for each history, and
        the auxiliary loss (S,): full ranking (eval) and `train.loss: ce` (training). The
        history is encoded once and meets the item table in one product. DIN, whose state
        depends on the target, pools the history for every item, `chunk` items at a time; in
        training each chunk is recomputed in the backward pass (`torch.utils.checkpoint`)
        instead of keeping its (S, B, chunk, L, H) activations. `chunk` defaults to 256 items
        on the CPU (cache-sized) and 4,096 on a GPU (fewer, larger kernels: 213k items are
        52 chunks per batch there instead of 833)."""
        s = self.members
        hist, lengths = self._per_member(hist, lengths)
        item_seq = self.items(hist)
        if self.target is not None:
            out, aux = self._layers_out(hist, item_seq, lengths, None)
            return self._every_item(out, first), aux
        params, aux = self.dynamic_params(hist, item_seq, lengths)
        context = self.backbone.context(item_seq, lengths)
        n = self.items.weight.shape[1]

        def columns(targets: torch.Tensor, *context: torch.Tensor) -> torch.Tensor:
            state = self.backbone.pool_items(context, targets)  # (S, B, c, 2D)
            return self.layers(state, params).squeeze(-1)

        cols = []
        if chunk is None:
            chunk = 256 if hist.device.type == "cpu" else 4096
        for lo in range(first, n, chunk):
            ids = torch.arange(lo, min(n, lo + chunk), device=hist.device)
            targets = self.items(ids.expand(s, -1), padding=False)  # (S, c, D)
            if torch.is_grad_enabled():
                cols.append(checkpoint(columns, targets, *context, use_reentrant=False))
            else:
                cols.append(columns(targets, *context))
        return torch.cat(cols, dim=2), aux
