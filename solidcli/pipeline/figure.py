"""`solid figure`: the paper's Figures 3, 4 and 5, and training curves, drawn with matplotlib.

A value is a configuration's mean over the training seeds of `seeds` that have metrics, its
spread the sample sd (ddof 1; undefined for one seed), as in the tables (`table.Cell`); with
`seed=s` (`--seed`) it is that one seed's value and there is no spread.

* Figure 5 - the lambda x T grid of the `study` model (study.lambdas x study.Ts): three
  panels (UAUC, NDCG@10, Recall@10; blue, green, orange as in the paper). Each configuration
  is a circle whose colour spans the panel's min..max of the means (the colour bar shows that
  range) and whose radius is proportional to the mean itself (radius = mean / panel max x half
  a cell), so a spread of 0.002 draws circles of near-equal size instead of a tiny one beside
  a big one. Each circle is labelled with its mean and, below it, ± sd (and `n=k` when only k
  of the seeds have metrics).
* Figures 3 and 4 - test UAUC of every Table 1 row (SR model alone, APG, Ours (APG), DUET,
  Ours (DUET)) per SR model, on CDs / Electronic (3) and Douban Book / Music (4): bars at the
  mean with ± sd error bars, one panel per dataset that has metrics; the others are named as
  missing.
* `curves` - per-epoch valid UAUC of chosen runs (default: the study model's Table 2 runs),
  from `reports/curves/`, for a quick look without `dvc plots`: every seed's curve as a thin
  line, one colour per run (no mean curve: early stopping ends seeds at different epochs),
  or only seed s's curves with `seed=s`.

Every figure is written as PNG and PDF (same stem), deterministically (no timestamps).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from solidcli._io import staged_files
from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, table1, table2
from solidcli.layout import curves_file, curves_path
from solidcli.pipeline.table import read_cells, seeds_note, seeds_of
from solidcli.results import backbone_name, dataset_name, dsr_name

PANELS = (("UAUC", "Blues"), ("NDCG@10", "Greens"), ("Recall@10", "Oranges"))
DATASETS = {"3": ("cds", "electronic"), "4": ("douban-book", "douban-music")}
ROW_COLOURS = {"-": "#9e9e9e", "APG": "#90caf9", "Ours (APG)": "#1565c0", "DUET": "#ffcc80",
               "Ours (DUET)": "#e65100"}


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


def figure5(params: Params, metrics_root: Path, out: Path, seed: int | None = None
            ) -> tuple[list[Path], list[Planned]]:
    """The lambda x T grid of means over `params.seeds` (or seed `seed`'s values); returns the
    files written and the seeded grid runs without metrics."""
    planned = lambda_t_sweep(params)
    seeds = seeds_of(params, seed)
    found, absent = read_cells(metrics_root, planned, seeds)
    if not found:
        raise SolidError(f"no lambda x T sweep metrics under {metrics_root} (the "
                         f"{len(planned)} scl runs of {params.study.dataset}/"
                         f"{params.study.backbone}/{params.study.dsr}); run the pipeline first")
    plt = _pyplot()
    from matplotlib.patches import Circle

    lams, ts = params.study.lambdas, params.study.Ts
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5.2 * len(PANELS), 5.0),
                             constrained_layout=True)
    for ax, (metric, cmap_name) in zip(axes, PANELS, strict=True):
        cells = {(p.lam, p.T): found[p.run] for p in planned if p.run in found}
        values = {k: c.mean[metric] for k, c in cells.items()}
        lo, hi = min(values.values()), max(values.values())
        cmap = plt.get_cmap(cmap_name)
        pad = 0.0 if hi > lo else 5e-4  # one value only: a band around it
        norm = plt.Normalize(lo - pad, hi + pad)
        for (lam, t), v in values.items():
            x, y = lams.index(lam), ts.index(t)
            radius = 0.46 * v / hi if hi > 0 else 0.0
            colour = cmap(0.25 + 0.75 * norm(v))
            ax.add_patch(Circle((x, y), radius, facecolor=colour, edgecolor=cmap(1.0), lw=1))
            cell, dark = cells[(lam, t)], norm(v) > 0.6
            sd = cell.sd[metric]
            label = f"{v:.4f}" + ("" if sd is None else f"\n± {sd:.4f}") + (
                f"\nn={cell.n}" if cell.n < len(seeds) else "")
            ax.text(x, y, label, ha="center", va="center", fontsize=7, linespacing=1.1,
                    color="white" if dark else "black")
        ax.set_xlim(-0.5, len(lams) - 0.5)
        ax.set_ylim(-0.5, len(ts) - 0.5)
        ax.set_aspect("equal")
        ax.set_xticks(range(len(lams)), [f"{v:g}" for v in lams])
        ax.set_yticks(range(len(ts)), [f"{v:g}" for v in ts])
        ax.invert_yaxis()
        ax.set_xlabel("λ")
        ax.set_ylabel("T")
        ax.set_title(f"test {metric}")
        ax.grid(color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.75,
                           format="%.4f")
        bar.set_label(f"colour: {lo:.4f} .. {hi:.4f}")
    s = params.study
    fig.suptitle(f"Figure 5: λ x T grid, {dataset_name(s.dataset)}, {backbone_name(s.backbone)}"
                 f" + {dsr_name(s.dsr)} (test split; {seeds_note(seeds, seed is not None)}); "
                 "radius ∝ value (value / panel max), colour spans the panel's range",
                 fontsize=10)
    return _save(fig, out), absent


def figure_uauc(number: str, params: Params, metrics_root: Path, out: Path,
                seed: int | None = None) -> tuple[list[Path], list[Planned]]:
    """Figure 3 or 4: Table 1's test UAUC as grouped bars (means over `params.seeds` with sd
    error bars, or seed `seed`'s values), one panel per dataset with data; returns the files
    written and the seeded runs without metrics."""
    panels, missing, seeds = [], [], seeds_of(params, seed)
    for dataset in DATASETS[number]:
        planned = table1(params, dataset)
        if not Path(metrics_root).is_dir():
            missing += [replace(p, run=p.run.with_seed(s)) for p in planned for s in seeds]
            continue
        found, absent = read_cells(metrics_root, planned, seeds)
        missing += absent
        if found:
            panels.append((dataset, planned, found))
    if not panels:
        names = " and ".join(dataset_name(d) for d in DATASETS[number])
        raise SolidError(f"figure {number} needs metrics of {names} under {metrics_root}, and "
                         f"there are none; run `solid download --dataset {DATASETS[number][0]}` "
                         f"and the pipeline with datasets: [{', '.join(DATASETS[number])}]")
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
            ax.bar(x, v - lo, width, bottom=lo, color=ROW_COLOURS[label], edgecolor="black",
                   lw=0.4, label=label, yerr=sd, capsize=2, error_kw={"lw": 0.6})
            ax.annotate(f"{v:.3f}", (x, v + (sd or 0.0)), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=6,
                        rotation=90)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=7, ncol=len(unique), loc="upper left")
        ax.set_xticks(range(len(backbones)), [backbone_name(b) for b in backbones])
        ax.set_ylim(lo, max(high for _, high in ends) + 0.03)
        ax.set_ylabel(f"test UAUC (axis starts at {lo:.2f})")
        ax.set_title(dataset_name(dataset))
    names = ", ".join(dataset_name(d) for d, _, _ in panels)
    absent = [dataset_name(d) for d in DATASETS[number] if d not in {d for d, _, _ in panels}]
    note = f"; no metrics for {', '.join(absent)}" if absent else ""
    fig.suptitle(f"Figure {number}: test UAUC of the SR models, the DSR models and Ours "
                 f"({names})\n{seeds_note(seeds, seed is not None)}{note}", fontsize=10)
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
    fig, ax = plt.subplots(figsize=(7.0, 4.2), constrained_layout=True)
    colours = {key: f"C{i}" for i, key in enumerate(dict.fromkeys(k for k, _, _ in series))}
    style = {"marker": "o", "ms": 3, "lw": 1.2} if len(seeds) == 1 else {"lw": 0.8, "alpha": 0.7}
    labelled: set[str] = set()
    for key, epochs, uauc in series:
        ax.plot(epochs, uauc, color=colours[key], label=None if key in labelled else key,
                **style)
        labelled.add(key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("valid UAUC")
    ax.grid(color="#dddddd", lw=0.6)
    ax.legend(fontsize=7)
    shown = (f"training seed {seeds[0]}" if seed is not None
             else f"one line per training seed of {', '.join(map(str, seeds))}")
    ax.set_title(f"Training curves, {dataset_name(dataset)} (valid split; {shown})",
                 fontsize=10)
    return _save(fig, out), missing
