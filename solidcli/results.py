"""The evaluated runs the tables and figures read: `reports/metrics/<d>/<key>/seed<s>/metrics.json`.

`read_result(root, run)` reads the metrics of one seed of a planned run (see `solidcli.grid`),
checked: a JSON object whose dataset / backbone / dsr / variant / tag / seed are the run's,
with a finite number in [0, 1] for every test metric. `read_results(root, configs, seeds)`
reads every seed of each configuration (a table cell is their mean and spread). A missing file is `None` (the table shows a missing
cell and says which run is absent); a damaged one is an error naming the file and the command
that rebuilds it. Display names (as the paper prints them) live here too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from solidcli.errors import SolidError
from solidcli.layout import RunId, run_metrics_dir
from solidcli.metrics import METRIC_NAMES
from solidcli.models.registry import BACKBONES

# the paper's four multimodal sets first (the names Table 1 prints), then the other variants,
# which are never matched against the paper's rows
DATASET_NAMES = {"scientific": "Scientific", "arts": "Arts", "instruments": "Instruments",
                 "office": "Office", "cds": "CDs", "electronic": "Electronic",
                 "douban-book": "Douban Book", "douban-music": "Douban Music",
                 **{f"{d}-{v}": f"{d.capitalize()} ({label})"
                    for v, label in (("full", "full"), ("2018", "rebuilt from Amazon 2018"))
                    for d in ("scientific", "arts", "instruments", "office")}}
DSR_NAMES = {"none": "none", "apg": "APG", "duet": "DUET"}


def dataset_name(key: str) -> str:
    return DATASET_NAMES.get(key, key)


def backbone_name(key: str) -> str:
    return BACKBONES[key].label if key in BACKBONES else key


def dsr_name(key: str) -> str:
    return DSR_NAMES.get(key, key)


@dataclass(frozen=True)
class Result:
    """The parts of one `metrics.json` the tables and figures read."""

    path: Path
    run: RunId
    lam: float | None
    T: float | None
    protocol: str | None
    test: dict[str, float]


def _number(rec: dict, key: str) -> float | None:
    v = rec.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TypeError(f"'{key}' is not a finite number")
    return float(v)


def read_result(root: Path, run: RunId) -> Result | None:
    """The checked metrics of `run` under `root`, or None when the run was not evaluated."""
    path = run_metrics_dir(run, root) / "metrics.json"
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rec, dict):
            raise TypeError("not a JSON object")
        got = tuple(rec.get(k) for k in ("dataset", "backbone", "dsr", "variant"))
        want = (run.dataset, run.backbone, run.dsr, run.variant)
        if got != want or rec.get("tag") != run.tag or rec.get("seed") != run.seed:
            raise TypeError(f"it describes {'/'.join(map(str, got))} tag {rec.get('tag')} "
                            f"seed {rec.get('seed')}, not {run}")
        test = rec["test"]
        if not isinstance(test, dict):
            raise TypeError("'test' is not an object")
        metrics = {}
        for m in METRIC_NAMES:
            v = _number(test, m)
            if v is None or not 0.0 <= v <= 1.0:
                raise TypeError(f"test.{m} is not a number in [0, 1]")
            metrics[m] = v
        protocol = rec.get("protocol")
        return Result(path, run, lam=_number(rec, "lambda"), T=_number(rec, "T"),
                      protocol=protocol if isinstance(protocol, str) else None, test=metrics)
    except KeyError as e:
        reason = f"missing key {e}"
    except (OSError, ValueError, TypeError) as e:
        reason = str(e).splitlines()[0].strip() if str(e) else type(e).__name__
    raise SolidError(f"corrupt metrics file {path}: {reason}; rebuild it with `solid evaluate "
                     f"--dataset {run.dataset} --all`")


def read_results(root: Path, runs: list[RunId], seeds: list[int]
                 ) -> tuple[dict[RunId, list[Result]], list[RunId]]:
    """For each configuration in `runs`, the results of the seeds that have metrics under
    `root` (in `seeds` order; configurations with none are left out), and the seeded runs
    that have none."""
    if not Path(root).is_dir():
        raise SolidError(f"no metrics folder {root}; run the pipeline first (`dvc repro`)")
    found: dict[RunId, list[Result]] = {}
    missing: list[RunId] = []
    for config in runs:
        for seed in seeds:
            run = config.with_seed(seed)
            result = read_result(root, run)
            if result is None:
                missing.append(run)
            else:
                found.setdefault(config.config, []).append(result)
    return found, missing
