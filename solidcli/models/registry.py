"""The backbone registry: a name maps to its class and its `models.<name>` config section.

Adding a backbone is one entry here plus its module (a class `Backbone(dim, max_len, cfg)`
with `target_dependent`, and `forward(seq, lengths, targets)`); params.yaml then needs its
`models.<name>` section, checked against the entry's config class. The module is imported
only when a model is built, so reading params never imports torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from solidcli.schema import depth, fraction, width


@dataclass(frozen=True)
class TransformerCfg:
    """A self-attention encoder (BERT4Rec's section; SASRec's adds `causal`).

    `input`, `output` and `init` choose between the authors' encoder (tanh, mlp, xavier) and
    the standard SASRec of Kang & McAuley and RecBole (layernorm, tied, normal); see
    `transformer.py`."""

    layers: int = depth()
    heads: int = width()  # must divide train.dim
    dropout: float = fraction()
    input: Literal["tanh", "layernorm"]  # items + positions -> Linear-Tanh | LayerNorm
    output: Literal["mlp", "tied"]  # items scored through a Linear-Tanh-Linear | as they are
    init: Literal["xavier", "normal"]  # encoder and item table: Xavier | N(0, 0.02)


# backbone options added after runs were first saved, with the behaviour those runs had
_AUTHORS_ENCODER = {"input": "tanh", "output": "mlp", "init": "xavier"}
ADDED_OPTS: dict[str, dict[str, str]] = {"sasrec": _AUTHORS_ENCODER, "bert4rec": _AUTHORS_ENCODER}


@dataclass(frozen=True)
class SasrecCfg(TransformerCfg):
    causal: bool  # False reproduces the authors' unmasked encoder


@dataclass(frozen=True)
class Gru4recCfg:
    layers: int = depth()
    dropout: float = fraction()


@dataclass(frozen=True)
class DinCfg:
    attention_hidden: int = width()  # hidden units of the activation unit
    classifier: list[int] = width()  # hidden sizes of the head on [target ; pooled history]
    dropout: float = fraction()


@dataclass(frozen=True)
class Backbone:
    label: str  # as the paper prints it
    module: str
    cls: str
    config: type

    def load(self) -> type:
        return getattr(importlib.import_module(self.module), self.cls)


BACKBONES: dict[str, Backbone] = {
    "din": Backbone("DIN", "solidcli.models.din", "DIN", DinCfg),
    "gru4rec": Backbone("GRU4Rec", "solidcli.models.gru4rec", "GRU4Rec", Gru4recCfg),
    "sasrec": Backbone("SASRec", "solidcli.models.sasrec", "SASRec", SasrecCfg),
    "bert4rec": Backbone("BERT4Rec", "solidcli.models.bert4rec", "BERT4Rec", TransformerCfg),
}
