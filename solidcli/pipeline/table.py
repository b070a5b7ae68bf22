"""`solid table`: the paper's Tables 1-5 from our metrics files, beside the paper's.

* Table 1 - overall comparison: per dataset, SR model x {-, APG, Ours (APG), DUET, Ours (DUET)}.
* Table 2 - module ablation: SPG / SML / SCL switched on or off (one dataset, backbone, DSR).
* Table 3 - modality ablation: full SOLID with semantics from each set of ID / image / text
  (the SCL runs tagged `mod-<set>`, e.g. `mod-id+text`).
* Table 4 - the lambda sweep at T = 0.01; Table 5 - the T sweep at lambda = 0.1.

Every number is a test-split metric read from `reports/metrics/**/metrics.json`. Only rows we
have are shown; nothing is estimated. With `compare="paper"` each metric also shows the paper's
value (`solidcli/paper/table<N>.csv`, see its README) and ours - paper; a cell the paper does not
print is missing. The paper ran Tables 2, 4 and 5 on Arts with SASRec + DUET, and the captions
say so next to the set-up we ran. One `Table` holds any of them; one renderer per format.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from solidcli._io import write_text
from solidcli.errors import SolidError
from solidcli.metrics import METRIC_NAMES

BACKBONE_NAMES = {"din": "DIN", "gru4rec": "GRU4Rec", "sasrec": "SASRec", "bert4rec": "BERT4Rec"}
# the paper's four multimodal sets first (the names Table 1 prints), then the other variants,
# which are never matched against the paper's rows
DATASET_NAMES = {"scientific": "Scientific", "arts": "Arts", "instruments": "Instruments",
                 "office": "Office", "cds": "CDs", "electronic": "Electronic",
                 "douban-book": "Douban Book", "douban-music": "Douban Music",
                 **{f"{d}-{v}": f"{d.capitalize()} ({label})"
                    for v, label in (("full", "full"), ("2018", "rebuilt from Amazon 2018"))
                    for d in ("scientific", "arts", "instruments", "office")}}
DSR_NAMES = {"none": "none", "apg": "APG", "duet": "DUET"}
# Table 1: (dsr, variant) -> (the paper's dsr_model spelling, our row label), in paper order
TABLE1_ROWS = {("none", "base"): ("none", "-"), ("apg", "base"): ("APG", "APG"),
               ("apg", "scl"): ("SOLID-APG", "Ours (APG)"), ("duet", "base"): ("DUET", "DUET"),
               ("duet", "scl"): ("SOLID-DUET", "Ours (DUET)")}
# Table 2: variant -> (SPG, SML, SCL), in paper order; scl_only = SCL without semantics
TABLE2_ROWS = {"base": (False, False, False), "spg": (True, False, False),
               "sml": (True, True, False), "scl_only": (False, False, True),
               "scl": (True, True, True)}
SWEEP_VALUES = (1.0, 0.1, 0.01, 0.001)  # lambda and T, in the paper's row order
SWEEP_FIXED = {4: ("lambda", "T", 0.01), 5: ("T", "lambda", 0.1)}  # swept, fixed, fixed value
PAPER_SETUP = "paper: Arts, SASRec + DUET"  # Tables 2-5 of the paper
# Table 3: modality set -> (ID, Image, Text), in paper order
TABLE3_ROWS = {key: tuple(m in key.split("+") for m in ("id", "image", "text"))
               for key in ("id", "image", "text", "id+image", "id+text", "image+text",
                           "id+image+text")}
MODALITY_TAG = "mod-"
BUILT = (1, 2, 3, 4, 5)
FORMATS = ("markdown", "latex", "csv")
COMPARE = ("paper",)
SUFFIX = {"markdown": "md", "latex": "tex", "csv": "csv"}


@dataclass(frozen=True)
class Run:
    """The parts of one `metrics.json` the tables and Figure 5 read."""

    path: Path
    dataset: str
    backbone: str
    dsr: str
    variant: str
    tag: str | None
    lam: float | None
    T: float | None
    protocol: str | None
    test: dict[str, float]


@dataclass(frozen=True)
class Col:
    """A label column's header in each format."""

    csv: str
    markdown: str
    latex: str


