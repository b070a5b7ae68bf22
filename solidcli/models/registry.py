"""Where each backbone's class lives: the half of a backbone's registry entry that only the
code building models imports (`solidcli.models.recommender`), so reading params never reaches
a backbone's module, nor torch.

Adding a backbone is its module (a class `Backbone(dim, max_len, cfg, members)` with
`target_dependent`, and `forward(seq, lengths, targets)`), its entry in
`solidcli.models.backbones` (printed name, config class) and its class here; params.yaml then
needs its `models.<name>` section, checked against the config class.
"""

from __future__ import annotations

import importlib

MODULES: dict[str, str] = {  # backbone -> "<module>:<class>", imported by `load`
    "din": "solidcli.models.din:DIN",
    "gru4rec": "solidcli.models.gru4rec:GRU4Rec",
    "sasrec": "solidcli.models.sasrec:SASRec",
    "bert4rec": "solidcli.models.bert4rec:BERT4Rec",
}


def load(name: str) -> type:
    """The class of backbone `name` (its module imported now)."""
    module, cls = MODULES[name].split(":")
    return getattr(importlib.import_module(module), cls)
