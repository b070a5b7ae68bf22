"""`solid figure`: the paper's Figures 3, 4 and 5, and training curves, drawn with matplotlib.

A value is a configuration's mean over the training seeds of `seeds` that have metrics, its
spread the sample sd (ddof 1; undefined for one seed), as in the tables (`report.model.Cell`); with
`seed=s` (`--seed`) it is that one seed's value and there is no spread. Runs are named as the
tables name them (`run_label`: `SASRec + Ours (DUET)`), never by key. Figures carry no title:
their captions are in docs/figures.md.

* Figure 5 - the lambda x T grid of the `study` model (study.lambdas x study.Ts): one heatmap
  per metric (UAUC, NDCG@10, Recall@10; blue, green, orange as in the paper), sized for a
  two-column paper's full width (7 in). Each cell shows its mean and, below it, ± sd, both x 100
  at 9 pt (and `n=k` when only k of the seeds have metrics). Colour rule (`colour_limits`): a
  panel's colour scale is centred on the middle of its means' range and spans
  max(range of the means, SD_SPAN x the median seed sd of its cells), so cells less than one sd
  apart get nearly the same colour instead of the scale's two ends; with one seed (no sd) it
  spans the range of the values. The cell with the highest mean has a bold black outline; the
  paper's best setting (a white star) is where the paper's own lambda sweep (Table 4, at
  T = 0.01) and T sweep (Table 5, at lambda = 0.1) peak in that metric (`paper_best`; lambda
  0.1, T 0.01 in all three), read from solidcli/paper/.
* Figures 3 and 4 - test UAUC of every Table 1 row (SR model alone, APG, Ours (APG), DUET,
  Ours (DUET)) per SR model, on CDs / Electronic (3) and Douban Book / Music (4): bars at the
  mean with ± sd error bars, one panel per dataset that has metrics; the others are named as
  missing. The legend names the rows as Table 1 does (its `-` row as `SR model alone`).
* `curves` - per-epoch valid UAUC of chosen runs (default: the study model's Table 2 runs),
  from `reports/curves/`, for a quick look without `dvc plots`: every seed's curve as a thin
  line, one colour per run (no mean curve: early stopping ends seeds at different epochs),
  or only seed s's curves with `seed=s`.

Every figure is written as PNG and PDF (same stem), deterministically (no timestamps).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from solidcli._io import staged_files
from solidcli.config import VARIANTS, Params
from solidcli.data.datasets import figure_groups
from solidcli.errors import SolidError
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, table1, table2
from solidcli.layout import curves_file, curves_path
from solidcli.models.dsrs import table1_rows
from solidcli.report.model import read_cells, seeds_of
from solidcli.report.paper import MODULES, TABLE2_ROWS, paper_rows
from solidcli.report.text import seeds_note
from solidcli.results import backbone_name, dataset_name, dsr_name

PANELS = (("UAUC", "Blues"), ("NDCG@10", "Greens"), ("Recall@10", "Oranges"))
SD_SPAN = 4.0  # Figure 5: a panel's colour scale spans at least this many median seed sds
CELL_PT = 9  # Figure 5: the size of a cell's text at the printed (7 in) width


def _save(fig, out: Path) -> list[Path]:
    """`out` as PNG and the same stem as PDF, both written or neither (`staged_files`)."""
    import matplotlib.pyplot as plt

    formats = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Creator": None}}
    written = [Path(out).with_suffix(f".{fmt}") for fmt in formats]
    try:
        with staged_files(written) as temps:
            for tmp, (fmt, meta) in zip(temps, formats.items(), strict=True):
                fig.savefig(tmp, format=fmt, dpi=150, metadata=meta)
    finally:
        plt.close(fig)
    return written


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_label(backbone: str, dsr: str, variant: str, tag: str | None = None) -> str:
    """A run as the tables name it: Table 1's row label after the SR model (`SASRec`,
    `SASRec + DUET`, `SASRec + Ours (DUET)`), or for Table 2's other rows the DSR model and the
    modules the row turns on (`SASRec + DUET + SPG + SML`); a tagged run adds its tag."""
    row = TABLE1_LABELS.get((dsr, variant))
    if row is None:
        flags = TABLE2_ROWS.get(variant, (False,) * len(MODULES))
        row = " + ".join([dsr_name(dsr), *(m for m, on in zip(MODULES, flags, strict=True)
                                            if on)])
    name = backbone_name(backbone) if row == "-" else f"{backbone_name(backbone)} + {row}"
    return name if tag is None else f"{name} [{tag}]"


def key_label(key: str) -> str:
    """`run_label` of a run key (<backbone>-<dsr>-<variant>[-<tag>]); the key itself when it
    does not parse."""
    parts = key.split("-", 2)
    if len(parts) == 3:
        backbone, dsr, name = parts
        for variant in sorted(VARIANTS, key=len, reverse=True):
            if name == variant or name.startswith(f"{variant}-"):
                return run_label(backbone, dsr, variant, name[len(variant) + 1:] or None)
    return key


def colour_limits(means: Sequence[float], sds: Sequence[float | None]
                  ) -> tuple[float, float, str]:
    """Figure 5's colour scale of one panel: (low, high, the rule that set its width). Centred
    on the middle of the means' range, it spans max(range, SD_SPAN x the median of the known
    sds), so means within one sd of each other get nearly the same colour; without sds (one
    seed) it spans the range (a 0.001 band around a single value)."""
    lo, hi = min(means), max(means)
    known = [s for s in sds if s is not None]
    floor = SD_SPAN * statistics.median(known) if known else 0.0
    if floor > hi - lo:
        width, rule = floor, f"{SD_SPAN:g} × median sd"
    else:
        width, rule = hi - lo, "range of the means" if known else "range of the values"
    width = width or 1e-3
    mid = (lo + hi) / 2
    return mid - width / 2, mid + width / 2, rule


def paper_best(metric: str) -> tuple[float, float]:
    """(lambda, T) where the paper's sweeps peak in `metric`: the best lambda of Table 4
    (at T = 0.01) and the best T of Table 5 (at lambda = 0.1)."""
    def best(number: int) -> float:
        rows = [(float(key[0]), m[metric]) for key, m in paper_rows(number) if m[metric] is not None]
        return max(rows, key=lambda r: r[1])[0]

    return best(4), best(5)


@dataclass(frozen=True)
class Heat:
    """One Figure 5 panel: the means, sds and seed counts by (lambda, T), the colour limits
    and their rule, the cell with the highest mean and the paper's best cell (None: not in the
    grid)."""

    metric: str
    means: dict[tuple[float, float], float]
    sds: dict[tuple[float, float], float | None]
    n: dict[tuple[float, float], int]
    low: float
    high: float
    rule: str
    best: tuple[float, float]
    paper: tuple[float, float] | None


def heat(metric: str, cells: Mapping[tuple[float, float], object], lams: Sequence[float],
         ts: Sequence[float]) -> Heat:
    """The panel of `metric` from the cells (`report.model.Cell`) by (lambda, T) of the grid
    lams x ts; the paper's best is matched within rel 1e-9."""
    means = {k: c.mean[metric] for k, c in cells.items()}
    sds = {k: c.sd[metric] for k, c in cells.items()}
    low, high, rule = colour_limits(list(means.values()), list(sds.values()))
    best = max(means, key=lambda k: (means[k], -lams.index(k[0]), -ts.index(k[1])))
    want = paper_best(metric)
    paper = next(((lam, t) for lam in lams for t in ts
                  if math.isclose(lam, want[0], rel_tol=1e-9)
                  and math.isclose(t, want[1], rel_tol=1e-9)), None)
    return Heat(metric, means, sds, {k: c.n for k, c in cells.items()}, low, high, rule, best,
                paper)