@dataclass
class Row:
    """One table row: label cells (a bool is a check mark), ours and the paper's metrics."""

    labels: tuple[str | bool, ...]
    csv: tuple[str, ...]  # the same labels as CSV writes them (the paper's spelling)
    ours: dict[str, float]
    paper: dict[str, float | None]
    group: str = ""  # section heading: Table 1's dataset


@dataclass
class Table:
    number: int
    title: str
    columns: tuple[Col, ...]
    rows: list[Row]
    setup: str = ""  # which runs ours are, when it is one set-up (Tables 2, 4, 5)
    paper_setup: str = ""  # which runs the paper's are, said only when comparing
    protocols: tuple[str, ...] = ()
    group: Col | None = None  # Table 1: the dataset column of the CSV


def _name(names: dict[str, str], key: str) -> str:
    return names.get(key, key)


def _opt_float(rec: dict, key: str) -> float | None:
    v = rec.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"'{key}' is not a number")
    return float(v)


def _read_run(path: Path) -> Run:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rec, dict):
            raise TypeError("not a JSON object")
        labels = {}
        for key in ("dataset", "backbone", "dsr", "variant"):
            if not isinstance(rec[key], str):
                raise TypeError(f"'{key}' is not a string")
            labels[key] = rec[key]
        tag = rec.get("tag")
        if tag is not None and not isinstance(tag, str):
            raise TypeError("'tag' is not a string")
        protocol = rec.get("protocol")
        test = rec["test"]
        if not isinstance(test, dict):
            raise TypeError("'test' is not an object")
        metrics = {}
        for m in METRIC_NAMES:
            v = _opt_float(test, m)
            if v is None:
                raise KeyError(f"test.{m}")
            metrics[m] = v
        return Run(path, tag=tag, lam=_opt_float(rec, "lambda"), T=_opt_float(rec, "T"),
                   protocol=protocol if isinstance(protocol, str) else None, test=metrics,
                   **labels)
    except KeyError as e:
        raise SolidError(f"corrupt metrics file {path}: missing key {e}") from None
    except (OSError, ValueError, TypeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SolidError(f"corrupt metrics file {path}: {reason}") from None


def load_runs(metrics_root: Path) -> list[Run]:
    """Every `metrics.json` below `metrics_root`, sorted by path; a corrupt one is a SolidError."""
    metrics_root = Path(metrics_root)
    if not metrics_root.is_dir():
        raise SolidError(f"no metrics folder {metrics_root}; run the pipeline first")
    return [_read_run(p) for p in sorted(metrics_root.rglob("metrics.json"))]


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9)


def _sweep_value(v: float | None) -> float | None:
    """The grid value (1, 0.1, 0.01, 0.001) that v is, or None."""
    return next((s for s in SWEEP_VALUES if _close(v, s)), None)


def sweep_runs(runs: Iterable[Run], dataset: str, backbone: str, dsr: str
               ) -> dict[tuple[float, float], Run]:
    """The lambda x T sweep (tagged SCL runs) of one set-up, keyed by grid (lambda, T)."""
    found: dict[tuple[float, float], Run] = {}
    for run in runs:
        if (run.tag is None or run.variant != "scl" or run.tag.startswith(MODALITY_TAG)
                or (run.dataset, run.backbone, run.dsr) != (dataset, backbone, dsr)):
            continue
        lam, t = _sweep_value(run.lam), _sweep_value(run.T)
        if lam is not None and t is not None:
            _put(found, (lam, t), run)
    return found


def _put(found: dict, key: Hashable, run: Run) -> None:
    if key in found:
        raise SolidError(f"two metrics files for the same table row: {found[key].path} and "
                         f"{run.path}; move one out of the metrics folder")
    found[key] = run


def _paper(number: int) -> list[tuple[tuple[str, ...], dict[str, float | None]]]:
    """The paper's rows: (label cells as printed, metrics with None for a missing cell)."""
    text = resources.files("solidcli").joinpath(f"paper/table{number}.csv").read_text(
        encoding="utf-8")
    out = []
    for rec in csv.DictReader(text.splitlines()):
        key = tuple(v for k, v in rec.items() if k not in METRIC_NAMES)
        out.append((key, {m: float(rec[m]) if rec[m] else None for m in METRIC_NAMES}))
    return out


