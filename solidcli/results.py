"""The evaluated runs the tables and figures read: `reports/metrics/<d>/<key>/seed<s>/metrics.json`.

`read_result(root, run)` reads the metrics of one seed of a planned run (see `solidcli.grid`),
checked: a JSON object whose dataset / backbone / dsr / variant / tag / seed are the run's,
with a finite number in [0, 1] for every test metric (and every full-ranking metric of
`test_full`, when the run has them). `read_results(root, configs, seeds)`
reads every seed of each configuration (a table cell is their mean and spread), from one
folder or from several read as one. A missing file is `None` (the table shows a missing
cell and says which run is absent); a damaged one is an error naming the file and the command
that rebuilds it. Display names (as the paper prints them) come from the registries.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solidcli.data.datasets import DATASETS
from solidcli.errors import SolidError
from solidcli.layout import PER_USER, RunId, run_metrics_dir
from solidcli.metrics import FULL_METRIC_NAMES, METRIC_NAMES
from solidcli.models.backbones import BACKBONES
from solidcli.models.dsrs import DSRS

KINDS = ("sampled", "full")  # the metrics a table or claim reads (`Result.values`)
KIND_METRICS = {"sampled": METRIC_NAMES, "full": FULL_METRIC_NAMES}


def dataset_name(key: str) -> str:
    """A dataset as tables print it (a dataset without an entry: its key)."""
    return DATASETS[key].label if key in DATASETS else key


def backbone_name(key: str) -> str:
    return BACKBONES[key].label if key in BACKBONES else key


def dsr_name(key: str) -> str:
    return DSRS[key].label if key in DSRS else key


@dataclass(frozen=True)
class Result:
    """The parts of one `metrics.json` the tables and figures read."""

    path: Path
    run: RunId
    lam: float | None
    T: float | None
    protocol: str | None
    test: dict[str, float]
    full: dict[str, float] | None = None  # full-ranking test metrics (None: not evaluated)
    protocol_full: str | None = None
    valid: dict[str, float] | None = None  # the valid split's metrics (selection reads them)
    k: float | None = None  # semantic ids / codebook rows (None: a baseline, or not recorded)
    diagnostics: dict | None = None  # a SOLID run's (`solidcli.diagnostics`): init, kept

    def values(self, kind: str) -> dict[str, float]:
        """The test metrics of `kind`: sampled (the paper's protocol) or full ranking."""
        if kind == "sampled":
            return self.test
        if kind != "full":
            raise SolidError(f"unknown metrics '{kind}' (choose from {', '.join(KINDS)})")
        if self.full is None:
            raise SolidError(f"{self.path} has no full-ranking metrics (evaluated before they "
                             f"existed); rebuild it with `solid evaluate --dataset "
                             f"{self.run.dataset} --all`")
        return self.full

    def protocol_of(self, kind: str) -> str | None:
        """How the `kind` metrics were measured (metrics.json's `protocol` / `protocol_full`)."""
        return self.protocol if kind == "sampled" else self.protocol_full


def _number(rec: dict, key: str) -> float | None:
    v = rec.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TypeError(f"'{key}' is not a finite number")
    return float(v)


def _metrics(rec: dict, names: tuple[str, ...], where: str) -> dict[str, float]:
    out = {}
    for m in names:
        v = _number(rec, m)
        if v is None or not 0.0 <= v <= 1.0:
            raise TypeError(f"{where}.{m} is not a number in [0, 1]")
        out[m] = v
    return out


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
        metrics = _metrics(test, METRIC_NAMES, "test")
        full = rec.get("test_full")
        if full is not None and not isinstance(full, dict):
            raise TypeError("'test_full' is not an object")
        protocol = rec.get("protocol")
        valid = rec.get("valid")
        if valid is not None and not isinstance(valid, dict):
            raise TypeError("'valid' is not an object")
        diagnostics = rec.get("diagnostics")
        if diagnostics is not None and not isinstance(diagnostics, dict):
            raise TypeError("'diagnostics' is not an object")
        _check_provenance(rec, path, run, root)
        return Result(path, run, lam=_number(rec, "lambda"), T=_number(rec, "T"),
                      protocol=protocol if isinstance(protocol, str) else None, test=metrics,
                      full=None if full is None else _metrics(full, FULL_METRIC_NAMES,
                                                              "test_full"),
                      protocol_full=rec.get("protocol_full") if isinstance(
                          rec.get("protocol_full"), str) else None,
                      valid=None if valid is None else _metrics(valid, METRIC_NAMES, "valid"),
                      k=_number(rec, "K"),
                      diagnostics=diagnostics)
    except KeyError as e:
        reason = f"missing key {e}"
    except (OSError, ValueError, TypeError) as e:
        reason = str(e).splitlines()[0].strip() if str(e) else type(e).__name__
    raise SolidError(f"corrupt metrics file {path}: {reason}; rebuild it with `solid evaluate "
                     f"--dataset {run.dataset} --all`")


def _check_provenance(rec: dict, path: Path, run: RunId, root: Path) -> None:
    """The per-user file is the one these metrics were computed with, and, where the project
    the metrics belong to has the model and data now, they are the ones evaluated (metrics
    from before provenance existed record none of it and are read as they are)."""
    from solidcli import provenance

    inputs = rec.get("inputs")
    if inputs is None:
        return
    rebuild = f"solid evaluate --dataset {run.dataset} --all"
    if not isinstance(inputs, dict):
        raise TypeError("'inputs' is not an object")
    provenance.verify_file(path.parent / PER_USER, rec.get("per_user_sha256"), path, rebuild)
    project = _project_of(Path(root).resolve())
    if project is None:
        return
    model = inputs.get("model")
    if isinstance(model, dict) and isinstance(model.get("path"), str):
        record = project / Path(model["path"]).parent / "run.json"
        if record.is_file():
            trained = json.loads(record.read_text(encoding="utf-8")).get("model_sha256")
            if trained != model.get("sha256"):
                raise SolidError(f"{path} is stale: {model['path']} was retrained after it "
                                 f"was evaluated; rerun `{rebuild}`")
    data = inputs.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        manifest = project / data["path"] / provenance.MANIFEST
        if manifest.is_file():
            now = json.loads(manifest.read_text(encoding="utf-8")).get("digest")
            if now != data.get("digest"):
                raise SolidError(f"{path} is stale: {data['path']} was prepared again after "
                                 f"it was evaluated; rerun `{rebuild}`")


@functools.lru_cache(maxsize=64)
def _project_of(folder: Path) -> Path | None:
    """The project a metrics folder belongs to: the nearest folder above it with a
    params.yaml (reports/metrics of the top level, protocols/ce/reports/metrics of its own)."""
    for parent in (folder, *folder.parents):
        if (parent / "params.yaml").is_file():
            return parent
    return None


def as_roots(root: Path | Sequence[Path]) -> list[Path]:
    """One metrics folder, or several read as one, as a list."""
    return [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]


def read_results(root: Path | Sequence[Path], runs: list[RunId], seeds: list[int]
                 ) -> tuple[dict[RunId, list[Result]], list[RunId]]:
    """For each configuration in `runs`, the results of the seeds that have metrics under
    `root` (in `seeds` order; configurations with none are left out), and the seeded runs
    that have none. `root` may be several folders read as one (a grid trained in parts,
    e.g. protocols/ce and protocols/ce-din): a seeded run's metrics are the first folder's
    that has them; folders that do not exist are skipped."""
    given = as_roots(root)
    roots = [r for r in given if r.is_dir()]
    if not roots:
        raise SolidError(f"no metrics folder {' or '.join(map(str, given))}; run the pipeline "
                         "first (`dvc repro`)")
    found: dict[RunId, list[Result]] = {}
    missing: list[RunId] = []
    for config in runs:
        for seed in seeds:
            run = config.with_seed(seed)
            result = next((r for r in (read_result(d, run) for d in roots) if r is not None),
                          None)
            if result is None:
                missing.append(run)
            else:
                found.setdefault(config.config, []).append(result)
    return found, missing
