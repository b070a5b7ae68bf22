"""Markdown: a paper `Table` as one pipe table per group under its caption, and a study `Grid`."""

from __future__ import annotations

from solidcli.report.model import Grid, Table
from solidcli.report.render.cells import caption, ours
from solidcli.report.text import md_text


def table(t: Table, comparison, stats: bool = False) -> str:
    """`t` with each metric's cell as ours, then what `comparison` adds."""
    out = []
    for group, rows in t.groups():
        out += [f"### {md_text(caption(t, comparison, group, stats))}", ""]
        labels = [c.markdown for c in t.columns]
        out.append("| " + " | ".join(labels + list(t.metrics)) + " |")
        out.append("|" + ":---|" * len(labels) + "---:|" * len(t.metrics))
        for r in rows:
            cells = [md_text(x) for x in r.labels]
            cells += [("not run" if r.ours is None else
                       ours(t, r, m, "markdown", stats) + comparison.markdown(t, r, m))
                      for m in t.metrics]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def grid(g: Grid) -> str:
    """A study table: bold title, the table, its notes."""
    lines = [f"**{g.title}**", "", "| " + " | ".join(g.header) + " |",
             "|" + "|".join("---" for _ in g.header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in g.rows]
    return "\n".join([*lines, "", *g.notes]) + "\n"
