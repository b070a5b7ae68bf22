"""`solid claims`: every claim of the paper's experiments tested on our runs, with a verdict.

Each claim is a sentence of the paper (Sec. 4.2-4.4) made testable: configuration a is above
(or, for "T = 1 collapses", below) one or more rivals, on each of the six test metrics. For
every claim and metric the report gives the paper's own numbers (and whether they go the
claimed way), ours (mean over the training seeds), the paired difference from the hardest
rival with its 95% CI over seeds, the p-values over seeds and over users (`solidcli.stats`,
`solidcli.pairing`), and a verdict:

* **supported** - significantly above (below) every rival, under the `stats.rule` tests;
* **contradicted** - significantly on the wrong side of at least one rival;
* **inconclusive** - neither.

The p-values are Holm-corrected within each claim (the comparisons one sentence of the paper
makes: e.g. "Ours beats APG and DUET for every SR model and metric" is one family of 48), per
kind of test (`stats.correction`; `--correction none` turns it off). The report also counts
the verdicts without correction. The claims and their words:

* Table 1 (each dataset of `datasets`): Ours (APG) > APG and Ours (DUET) > DUET for each SR
  model ("our proposed methods significantly outperform both APG and DUET"); APG > "-" and
  DUET > "-" ("the '-' option consistently performs worse than using a DSR model").
* Table 2 (the study model): the full method beats each other row ("the model performs best
  when all three modules are used"); SPG + SML > SPG (SML adds to SPG, which the method
  implies and the paper's own Table 2 does not show); SCL alone > SPG alone ("SCL has the
  greatest impact on performance").
* Table 3: Text > Image > ID; ID + Text > Image + Text > ID + Image; ID + Text > all three
  ("the fusion of three modalities is not necessarily the best option").
* Table 4: lambda = 0.1 is best (at T = `solid.T`); Table 5: T = 0.01 is best and T = 1 is
  below every other T (at lambda = `solid.lambda`); Figure 5: (lambda 0.1, T 0.01) is the best
  cell of the grid on UAUC, NDCG@10 and Recall@10.

Section C (issue 12) asks what a referee asks of Table 1: does SOLID beat the best baseline
trained either way, the paper's BCE or softmax cross-entropy (over every item, `protocols/ce`;
DIN's over the positive and 100 sampled negatives, `protocols/ce-din`; SASRec's also on the
standard encoder, `protocols/ce-standard`; the same seeds, data and candidates)? Per SR model
trained more than one way and per DSR, SOLID is Ours (DSR) under the training with the highest
mean valid UAUC, the baseline is the best of "-", APG and DUET under any of them by mean valid
UAUC; the test metrics then decide, with the same tests, Holm over the section.

The paper ran Tables 2-5 on Arts with SASRec + DUET; each such row says so and is tested on
the study model we ran (`study`). A claim whose runs the params do not define (a lambda, T or
modality set not in `study`), or whose runs are not evaluated, is listed as not run with the
reason, never guessed. Every number is a test-split
metric under the paper's sampled protocol (1 positive + 99 negatives) of models selected on
valid.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from solidcli._io import staged_files
from solidcli.config import Params, modality_key
from solidcli.errors import SolidError
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, modality_sets, table1, table2
from solidcli.layout import RunId, claims_file
from solidcli.metrics import FULL_METRIC_NAMES, METRIC_NAMES
from solidcli.pairing import PerUser, pair
from solidcli.pipeline.study_tables import MECHANISM, MechanismRow, judge_rows, mechanism_claims
from solidcli.pipeline.table import (
    AUTHORS_METRICS,
    CE_GRID,
    PAPER_DSR,
    STANDARD,
    Cell,
    Reference,
    _p,
    _paper,
    _paper_row,
    ci_text,
    found_in,
    seeds_note,
)
from solidcli.results import Result, backbone_name, dataset_name, dsr_name, read_results
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

FIGURE5_METRICS = ("UAUC", "NDCG@10", "Recall@10")  # the figure's three panels
VERDICTS = ("supported", "contradicted", "inconclusive")
# a family's heading when its claims' own words differ (one per SR model / DSR)
FAMILY_WORDS = {"T1.ours>dsr": "our proposed methods significantly outperform both APG and DUET "
                               "(every SR model, every metric)",
                "T1.dsr>none": "the '-' option consistently performs worse than using a DSR "
                               "model"}
ARTS = "paper: Arts, SASRec + DUET"
# the claims report's test (issue 30): mixed, the one test over seeds and users
# (`solidcli.stats.mixed_test`), or today's rule, seed-and-user (stats.rule's tests, Holm
# over every claim)
CLAIM_TESTS = ("mixed", "seed-and-user")
# how each claim combines its comparisons (`solidcli.stats.claim_verdict`): all = "for every
# SR model and metric" (intersection-union, each comparison at alpha); best = "X is best"
# (Holm over the claim); any = "at least one" (Holm over the claim)
FAMILY_KIND = {"T1.ours>dsr": "all", "T1.dsr>none": "all", "T2.full-best": "best",
               "T2.sml-adds": "all", "T2.scl-greatest": "best", "T3.single": "all",
               "T3.pairs": "all", "T3.not-all-three": "any", "T4.lambda-best": "best",
               "T5.T-best": "best", "T5.T1-collapses": "all", "F5.grid-best": "best"}
KIND_WORDS = {"all": "every comparison (intersection-union test, each at α)",
              "best": "X is best (Holm over the claim)",
              "any": "at least one (Holm over the claim)"}
POWER = 0.8  # the power of the minimum detectable effect and of the seeds needed


def family_kind(family: str) -> str:
    """A claim's kind (FAMILY_KIND; `all` for a family not listed)."""
    return FAMILY_KIND.get(family, "all")


@dataclass(frozen=True)
class Side:
    """One configuration of a claim: the planned run, its label and the paper's numbers."""

    planned: Planned | None  # None: the params do not define this configuration
    label: str
    paper: dict[str, float | None]


