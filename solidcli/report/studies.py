"""The study tables of SOLID's mechanics as `Grid`s: `mechanics` (SOLID as written and with each fix,
beside its DSR, with the kept epoch's diagnostics), `breakdown` (DSR vs SOLID per quintile of
the target's training popularity and of the history's length; `breakdown_pairs` is what the
claims test) and `k` (the K study, chosen on valid: `k_selection`). Their p-values are
uncorrected; the claims report corrects them."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.grid import MECHANICS, mechanics, table1
from solidcli.layout import RunId, study_roots, test_users_file
from solidcli.pairing import PER_USER_OF, PerUser, pair, shared_seeds
from solidcli.report.model import Grid
from solidcli.report.text import MARK_SYMBOLS, interval, p_value
from solidcli.results import Result, backbone_name, dataset_name, dsr_name, read_results
from solidcli.stats import Paired, compare

SELECTED = "semantics-selected.json"  # the K study's choice, beside its table
DELTA_METRICS = ("UAUC", "NDCG@10")
BUCKETS = 5
SPLITS_BY = {"popularity": "target_popularity", "length": "history_length"}


def _mean_sd(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def _cell(values: list[float]) -> str:
    mean, sd = _mean_sd(values)
    return f"{mean:.4f}" if sd is None else f"{mean:.4f} ± {sd:.4f}"


def _delta(pr: Paired, sign: int) -> str:
    mark = MARK_SYMBOLS.get(sign, "")
    ci = interval(pr.ci, " [", "]")
    return f"{pr.diff:+.4f}{mark}{ci} (p {p_value(pr.p_seeds)} / {p_value(pr.p_users)})"


def _diag(results: list[Result], when: str, name: str) -> float | None:
    values = [r.diagnostics[when][name] for r in results
              if r.diagnostics and name in r.diagnostics.get(when, {})]
    return statistics.fmean(values) if values else None


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _read(root: Path, runs: list[RunId], seeds: list[int], missing: list[RunId]):
    found, absent = read_results(root, runs, seeds)
    missing += absent
    return found


def mechanics_table(params: Params, metrics_root: Path) -> Grid:
    """The mechanics table (module docstring)."""
    s, seeds, cfg = params.study, list(params.seeds), params.stats
    study_root = study_roots("mechanics")[0]
    users, missing = PerUser(), []
    header = ["DSR", "SOLID", "valid UAUC", "test UAUC",
              *(f"Δ test {m} vs DSR [95% CI] (p seeds / users)" for m in DELTA_METRICS),
              "branch inside ±T (init → kept)", "branch sd across users (×T)",
              "codes used / K", "code perplexity", "items whose code changed"]
    diag_names = ("branch_inside_T", "branch_user_sd", "codes_used", "code_perplexity",
                  "codes_changed")
    csv_header = ["dsr", "setting", "n_seeds", "valid_UAUC", "valid_UAUC_sd", "UAUC", "UAUC_sd",
                  *(f"{m}_{k}" for m in DELTA_METRICS
                    for k in ("delta", "delta_low", "delta_high", "p_seeds", "p_users", "sig")),
                  "branch_inside_T_init", *(f"{n}_kept" for n in diag_names), "codes"]
    rows, csv_rows = [], []
    labels = {f"mech-{tag}": label for tag, label, _ in MECHANICS}
    for dsr in params.solid_dsrs:
        base_run = RunId(s.dataset, s.backbone, dsr, "base")
        base = _read(metrics_root, [base_run], seeds, missing).get(base_run)
        planned = mechanics(params, "scl")
        planned = [p for p in planned if p.run.dsr == dsr]
        found = _read(study_root, [p.run for p in planned], seeds, missing)
        ours = RunId(s.dataset, s.backbone, dsr, "scl")
        table1_solid = _read(metrics_root, [ours], seeds, missing).get(ours)
        entries = [(f"{dsr_name(dsr)} alone (Table 1)", base, None)]
        entries += [(labels[p.run.tag], found.get(p.run), p.run) for p in planned]
        entries.append(("Table 1's SOLID: paper-literal at params.yaml's K", table1_solid, ours))
        for label, results, run in entries:
            if not results:
                rows.append([dsr_name(dsr), label, *["not run"] * (len(header) - 2)])
                csv_rows.append([dsr, label, 0, *[None] * (len(csv_header) - 3)])
                continue
            valid = [r.valid["UAUC"] for r in results if r.valid]
            test = [r.test["UAUC"] for r in results]
            cells = [_cell(valid) if valid else "-", _cell(test)]
            deltas, csv_deltas = [], []
            for m in DELTA_METRICS:
                if run is None or not base:
                    deltas.append("")
                    csv_deltas += [None] * 6
                    continue
                pr = pair(results, base, m, users, cfg.user_test)
                sign = pr.significant(cfg.alpha, cfg.rule)
                deltas.append(_delta(pr, sign))
                csv_deltas += [pr.diff, pr.ci[0], pr.ci[1], pr.p_seeds, pr.p_users, sign]
            diag = {n: _diag(results, "kept", n) for n in diag_names}
            init = _diag(results, "init", "branch_inside_T")
            k = _diag(results, "kept", "codes")
            inside = "-" if diag["branch_inside_T"] is None else (
                f"{_pct(init)} → {_pct(diag['branch_inside_T'])}")
            rows.append([dsr_name(dsr), label, *cells, *deltas, inside,
                         "-" if diag["branch_user_sd"] is None else f"{diag['branch_user_sd']:.3f}",
                         "-" if diag["codes_used"] is None else f"{diag['codes_used']:.0f} / {k:.0f}",
                         "-" if diag["code_perplexity"] is None else f"{diag['code_perplexity']:.0f}",
                         _pct(diag["codes_changed"])])
            csv_rows.append([dsr, label, len(results), *(_mean_sd(valid) if valid else (None, None)),
                             *_mean_sd(test), *csv_deltas, init,
                             *(diag[n] for n in diag_names), k])
    notes = [(f"{dataset_name(s.dataset)}, {backbone_name(s.backbone)}; mean ± sd over training "
             f"seeds {', '.join(map(str, seeds))}; each SOLID row adds its fix to the row above. "
             "Δ: mean over seeds of SOLID − DSR alone on test, 95% t-interval, p of the paired "
             f"t-test over seeds / of the paired {cfg.user_test} over users (uncorrected); † / ‡: "
             f"significantly above / below (α = {cfg.alpha}, rule: {cfg.rule}). Diagnostics at "
             "the kept epoch, mean over seeds (solidcli/diagnostics.py).")]
    return Grid("Mechanics: SOLID as written, then each fix", header, rows,
                csv_header, csv_rows, notes, missing)


def _buckets(values: np.ndarray, n: int = BUCKETS) -> list[tuple[str, np.ndarray]]:
    """Quantile buckets of `values` (ties keep together, so there may be fewer than n):
    (label, boolean mask) each."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, n + 1)))
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        mask = (values >= lo) & ((values <= hi) if last else (values < hi))
        if mask.any():
            shown = f"{values[mask].min():g}-{values[mask].max():g}"
            out.append((shown, mask))
    return out