def _paper_row(paper: list, key: tuple) -> dict[str, float | None]:
    """The paper's metrics for key (strings equal, floats within rel 1e-9), else all missing."""
    def same(cell: str, want: str | float) -> bool:
        return _close(float(cell), want) if isinstance(want, float) else cell == want

    for cells, metrics in paper:
        if len(cells) == len(key) and all(same(c, w) for c, w in zip(cells, key, strict=True)):
            return metrics
    return dict.fromkeys(METRIC_NAMES)


def _setup(dataset: str, backbone: str, dsr: str) -> str:
    return (f"ours: {_name(DATASET_NAMES, dataset)}, {_name(BACKBONE_NAMES, backbone)} + "
            f"{_name(DSR_NAMES, dsr)}")


def _protocols(runs: Iterable[Run]) -> tuple[str, ...]:
    return tuple(sorted({r.protocol for r in runs if r.protocol}))


def _table1(runs: list[Run], metrics_root: Path) -> Table:
    paper = _paper(1)
    found: dict[tuple[str, str, str], Run] = {}
    for run in runs:
        if run.tag is None and (run.dsr, run.variant) in TABLE1_ROWS:
            _put(found, (run.dataset, run.backbone, run.dsr + "/" + run.variant), run)
    if not found:
        wanted = ", ".join(f"{d}/{v}" for d, v in TABLE1_ROWS)
        raise SolidError(f"no Table 1 metrics under {metrics_root} (untagged runs with dsr/variant "
                         f"{wanted}); run the pipeline first")
    ds_order, bb_order = list(DATASET_NAMES), list(BACKBONE_NAMES)
    dsr_order = [f"{d}/{v}" for d, v in TABLE1_ROWS]

    def rank(key: tuple[str, str, str]) -> tuple:
        ds, bb, dv = key
        return (ds_order.index(ds) if ds in ds_order else len(ds_order), ds,
                bb_order.index(bb) if bb in bb_order else len(bb_order), bb, dsr_order.index(dv))

    rows = []
    for key in sorted(found, key=rank):
        run = found[key]
        ds, bb = _name(DATASET_NAMES, run.dataset), _name(BACKBONE_NAMES, run.backbone)
        paper_dsr, label = TABLE1_ROWS[(run.dsr, run.variant)]
        rows.append(Row((bb, label), (bb, paper_dsr), run.test,
                        _paper_row(paper, (ds, bb, paper_dsr)), group=ds))
    return Table(1, "overall comparison",
                 (Col("sr_model", "SR model", "SR model"), Col("dsr_model", "DSR model",
                                                                "DSR model")),
                 rows, protocols=_protocols(found.values()),
                 group=Col("dataset", "Dataset", "Dataset"))


def _table2(runs: list[Run], metrics_root: Path, dataset: str, backbone: str, dsr: str
            ) -> Table:
    found: dict[str, Run] = {}
    for run in runs:
        if (run.tag is None and run.variant in TABLE2_ROWS
                and (run.dataset, run.backbone, run.dsr) == (dataset, backbone, dsr)):
            _put(found, run.variant, run)
    if not found:
        raise SolidError(f"no Table 2 metrics under {metrics_root} (untagged runs "
                         f"{dataset}/{backbone}/{dsr} with variant "
                         f"{', '.join(TABLE2_ROWS)}); run the pipeline first")
    return _ablation_table(2, "module ablation", ("SPG", "SML", "SCL"), TABLE2_ROWS, found,
                           _setup(dataset, backbone, dsr))


def _ablation_table(number: int, title: str, names: tuple[str, ...],
                    order: dict[str, tuple[bool, ...]], found: dict[str, Run], setup: str
                    ) -> Table:
    """Tables 2 and 3: one row per switch pattern (a check mark per switch that is on), in
    the paper's row order, for the patterns we have runs of."""
    paper = _paper(number)
    rows = []
    for key, flags in order.items():
        if key in found:
            bits = tuple(str(int(f)) for f in flags)
            rows.append(Row(flags, bits, found[key].test, _paper_row(paper, bits)))
    return Table(number, title, tuple(Col(n, n, n) for n in names), rows, setup=setup,
                 paper_setup=PAPER_SETUP, protocols=_protocols(found.values()))


