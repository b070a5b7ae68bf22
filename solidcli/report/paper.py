"""The paper's printed numbers (`solidcli/paper/table<N>.csv`) and how its tables label rows."""

from __future__ import annotations

import csv
import math
from importlib import resources

from solidcli.metrics import METRIC_NAMES
from solidcli.models.dsrs import table1_rows

# Table 2: variant -> (SPG, SML, SCL), in paper order; scl_only = SCL without semantics
TABLE2_ROWS = {"base": (False, False, False), "spg": (True, False, False),
               "sml": (True, True, False), "scl_only": (False, False, True),
               "scl": (True, True, True)}
MODULES = ("SPG", "SML", "SCL")  # Table 2's columns, in TABLE2_ROWS's flag order
PAPER_SETUP = "paper: Arts, SASRec + DUET"  # Tables 2-5 of the paper
TABLE3_MODALITIES = ("id", "image", "text")  # the paper's column order

PaperRows = list[tuple[tuple[str, ...], dict[str, float | None]]]


def paper_dsr(row: tuple[str, str]) -> str:
    """Table 1's (dsr, variant) as the paper's CSV spells its `dsr_model` (the DSR registry)."""
    return table1_rows()[row].paper


def close(a: float | None, b: float) -> bool:
    """Whether a equals b within rel 1e-9 (False for None)."""
    return a is not None and math.isclose(a, b, rel_tol=1e-9)


def paper_rows(number: int) -> PaperRows:
    """The paper's rows: (label cells as printed, metrics with None for a missing cell)."""
    text = resources.files("solidcli").joinpath(f"paper/table{number}.csv").read_text(
        encoding="utf-8")
    out = []
    for rec in csv.DictReader(text.splitlines()):
        key = tuple(v for k, v in rec.items() if k not in METRIC_NAMES)
        out.append((key, {m: float(rec[m]) if rec[m] else None for m in METRIC_NAMES}))
    return out


def paper_row(paper: PaperRows, key: tuple) -> dict[str, float | None]:
    """The paper's metrics for key (strings equal, floats within rel 1e-9), else all missing."""
    def same(cell: str, want: str | float) -> bool:
        return close(float(cell), want) if isinstance(want, float) else cell == want

    for cells, metrics in paper:
        if len(cells) == len(key) and all(same(c, w) for c, w in zip(cells, key, strict=True)):
            return metrics
    return dict.fromkeys(METRIC_NAMES)


def missing() -> dict[str, float | None]:
    """A row the paper does not print: every metric missing."""
    return dict.fromkeys(METRIC_NAMES)
