"""LaTeX: a paper `Table` as a booktabs tabular, its caption as a comment and its notes in the
last rows."""

from __future__ import annotations

from solidcli.report.model import Table
from solidcli.report.render.cells import caption, legend, ours, setups
from solidcli.report.text import seeds_note, tex_text


def table(t: Table, comparison, stats: bool = False) -> str:
    """`t` with, per metric, ours and the sub-columns `comparison` adds (`latex_heads`)."""
    heads = comparison.latex_heads
    nlab, per = len(t.columns), len(heads) or 1
    ncol = nlab + per * len(t.metrics)
    out = [f"% {caption(t, comparison, stats=stats)}", "% Needs only \\usepackage{booktabs}.",
           "\\begin{tabular}{" + "l" * nlab + "r" * (ncol - nlab) + "}", "\\toprule"]
    labels = " & ".join(c.latex for c in t.columns)
    if heads:
        out.append("&" * (nlab - 1) + " & " + " & ".join(
            f"\\multicolumn{{{per}}}{{c}}{{{tex_text(m)}}}" for m in t.metrics) + " \\\\")
        out.append(" ".join(f"\\cmidrule(lr){{{nlab + 1 + per * i}-{nlab + per + per * i}}}"
                            for i in range(len(t.metrics))))
        out.append(labels + " & " + " & ".join([" & ".join(heads)] * len(t.metrics)) + " \\\\")
    else:
        out.append(labels + " & " + " & ".join(tex_text(m) for m in t.metrics) + " \\\\")
    for group, rows in t.groups():
        out.append("\\midrule")
        if group:
            out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\textit{{{tex_text(group)}}}}} \\\\")
        for r in rows:
            cells = [tex_text(x) for x in r.labels]
            for m in t.metrics:
                cells.append(ours(t, r, m, "latex", stats) if r.ours else "--")
                cells += comparison.latex(t, r, m)
            out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    notes = [seeds_note(t.seeds, t.one_seed, "$\\pm$")] + [
        tex_text(s) for s in setups(t, comparison)]
    lines = ["; ".join(notes)] + [tex_text(s).replace("†", "$\\dagger$").replace(
        "‡", "$\\ddagger$") for s in legend(t)]
    out += [f"\\multicolumn{{{ncol}}}{{l}}{{\\footnotesize {line}}} \\\\" for line in lines]
    out += ["\\end{tabular}", ""]
    return "\n".join(out)
