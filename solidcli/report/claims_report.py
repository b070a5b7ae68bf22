"""`solid claims`: the claims report, claims.md and claims.csv: the answer up front, one
verdict per claim under each protocol and test, each claim's effect against the paper's and its
power, every comparison (section A, `verdicts`), the paper's mechanism (B) and the best
baseline trained either way (C, `sections`)."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from solidcli._io import staged_files
from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.layout import AUTHORS_METRICS, claims_file
from solidcli.report.claims import FAMILY_WORDS, KIND_WORDS, family_kind
from solidcli.report.references import CE_GRID, STANDARD, Reference, found_in
from solidcli.report.sections import (
    EITHER_FAMILY,
    EITHER_WORDS,
    MECHANISM,
    TestedRow,
    best_baseline_claims,
    mechanism_claims,
)
from solidcli.report.text import (
    USER_TEST_NAMES,
    ci_text,
    interval,
    p_value,
    seeds_note,
    value_text,
)
from solidcli.report.verdicts import (
    VERDICTS,
    Power,
    Report,
    Row,
    differing,
    differs,
    evaluate_claims,
    median,
    power_of,
)
from solidcli.stats import MAGNITUDES, Paired, check_correction


def _paper_text(row: Row) -> str:
    a = row.claim.a.paper.get(row.metric)
    rivals = [r.paper.get(row.metric) for r in row.claim.rivals]
    if a is None or any(v is None for v in rivals):
        return "not in the paper"
    best = max(rivals) if row.claim.direction > 0 else min(rivals)
    agrees = "yes" if row.paper_agrees else "no"
    return f"{a:.4f} vs {best:.4f} ({agrees})"


def _tests_text(report: Report) -> str:
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



def _p_used(r: Row, test: str) -> str:
    """The p-value behind a row's verdict, for its hardest rival: the one test's (Holm-
    corrected for a best / at-least-one claim), or today's seed / user pair."""
    h = r.hardest
    if test == "mixed":
        held = r.raw if family_kind(r.claim.family) == "all" else r.pairs
        return p_value(held[h].p_mixed)
    return f"{p_value(r.pairs[h].p_seeds)} / {p_value(r.pairs[h].p_users)}"


def _detail(r: Row, other: Row | None, first: bool = True, test: str = "mixed") -> str:
    """One markdown row: the effect of `r` against the paper's, its p-value and its verdicts
    (`other`: the other metrics' row; `first`: r is the sampled row, else a full-ranking row
    without a sampled twin)."""
    c = r.claim
    mark = " ≠" if other is not None and differs(r, other) else ""
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
            f"{r.ours_a:.4f} vs {r.ours_rivals[h]:.4f} | {p.diff:+.4f}{interval(p.mixed_ci)} | "
            f"{r.reading} | {_p_used(r, test)} | {value_text(r.mde)} | {verdicts} |")


def _paper_diff_text(r: Row) -> str:
    d = r.paper_diff
    if d is not None:
        return f"{d:+.4f}"
    return "n/a (full ranking)" if r.kind == "full" else "not in the paper"



