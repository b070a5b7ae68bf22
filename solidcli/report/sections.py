"""Sections B and C of the claims report as one-sided tests (`TestedRow`): B, the paper's
mechanism (SOLID gains most where interactions are sparse) on the breakdown's buckets; C, SOLID
against the best baseline trained either way: per SR model trained more than one
way (BCE; softmax cross-entropy, `protocols/ce`; DIN's sampled one, `protocols/ce-din`; SASRec's
on the standard encoder, `protocols/ce-standard`) and per DSR, Ours (DSR) under the training
with the highest mean valid UAUC against the best of "-", APG and DUET under any of them by
mean valid UAUC; the test metrics then decide, Holm over the section."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solidcli.config import Params
from solidcli.grid import TABLE1_LABELS, table1
from solidcli.metrics import METRIC_NAMES
from solidcli.pairing import PerUser, pair
from solidcli.report.model import Cell
from solidcli.report.references import Reference, found_in
from solidcli.report.studies import breakdown_pairs
from solidcli.results import Result, backbone_name, dsr_name, read_results
from solidcli.stats import Paired, correct, gap_test, verdict

MECHANISM = {  # family -> the paper's account, as this test reads it
    "B.sparse-gain": ("SOLID helps where interactions are sparse (Sec. 1: the DSR's item "
                      "representations are inaccurate for sparse interactions): it beats its DSR "
                      "on the test users whose target item is rarest in training (popularity Q1)"),
    "B.sparse-more": ("... and gains more there than on the most popular targets: "
                      "Δ(popularity Q1) > Δ(popularity Q5)"),
}


@dataclass
class TestedRow:
    """One one-sided claim (a above b) for one metric, tested: a mechanism claim of section B
    or a best-baseline claim of section C (`claims`)."""

    id: str
    family: str
    metric: str
    detail: str  # the compared quantities, in words (section C: a's label)
    raw: Paired
    a_value: float | None = None  # SOLID's and the DSR's bucket means (B.sparse-gain)
    b_value: float | None = None
    pair: Paired | None = None  # corrected within the family
    verdict: str = "inconclusive"
    verdict_uncorrected: str = "inconclusive"
    rival: str = ""  # section C: b's label (CSV column `rival`)


def judge_rows(rows: list[TestedRow], cfg, correction: str) -> list[TestedRow]:
    """Correct each family's p-values together (`correction`) and give every row its verdicts
    (`cfg`: params.yaml `stats`)."""
    for family in dict.fromkeys(r.family for r in rows):
        members = [r for r in rows if r.family == family]
        for r, adjusted in zip(members, correct([r.raw for r in members], correction),
                               strict=True):
            r.pair = adjusted
            r.verdict = verdict([adjusted.significant(cfg.alpha, cfg.rule)], 1)
            r.verdict_uncorrected = verdict([r.raw.significant(cfg.alpha, cfg.rule)], 1)
    return rows


def mechanism_claims(params: Params, metrics_root: Path, correction: str
                     ) -> list[TestedRow]:
    """Section B of the claims report: the breakdown's buckets as the paper's mechanism,
    Holm-corrected within each family (per kind of test) when `correction` says so."""
    pairs, _ = breakdown_pairs(params, metrics_root)
    cfg = params.stats
    pop = {}
    for m, bp in pairs:
        if bp.split_by == "popularity":
            pop.setdefault((bp.dataset, bp.backbone, bp.dsr, m), []).append(bp)
    rows = []
    for (dataset, backbone, dsr, m), buckets in pop.items():
        low, high = buckets[0], buckets[-1]
        name = f"{dataset}.{backbone}.ours-{dsr}"
        who = f"{backbone_name(backbone)} + Ours ({dsr_name(dsr)}) vs {dsr_name(dsr)}"
        rows.append(TestedRow(f"B.{name}.sparse", "B.sparse-gain", m,
                                 f"{who}, popularity Q1 ({low.label}, {low.users} users)",
                                 low.pair, low.solid, low.base))
        rows.append(TestedRow(f"B.{name}.sparse-more", "B.sparse-more", m,
                                 f"{who}, Δ Q1 ({low.label}) − Δ Q5 ({high.label})",
                                 gap_test(m, low.seed_diff, high.seed_diff, low.user_diff,
                                          high.user_diff, cfg.user_test)))
    return judge_rows(rows, cfg, correction)


EITHER_FAMILY = "C.best-baseline"
EITHER_WORDS = ("SOLID beats the best baseline trained either way (the paper's BCE or softmax "
                "cross-entropy, and for SASRec the standard encoder too; each side's training "
                "and the baseline chosen on valid)")


def _valid_uauc(results: list[Result]) -> float:
    """The mean valid UAUC over seeds (selection), or -inf without valid metrics."""
    return statistics.fmean(r.valid["UAUC"] for r in results) if all(
        r.valid for r in results) else -math.inf


def _sides(complete: list, backbone: str, variant: str, dsr: str | None = None) -> list:
    """The (objective, run, results) of `complete` with this backbone, variant (and dsr)."""
    return [(obj, run, res) for obj, run, res in complete if run.backbone == backbone
            and run.variant == variant and (dsr is None or run.dsr == dsr)]


def best_baseline_claims(params: Params, metrics_root: Path, references: Sequence[Reference],
                         correction: str) -> list[TestedRow]:
    """Section C's rows (none when none of `references` exists): per dataset, SR model
    trained more than one way, SOLID's DSR and metric."""
    sources = [("bce", metrics_root)] + [(r.tag, r.root) for r in found_in(references)]
    if len(sources) == 1:
        return []
    seeds, users, rows = list(params.seeds), PerUser(), []
    for dataset in params.datasets:
        runs = [p.run for p in table1(params, dataset)]
        complete = [(obj, run, res) for obj, root in sources
                    for run, res in read_results(root, runs, seeds)[0].items()
                    if len(res) == len(seeds)]
        for backbone in params.backbones:
            baselines = _sides(complete, backbone, "base")
            if not any(obj != "bce" for obj, _, _ in baselines):
                continue  # this SR model is not trained under a cross-entropy
            b = max(baselines, key=lambda s: _valid_uauc(s[2]))
            for dsr in params.solid_dsrs:
                solids = _sides(complete, backbone, "scl", dsr)
                if not solids:
                    continue
                a = max(solids, key=lambda s: _valid_uauc(s[2]))
                means = [Cell.of(side[2]).mean for side in (a, b)]
                for m in METRIC_NAMES:
                    rows.append(TestedRow(
                        f"C.{dataset}.{backbone}.ours-{dsr}>best", EITHER_FAMILY, m,
                        _either_label(a), pair(a[2], b[2], m, users, params.stats.user_test,
                                               "sampled"),
                        means[0][m], means[1][m], rival=_either_label(b)))
    return judge_rows(rows, params.stats, correction)


def _either_label(side: tuple) -> str:
    """`SASRec Ours (DUET) [bce]`: a side of section C, with the objective it trained with."""
    obj, run, _ = side
    return f"{backbone_name(run.backbone)} {TABLE1_LABELS[(run.dsr, run.variant)]} [{obj}]"

