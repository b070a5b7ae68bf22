"""Small text formats every report shares: numbers, p-values, intervals, seeds, and the escapes
of markdown and LaTeX."""

from __future__ import annotations

import math

USER_TEST_NAMES = {"ttest": "a paired t-test over users", "wilcoxon": "a Wilcoxon signed-rank "
                   "test over users", "permutation": "a sign-flip permutation test over users"}
MARK_SYMBOLS = {1: "†", -1: "‡"}  # significantly above / below


def num(v: float | None) -> str:
    """`0.7632`: a metric to four places ('' for None)."""
    return "" if v is None else f"{v:.4f}"


def signed(ours: float | None, other: float | None) -> str:
    """`+0.0012`: ours - other ('' when either is None)."""
    return "" if other is None or ours is None else f"{ours - other:+.4f}"


def value_text(v: float | None, spec: str = ".4f") -> str:
    """`v` in format `spec`; '' for None or NaN."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def p_value(v: float) -> str:
    """`0.031`, `<0.001`, or `n/a` for NaN."""
    return "n/a" if math.isnan(v) else "<0.001" if v < 0.001 else f"{v:.3f}"


def interval(ci: tuple[float, float], pre: str = " (", post: str = ")") -> str:
    """`(-0.0030, +0.0070)` ('' when the interval is undefined)."""
    return "" if math.isnan(ci[0]) else f"{pre}{ci[0]:+.4f}, {ci[1]:+.4f}{post}"


def ci_text(pair) -> str:
    """` (-0.0030, +0.0070)`: the 95% CI over seeds of a `Paired` ('' with one seed)."""
    return interval(pair.ci)


def stats_text(pair) -> str:
    """`Δ +0.0020 (-0.0030, +0.0070), p 0.412 / 0.031`: mean difference over seeds, its 95%
    CI, and the p-values over seeds / over users."""
    return (f"Δ {pair.diff:+.4f}{ci_text(pair)}, p {p_value(pair.p_seeds)} / "
            f"{p_value(pair.p_users)}")


def seeds_note(seeds: tuple[int, ...], one_seed: bool, pm: str = "±") -> str:
    """What a cell is: `training seed 0`, or `mean ± sd over 5 training seeds (0, ..., 4)`."""
    if one_seed:
        return f"training seed {seeds[0]}"
    plural = "s" if len(seeds) > 1 else ""
    return (f"mean {pm} sd over {len(seeds)} training seed{plural} "
            f"({', '.join(map(str, seeds))})")


def md_text(s: str | bool) -> str:
    """A markdown table cell: a bool as a check mark, `|` and `\\` escaped."""
    if isinstance(s, bool):
        return "✓" if s else "✗"
    return s.replace("\\", "\\\\").replace("|", "\\|")


TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_text(s: str | bool) -> str:
    """A LaTeX cell: a bool as a check mark, the specials escaped."""
    if isinstance(s, bool):
        return r"$\surd$" if s else r"$\times$"
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in s)


def tex_num(text: str) -> str:
    """A formatted number with its sign in math mode; an empty one is '--'."""
    if not text:
        return "--"
    return f"${text}$" if text[0] in "+-" else text
