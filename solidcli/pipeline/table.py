"""`solid table`: the paper's Table 1 from our metrics files, beside the paper's numbers.

Reads every `reports/metrics/*/metrics.json`, keeps the rows of Table 1 that exist
(SR model x {-, APG, Ours (APG), DUET, Ours (DUET)}), and lays our test metrics next to the
paper's (`solidcli/paper/table1.csv`, transcribed from the paper; see its README in the
project's shared reference) with the difference ours - paper. A cell the paper does not
print shows as missing.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from solidcli._io import write_text
from solidcli.errors import SolidError
from solidcli.metrics import METRIC_NAMES

BACKBONE_NAMES = {"din": "DIN", "gru4rec": "GRU4Rec", "sasrec": "SASRec", "bert4rec": "BERT4Rec"}
DATASET_NAMES = {"scientific": "Scientific", "arts": "Arts", "instruments": "Instruments",
                 "office": "Office"}
# (dsr, variant) -> the paper's DSR-model column, in the paper's row order
ROWS = {("none", "base"): "none", ("apg", "base"): "APG", ("apg", "scl"): "SOLID-APG",
        ("duet", "base"): "DUET", ("duet", "scl"): "SOLID-DUET"}
ROW_LABEL = {"none": "-", "APG": "APG", "SOLID-APG": "Ours (APG)", "DUET": "DUET",
             "SOLID-DUET": "Ours (DUET)"}
FORMATS = ("markdown", "latex", "csv")
SUFFIX = {"markdown": "md", "latex": "tex", "csv": "csv"}


@dataclass
class Row:
    dataset: str
    sr_model: str
    dsr_model: str
    ours: dict[str, float]
    paper: dict[str, float | None]


def paper_table1() -> dict[tuple[str, str, str], dict[str, float | None]]:
    text = resources.files("solidcli").joinpath("paper/table1.csv").read_text(encoding="utf-8")
    out = {}
    for rec in csv.DictReader(text.splitlines()):
        key = (rec["dataset"], rec["sr_model"], rec["dsr_model"])
        out[key] = {m: float(rec[m]) if rec[m] else None for m in METRIC_NAMES}
    return out


def collect_rows(metrics_root: Path) -> list[Row]:
    paper = paper_table1()
    found: dict[tuple[str, str, str], dict[str, float]] = {}
    for path in sorted(metrics_root.glob("*/metrics.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
            key = (rec["dsr"], rec["variant"])
            ds = DATASET_NAMES.get(rec["dataset"], rec["dataset"])
            bb = BACKBONE_NAMES.get(rec["backbone"], rec["backbone"])
            test = {m: float(rec["test"][m]) for m in METRIC_NAMES}
        except (OSError, ValueError, KeyError, TypeError):
            raise SolidError(f"corrupt metrics file: {path}") from None
        if key in ROWS:
            found[(ds, bb, ROWS[key])] = test
    if not found:
        raise SolidError(f"no Table 1 metrics under {metrics_root}; run the pipeline first")
    order_ds = list(DATASET_NAMES.values())
    order_bb = list(BACKBONE_NAMES.values())
    order_dsr = list(ROW_LABEL)

    def rank(key):
        ds, bb, dsr = key
        return (order_ds.index(ds) if ds in order_ds else len(order_ds), ds,
                order_bb.index(bb) if bb in order_bb else len(order_bb), bb,
                order_dsr.index(dsr))

    empty = dict.fromkeys(METRIC_NAMES)
    return [Row(*key, ours=found[key], paper=paper.get(key, empty))
            for key in sorted(found, key=rank)]


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def _diff(ours: float, paper: float | None) -> str:
    return "" if paper is None else f"{ours - paper:+.4f}"


def render(rows: list[Row], fmt: str) -> str:
    if fmt == "csv":
        return _csv(rows)
    if fmt == "markdown":
        return _markdown(rows)
    if fmt == "latex":
        return _latex(rows)
    raise SolidError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")


def _csv(rows: list[Row]) -> str:
    head = ["dataset", "sr_model", "dsr_model"]
    for m in METRIC_NAMES:
        head += [m, f"{m}_paper", f"{m}_diff"]
    lines = [",".join(head)]
    for r in rows:
        cells = [r.dataset, r.sr_model, r.dsr_model]
        for m in METRIC_NAMES:
            cells += [_fmt(r.ours[m]), _fmt(r.paper[m]), _diff(r.ours[m], r.paper[m])]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _markdown(rows: list[Row]) -> str:
    out = []
    for ds in dict.fromkeys(r.dataset for r in rows):
        out.append(f"### Table 1 - {ds} (test, sampled 1+99; ours / paper / ours - paper)\n")
        out.append("| SR model | DSR model | " + " | ".join(METRIC_NAMES) + " |")
        out.append("|---|---|" + "---:|" * len(METRIC_NAMES))
        for r in (r for r in rows if r.dataset == ds):
            cells = []
            for m in METRIC_NAMES:
                paper = "missing" if r.paper[m] is None else _fmt(r.paper[m])
                diff = _diff(r.ours[m], r.paper[m])
                cells.append(f"{_fmt(r.ours[m])} / {paper}" + (f" ({diff})" if diff else ""))
            out.append(f"| {r.sr_model} | {ROW_LABEL[r.dsr_model]} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def _latex(rows: list[Row]) -> str:
    ncol = 2 + 3 * len(METRIC_NAMES)
    out = [
        "% Table 1 (test, sampled 1+99): ours, the paper's value and the difference.",
        "% Needs \\usepackage{booktabs}.",
        "\\begin{tabular}{ll" + "rrr" * len(METRIC_NAMES) + "}",
        "\\toprule",
        " & & " + " & ".join(f"\\multicolumn{{3}}{{c}}{{{m}}}" for m in METRIC_NAMES) + " \\\\",
        " ".join(f"\\cmidrule(lr){{{3 + 3 * i}-{5 + 3 * i}}}" for i in range(len(METRIC_NAMES))),
        "SR model & DSR model & " + " & ".join(["Ours & Paper & $\\Delta$"] * len(METRIC_NAMES))
        + " \\\\",
    ]
    for ds in dict.fromkeys(r.dataset for r in rows):
        out.append("\\midrule")
        out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\textit{{{ds}}}}} \\\\")
        for r in (r for r in rows if r.dataset == ds):
            cells = []
            for m in METRIC_NAMES:
                cells += [_fmt(r.ours[m]), _fmt(r.paper[m]) or "--",
                          _diff(r.ours[m], r.paper[m]).replace("+", "$+$").replace("-", "$-$")
                          or "--"]
            out.append(f"{r.sr_model} & {ROW_LABEL[r.dsr_model]} & " + " & ".join(cells)
                       + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(out)


def run(table: int, fmt: str, metrics_root: Path, out_dir: Path | None) -> tuple[str, list[Path]]:
    if table != 1:
        raise SolidError(f"table {table} is not implemented yet (built: 1)")
    if fmt not in FORMATS:
        raise SolidError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    rows = collect_rows(metrics_root)
    written = []
    if out_dir is not None:
        for f in FORMATS:
            written.append(write_text(out_dir / f"table{table}.{SUFFIX[f]}", render(rows, f)))
    return render(rows, fmt), written