@dataclass(frozen=True)
class Claim:
    id: str
    family: str  # the paper's sentence (the Holm family)
    words: str
    where: str
    a: Side
    rivals: tuple[Side, ...]
    direction: int = 1  # +1: a above every rival; -1: a below every rival
    metrics: tuple[str, ...] = METRIC_NAMES
    absent: str = ""  # why the claim cannot be tested with these params (a side not planned)


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


# ---- the claims ----------------------------------------------------------------------------

def _table1_side(planned: dict, paper: list, dataset: str, backbone: str, dsr: str,
                 variant: str) -> Side | None:
    p = planned.get((backbone, dsr, variant))
    if p is None:
        return None
    bb = backbone_name(backbone)
    label = TABLE1_LABELS[(dsr, variant)]
    return Side(p, f"{bb} {label}",
                _paper_row(paper, (dataset_name(dataset), bb, PAPER_DSR[(dsr, variant)])))


def _table1_claims(params: Params) -> list[Claim]:
    paper, out = _paper(1), []
    for dataset in params.datasets:
        planned = {(p.run.backbone, p.run.dsr, p.run.variant): p for p in table1(params, dataset)}
        where = f"Table 1, {dataset_name(dataset)}"
        for backbone in params.backbones:
            sides = {(dsr, v): _table1_side(planned, paper, dataset, backbone, dsr, v)
                     for dsr in params.dsrs for v in ("base", "scl")}
            for dsr in params.solid_dsrs:
                a, b = sides.get((dsr, "scl")), sides.get((dsr, "base"))
                if a and b:
                    out.append(Claim(f"T1.{dataset}.{backbone}.ours-{dsr}>{dsr}", "T1.ours>dsr",
                                     f"Ours ({dsr_name(dsr)}) significantly outperforms "
                                     f"{dsr_name(dsr)}", where, a, (b,)))
            for dsr in params.dsrs:
                a, b = sides[(dsr, "base")], sides.get(("none", "base"))
                if dsr != "none" and a and b:
                    out.append(Claim(f"T1.{dataset}.{backbone}.{dsr}>none", "T1.dsr>none",
                                     f"'-' performs worse than {dsr_name(dsr)}", where, a, (b,)))
    return out


def _study_where(params: Params, table: str) -> str:
    s = params.study
    return (f"{table} ({ARTS}; ours: {dataset_name(s.dataset)}, {backbone_name(s.backbone)} + "
            f"{dsr_name(s.dsr)})")


def _table2_claims(params: Params) -> list[Claim]:
    from solidcli.pipeline.table import TABLE2_ROWS

    paper, rows = _paper(2), table2(params)
    names = {"base": "DSR alone", "spg": "SPG", "sml": "SPG + SML", "scl_only": "SCL alone",
             "scl": "SPG + SML + SCL"}

    def side(variant: str) -> Side:
        bits = tuple(str(int(f)) for f in TABLE2_ROWS[variant])
        return Side(rows[variant], names[variant], _paper_row(paper, bits))

    where = _study_where(params, "Table 2")
    out = [Claim(f"T2.full>{v}", "T2.full-best", "the model performs best when all three "
                 "modules are used", where, side("scl"), (side(v),))
           for v in ("base", "spg", "sml", "scl_only")]
    out.append(Claim("T2.sml>spg", "T2.sml-adds", "SML adds to SPG (implied by the method; the "
                     "paper's Table 2 shows SPG + SML below SPG)", where, side("sml"),
                     (side("spg"),)))
    out.append(Claim("T2.scl_only>spg", "T2.scl-greatest", "of the single modules, SCL has the "
                     "greatest impact on performance", where, side("scl_only"), (side("spg"),)))
    return out


def _table3_claims(params: Params) -> list[Claim]:
    paper = _paper(3)
    sets = {p.modalities: p for p in modality_sets(params, "scl")}
    order = ("id", "image", "text")  # the paper's columns

    def side(text: str) -> Side:
        key = modality_key(text.split("+"))
        mods = key.split("+")
        bits = tuple(str(int(m in mods)) for m in order)
        label = " + ".join({"id": "ID", "image": "Image", "text": "Text"}[m]
                           for m in order if m in mods)
        return Side(sets.get(key), label, _paper_row(paper, bits))

    where = _study_where(params, "Table 3")
    pairs_words = "two modalities: ID + Text > Image + Text > ID + Image"
    specs = [("text", "image", "T3.single", "single modalities: Text > Image > ID"),
             ("image", "id", "T3.single", "single modalities: Text > Image > ID"),
             ("id+text", "image+text", "T3.pairs", pairs_words),
             ("image+text", "id+image", "T3.pairs", pairs_words),
             ("id+text", "id+image+text", "T3.not-all-three", ("fusing all three modalities is "
              "not necessarily best (the paper: ID + Text above all three)"))]
    out = []
    for a, b, family, words in specs:
        absent = [t for t in (a, b) if side(t).planned is None]
        out.append(Claim(f"T3.{a}>{b}", family, words, where, side(a), (side(b),),
                         absent=f"{' and '.join(absent)} not in study.modalities"
                         if absent else ""))
    return out


