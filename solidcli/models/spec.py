"""ModelSpec: everything needed to rebuild a Recommender, stored in each run.json.

One spec composes one model: a backbone, a dsr (how the dynamic layers get their parameters)
and a SOLID variant. Ablations are fields of the spec, never new classes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    backbone: str  # din | gru4rec | sasrec | bert4rec
    dsr: str  # none | apg | duet
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

    @property
    def semantic_trunk(self) -> bool:
        """Parameters from the semantic sequence (SPG, Eq. 11)."""
        return self.variant in ("spg", "sml", "scl")

    @property
    def item_branch(self) -> bool:
        """Parameters from the item sequence (the DSR itself, or SOLID's branch)."""
        return self.dsr != "none" and self.variant != "spg"

    @property
    def codebook(self) -> bool:
        return self.variant in ("scl", "scl_only")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
