"""What every format writes alike: a cell's mean ± sd with its bold, mark and statistics, and a
paper table's caption and legend."""

from __future__ import annotations

from solidcli.report.model import Cell, Row, Table
from solidcli.report.text import (
    MARK_SYMBOLS,
    USER_TEST_NAMES,
    num,
    seeds_note,
    stats_text,
    tex_text,
)

MARKS = {"markdown": MARK_SYMBOLS, "latex": {1: "$^{\\dagger}$", -1: "$^{\\ddagger}$"}}
PM = {"markdown": "±", "latex": "$\\pm$"}


def mean_sd(cell: Cell, m: str, pm: str, mean: str | None = None) -> str:
    """`mean pm sd` of one cell (`mean`: the mean as already formatted), without the sd when
    it is undefined."""
    sd = cell.sd[m]
    return (mean or num(cell.mean[m])) + ("" if sd is None else f" {pm} {num(sd)}")


def ours(t: Table, r: Row, m: str, fmt: str, stats: bool = False) -> str:
    """`mean pm sd` (the mean bold when best of its block), a †/‡ mark when significant, `(n=k)`
    when partial, and with `stats` the comparison with the row's baseline."""
    cell = r.ours
    mean = num(cell.mean[m])
    if m in r.best:
        mean = f"**{mean}**" if fmt == "markdown" else f"\\textbf{{{mean}}}"
    text = mean_sd(cell, m, PM[fmt], mean)
    text += MARKS[fmt].get(t.sign(r, m), "")
    text += f" (n={cell.n})" if t.partial(cell) else ""
    if stats and m in r.pairs:
        extra = stats_text(r.pairs[m])
        if fmt == "markdown":
            text += f" [{extra}]"
        else:
            text += " {\\scriptsize [" + tex_text(extra).replace("Δ", "$\\Delta$") + "]}"
    return text


def other(t: Table, r: Row, m: str, pm: str, fmt: str = "markdown") -> str:
    """The row's other cell (`Row.other`): the ce-trained one with its own bold and marks when
    it has its own row, else mean pm sd; or not run."""
    if r.other is None:
        return "not run"
    if r.other_row is not None:
        return ours(t, r.other_row, m, fmt)
    return mean_sd(r.other, m, pm)


def legend(t: Table) -> list[str]:
    """The caption's words for bold and the marks (no marks when nothing is compared)."""
    out = ["bold: best mean" + (" per SR model" if t.group else "")]
    if t.stats is None or not t.comparisons:
        return out
    cfg, n = t.stats, t.comparisons
    users = USER_TEST_NAMES[cfg.user_test]
    auc = "AUC" in t.metrics  # the pooled AUC has no user test
    if len(t.seeds) < 2 and cfg.rule != "seeds":
        tests = f"{users}; one seed: no seed test" + (", AUC unmarked" if auc else "")
    else:
        tests = {"both": f"a paired t-test over seeds and {users}",
                 "seeds": "a paired t-test over seeds", "users": users}[cfg.rule]
        tests += "; AUC: seed test only" if auc and cfg.rule != "seeds" else ""
    corr = "Holm-corrected" if t.correction == "holm" else "uncorrected"
    out.append(f"†/‡: significantly above/below {t.baseline} (p < {cfg.alpha:g} in {tests}; "
               f"{n} comparisons, {corr})")
    if t.untested:
        out.append(f"{t.untested} comparisons unmarked: no per-user metrics (rerun `solid "
                   "evaluate --all`)")
    return out


def setups(t: Table, comparison) -> list[str]:
    """Which runs ours are and, when comparing, which the paper's are."""
    return [s for s in (t.setup, t.paper_setup if comparison.name else "") if s]


def caption(t: Table, comparison, group: str = "", stats: bool = False) -> str:
    """`Table N: title, group (test split; ...; what a cell shows)`."""
    parts = ["test split"] + list(t.protocols) + [seeds_note(t.seeds, t.one_seed)]
    if any(r.ours is not None and t.partial(r.ours) for r in t.rows):
        parts.append("(n=k): a mean over the k seeds that have metrics")
    if t.missing:
        parts.append(f"{len(t.missing)} run{'s' if len(t.missing) > 1 else ''} missing")
    parts += setups(t, comparison)
    parts += legend(t)
    if stats and t.comparisons:
        parts.append(f"[Δ: ours - {t.baseline}, mean over seeds (95% CI); p over seeds / over "
                     "users]")
    parts += [comparison.caption(t)] if comparison.name else []
    head = f"Table {t.number}: {t.title}" + (f", {group}" if group else "")
    return f"{head} ({'; '.join(parts)})"