def _sweep_claims(params: Params) -> list[Claim]:
    grid = lambda_t_sweep(params)
    lam, T = params.solid.lam, params.solid.T

    def close(x: float | None, y: float) -> bool:
        return x is not None and math.isclose(x, y, rel_tol=1e-9)

    def side(p: Planned | None, number: int | None, value: float | None = None) -> Side:
        """A cell of Table 4 / 5 (the paper's row of that value) or of Figure 5 (no numbers
        in the paper's tables); `value` names a cell the params do not plan."""
        if number is None:
            return Side(p, "λ = 0.1, T = 0.01" if p is None else f"λ = {p.lam:g}, T = {p.T:g}",
                        dict.fromkeys(METRIC_NAMES))
        v = value if p is None else p.lam if number == 4 else p.T
        return Side(p, f"{'λ' if number == 4 else 'T'} = {v:g}", _paper_row(_paper(number), (v,)))

    def one(cid: str, family: str, words: str, where: str, cells: list[Planned],
            pick, number: int | None, value: float, axis: str, **kw) -> Claim:
        """a = the cell `pick` selects, rivals = the other cells; absent when either is."""
        chosen = [p for p in cells if pick(p)]
        a = side(chosen[0] if chosen else None, number, value)
        rivals = tuple(side(p, number) for p in cells if not pick(p))
        absent = ("" if chosen and rivals else f"{a.label} not in {axis}" if not chosen else
                  f"nothing to compare with in {axis}")
        return Claim(cid, family, words, _study_where(params, where), a,
                     rivals or (Side(None, "the others", dict.fromkeys(METRIC_NAMES)),),
                     absent=absent, **kw)

    lam_line = [p for p in grid if close(p.T, T)]
    t_line = [p for p in grid if close(p.lam, lam)]
    return [
        one("T4.lambda0.1-best", "T4.lambda-best", f"performance is optimal when λ = 0.1 (at "
            f"T = {T:g})", "Table 4", lam_line, lambda p: close(p.lam, 0.1), 4, 0.1,
            "study.lambdas"),
        one("T5.T0.01-best", "T5.T-best", "the optimal performance is achieved when T = 0.01 "
            f"(at λ = {lam:g})", "Table 5", t_line, lambda p: close(p.T, 0.01), 5, 0.01,
            "study.Ts"),
        one("T5.T1-collapses", "T5.T1-collapses", "T = 1 is far below every other T (paper: "
            "UAUC 0.7308 vs 0.78-0.79)", "Table 5", t_line, lambda p: close(p.T, 1.0), 5, 1.0,
            "study.Ts", direction=-1),
        one("F5.lambda0.1-T0.01-best", "F5.grid-best", "the best performance is achieved when "
            "λ = 0.1 and T = 0.01", "Figure 5", grid,
            lambda p: close(p.lam, 0.1) and close(p.T, 0.01), None, 0.0,
            "study.lambdas x study.Ts", metrics=FIGURE5_METRICS),
    ]


def claims(params: Params) -> list[Claim]:
    """Every testable claim the params' runs cover, in paper order."""
    out = _table1_claims(params)
    if params.study.dataset in params.datasets:
        out += _table2_claims(params) + _table3_claims(params) + _sweep_claims(params)
    return out


# ---- testing -------------------------------------------------------------------------------

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


# ---- rendering -----------------------------------------------------------------------------

def _f(v: float | None, fmt: str = ".4f") -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _paper_text(row: Row) -> str:
    a = row.claim.a.paper.get(row.metric)
    rivals = [r.paper.get(row.metric) for r in row.claim.rivals]
    if a is None or any(v is None for v in rivals):
        return "not in the paper"
    best = max(rivals) if row.claim.direction > 0 else min(rivals)
    agrees = "yes" if row.paper_agrees else "no"
    return f"{a:.4f} vs {best:.4f} ({agrees})"


def _tests_text(report: Report) -> str:
    from solidcli.pipeline.table import USER_TEST_NAMES

    cfg = report.params.stats
    if report.test == "mixed":
        corr = ("Holm-corrected within each claim" if report.correction == "holm"
                else "uncorrected")
        return (f"one test per comparison: the mean difference over seeds and users with a 95% "
                f"interval that accounts for retraining (seeds) and for the users sampled (a "
                f"crossed seed x user random-effects model, Satterthwaite degrees of freedom; "
                f"the pooled AUC: the paired t-test over seeds), significant at p < "
                f"{cfg.alpha:g}; 'every' claims: each comparison at {cfg.alpha:g}, uncorrected "
                f"(intersection-union); 'best' and 'at least one' claims: p-values {corr} "
                "(docs/verdicts.md)")
    tests = {"both": f"a paired t-test over seeds and {USER_TEST_NAMES[cfg.user_test]} must "
                     "both", "seeds": "a paired t-test over seeds must",
             "users": f"{USER_TEST_NAMES[cfg.user_test]} must"}[cfg.rule]
    corr = ("Holm-corrected within each claim (per kind of test)" if report.correction ==
            "holm" else "uncorrected")
    return (f"today's rule: {tests} give p < {cfg.alpha:g} in the same direction (the pooled "
            f"AUC: the seed test alone); p-values {corr}")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _other_name(report: Report) -> str:
    return ("today's rule (seed and user t-tests, Holm over every claim)"
            if report.test == "mixed" else "the one test over seeds and users")


def _family_words(rows: list[Row]) -> str:
    return FAMILY_WORDS.get(rows[0].claim.family, rows[0].claim.words)


def _count_text(report: Report) -> str:
    c, raw = report.counts(), report.counts(uncorrected=True)
    tested = sum(c[v] for v in VERDICTS)
    return (f"**{c['supported']} supported, {c['contradicted']} contradicted, "
            f"{c['inconclusive']} inconclusive** of {tested} tested (claim x metric)"
            + (f", {c['not run']} not run" if c["not run"] else "")
            + f"; without correction {raw['supported']} / {raw['contradicted']} / "
            f"{raw['inconclusive']}")


def _change_text(report: Report) -> str:
    """How many claim x metric verdicts the other test changes, and how."""
    other = report.counts(key="verdict_other")
    moves: dict[str, int] = {}
    for r in report.changed():
        key = f"{r.verdict_other} → {r.verdict}"
        moves[key] = moves.get(key, 0) + 1
    tested = sum(other[v] for v in VERDICTS)
    claims_moved = sum(1 for f in report.families()
                       if report.claim(f)[0] != report.claim(f, "verdict_other")[0])
    return (f"under {_other_name(report)}: {other['supported']} / {other['contradicted']} / "
            f"{other['inconclusive']}; **{len(report.changed())} of {tested} claim x metric "
            "verdicts change** ("
            + (", ".join(f"{k}: {n}" for k, n in sorted(moves.items())) or "none")
            + f"), and {claims_moved} claim verdict{'' if claims_moved == 1 else 's'}")