def _table3(runs: list[Run], metrics_root: Path, dataset: str, backbone: str, dsr: str
            ) -> Table:
    found: dict[str, Run] = {}
    for run in runs:
        if (run.variant == "scl" and run.tag is not None and run.tag.startswith(MODALITY_TAG)
                and (run.dataset, run.backbone, run.dsr) == (dataset, backbone, dsr)):
            key = "+".join(m for m in ("id", "image", "text")
                           if m in run.tag[len(MODALITY_TAG):].split("+"))
            if key in TABLE3_ROWS:
                _put(found, key, run)
    if not found:
        raise SolidError(f"no Table 3 metrics under {metrics_root} (scl runs "
                         f"{dataset}/{backbone}/{dsr} tagged {MODALITY_TAG}<modalities>); run "
                         "the pipeline's modality sweep first")
    return _ablation_table(3, "modality ablation", ("ID", "Image", "Text"), TABLE3_ROWS, found,
                           _setup(dataset, backbone, dsr))


def _sweep_table(number: int, runs: list[Run], metrics_root: Path, dataset: str,
                 backbone: str, dsr: str) -> Table:
    swept, fixed, value = SWEEP_FIXED[number]
    paper = _paper(number)
    grid = sweep_runs(runs, dataset, backbone, dsr)
    at = {(lam if swept == "lambda" else t): run for (lam, t), run in grid.items()
          if _close(t if swept == "lambda" else lam, value)}
    if not at:
        raise SolidError(
            f"no Table {number} metrics under {metrics_root} (tagged scl sweep runs "
            f"{dataset}/{backbone}/{dsr} at {fixed} = {value:g} with {swept} in "
            f"{', '.join(f'{v:g}' for v in SWEEP_VALUES)}); run the pipeline's sweep first")
    rows = [Row((f"{v:g}",), (f"{v:g}",), at[v].test, _paper_row(paper, (v,)))
            for v in SWEEP_VALUES if v in at]
    col = (Col("lambda", "λ", "$\\lambda$") if swept == "lambda" else Col("T", "T", "$T$"))
    title = f"{'lambda' if swept == 'lambda' else 'T'} sweep at {fixed} = {value:g}"
    return Table(number, title, (col,), rows, setup=_setup(dataset, backbone, dsr),
                 paper_setup=PAPER_SETUP, protocols=_protocols(at.values()))


def build(number: int, metrics_root: Path, dataset: str = "scientific",
          backbone: str = "sasrec", dsr: str = "duet") -> Table:
    """Table `number` (1 to 5) from the metrics files under `metrics_root`."""
    if number not in BUILT:
        built = ", ".join(map(str, BUILT))
        raise SolidError(f"table {number} is not implemented yet (built: {built})")
    runs = load_runs(metrics_root)
    if number == 1:
        return _table1(runs, metrics_root)
    if number == 2:
        return _table2(runs, metrics_root, dataset, backbone, dsr)
    if number == 3:
        return _table3(runs, metrics_root, dataset, backbone, dsr)
    return _sweep_table(number, runs, metrics_root, dataset, backbone, dsr)


# ---- rendering ------------------------------------------------------------------------------

def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def _diff(ours: float, paper: float | None) -> str:
    return "" if paper is None else f"{ours - paper:+.4f}"


def _caption(t: Table, compare: bool, group: str = "") -> str:
    parts = ["test split"] + list(t.protocols)
    parts += [s for s in (t.setup, t.paper_setup if compare else "") if s]
    if compare:
        parts.append("cells: ours / paper (ours - paper)")
    head = f"Table {t.number}: {t.title}" + (f", {group}" if group else "")
    return f"{head} ({'; '.join(parts)})"


def _groups(t: Table) -> list[tuple[str, list[Row]]]:
    return [(g, [r for r in t.rows if r.group == g]) for g in dict.fromkeys(r.group
                                                                            for r in t.rows)]


def _check(fmt: str, compare: str | None) -> None:
    if fmt not in FORMATS:
        raise SolidError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    if compare is not None and compare not in COMPARE:
        raise SolidError(f"unknown comparison '{compare}' (choose from {', '.join(COMPARE)})")


def render(table: Table, fmt: str, compare: str | None = None) -> str:
    """`table` as markdown, LaTeX (a booktabs tabular) or CSV; `compare="paper"` adds the
    paper's value and ours - paper to every metric."""
    _check(fmt, compare)
    return {"markdown": _markdown, "latex": _latex, "csv": _csv}[fmt](table, compare is not None)