def read_test_users(metrics_root: Path, dataset: str):
    """The test users' target popularity and history length (`solid evaluate --all`)."""
    import pandas as pd

    path = test_users_file(dataset, metrics_root)
    if not path.is_file():
        raise SolidError(f"missing {path}; run `solid evaluate --dataset {dataset} --all`")
    try:
        frame = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise SolidError(f"corrupt {path}; rebuild it with `solid evaluate --dataset "
                         f"{dataset} --all`") from None
    need = ("user", *SPLITS_BY.values())
    rebuild = f"rebuild it with `solid evaluate --dataset {dataset} --all`"
    if any(c not in frame.columns for c in need):
        raise SolidError(f"{path} lacks a column of {', '.join(need)}; {rebuild}")
    for column in need:  # whole columns: integers, no nulls, none negative (users >= 1)
        values = frame[column]
        if not pd.api.types.is_integer_dtype(values) or values.isna().any():
            raise SolidError(f"{path}: column '{column}' does not hold whole numbers in every "
                             f"row; {rebuild}")
        if len(values) and values.min() < (1 if column == "user" else 0):
            raise SolidError(f"{path}: column '{column}' holds {values.min()}; {rebuild}")
    if frame["user"].duplicated().any():
        raise SolidError(f"{path}: a user appears twice; {rebuild}")
    return frame


@dataclass(frozen=True)
class BucketPair:
    """SOLID against its DSR on one bucket of test users, on one metric."""

    dataset: str
    backbone: str
    dsr: str
    split_by: str  # popularity | length
    bucket: int  # 0 = the least popular target / the shortest history
    label: str  # the bucket's range
    users: int
    solid: float  # mean over seeds of the bucket's mean
    base: float
    pair: Paired
    seed_diff: np.ndarray  # (S,) SOLID - DSR, each seed's bucket mean
    user_diff: np.ndarray  # (U_bucket,) SOLID - DSR, each user's seed mean