def differing(sampled: Report, full: Report) -> list[tuple[Row, Row]]:
    """(sampled, full) rows of the same claim and metric whose verdicts differ (both tested)."""
    return [(r, f) for r in sampled.rows
            if (f := full.find(r.claim.id, r.metric)) is not None and _differs(r, f)]


def _differs(a: Row, b: Row) -> bool:
    """Whether two tested rows reach different verdicts ("not run" differs from nothing)."""
    return a.verdict in VERDICTS and b.verdict in VERDICTS and a.verdict != b.verdict


def _p_used(r: Row, test: str) -> str:
    """The p-value behind a row's verdict, for its hardest rival: the one test's (Holm-
    corrected for a best / at-least-one claim), or today's seed / user pair."""
    h = r.hardest
    if test == "mixed":
        held = r.raw if family_kind(r.claim.family) == "all" else r.pairs
        return _p(held[h].p_mixed)
    return f"{_p(r.pairs[h].p_seeds)} / {_p(r.pairs[h].p_users)}"


def _mixed_ci(p: Paired) -> str:
    lo, hi = p.mixed_ci
    return "" if math.isnan(lo) else f" ({lo:+.4f}, {hi:+.4f})"


def _detail(r: Row, other: Row | None, first: bool = True, test: str = "mixed") -> str:
    """One markdown row: the effect of `r` against the paper's, its p-value and its verdicts
    (`other`: the other metrics' row; `first`: r is the sampled row, else a full-ranking row
    without a sampled twin)."""
    c = r.claim
    mark = " ≠" if other is not None and _differs(r, other) else ""
    verdicts = (f"**{r.verdict}** | {r.verdict_other} | {other.verdict if other else 'n/a'}"
                f"{mark}" if first else f"n/a | n/a | **{r.verdict}**")
    if r.missing:
        rival = " / ".join(s.label for s in c.rivals)
        return (f"| {c.id} | {c.a.label} vs {rival} | {r.metric} | {_paper_diff_text(r)} | | "
                f"| | | | {verdicts} (not run: {r.missing[0]}) |")
    h = r.hardest
    p, rival = r.raw[h], c.rivals[h].label
    more = f" (+{len(c.rivals) - 1} more)" if len(c.rivals) > 1 else ""
    return (f"| {c.id} | {c.a.label} vs {rival}{more} | {r.metric} | {_paper_diff_text(r)} | "
            f"{r.ours_a:.4f} vs {r.ours_rivals[h]:.4f} | {p.diff:+.4f}{_mixed_ci(p)} | "
            f"{r.reading} | {_p_used(r, test)} | {_f(r.mde)} | {verdicts} |")


def _paper_diff_text(r: Row) -> str:
    d = r.paper_diff
    if d is not None:
        return f"{d:+.4f}"
    return "n/a (full ranking)" if r.kind == "full" else "not in the paper"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _seeds_text(needed: list[int | None], most: int = 100) -> str:
    """`median (max)` of the seeds each comparison needs (None: more than `most`)."""
    if not needed:
        return "n/a (no paper difference in the claimed direction)"
    vals = [math.inf if n is None else n for n in needed]
    med, top = statistics.median_low(vals), max(vals)
    def show(v: float) -> str:
        return f">{most}" if math.isinf(v) else f"{int(v)}"

    return f"{show(med)} (most: {show(top)})"


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
            family, _median(papers),
            _median([r.claim.direction * r.raw[r.hardest].diff for r in rows]),
            readings, [r.mde for r in rows if not math.isnan(r.mde)],
            [r.seeds_for_paper for r in rows
             if (d := r.paper_diff) is not None and r.claim.direction * d > 0]))
    return out


def _claim_cell(report: Report | None, family: str) -> str:
    if report is None:
        return "not run"
    fam = [r for r in report.rows if r.claim.family == family]
    if not fam:
        return "n/a"
    got = report.claim(family)[0]
    run = sum(1 for r in fam if r.verdict != "not run")
    note = "" if run == len(fam) else f" ({len(fam) - run} of {len(fam)} not run)"
    return f"**{got}**{note}" if got != "not run" else "not run"


def _failing_text(report: Report, family: str, most: int = 3) -> str:
    """The comparisons that keep a claim from being supported, named (at most `most`)."""
    got, failing = report.claim(family)
    if got == "supported":
        return "-"
    fam = [r for r in report.rows if r.claim.family == family]
    if family_kind(family) == "any":
        return "no comparison significant in the claimed direction" if got != "contradicted" \
            else "every comparison against it"
    tested = [r for r in failing if r.verdict != "not run"]
    names = ", ".join(f"{r.claim.id} {r.metric} ({r.verdict})" for r in tested[:most])
    more = len(tested) - most
    return (f"{len(failing)} of {len(fam)} not supported: {names}"
            + (f" and {more} more" if more > 0 else ""))