def _cell_text(mean: float, sd: float | None, n: int, seeds: int) -> str:
    return (f"{100 * mean:.2f}" + ("" if sd is None else f"\n±{100 * sd:.2f}")
            + (f"\nn={n}" if n < seeds else ""))


def figure5(params: Params, metrics_root: Path, out: Path, seed: int | None = None
            ) -> tuple[list[Path], list[Planned]]:
    """The lambda x T grid of means over `params.seeds` (or seed `seed`'s values) as one
    heatmap per metric; returns the files written and the seeded grid runs without metrics."""
    planned = lambda_t_sweep(params)
    seeds = seeds_of(params, seed)
    found, absent = read_cells(metrics_root, planned, seeds)
    if not found:
        raise SolidError(f"no lambda x T sweep metrics under {metrics_root} (the "
                         f"{len(planned)} scl runs of {params.study.dataset}/"
                         f"{params.study.backbone}/{params.study.dsr}); run the pipeline first")
    plt = _pyplot()
    import numpy as np
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    lams, ts = list(params.study.lambdas), list(params.study.Ts)
    cells = {(p.lam, p.T): found[p.run] for p in planned if p.run in found}
    fig, axes = plt.subplots(1, len(PANELS), figsize=(7.0, 3.5), layout="constrained",
                             sharey=True)
    fig.get_layout_engine().set(w_pad=0.02, wspace=0.01)
    papers = set()
    for ax, (metric, cmap_name) in zip(axes, PANELS, strict=True):
        h = heat(metric, cells, lams, ts)
        # the cmap's pale to dark part, so the lowest cell is not white nor the highest black
        cmap = ListedColormap(plt.get_cmap(cmap_name)(np.linspace(0.08, 0.82, 256))
                              ).with_extremes(bad="#f0f0f0")
        norm = Normalize(h.low, h.high)
        grid = np.full((len(ts), len(lams)), np.nan)
        for (lam, t), v in h.means.items():
            grid[ts.index(t), lams.index(lam)] = v
        image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
        for i, t in enumerate(ts):
            for j, lam in enumerate(lams):
                if (lam, t) not in h.means:
                    ax.text(j, i, "not run", ha="center", va="center", fontsize=CELL_PT - 1,
                            color="#666666")
                    continue
                r, g, b, _ = cmap(norm(h.means[(lam, t)]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.55
                ax.text(j, i, _cell_text(h.means[(lam, t)], h.sds[(lam, t)], h.n[(lam, t)],
                                         len(seeds)),
                        ha="center", va="center", fontsize=CELL_PT, linespacing=1.15,
                        color="white" if dark else "black")
        j, i = lams.index(h.best[0]), ts.index(h.best[1])
        ax.add_patch(Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, ec="black",
                               lw=2.4, gid="best"))
        if h.paper is not None:
            papers.add(h.paper)
            j, i = lams.index(h.paper[0]), ts.index(h.paper[1])
            ax.plot(j - 0.42, i - 0.37, ls="none", marker="*", ms=8, mfc="white", mec="black",
                    mew=0.8, gid="paper-best")
        ax.set_xticks(range(len(lams)), [f"{v:g}" for v in lams], fontsize=9)
        ax.set_yticks(range(len(ts)), [f"{v:g}" for v in ts], fontsize=9)
        ax.tick_params(length=0, pad=2)
        ax.set_xlabel("λ", fontsize=10, labelpad=1)
        if ax is axes[0]:
            ax.set_ylabel("T", fontsize=10, labelpad=1)
        ax.set_title(f"{metric} (×100)", fontsize=10)
        bar = fig.colorbar(image, ax=ax, location="bottom", fraction=0.06, pad=0.02,
                           aspect=25)
        bar.ax.xaxis.set_major_locator(MaxNLocator(4))
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.1f}"))
        bar.ax.tick_params(labelsize=8)
        bar.set_label(f"colour span: {h.rule}", fontsize=8, labelpad=1)
    paper = (f" (λ = {next(iter(papers))[0]:g}, T = {next(iter(papers))[1]:g})"
             if len(papers) == 1 else "")
    handles = [Patch(fill=False, ec="black", lw=2.4,
                     label="best value" if seed is not None else "best mean")]
    if papers:
        handles.append(Line2D([], [], ls="none", marker="*", ms=10, mfc="white", mec="black",
                              mew=0.8, label=f"paper's best{paper}"))
    note = seeds_note(seeds, seed is not None)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9,
               frameon=False, title=f"cells: {note}", title_fontsize=9)
    return _save(fig, out), absent


