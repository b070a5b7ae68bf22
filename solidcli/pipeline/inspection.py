"""`solid inspect`: is a SOLID run's machinery alive? Its diagnostics (`solidcli.diagnostics`)
at initialisation and at the kept epoch, one row per training seed.

Every SOLID run records them in run.json. A run trained before the diagnostics existed has
none: its kept-epoch values are then measured from model.pt, and its initial ones are
unknown (shown as -)."""

from __future__ import annotations

from solidcli.config import Params
from solidcli.diagnostics import LABELS, fmt
from solidcli.errors import SolidError
from solidcli.grid import find_tagged, train_command
from solidcli.layout import RunId
from solidcli.runs import load_trained, read_record


def diagnostics_of(params: Params, run: RunId, probes: dict) -> dict:
    """{"init": {...} | None, "kept": {...}} of one seeded run (`probes` keeps the valid
    split, padded, for the next seed)."""
    record = read_record(run, make=train_command(params, run))
    if "diagnostics" in record:
        return record["diagnostics"]
    import torch

    from solidcli.data.prepared import PreparedDataset
    from solidcli.diagnostics import kept
    from solidcli.engine import EvalSet

    model, _ = load_trained(run)
    if run.dataset not in probes:
        probes[run.dataset] = EvalSet.from_split(PreparedDataset.load(run.dataset), "valid",
                                                 params.train.max_len)
    return {"init": None, "kept": kept(model, probes[run.dataset], torch.device("cpu"), None)}


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None) -> list[dict]:
    """Print (to stdout), and return, every seed's diagnostics of one configuration."""
    from rich.console import Console
    from rich.table import Table

    out = Console()

    if variant not in ("sml", "scl", "scl_only"):
        raise SolidError(f"`solid inspect` reads SOLID runs (variant sml, scl or scl_only), "
                         f"not {variant}")
    config = find_tagged(params, RunId(dataset, backbone, dsr, variant, tag))
    probes: dict = {}
    rows = [{"seed": s, **diagnostics_of(params, config.with_seed(s), probes)}
            for s in params.seeds]
    names = [n for n in LABELS if any(n in (r[w] or {}) for r in rows for w in ("init", "kept"))]
    for when, title in (("init", "at initialisation"), ("kept", "at the kept epoch")):
        if all(r[when] is None for r in rows):
            out.print(f"{config}: {title}: not recorded (trained before diagnostics existed; "
                      "retrain to record them)")
            continue
        table = Table(title=f"{config}: {title}")
        table.add_column("seed", justify="right")
        for name in names:
            table.add_column(LABELS[name][0], justify="right")
        for r in rows:
            values = r[when] or {}
            table.add_row(str(r["seed"]), *(fmt(n, values.get(n)) for n in names))
        out.print(table)
    return rows