def _answer(sampled: Report, full: Report, authors: Report | None,
            powers: list[Power]) -> list[str]:
    """The first lines of the report: which claims hold, SOLID's gain against the paper's,
    and how sure we are, in plain words."""
    fams = sampled.families()
    by = {v: [f for f in fams if sampled.claim(f)[0] == v] for v in (*VERDICTS, "not run")}

    def names(fs: list[str]) -> str:
        return "; ".join(f"{f} ({FAMILY_WORDS.get(f, _words(sampled, f))})" for f in fs)

    def tally(report: Report | None) -> str:
        if report is None:
            return "not run"
        got = [report.claim(f)[0] for f in report.families()]
        return (f"{got.count('supported')} supported, {got.count('contradicted')} "
                f"contradicted, {got.count('inconclusive')} inconclusive"
                + (f", {got.count('not run')} not run" if got.count("not run") else ""))

    users = max((r.raw[r.hardest].n_users for r in sampled.rows if not r.missing), default=0)
    S = len(sampled.seeds)
    lines = [(f"**Which claims hold.** On the bundled data ({S} training seeds, {users:,} test "
              f"users, the paper's sampled metrics) {len(by['supported'])} of the paper's "
              f"{len(fams)} claims hold" + (f": {names(by['supported'])}" if by["supported"]
                                           else "")
              + f". {len(by['contradicted'])} are contradicted"
              + (f": {names(by['contradicted'])}" if by["contradicted"] else "")
              + f". {len(by['inconclusive'])} are inconclusive"
              + (f" and {len(by['not run'])} not run" if by["not run"] else "")
              + f". Under full ranking: {tally(full)}; under the authors' protocol: "
              f"{tally(authors)}.")]
    gain = next((p for p in powers if p.family == "T1.ours>dsr"), None)
    if gain is not None:
        n = sum(gain.readings.values())
        r = gain.readings
        got = [x.verdict for x in sampled.rows if x.claim.family == gain.family]
        lines.append(
            f"**How large SOLID's gain is.** Over its DSR model alone (Table 1, {n} "
            f"comparisons: SR models x DSRs x metrics), {got.count('supported')} are "
            f"significant in the claimed direction and {got.count('contradicted')} against it; "
            f"SOLID's median gain is "
            f"{gain.ours:+.4f} against the paper's {gain.paper:+.4f}: {r['as large as claimed']}"
            f" comparisons are as large as the paper claimed, {r['smaller than claimed']} "
            f"smaller (the whole 95% interval below the paper's), "
            f"{r['no evidence of an effect']} show no evidence of an effect"
            + (f", {r['reversed']} go the other way" if r["reversed"] else "")
            + (f", {r[MAGNITUDES[4]]} show an effect where the paper printed no number"
               if r[MAGNITUDES[4]] else "") + ".")
    alpha = sampled.params.stats.alpha
    sure = [(f"**How sure.** Each comparison is one test whose 95% interval covers both "
             f"retraining ({S} seeds) and the users sampled (α = {alpha:g}; a claim over every "
             "model and metric holds only if every comparison is significant)."
             if sampled.test == "mixed" else
             f"**How sure.** The verdicts follow today's rule (a paired t-test over {S} seeds "
             f"and one over the users must both give p < {alpha:g}, Holm over every claim); the "
             "intervals are the one test's over seeds and users.")]
    if gain is not None and gain.mde:
        need = gain.seeds_median
        sure.append(f"With {S} seeds the smallest gain one comparison detects with 80% power "
                    f"is {_median(gain.mde):.4f} (median over these {len(gain.mde)}); the paper's "
                    "gains "
                    + (f"would need {int(need)} seeds (median over the comparisons)"
                       if math.isfinite(need) and need > S else
                       f"are within reach of {S} seeds (median over the comparisons: "
                       f"{int(need)})" if math.isfinite(need) else
                       "would need more than 100 seeds") + ".")
    short = [p.family for p in powers if p.seeds and not p.seeds_median <= S]
    if short:
        sure.append(f"{S} seeds cannot detect the paper's median effect for {', '.join(short)}"
                    " (see the power table below for the seeds each needs).")
    lines.append(" ".join(sure))
    return lines


def _words(report: Report, family: str) -> str:
    return _family_words([r for r in report.rows if r.claim.family == family])