def _csv(t: Table, compare: bool) -> str:
    head = ([t.group.csv] if t.group else []) + [c.csv for c in t.columns]
    for m in METRIC_NAMES:
        head += [m, f"{m}_paper", f"{m}_diff"] if compare else [m]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for r in t.rows:
        cells = ([r.group] if t.group else []) + list(r.csv)
        for m in METRIC_NAMES:
            cells.append(_num(r.ours[m]))
            if compare:
                cells += [_num(r.paper[m]), _diff(r.ours[m], r.paper[m])]
        writer.writerow(cells)
    return buf.getvalue()


def _md_text(s: str | bool) -> str:
    if isinstance(s, bool):
        return "✓" if s else "✗"
    return s.replace("\\", "\\\\").replace("|", "\\|")


def _markdown(t: Table, compare: bool) -> str:
    out = []
    for group, rows in _groups(t):
        out += [f"### {_md_text(_caption(t, compare, group))}", ""]
        labels = [c.markdown for c in t.columns]
        out.append("| " + " | ".join(labels + list(METRIC_NAMES)) + " |")
        out.append("|" + ":---|" * len(labels) + "---:|" * len(METRIC_NAMES))
        for r in rows:
            cells = [_md_text(x) for x in r.labels]
            for m in METRIC_NAMES:
                cell = _num(r.ours[m])
                if compare:
                    paper, diff = r.paper[m], _diff(r.ours[m], r.paper[m])
                    cell += f" / {_num(paper)} ({diff})" if paper is not None else " / missing"
                cells.append(cell)
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}"}


def _tex_text(s: str | bool) -> str:
    if isinstance(s, bool):
        return r"$\surd$" if s else r"$\times$"
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in s)


def _tex_num(text: str) -> str:
    """A formatted number with its sign in math mode; an empty one is '--'."""
    if not text:
        return "--"
    return f"${text}$" if text[0] in "+-" else text


def _latex(t: Table, compare: bool) -> str:
    nlab, per = len(t.columns), 3 if compare else 1
    ncol = nlab + per * len(METRIC_NAMES)
    out = [f"% {_caption(t, compare)}", "% Needs only \\usepackage{booktabs}.",
           "\\begin{tabular}{" + "l" * nlab + "r" * (ncol - nlab) + "}", "\\toprule"]
    labels = " & ".join(c.latex for c in t.columns)
    if compare:
        out.append("&" * (nlab - 1) + " & " + " & ".join(
            f"\\multicolumn{{3}}{{c}}{{{_tex_text(m)}}}" for m in METRIC_NAMES) + " \\\\")
        out.append(" ".join(f"\\cmidrule(lr){{{nlab + 1 + 3 * i}-{nlab + 3 + 3 * i}}}"
                            for i in range(len(METRIC_NAMES))))
        out.append(labels + " & " + " & ".join(["Ours & Paper & $\\Delta$"] * len(METRIC_NAMES))
                   + " \\\\")
    else:
        out.append(labels + " & " + " & ".join(_tex_text(m) for m in METRIC_NAMES) + " \\\\")
    for group, rows in _groups(t):
        out.append("\\midrule")
        if group:
            out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\textit{{{_tex_text(group)}}}}} \\\\")
        for r in rows:
            cells = [_tex_text(x) for x in r.labels]
            for m in METRIC_NAMES:
                cells.append(_tex_num(_num(r.ours[m])))
                if compare:
                    cells += [_tex_num(_num(r.paper[m])), _tex_num(_diff(r.ours[m], r.paper[m]))]
            out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    note = "; ".join(s for s in (t.setup, t.paper_setup if compare else "") if s)
    if note:
        out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\footnotesize {_tex_text(note)}}} \\\\")
    out += ["\\end{tabular}", ""]
    return "\n".join(out)


def run(table: int, fmt: str, metrics_root: Path, out_dir: Path | None,
        compare: str | None = None, dataset: str = "scientific", backbone: str = "sasrec",
        dsr: str = "duet") -> tuple[str, list[Path]]:
    """Paper table `table` in `fmt`; with `out_dir`, also write table<N>.{md,tex,csv} there."""
    _check(fmt, compare)
    built = build(table, metrics_root, dataset, backbone, dsr)
    text = render(built, fmt, compare)
    written = []
    if out_dir is not None:
        for f in FORMATS:
            written.append(write_text(Path(out_dir) / f"table{table}.{SUFFIX[f]}",
                                      render(built, f, compare)))
    return text, written
