"""Runs trained outside the default pipeline under another objective: the
ce-trained Table 1 and SASRec's on the standard encoder, which Table 1 and the claims read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solidcli.layout import CE_DIN_METRICS, CE_METRICS, CE_STANDARD_METRICS


@dataclass(frozen=True)
class Reference:
    """Where such runs' metrics are, what they trained with, and how Table 1's reference rows
    (`<SR model><suffix>`, after the SR model's own rows) and the claims name them."""

    root: Path
    tag: str  # what the claims call its runs: `[ce]`, `[sampled-ce]`, `[ce, standard encoder]`
    suffix: str
    trained: str  # how they trained, for captions: "softmax cross-entropy over ..."
    where: str  # their params and project, for captions: "train.loss: ce, protocols/ce"
    rows: str = ""  # what their reference rows are (default: the baselines so trained)

    @property
    def note(self) -> str:
        """Table 1's caption words for its reference rows."""
        rows = self.rows or f"the baselines trained with {self.trained}"
        return f"{self.suffix.strip()}: {rows} ({self.where})"


# Table 1 under softmax cross-entropy, trained in two parts read as one grid: every item's
# softmax for GRU4Rec, SASRec and BERT4Rec; DIN (whose every-item softmax costs 190x its
# BCE epoch) over the positive and 100 sampled negatives
CE_GRID = (
    Reference(CE_METRICS, "ce", " (CE)", "softmax cross-entropy over every item",
              "train.loss: ce, protocols/ce"),
    Reference(CE_DIN_METRICS, "sampled-ce", " (sampled CE)",
              "softmax cross-entropy over the positive and 100 sampled negatives",
              "train.loss: sampled-ce, protocols/ce-din"),
)
# SASRec's grid under ce with the standard encoder (RecBole's; protocols/ce-standard)
STANDARD = Reference(CE_STANDARD_METRICS, "ce, standard encoder", " (CE, standard encoder)",
                     CE_GRID[0].trained, "protocols/ce-standard",
                     rows="SASRec's baselines so trained, with the standard encoder of Kang & "
                          "McAuley and RecBole")


def found_in(refs: Sequence[Reference]) -> list[Reference]:
    """The references whose metrics folder exists."""
    return [r for r in refs if r.root.is_dir()]
