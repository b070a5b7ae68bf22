"""The backbone registry: each backbone's printed name and the config class of its
`models.<name>` section.

Reading params (`solidcli.config`) and naming a backbone in a table need only this module, so
neither imports torch nor a backbone's module. Where each backbone's class lives is the other
half of its entry, `solidcli.models.registry.MODULES`, imported only by the code that builds
models (so `solid download`'s code deps, its import closure, hold no model code); a test keeps
the two halves in step.
"""

from __future__ import annotations

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
    config: type  # the `models.<name>` section


BACKBONES: dict[str, Backbone] = {
    "din": Backbone("DIN", DinCfg),
    "gru4rec": Backbone("GRU4Rec", Gru4recCfg),
    "sasrec": Backbone("SASRec", SasrecCfg),
    "bert4rec": Backbone("BERT4Rec", TransformerCfg),
}