def render_markdown(sampled: Report, full: Report, authors: Report | None = None) -> str:
    """The report: the answer up front; one verdict per claim under each protocol; each
    claim's effect against the paper's and its power; the counts under both tests; and per
    claim and metric (per comparison) the effect under the sampled metrics (full ranking:
    claims.csv) with its verdicts, and the verdict under the authors' protocol (`authors`,
    sampled metrics) when given."""
    diff = differing(sampled, full)
    powers = power_of(sampled)
    S = len(sampled.seeds)
    answer = [x for line in _answer(sampled, full, authors, powers) for x in (line, "")]
    out = ["# The paper's claims, tested", "", *answer, "## Claim verdicts", "",
           (f"Test split, models selected on valid, {seeds_note(sampled.seeds, False)}. "
            f"{_upper_first(_tests_text(sampled))}. Kind: every = the claim holds for every "
            "compared model and metric (supported only if every comparison is significant in "
            "the claimed direction at α: the intersection-union test needs no correction; "
            "contradicted if any is significantly against); best = \"X is best\" (the same, "
            "Holm over the claim); at least one = supported if any comparison is (Holm)."), "",
           ("| claim | where | kind | sampled | full ranking | authors' protocol | why not "
            "supported (sampled) |"),
           "|:---|:---|:---|:---|:---|:---|:---|"]
    kind_name = {"all": "every", "best": "best", "any": "at least one"}
    for family in sampled.families():
        rows = [r for r in sampled.rows if r.claim.family == family]
        out.append(f"| {family}: {_family_words(rows)} | {rows[0].claim.where} | "
                   f"{kind_name[family_kind(family)]} | {_claim_cell(sampled, family)} | "
                   f"{_claim_cell(full, family)} | {_claim_cell(authors, family)} | "
                   f"{_failing_text(sampled, family)} |")
    out += ["", "## Effect against the paper's, and power", "",
            ("Sampled metrics; each claim x metric against its hardest rival, differences in the "
             "claimed direction. Paper: the paper's own difference where it printed both "
             "numbers; ours: mean over seeds and users. Reading of our 95% interval: as large "
             "as claimed (it reaches the paper's difference), smaller than claimed (entirely "
             "between 0 and it), no evidence of an effect (it contains 0), reversed (entirely "
             "below 0). Minimum detectable effect: the smallest difference a comparison "
             f"detects with 80% power at its level (α, or α / m under Holm) with {S} seeds and "
             "the test users, from its observed seed, user and residual variances. Seeds: the "
             "fewest at which a comparison detects the paper's own difference with 80% power "
             "(median over the claim's comparisons, and the most any needs)."), "",
            ("| claim | paper's median Δ | our median Δ | as large / smaller / no evidence / "
             "reversed / effect, no paper number | minimum detectable effect: median (range) | "
             "seeds for the paper's Δ |"),
            "|:---|---:|---:|:---|:---|:---|"]
    for p in powers:
        r = p.readings
        mde = (f"{_median(p.mde):.4f} ({min(p.mde):.4f} to {max(p.mde):.4f})" if p.mde
               else "n/a")
        out.append(f"| {p.family} | {_f(p.paper, '+.4f') or 'n/a'} | {p.ours:+.4f} | "
                   f"{r['as large as claimed']} / {r['smaller than claimed']} / "
                   f"{r['no evidence of an effect']} / {r['reversed']} / {r[MAGNITUDES[4]]} | "
                   f"{mde} | "
                   f"{_seeds_text(p.seeds)} |")
    short = [p for p in powers if p.seeds and not p.seeds_median <= S]
    if short:
        reach = [p for p in short if math.isfinite(p.seeds_median)]
        never = [p.family for p in short if not math.isfinite(p.seeds_median)]
        text = f"{S} seeds cannot detect the paper's median effect for " + ", ".join(
            f"{p.family} (needs {int(p.seeds_median)})" for p in reach)
        if never:
            text += ("; " if reach else "") + (f"{', '.join(never)}: not even 100 seeds would "
                                                "(the paper's difference is below what the test "
                                                "users allow, or our variance is too large)")
        n = max((int(p.seeds_median) for p in reach), default=0)
        text += "."
        if n:
            text += (f" To run N = {n} seeds (the README keeps `seeds:` at {S}: {n} would not "
                     "fit `make repro`'s time): `dvc exp run -S 'seeds=[0,1,...,"
                     f"{n - 1}]'` retrains every configuration (about 88 minutes per 5 seeds "
                     "on the 2-core CPU, README \"Seeds\"); for one claim's runs only, `solid "
                     f"train-base` / `solid train-scl` with `--seeds {S},...,{n - 1}` for each "
                     "of its configurations, `solid evaluate` for them, then `solid claims -S "
                     f"'seeds=[0,1,...,{n - 1}]'`.")
        out += ["", text]
    out += ["", "## Counts", "",
            (f"- Sampled metrics ({'; '.join(sampled.protocols) or 'none evaluated'}; the "
             f"paper's protocol): {_count_text(sampled)}; {_change_text(sampled)}."),
            (f"- Full ranking ({'; '.join(full.protocols) or 'none evaluated'}): "
             f"{_count_text(full)}; {_change_text(full)}."),
            f"- {len(diff)} claim x metric verdicts differ between the two (marked ≠).",
            ("- The authors' code's protocol (protocols/authors: Table 1's runs only, sampled "
             "metrics, checkpoint chosen on TEST): " + (
                 f"{_count_text(authors)}; {_change_text(authors)}" if authors else
                 "not run (`cd protocols/authors && dvc repro`)") + "."), "",
            "## Per comparison (claim x metric)", "",
            ("Columns: paper Δ = a - the rival in the paper's table; ours = a vs the hardest "
             "rival, means over seeds; Δ = a - that rival with its 95% interval over seeds and "
             "users; reading as above; p = that comparison's p-value behind the verdict "
             f"({'the one test' if sampled.test == 'mixed' else 'seeds / users'}: uncorrected "
             "for an 'every' claim, Holm-corrected within a 'best' or 'at least one' claim); "
             "MDE = minimum detectable effect; sampled = this row's verdict (it covers every "
             f"rival); {_other_name(sampled)} beside it. Effects are the sampled metrics' (MRR "
             "rows: full ranking); claims.csv has both, and the p-values over seeds and over "
             "users."), ""]
    for family in sampled.families():
        rows = [r for r in sampled.rows if r.claim.family == family]
        tested = sum(len(r.raw) for r in rows)
        level = ("no correction needed"
                 if family_kind(family) == "all" else
                 f"p-values Holm-corrected over the claim's {tested} comparisons"
                 if sampled.correction == "holm" else "uncorrected")
        other = "today's rule" if sampled.test == "mixed" else "one test"
        out += [f"### {family}: {_family_words(rows)}", "",
                f"Kind: {KIND_WORDS[family_kind(family)]}; {level}.", "",
                (f"| id | vs | metric | paper Δ | ours | Δ (95% CI) | reading | p | MDE | "
                 f"sampled | {other} | full ranking | authors' protocol |"),
                "|:---|:---|:---|---:|---:|---:|:---|---:|---:|:---|:---|:---|:---|"]
        for r in rows:
            twin = authors.find(r.claim.id, r.metric) if authors else None
            out.append(_detail(r, full.find(r.claim.id, r.metric), test=sampled.test)
                       + f" {twin.verdict if twin else 'not run'} |")
        out += [_detail(f, None, first=False, test=sampled.test) + " n/a |" for f in full.rows
                if f.claim.family == family and sampled.find(f.claim.id, f.metric) is None]
        out.append("")
    return "\n".join(out)


CSV_COLUMNS = ("metrics", "id", "family", "claim", "where", "metric", "direction", "a",
               "rival", "n_rivals", "paper_a", "paper_rival", "paper_agrees", "ours_a",
               "ours_rival", "n_seeds", "diff", "ci_low", "ci_high", "p_seeds", "p_users",
               "p_seeds_raw", "p_users_raw", "n_users", "user_diff", "verdict",
               "verdict_uncorrected", "other_metrics_verdict",
               # issue 30: the claim's kind and verdict, the one test over seeds and users,
               # the other test's verdict, the effect against the paper's and the power
               "claim_kind", "claim_verdict", "test", "verdict_other_test", "p_mixed",
               "p_mixed_raw", "mixed_ci_low", "mixed_ci_high", "mixed_df", "paper_diff",
               "magnitude", "alpha_comparison", "mde", "seeds_for_paper_diff")


