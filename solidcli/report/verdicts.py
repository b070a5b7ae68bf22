"""The claims tested: every `Claim` on every metric against each rival (`Row`), the p-values
corrected within each claim (`stats.correction`), the verdicts under both tests
(`CLAIM_TESTS`), and each claim's effect against the paper's and its power (`power_of`):

* **supported** - significantly above (below) every rival, under the `stats.rule` tests;
* **contradicted** - significantly on the wrong side of at least one rival;
* **inconclusive** - neither.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.layout import RunId
from solidcli.metrics import FULL_METRIC_NAMES, METRIC_NAMES
from solidcli.pairing import PerUser, pair
from solidcli.report.claims import Claim, claims, family_kind
from solidcli.report.model import Cell
from solidcli.results import Result, read_results
from solidcli.stats import (
    MAGNITUDES,
    Paired,
    check_correction,
    claim_verdict,
    correct,
    magnitude,
    min_detectable,
    seeds_needed,
    standard_error,
    verdict,
)

VERDICTS = ("supported", "contradicted", "inconclusive")
# the claims report's test: mixed, the one test over seeds and users
# (`solidcli.stats.mixed_test`), or today's rule, seed-and-user (stats.rule's tests, Holm
# over every claim)
CLAIM_TESTS = ("mixed", "seed-and-user")
POWER = 0.8  # the power of the minimum detectable effect and of the seeds needed


@dataclass
class Row:
    """One claim on one metric, tested."""

    claim: Claim
    metric: str
    pairs: list[Paired] = field(default_factory=list)  # a vs each rival, corrected
    raw: list[Paired] = field(default_factory=list)  # uncorrected
    ours_a: float | None = None
    ours_rivals: list[float] = field(default_factory=list)
    verdict: str = "not run"
    verdict_uncorrected: str = "not run"
    missing: list[str] = field(default_factory=list)
    verdict_other: str = "not run"  # under the other test of CLAIM_TESTS
    kind: str = "sampled"  # the metrics: sampled or full (the paper printed only sampled)
    level: float = math.nan  # each comparison's level: alpha, or alpha / m under Holm

    @property
    def paper_diff(self) -> float | None:
        """The paper's a - hardest rival (None: not printed, or full-ranking metrics)."""
        if self.kind == "full" or self.missing:
            return None
        a = self.claim.a.paper.get(self.metric)
        b = self.claim.rivals[self.hardest].paper.get(self.metric)
        return None if a is None or b is None else a - b

    @property
    def reading(self) -> str:
        """Our CI against the paper's difference (`solidcli.stats.magnitude`)."""
        if self.missing:
            return ""
        return magnitude(self.raw[self.hardest].mixed_ci, self.paper_diff,
                         self.claim.direction)

    def _se(self) -> tuple[float, float]:
        p = self.raw[self.hardest]
        return standard_error(p.components, p.n_seeds, p.n_users)

    @cached_property
    def mde(self) -> float:
        """The smallest difference the hardest comparison detects with 80% power at its
        level, from its observed variance components, seeds and users."""
        if self.missing or any(math.isnan(c) for c in self.raw[self.hardest].components):
            return math.nan
        return min_detectable(*self._se(), self.level, POWER)

    @cached_property
    def seeds_for_paper(self) -> int | None:
        """The seeds at which the hardest comparison detects the paper's difference with 80%
        power (None: no paper difference in the claimed direction, or more than 100)."""
        d = self.paper_diff
        if d is None:
            return None
        p = self.raw[self.hardest]
        return seeds_needed(self.claim.direction * d, p.components, p.n_users, self.level,
                            POWER)

    @property
    def hardest(self) -> int:
        """Index of the rival closest to (or beyond) a in the claimed direction."""
        return min(range(len(self.pairs)),
                   key=lambda i: self.claim.direction * self.pairs[i].diff)

    @property
    def paper_agrees(self) -> bool | None:
        """Whether the paper's own numbers go the claimed way against every rival."""
        a = self.claim.a.paper.get(self.metric)
        rivals = [r.paper.get(self.metric) for r in self.claim.rivals]
        if a is None or any(v is None for v in rivals):
            return None
        return all(self.claim.direction * (a - v) > 0 for v in rivals)



