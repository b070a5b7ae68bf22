"""ModelSpec: everything needed to rebuild a Recommender, stored in each run.json.

One spec composes one model: a backbone, a dsr (how the dynamic layers get their parameters)
and a SOLID variant. Ablations are fields of the spec, never new classes. `from_dict` checks
a stored spec as strictly as params.yaml is checked, so a damaged run.json is an error naming
the field, never a model built from a guess; the one exception is a field added after runs were
first saved (`ADDED`, and the backbone options of `backbones.ADDED_OPTS`), which a spec saved
before it may lack and then takes its default (the behaviour those runs were trained with).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from solidcli.config import VARIANTS, SolidCfg
from solidcli.models.backbones import ADDED_OPTS, BACKBONES
from solidcli.models.dsrs import DSRS
from solidcli.schema import COUNT_MAX, WIDTH_MAX, ConfigError, build

# the SOLID options a spec carries, with the values `solid.<option>` allows in params.yaml
_SOLID = typing.get_type_hints(SolidCfg)
AUX_LOSSES = typing.get_args(_SOLID["aux_loss"])
BOUNDS = typing.get_args(_SOLID["bound"])
BRANCH_SCALES = typing.get_args(_SOLID["branch_scale"])
DEAD_CODES = typing.get_args(_SOLID["dead_codes"])
# fields added after runs were first saved: a stored spec without one takes its default
ADDED = ("aux_loss", "bound", "branch_scale", "straight_through", "commitment", "dead_codes")


class SpecError(ValueError):
    """A stored spec that cannot describe a model."""


@dataclass(frozen=True)
class ModelSpec:
    backbone: str  # a `models.backbones` name: din | gru4rec | sasrec | bert4rec
    dsr: str  # a `models.dsrs` name: none | apg | duet
    variant: str  # base | spg | sml | scl | scl_only (SCL without semantics, Table 2)
    n_items: int
    n_semantics: int  # K (semantic ids, and codebook rows); 0 for the base variant
    dim: int
    max_len: int
    backbone_opts: dict[str, Any] = field(default_factory=dict)
    dsr_opts: dict[str, Any] = field(default_factory=dict)
    clip: float = 0.0  # T of Eq. 12 (sml, scl)
    lam: float = 0.0  # lambda of Eq. 13 (scl)
    train_codebook: bool = True
    mask_padding: bool = True
    aux_loss: str = "paper"  # paper (Eq. 13) | vq (codebook + commitment) | authors (8.3)
    bound: str = "clip"  # the branch's bound: clip (Eq. 12) | tanh (T tanh(x / T))
    branch_scale: str = "dsr"  # dsr: branch generator initialised as the DSR's | T: T x unit
    # | rms: T x unit, each sample's tensor rescaled to RMS T/2 (stays inside the bound)
    straight_through: bool = False  # the branch's gradient passes the codes to E_v
    commitment: float = 0.25  # beta of aux_loss vq
    dead_codes: str = "keep"  # keep | reinit (unused codes restart on item vectors each epoch)

    @property
    def semantic_trunk(self) -> bool:
        """Parameters from the semantic sequence (SPG, Eq. 11)."""
        return self.variant in ("spg", "sml", "scl")

    @property
    def item_branch(self) -> bool:
        """Parameters from the item sequence (the DSR itself, or SOLID's branch)."""
        return DSRS[self.dsr].dynamic and self.variant != "spg"

    @property
    def codebook(self) -> bool:
        return self.variant in ("scl", "scl_only")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """A stored spec, checked; a SpecError names what is wrong."""
        if not isinstance(data, dict):
            raise SpecError("the spec is not an object")
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data and f.name in ADDED:  # saved before the field existed
                continue
            if f.name not in data:
                raise SpecError(f"the spec has no '{f.name}'")
            value, kind = data[f.name], hints[f.name]
            plain = typing.get_origin(kind) or kind
            if plain is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, plain) or (plain is int and isinstance(value, bool)):
                raise SpecError(f"spec.{f.name} is not a {plain.__name__}")
            kwargs[f.name] = value
        for name, known in (("backbone", BACKBONES), ("dsr", DSRS), ("variant", VARIANTS),
                            ("aux_loss", AUX_LOSSES), ("bound", BOUNDS),
                            ("branch_scale", BRANCH_SCALES), ("dead_codes", DEAD_CODES)):
            if name not in kwargs:
                continue
            if kwargs[name] not in known:
                raise SpecError(f"spec.{name} '{kwargs[name]}' is unknown (known: "
                                 f"{', '.join(known)})")
        _check_numbers(kwargs)
        if isinstance(kwargs["backbone_opts"], dict):  # options older runs did not store
            kwargs["backbone_opts"] = {**ADDED_OPTS.get(kwargs["backbone"], {}),
                                       **kwargs["backbone_opts"]}
        dsr_cfg = DSRS[kwargs["dsr"]].config
        try:  # the options as their params.yaml sections would check them
            backbone = build(BACKBONES[kwargs["backbone"]].config, kwargs["backbone_opts"],
                             "backbone_opts")
            build(dsr_cfg, kwargs["dsr_opts"], "dsr_opts")
        except ConfigError as exc:
            raise SpecError(f"spec: {exc}") from None
        heads = getattr(backbone, "heads", None)
        if heads is not None and kwargs["dim"] % heads:
            raise SpecError(f"spec.backbone_opts.heads = {heads} does not divide spec.dim = "
                            f"{kwargs['dim']}")
        return cls(**kwargs)


# (field, lowest, highest): the same bounds params.yaml's fields have
_NUMBERS = (("n_items", 1, COUNT_MAX), ("n_semantics", 0, COUNT_MAX), ("dim", 1, WIDTH_MAX),
            ("max_len", 1, WIDTH_MAX), ("clip", 0.0, None), ("lam", 0.0, None),
            ("commitment", 0.0, None))


def _check_numbers(kwargs: dict[str, Any]) -> None:
    """Every size and hyper-parameter of a stored spec finite and in range (a damaged
    run.json must not build a model of a size nobody trained, or a negative clip)."""
    for name, lo, hi in _NUMBERS:
        if name not in kwargs:
            continue
        value = kwargs[name]
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"spec.{name} is {value}, not a finite number")
        if value < lo or (hi is not None and value > hi):
            bound = f"{lo}..{hi:,}" if hi is not None else f">= {lo}"
            raise SpecError(f"spec.{name} = {value} is out of range ({bound})")
    if kwargs["variant"] in ("sml", "scl") and kwargs["clip"] <= 0:
        raise SpecError(f"spec.clip = {kwargs['clip']}: a {kwargs['variant']} model's T must "
                        "be > 0")