def render_csv(sampled: Report, full: Report, authors: Report | None = None) -> str:
    """One row per claim, metric and protocol (`metrics`: sampled, full, or authors: the
    authors' protocol, sampled metrics, test-selected)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    pairs = [(sampled, full), (full, sampled)] + ([(authors, sampled)] if authors else [])
    for report, other in pairs:
        for r in report.rows:
            c = r.claim
            twin = other.find(c.id, r.metric)
            name = "authors" if report is authors else report.kind
            base = [name, c.id, c.family, c.words, c.where, r.metric, c.direction, c.a.label]
            tail = [r.verdict, r.verdict_uncorrected, twin.verdict if twin else ""]
            head = [family_kind(c.family), report.claim(c.family)[0], report.test,
                    r.verdict_other]
            if r.missing:
                w.writerow(base + [" / ".join(s.label for s in c.rivals), len(c.rivals),
                                   _f(c.a.paper.get(r.metric))] + [""] * 14 + tail + head
                           + [""] * 10)
                continue
            h = r.hardest
            p, raw = r.pairs[h], r.raw[h]
            agrees = r.paper_agrees
            w.writerow(base + [c.rivals[h].label, len(c.rivals), _f(c.a.paper.get(r.metric)),
                               _f(c.rivals[h].paper.get(r.metric)),
                               "" if agrees is None else int(agrees), _f(r.ours_a),
                               _f(r.ours_rivals[h]), p.n_seeds, _f(p.diff, ".6f"),
                               _f(p.ci[0], ".6f"), _f(p.ci[1], ".6f"), _f(p.p_seeds, ".6g"),
                               _f(p.p_users, ".6g"), _f(raw.p_seeds, ".6g"),
                               _f(raw.p_users, ".6g"), p.n_users, _f(p.user_diff, ".6f")]
                       + tail + head + _power_cells(r))
    return buf.getvalue()


def run(params: Params, metrics_root: Path, out_dir: Path | None,
        correction: str | None = None, authors_root: Path = AUTHORS_METRICS,
        references: Sequence[Reference] = (*CE_GRID, STANDARD), test: str = "mixed"
        ) -> tuple[str, list[Path], tuple[Report, Report]]:
    """The claims report (sampled and full-ranking verdicts, and the sampled verdicts of the
    runs under the authors' protocol in `authors_root` when it exists, and section C on the
    runs trained otherwise, `references`: the ce-trained grid and SASRec's on the standard
    encoder) as markdown; with `out_dir`, also claims.md and claims.csv there. `test`:
    CLAIM_TESTS, the test behind the verdicts (the report counts how many the other one
    changes)."""
    if not Path(metrics_root).is_dir():
        raise SolidError(f"no metrics folder {metrics_root}; run the pipeline first "
                         "(`dvc repro`)")
    reports = tuple(evaluate_claims(params, metrics_root, correction, ("sampled", "full"),
                                    test))
    authors = (evaluate_claims(params, authors_root, correction, test=test)[0]
               if Path(authors_root).is_dir() else None)
    try:
        mechanism, why = mechanism_claims(params, metrics_root, check_correction(
            params.stats.correction if correction is None else correction)), ""
    except SolidError as e:  # e.g. evaluated before test_users.parquet existed
        mechanism, why = [], str(e)
    corr = check_correction(params.stats.correction if correction is None else correction)
    either = best_baseline_claims(params, Path(metrics_root), references, corr)
    text = (render_markdown(*reports, authors) + render_mechanism(mechanism, reports[0], why)
            + render_either(either, corr, references))
    written = []
    if out_dir is not None:  # both files or neither
        written = [claims_file("md", out_dir), claims_file("csv", out_dir)]
        csv_text = render_csv(*reports, authors) + mechanism_csv(mechanism) + either_csv(either)
        with staged_files(written) as (md_tmp, csv_tmp):
            md_tmp.write_text(text, encoding="utf-8")
            csv_tmp.write_text(csv_text, encoding="utf-8")
    return text, written, reports


def render_mechanism(rows: list[MechanismRow], sampled: Report, why: str = "") -> str:
    """Section B: the paper's account of why SOLID helps, tested on the breakdown buckets
    (`why`: the reason it could not be tested)."""
    title = "## B: the paper's mechanism, sparse interactions (`solid table --table breakdown`)"
    if why:
        return "\n".join([title, "", f"Not run: {why}", ""])
    out = [title, "", (f"Sampled metrics; today's rule (the seed and the user test must agree), "
                f"{sampled.correction} correction within each family. "
                f"{_tally(rows)}. B.sparse-more compares two groups of users: its user test is Welch's t-test "
                "(Mann-Whitney's U with `user_test: wilcoxon`)."), ""]
    for family, words in MECHANISM.items():
        out += [f"### {family}: {words}", "",
                ("| id | compared | metric | SOLID vs DSR | Δ (95% CI) | p seeds | p users | "
                "verdict | uncorrected |"), "|:---|:---|:---|---:|---:|---:|---:|:---|:---|"]
        for r in rows:
            if r.family != family:
                continue
            out.append(_tested_md(r.id, r.detail, r.metric, r.a_value, r.b_value, r.pair,
                                  r.verdict, r.verdict_uncorrected))
        out.append("")
    return "\n".join(out)


def mechanism_csv(rows: list[MechanismRow]) -> str:
    """Section B's rows in claims.csv's columns (no paper numbers: the paper has none)."""
    return _tested_csv([(r.id, r.family, MECHANISM[r.family], "ours: breakdown buckets",
                         r.metric, r.detail, "", r.a_value, r.b_value, r.pair, r.raw,
                         r.verdict, r.verdict_uncorrected) for r in rows])


def _tally(rows: list) -> str:
    """`a supported, b contradicted, c inconclusive of n (uncorrected: x / y / z)`."""
    n = {v: sum(1 for r in rows if r.verdict == v) for v in VERDICTS}
    raw = {v: sum(1 for r in rows if r.verdict_uncorrected == v) for v in VERDICTS}
    return (f"{n['supported']} supported, {n['contradicted']} contradicted, "
            f"{n['inconclusive']} inconclusive of {len(rows)} (uncorrected: "
            f"{raw['supported']} / {raw['contradicted']} / {raw['inconclusive']})")


def _tested_md(cid: str, compared: str, metric: str, a: float | None, b: float | None,
               p: Paired, verdict_: str, uncorrected: str) -> str:
    """A markdown row of sections B and C: the two means, Δ with its CI, p-values, verdicts."""
    means = "" if a is None else f"{a:.4f} vs {b:.4f}"
    return (f"| {cid} | {compared} | {metric} | {means} | {_f(p.diff, '+.4f')}{ci_text(p)} | "
            f"{_p(p.p_seeds)} | {_p(p.p_users)} | {verdict_} | {uncorrected} |")


def _tested_csv(rows: list[tuple]) -> str:
    """Rows of sections B and C in claims.csv's columns (no paper numbers: the paper has none):
    each (id, family, words, where, metric, a, b, a_value, b_value, pair, raw pair, verdict,
    uncorrected verdict)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for cid, family, words, where, metric, a, b, av, bv, p, raw, v, vu in rows:
        w.writerow(["sampled", cid, family, words, where, metric, 1, a, b, 1, "", "", "",
                    _f(av), _f(bv), p.n_seeds, _f(p.diff, ".6f"), _f(p.ci[0], ".6f"),
                    _f(p.ci[1], ".6f"), _f(p.p_seeds, ".6g"), _f(p.p_users, ".6g"),
                    _f(raw.p_seeds, ".6g"), _f(raw.p_users, ".6g"), p.n_users,
                    _f(p.user_diff, ".6f"), v, vu, "", "all", "", "seed-and-user", "",
                    _f(p.p_mixed, ".6g"), _f(raw.p_mixed, ".6g"), _f(raw.mixed_ci[0], ".6f"),
                    _f(raw.mixed_ci[1], ".6f"), _f(raw.mixed_df, ".4g")] + [""] * 5)
    return buf.getvalue()