@dataclass
class Report:
    rows: list[Row]
    params: Params
    correction: str
    seeds: tuple[int, ...]
    protocols: tuple[str, ...]
    kind: str = "sampled"
    test: str = "mixed"  # CLAIM_TESTS

    def counts(self, uncorrected: bool = False, key: str = "verdict") -> dict[str, int]:
        key = "verdict_uncorrected" if uncorrected else key
        return {v: sum(1 for r in self.rows if getattr(r, key) == v)
                for v in (*VERDICTS, "not run")}

    def families(self) -> list[str]:
        return list(dict.fromkeys(r.claim.family for r in self.rows))

    def claim(self, family: str, key: str = "verdict") -> tuple[str, list[Row]]:
        """One claim's verdict (`solidcli.stats.claim_verdict` over its comparisons; `key`
        verdict_other: under the other test) and the comparisons that keep it from being
        supported (those against it first)."""
        rows = [r for r in self.rows if r.claim.family == family]
        kind = family_kind(family)
        got = claim_verdict([getattr(r, key) for r in rows], kind)
        if got == "supported" or (kind == "any" and got == "inconclusive"):
            return got, []
        order = {"contradicted": 0, "inconclusive": 1, "not run": 2}
        return got, sorted((r for r in rows if getattr(r, key) != "supported"),
                           key=lambda r: order[getattr(r, key)])

    def changed(self) -> list[Row]:
        """The tested rows whose verdict differs between the two tests."""
        return [r for r in self.rows if r.verdict in VERDICTS and r.verdict != r.verdict_other]

    def find(self, claim_id: str, metric: str) -> Row | None:
        return next((r for r in self.rows if r.claim.id == claim_id and r.metric == metric),
                    None)


def metrics_of(claim: Claim, kind: str) -> tuple[str, ...]:
    """The metrics a claim is tested on: its own (sampled), or the full-ranking ones among
    them, with MRR where the claim covers every metric."""
    if kind == "sampled":
        return claim.metrics
    return tuple(m for m in FULL_METRIC_NAMES
                 if m in claim.metrics or (m == "MRR" and claim.metrics == METRIC_NAMES))


def _cells(results: dict[RunId, list[Result]], kind: str) -> tuple[dict[RunId, Cell], str]:
    """Cells of `kind`; a configuration evaluated before full ranking existed is left out,
    with the reason."""
    cells, why = {}, ""
    for run, found in results.items():
        try:
            cells[run] = Cell.of(found, kind)
        except SolidError as e:
            why = str(e)
    return cells, why


def check_test(test: str) -> str:
    """`test` if it is one of CLAIM_TESTS, else a SolidError naming them."""
    if test not in CLAIM_TESTS:
        raise SolidError(f"unknown claims test '{test}' (choose from {', '.join(CLAIM_TESTS)})")
    return test


def evaluate_claims(params: Params, metrics_root: Path, correction: str | None = None,
                    kinds: tuple[str, ...] = ("sampled",), test: str = "mixed") -> list[Report]:
    """Test every claim on the metrics under `metrics_root` (all of `params.seeds`): one
    Report per metric kind, from one reading of the metrics and per-user files; `test`:
    CLAIM_TESTS (each row also carries the other test's verdict)."""
    correction = check_correction(params.stats.correction if correction is None else correction)
    check_test(test)
    found = claims(params)
    if not found:
        raise SolidError("no claim to test: params.yaml defines none of the runs the paper's "
                         "claims compare")
    planned = {s.planned.run: s.planned for c in found for s in (c.a, *c.rivals)
               if s.planned is not None}
    results, _ = read_results(Path(metrics_root), list(planned), list(params.seeds))
    users = PerUser()
    return [_report(params, found, results, users, correction, kind, test) for kind in kinds]