def _user_values(results: list[Result], users: PerUser, column: str, order: np.ndarray
                 ) -> np.ndarray:
    """Every seed's per-user values (S, U) of `column`, users in `order`."""
    rows = []
    for r in results:
        frame = users.of(r)
        if frame is None:
            raise SolidError(f"{PerUser.path(r)} missing; rebuild it with `solid evaluate "
                             f"--dataset {r.run.dataset} --all`")
        if not np.array_equal(frame["user"], order):
            raise SolidError(f"{PerUser.path(r)} holds other test users than "
                             "test_users.parquet; rebuild both with `solid evaluate --all`")
        rows.append(frame[column])
    return np.stack(rows)


def breakdown_pairs(params: Params, metrics_root: Path, metrics: tuple[str, ...] = DELTA_METRICS
                    ) -> tuple[list[tuple[str, BucketPair]], list[RunId]]:
    """(metric, BucketPair) for every Table 1 SOLID model vs its DSR alone, every bucket of
    each split, every metric; and the seeded runs without metrics."""
    seeds, cfg, users, missing, out = list(params.seeds), params.stats, PerUser(), [], []
    for dataset in params.datasets:
        planned = [p.run for p in table1(params, dataset)]
        solid = [r for r in planned if r.variant == "scl"]
        if not solid:
            continue
        found = _read(metrics_root, planned, seeds, missing)
        frame = read_test_users(metrics_root, dataset)
        order = frame["user"].to_numpy()
        splits = {by: _buckets(frame[column].to_numpy()) for by, column in SPLITS_BY.items()}
        for run in solid:
            base = RunId(dataset, run.backbone, run.dsr, "base")
            if not found.get(run) or not found.get(base):
                continue
            pairs = shared_seeds(found[run], found[base])
            values = {m: [_user_values([x[side] for x in pairs], users, PER_USER_OF[m], order)
                          for side in (0, 1)] for m in metrics}  # (S, U) each: SOLID, DSR
            for split_by, buckets in splits.items():
                for i, (label, mask) in enumerate(buckets):
                    for m in metrics:
                        # row-major, as each seed's bucket: the sums run in the same order
                        ua, ub = (np.ascontiguousarray(v[:, mask]) for v in values[m])
                        sa, sb = ua.mean(axis=1), ub.mean(axis=1)  # finite: PerUser
                        pr = compare(m, sa, sb, ua, ub, cfg.user_test)
                        ud = ua.mean(axis=0) - ub.mean(axis=0)
                        out.append((m, BucketPair(dataset, run.backbone, run.dsr, split_by, i,
                                                  label, int(mask.sum()), float(sa.mean()),
                                                  float(sb.mean()), pr, sa - sb, ud)))
    return out, missing


def breakdown_table(params: Params, metrics_root: Path) -> Grid:
    """DSR vs SOLID per bucket of target popularity and of history length (docstring)."""
    pairs, missing = breakdown_pairs(params, metrics_root)
    if not pairs:
        raise SolidError(f"no Table 1 SOLID model and DSR with metrics under {metrics_root}; "
                         "run the pipeline first (`dvc repro`)")
    cfg = params.stats
    header = ["dataset", "SR model", "DSR", "split", "bucket", "users",
              *(f"{m}: DSR → SOLID, Δ (p seeds / users)" for m in DELTA_METRICS)]
    grouped: dict[tuple, dict[str, BucketPair]] = {}
    for m, bp in pairs:
        grouped.setdefault((bp.dataset, bp.backbone, bp.dsr, bp.split_by, bp.bucket), {})[m] = bp
    rows, csv_rows = [], []
    for by_metric in grouped.values():
        first = next(iter(by_metric.values()))
        what = "target popularity" if first.split_by == "popularity" else "history length"
        cells, values = [], []
        for m in DELTA_METRICS:
            bp = by_metric[m]
            sign = bp.pair.significant(cfg.alpha, cfg.rule)
            mark = MARK_SYMBOLS.get(sign, "")
            cells.append(f"{bp.base:.4f} → {bp.solid:.4f}, {bp.pair.diff:+.4f}{mark} "
                         f"({p_value(bp.pair.p_seeds)} / {p_value(bp.pair.p_users)})")
            values += [bp.base, bp.solid, bp.pair.diff, bp.pair.p_seeds, bp.pair.p_users, sign]
        rows.append([dataset_name(first.dataset), backbone_name(first.backbone),
                     dsr_name(first.dsr), what, f"Q{first.bucket + 1} ({first.label})",
                     str(first.users), *cells])
        csv_rows.append([first.dataset, first.backbone, first.dsr, first.split_by,
                         first.bucket + 1, first.label, first.users, *values])
    csv_header = ["dataset", "sr_model", "dsr_model", "split", "bucket", "range", "users",
                  *(f"{m}_{k}" for m in DELTA_METRICS
                    for k in ("dsr", "solid", "delta", "p_seeds", "p_users", "sig"))]
    seeds = ", ".join(map(str, params.seeds))
    notes = [(f"Test users split into quintiles (ties kept together) of the target item's "
             "training popularity (its interactions before each user's valid item) and of the "
             "history's length. SOLID = Table 1's Ours row, DSR = the same SR model's APG / "
             f"DUET alone; means over training seeds {seeds}; Δ = SOLID − DSR; p of the paired "
             f"t-test over seeds / of the paired {cfg.user_test} over the bucket's users "
             f"(uncorrected; the claims report applies Holm); † / ‡: α = {cfg.alpha}, rule "
             f"{cfg.rule}.")]
    return Grid("Breakdown: DSR vs SOLID by target popularity and history length", header,
                rows, csv_header, csv_rows, notes, missing)