def _seeds_text(needed: list[int | None], most: int = 100) -> str:
    """`median (max)` of the seeds each comparison needs (None: more than `most`)."""
    if not needed:
        return "n/a (no paper difference in the claimed direction)"
    vals = [math.inf if n is None else n for n in needed]
    med, top = statistics.median_low(vals), max(vals)
    def show(v: float) -> str:
        return f">{most}" if math.isinf(v) else f"{int(v)}"

    return f"{show(med)} (most: {show(top)})"



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
                    f"is {median(gain.mde):.4f} (median over these {len(gain.mde)}); the paper's "
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
        mde = (f"{median(p.mde):.4f} ({min(p.mde):.4f} to {max(p.mde):.4f})" if p.mde
               else "n/a")
        out.append(f"| {p.family} | {value_text(p.paper, '+.4f') or 'n/a'} | {p.ours:+.4f} | "
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
            text += (f" To run N = {n} seeds (params.yaml keeps `seeds:` at {S}: {n} would "
                     "not fit `make repro`'s time): `dvc exp run -S 'seeds=[0,1,...,"
                     f"{n - 1}]'` retrains every configuration (each 5 seeds cost about what "
                     "`make repro` does, docs/performance.md); for one claim's runs only, `solid "
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
               # the claim's kind and verdict, the one test over seeds and users,
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
                                   value_text(c.a.paper.get(r.metric))] + [""] * 14 + tail + head
                           + [""] * 10)
                continue
            h = r.hardest
            p, raw = r.pairs[h], r.raw[h]
            agrees = r.paper_agrees
            w.writerow(base + [c.rivals[h].label, len(c.rivals), value_text(c.a.paper.get(r.metric)),
                               value_text(c.rivals[h].paper.get(r.metric)),
                               "" if agrees is None else int(agrees), value_text(r.ours_a),
                               value_text(r.ours_rivals[h]), p.n_seeds, value_text(p.diff, ".6f"),
                               value_text(p.ci[0], ".6f"), value_text(p.ci[1], ".6f"), value_text(p.p_seeds, ".6g"),
                               value_text(p.p_users, ".6g"), value_text(raw.p_seeds, ".6g"),
                               value_text(raw.p_users, ".6g"), p.n_users, value_text(p.user_diff, ".6f")]
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


def render_mechanism(rows: list[TestedRow], sampled: Report, why: str = "") -> str:
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


def mechanism_csv(rows: list[TestedRow]) -> str:
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
    return (f"| {cid} | {compared} | {metric} | {means} | {value_text(p.diff, '+.4f')}{ci_text(p)} | "
            f"{p_value(p.p_seeds)} | {p_value(p.p_users)} | {verdict_} | {uncorrected} |")


def _tested_csv(rows: list[tuple]) -> str:
    """Rows of sections B and C in claims.csv's columns (no paper numbers: the paper has none):
    each (id, family, words, where, metric, a, b, a_value, b_value, pair, raw pair, verdict,
    uncorrected verdict)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for cid, family, words, where, metric, a, b, av, bv, p, raw, v, vu in rows:
        w.writerow(["sampled", cid, family, words, where, metric, 1, a, b, 1, "", "", "",
                    value_text(av), value_text(bv), p.n_seeds, value_text(p.diff, ".6f"), value_text(p.ci[0], ".6f"),
                    value_text(p.ci[1], ".6f"), value_text(p.p_seeds, ".6g"), value_text(p.p_users, ".6g"),
                    value_text(raw.p_seeds, ".6g"), value_text(raw.p_users, ".6g"), p.n_users,
                    value_text(p.user_diff, ".6f"), v, vu, "", "all", "", "seed-and-user", "",
                    value_text(p.p_mixed, ".6g"), value_text(raw.p_mixed, ".6g"), value_text(raw.mixed_ci[0], ".6f"),
                    value_text(raw.mixed_ci[1], ".6f"), value_text(raw.mixed_df, ".4g")] + [""] * 5)
    return buf.getvalue()


def _power_cells(r: Row) -> list[str]:
    """claims.csv's cells from p_mixed on, for a tested row (its hardest rival)."""
    h = r.hardest
    held = r.raw if family_kind(r.claim.family) == "all" else r.pairs
    raw = r.raw[h]
    return [value_text(held[h].p_mixed, ".6g"), value_text(raw.p_mixed, ".6g"), value_text(raw.mixed_ci[0], ".6f"),
            value_text(raw.mixed_ci[1], ".6f"), value_text(raw.mixed_df, ".4g"), value_text(r.paper_diff, ".6f"),
            r.reading, value_text(r.level, ".6g"), value_text(r.mde, ".6f"),
            "" if r.paper_diff is None or r.claim.direction * r.paper_diff <= 0 else
            str(r.seeds_for_paper or ">100")]



def render_either(rows: list[TestedRow], correction: str,
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


def either_csv(rows: list[TestedRow]) -> str:
    """Section C's rows in claims.csv's columns."""
    return _tested_csv([(r.id, EITHER_FAMILY, EITHER_WORDS, "Table 1, both objectives",
                         r.metric, r.detail, r.rival, r.a_value, r.b_value, r.pair, r.raw,
                         r.verdict, r.verdict_uncorrected) for r in rows])