def figure_uauc(number: str, params: Params, metrics_root: Path, out: Path,
                seed: int | None = None) -> tuple[list[Path], list[Planned]]:
    """Figure 3 or 4: Table 1's test UAUC as grouped bars (means over `params.seeds` with sd
    error bars, or seed `seed`'s values), one panel per dataset with data; returns the files
    written and the seeded runs without metrics."""
    panels, missing, seeds = [], [], seeds_of(params, seed)
    group = figure_groups()[number]
    colours = {row.label: row.colour for row in table1_rows().values()}
    for dataset in group:
        planned = table1(params, dataset)
        if not Path(metrics_root).is_dir():
            missing += [replace(p, run=p.run.with_seed(s)) for p in planned for s in seeds]
            continue
        found, absent = read_cells(metrics_root, planned, seeds)
        missing += absent
        if found:
            panels.append((dataset, planned, found))
    if not panels:
        names = " and ".join(dataset_name(d) for d in group)
        raise SolidError(f"figure {number} needs metrics of {names} under {metrics_root}, and "
                         f"there are none; run `solid download --dataset {group[0]}` "
                         f"and the pipeline with datasets: [{', '.join(group)}]")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.2),
                             constrained_layout=True, squeeze=False)
    for ax, (dataset, planned, found) in zip(axes[0], panels, strict=True):
        backbones = list(dict.fromkeys(p.run.backbone for p in planned))
        labels = list(dict.fromkeys(TABLE1_LABELS[(p.run.dsr, p.run.variant)] for p in planned))
        width = 0.8 / len(labels)
        ends = [(c.mean["UAUC"] - (c.sd["UAUC"] or 0.0), c.mean["UAUC"] + (c.sd["UAUC"] or 0.0))
                for c in found.values()]
        lo = max(0.0, min(low for low, _ in ends) - 0.02)
        for p in planned:
            if p.run not in found:
                continue
            label = TABLE1_LABELS[(p.run.dsr, p.run.variant)]
            x = backbones.index(p.run.backbone) + (labels.index(label) - (len(labels) - 1) / 2
                                                   ) * width
            v, sd = found[p.run].mean["UAUC"], found[p.run].sd["UAUC"]
            ax.bar(x, v - lo, width, bottom=lo, color=colours[label], edgecolor="black",
                   lw=0.4, label="SR model alone" if label == "-" else label, yerr=sd,
                   capsize=2, error_kw={"lw": 0.6})
            ax.annotate(f"{v:.3f}", (x, v + (sd or 0.0)), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8,
                        rotation=90)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=8, ncol=len(unique), loc="upper left")
        ax.set_xticks(range(len(backbones)), [backbone_name(b) for b in backbones])
        ax.set_ylim(lo, max(high for _, high in ends) + 0.03)
        ax.set_ylabel(f"test UAUC (axis starts at {lo:.2f})")
        ax.set_title(dataset_name(dataset))
    absent = [dataset_name(d) for d in group if d not in {d for d, _, _ in panels}]
    note = f"; no metrics for {', '.join(absent)}" if absent else ""
    fig.supxlabel(f"bars: {seeds_note(seeds, seed is not None)}{note}", fontsize=9)
    return _save(fig, out), missing