def k_selection(params: Params) -> tuple[dict, dict[str, list[Result]], list[RunId]]:
    """The K study's choice: the setting (k-means K, or category) whose SML has the best mean
    valid UAUC over the seeds (test is never read to choose); every setting's results; the
    seeded runs without metrics."""
    from solidcli.grid import k_settings, k_study

    root, missing = study_roots("k")[0], []
    planned = k_study(params)
    found = _read(root, [p.run for p in planned], list(params.seeds), missing)
    by_setting = {p.by_k: found[p.run] for p in planned if p.run in found}
    if not by_setting:
        raise SolidError(f"no K-study metrics under {root}; run `dvc repro "
                         "studies/dvc.yaml:k-table` (or `make select-k`)")
    valid = {s: statistics.fmean(r.valid["UAUC"] for r in results)
             for s, results in by_setting.items()}
    best = max(valid, key=lambda s: (valid[s], s))
    sets = dict(k_settings(params))[best]
    method = next(x.split("=")[1] for x in sets if ".method=" in x)
    choice = {"dataset": params.study.dataset, "setting": best, "method": method,
              "k": int(by_setting[best][0].k) if by_setting[best][0].k else None,
              "selected_on": "valid UAUC, mean over seeds",
              "seeds": list(params.seeds),
              "model": f"{params.study.backbone} + {params.study.dsr}, SML",
              "valid_UAUC": {s: round(v, 6) for s, v in valid.items()},
              "complete": not missing}
    return choice, by_setting, missing


def k_table(params: Params, metrics_root: Path) -> tuple[Grid, dict]:
    """Valid and test UAUC (and NDCG@10) of the study model's SML against K."""
    choice, by_setting, missing = k_selection(params)
    header = ["setting", "K", "valid UAUC", "test UAUC", "valid NDCG@10", "test NDCG@10",
              "chosen"]
    rows, csv_rows = [], []
    for setting, results in by_setting.items():
        k = results[0].k
        values = [[getattr(r, split)[m] for r in results]
                  for m in ("UAUC", "NDCG@10") for split in ("valid", "test")]
        chosen = setting == choice["setting"]
        rows.append([setting, "-" if k is None else f"{k:.0f}", *(_cell(v) for v in values),
                     "✓" if chosen else ""])
        csv_rows.append([setting, k, len(results),
                         *(x for v in values for x in _mean_sd(v)), int(chosen)])
    csv_header = ["setting", "K", "n_seeds", *(f"{m}{sd}" for m in (
        "valid_UAUC", "UAUC", "valid_NDCG@10", "NDCG@10") for sd in ("", "_sd")), "chosen"]
    s = params.study
    notes = [(f"{dataset_name(s.dataset)}, {backbone_name(s.backbone)} + {dsr_name(s.dsr)}, "
              f"SML with params.yaml's SOLID settings; mean ± sd over training seeds "
              f"{', '.join(map(str, params.seeds))}. Chosen: the best mean valid UAUC "
              f"({choice['setting']}); test is shown, never used to choose.")]
    return Grid("K and the semantics method, chosen on valid", header, rows,
                csv_header, csv_rows, notes, missing), choice
