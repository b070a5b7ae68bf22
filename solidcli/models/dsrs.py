"""The DSR registry: each dynamic recommendation model (the `dsr` axis) as one entry.

An entry holds its `dsr.<name>` config class, how its dynamic layers are built, the name
tables print, and its Table 1 rows: the model alone (variant base) and, for a dynamic model,
SOLID applied to it (variant scl), each with its label here, its name in the paper's
transcription and its colour in Figures 3-4. Everything that lists DSRs (params checks,
`--dsr` help, Table 1's rows, display names) derives from `DSRS`. No torch here: an entry
names the kind of layers its parameters feed, built by `solidcli.models.recommender.LAYERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solidcli.schema import depth, width


@dataclass(frozen=True)
class DuetCfg:
    layers: int = depth()  # dynamic layers (D x D each; DIN uses its classifier sizes)
    init: Literal["scaled", "authors"]  # authors = fmod(randn, 2)
    freeze: bool  # True reproduces the authors' never-trained generators


@dataclass(frozen=True)
class ApgCfg(DuetCfg):
    """DUET's generator options, plus APG's low-rank layers."""

    rank: int = width()  # K of the K x K generated core
    authors_simplified: bool  # no activation between layers, no bias (the authors' module)


@dataclass(frozen=True)
class NoneCfg:
    layers: int = depth(lo=0)  # static layers of the plain head (0: the state is the output)


@dataclass(frozen=True)
class Row:
    """One Table 1 row of a DSR: its label, the paper CSV's `dsr_model`, its bar colour."""

    label: str
    paper: str
    colour: str


@dataclass(frozen=True)
class Dsr:
    label: str  # as tables print the model
    config: type  # the `dsr.<name>` section
    layers: str  # the layers its parameters feed: dense | low_rank (`recommender.LAYERS`)
    base: Row  # Table 1: the model alone
    solid: Row | None = None  # Table 1: SOLID on it; None = static, SOLID cannot apply

    @property
    def dynamic(self) -> bool:
        """Whether its parameters are generated per sample (what SOLID's variants need)."""
        return self.solid is not None


DSRS: dict[str, Dsr] = {  # in the paper's row order
    "none": Dsr("none", NoneCfg, "dense", Row("-", "none", "#9e9e9e")),
    "apg": Dsr("APG", ApgCfg, "low_rank",
               Row("APG", "APG", "#90caf9"), Row("Ours (APG)", "SOLID-APG", "#1565c0")),
    "duet": Dsr("DUET", DuetCfg, "dense",
                Row("DUET", "DUET", "#ffcc80"), Row("Ours (DUET)", "SOLID-DUET", "#e65100")),
}
SOLID_VARIANT = "scl"  # the variant of Table 1's SOLID rows


def dynamic() -> tuple[str, ...]:
    """The DSRs SOLID applies to (`solid_dsrs`, `study.dsr`), in registry order."""
    return tuple(name for name, d in DSRS.items() if d.dynamic)


def table1_rows() -> dict[tuple[str, str], Row]:
    """(dsr, variant) -> Row of every Table 1 row, in the paper's order: each DSR alone, then
    SOLID on it."""
    out = {}
    for name, d in DSRS.items():
        out[(name, "base")] = d.base
        if d.solid is not None:
            out[(name, SOLID_VARIANT)] = d.solid
    return out