def _power_cells(r: Row) -> list[str]:
    """claims.csv's cells from p_mixed on, for a tested row (its hardest rival)."""
    h = r.hardest
    held = r.raw if family_kind(r.claim.family) == "all" else r.pairs
    raw = r.raw[h]
    return [_f(held[h].p_mixed, ".6g"), _f(raw.p_mixed, ".6g"), _f(raw.mixed_ci[0], ".6f"),
            _f(raw.mixed_ci[1], ".6f"), _f(raw.mixed_df, ".4g"), _f(r.paper_diff, ".6f"),
            r.reading, _f(r.level, ".6g"), _f(r.mde, ".6f"),
            "" if r.paper_diff is None or r.claim.direction * r.paper_diff <= 0 else
            str(r.seeds_for_paper or ">100")]


# ---- section C: the best baseline trained either way (issue 12) ------------------------------

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
                         correction: str) -> list[MechanismRow]:
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
                    rows.append(MechanismRow(
                        f"C.{dataset}.{backbone}.ours-{dsr}>best", EITHER_FAMILY, m,
                        _either_label(a), pair(a[2], b[2], m, users, params.stats.user_test,
                                               "sampled"),
                        means[0][m], means[1][m], rival=_either_label(b)))
    return judge_rows(rows, params.stats, correction)


def _either_label(side: tuple) -> str:
    """`SASRec Ours (DUET) [bce]`: a side of section C, with the objective it trained with."""
    obj, run, _ = side
    return f"{backbone_name(run.backbone)} {TABLE1_LABELS[(run.dsr, run.variant)]} [{obj}]"


def render_either(rows: list[MechanismRow], correction: str,
                  references: Sequence[Reference]) -> str:
    """Section C of the report."""
    title = f"## C: {EITHER_WORDS}"
    if not rows:
        where = " or ".join(str(r.root) for r in references)
        why = f"Not run: no ce-trained Table 1 under {where} (`make repro-ce`)."
        return f"{title}\n\n{why}\n"
    objectives = "; ".join(f"[{r.tag}]: {r.trained} ({r.where})"
                           for r in found_in(references))
    out = [title, "", (f"Sampled metrics, test split; today's rule (the seed and the user test "
                       f"must agree), {correction} correction over the "
                       f"section. {_tally(rows)}. [bce]: trained with the paper's BCE on 4 "
                       f"sampled negatives; {objectives}."), "",
           ("| id | SOLID vs best baseline | metric | means | Δ (95% CI) | p seeds | p users | "
            "verdict | uncorrected |"), "|:---|:---|:---|---:|---:|---:|---:|:---|:---|"]
    for r in rows:
        out.append(_tested_md(r.id, f"{r.detail} vs {r.rival}", r.metric, r.a_value,
                              r.b_value, r.pair, r.verdict, r.verdict_uncorrected))
    out.append("")
    return "\n".join(out)


def either_csv(rows: list[MechanismRow]) -> str:
    """Section C's rows in claims.csv's columns."""
    return _tested_csv([(r.id, EITHER_FAMILY, EITHER_WORDS, "Table 1, both objectives",
                         r.metric, r.detail, r.rival, r.a_value, r.b_value, r.pair, r.raw,
                         r.verdict, r.verdict_uncorrected) for r in rows])