def figure_curves(params: Params, dataset: str | None, keys: list[str] | None, out: Path,
                  seed: int | None = None) -> tuple[list[Path], list[str]]:
    """Per-epoch valid UAUC of runs named by key (<backbone>-<dsr>-<run>) from reports/curves:
    every seed of `params.seeds` (thin lines, one colour per run), or seed `seed` only.
    Returns the files written and the seeded runs without curves."""
    seeds = seeds_of(params, seed)
    if keys:
        dataset = dataset or params.study.dataset
        runs = [(key, [(s, curves_path(dataset, key, s)) for s in seeds])
                for key in keys]
    else:
        planned = [p.run for p in table2(params).values()]
        dataset = planned[0].dataset
        runs = [(run.key, [(s, curves_file(run.with_seed(s))) for s in seeds])
                for run in planned]
    series, missing = [], []
    for key, paths in runs:
        for s, path in paths:
            if not path.is_file():
                missing.append(f"{dataset}/{key} seed {s} ({path})")
                continue
            try:
                with path.open(encoding="utf-8") as fh:
                    rows = list(csv.DictReader(fh))
                series.append((key, [int(r["epoch"]) for r in rows],
                               [float(r["valid_UAUC"]) for r in rows]))
            except (KeyError, ValueError, OSError):
                raise SolidError(f"corrupt curves file {path}: needs columns epoch and "
                                 f"valid_UAUC; rerun `solid evaluate --dataset {dataset} --all`"
                                 ) from None
    if not series:
        raise SolidError(f"no training curves for {', '.join(missing)}; run the pipeline first")
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.0, 4.2), constrained_layout=True)
    colours = {key: f"C{i}" for i, key in enumerate(dict.fromkeys(k for k, _, _ in series))}
    style = {"marker": "o", "ms": 3, "lw": 1.2} if len(seeds) == 1 else {"lw": 0.8, "alpha": 0.7}
    labelled: set[str] = set()
    for key, epochs, uauc in series:
        ax.plot(epochs, uauc, color=colours[key],
                label=None if key in labelled else key_label(key), **style)
        labelled.add(key)
    ax.set_xlabel("epoch", fontsize=10)
    ax.set_ylabel(f"valid UAUC, {dataset_name(dataset)}", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(color="#dddddd", lw=0.6)
    shown = (f"training seed {seeds[0]}" if seed is not None
             else f"one line per training seed ({', '.join(map(str, seeds))})")
    ax.legend(fontsize=9, title=shown, title_fontsize=9)
    return _save(fig, out), missing