def _report(params: Params, found: list[Claim], results: dict[RunId, list[Result]],
            users: PerUser, correction: str, kind: str, test: str = "mixed") -> Report:
    """The claims `found`, tested on the `kind` metrics of `results`."""
    cfg, seeds = params.stats, tuple(params.seeds)
    cells, why = _cells(results, kind)
    rows: list[Row] = []
    families: dict[str, list[Row]] = {}  # the Holm families: one paper sentence each
    for c in found:
        sides: list[Cell | None] = [None if s.planned is None else cells.get(s.planned.run)
                                    for s in (c.a, *c.rivals)]
        missing = [c.absent] if c.absent else [
            f"train with `{s.planned.command}`" if s.planned.run not in results else why
            for s, cell in zip((c.a, *c.rivals), sides, strict=True) if cell is None]
        for m in metrics_of(c, kind):
            row = Row(c, m, missing=missing, kind=kind)
            rows.append(row)
            if missing:
                continue
            a, rivals = sides[0], sides[1:]
            row.ours_a, row.ours_rivals = a.mean[m], [r.mean[m] for r in rivals]
            row.raw = [pair(a.results, r.results, m, users, cfg.user_test, kind)
                       for r in rivals]
            families.setdefault(c.family, []).append(row)
    for members in families.values():
        adjusted = iter(correct([p for row in members for p in row.raw], correction))
        for row in members:
            row.pairs = [next(adjusted) for _ in row.raw]
    for row in rows:
        if row.missing:
            continue
        d, fam = row.claim.direction, row.claim.family
        # the one test: an "every" claim's comparisons each at alpha (intersection-union),
        # a "best" / "at least one" claim's Holm-corrected over the claim
        held = row.raw if family_kind(fam) == "all" else row.pairs
        size = sum(len(r.raw) for r in families[fam])
        row.level = (cfg.alpha if family_kind(fam) == "all" or correction == "none"
                     else cfg.alpha / size)
        new = verdict([p.significant(cfg.alpha, "mixed") for p in held], d)
        old = verdict([p.significant(cfg.alpha, cfg.rule) for p in row.pairs], d)
        row.verdict, row.verdict_other = (new, old) if test == "mixed" else (old, new)
        rule = "mixed" if test == "mixed" else cfg.rule
        row.verdict_uncorrected = verdict([p.significant(cfg.alpha, rule) for p in row.raw], d)
    protocols = tuple(sorted({p for c in cells.values() for r in c.results
                              if (p := r.protocol_of(kind))}))
    return Report(rows, params, correction, seeds, protocols, kind, test)


def differing(sampled: Report, full: Report) -> list[tuple[Row, Row]]:
    """(sampled, full) rows of the same claim and metric whose verdicts differ (both tested)."""
    return [(r, f) for r in sampled.rows
            if (f := full.find(r.claim.id, r.metric)) is not None and differs(r, f)]


def differs(a: Row, b: Row) -> bool:
    """Whether two tested rows reach different verdicts ("not run" differs from nothing)."""
    return a.verdict in VERDICTS and b.verdict in VERDICTS and a.verdict != b.verdict



def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan



@dataclass
class Power:
    """One claim's effect against the paper's and its power (sampled metrics)."""

    family: str
    paper: float  # the paper's median difference, in the claimed direction
    ours: float  # our median difference, in the claimed direction
    readings: dict[str, int]
    mde: list[float]
    seeds: list[int | None]  # per comparison with a paper difference in the claimed direction

    @property
    def seeds_median(self) -> float:
        vals = [math.inf if n is None else n for n in self.seeds]
        return statistics.median_low(vals) if vals else math.nan


def power_of(report: Report) -> list[Power]:
    """Each claim's Power over its tested rows (the hardest rival of each claim x metric)."""
    out = []
    for family in report.families():
        rows = [r for r in report.rows if r.claim.family == family and not r.missing]
        if not rows:
            continue
        papers = [r.claim.direction * d for r in rows if (d := r.paper_diff) is not None]
        readings = {m: sum(1 for r in rows if r.reading == m) for m in MAGNITUDES}
        out.append(Power(
            family, median(papers),
            median([r.claim.direction * r.raw[r.hardest].diff for r in rows]),
            readings, [r.mde for r in rows if not math.isnan(r.mde)],
            [r.seeds_for_paper for r in rows
             if (d := r.paper_diff) is not None and r.claim.direction * d > 0]))
    return out


