"""`solid table`: the paper's Tables 1-5 from our metrics files, beside the paper's.

* Table 1 - overall comparison: per dataset, SR model x {-, APG, Ours (APG), DUET, Ours (DUET)}.
* Table 2 - module ablation: SPG / SML / SCL switched on or off (the `study` model).
* Table 3 - modality ablation: full SOLID with semantics from each set of ID / image / text
  (`study.modalities`; the SCL runs tagged `mod-<set>`).
* Table 4 - the lambda sweep (`study.lambdas`) at T = `solid.T`; Table 5 - the T sweep
  (`study.Ts`) at lambda = `solid.lambda`.
* `summary` - Table 1's headline test UAUC and NDCG@10 per row, as JSON: the pipeline's DVC
  metrics file (`reports/summary.json`), so `dvc metrics show` / `dvc exp show` stay readable.

Rows are the configurations params.yaml defines (`solidcli.grid`), each read for every
training seed of `seeds` at its layout path; nothing is found by listing folders. A cell is the
mean ± sample sd (ddof 1) over the n seeds that have metrics (`Cell`): `0.7632 ± 0.0032`, just
`0.7632` when n is 1 (sd undefined), and marked `(n=3)` when n is below the number of seeds the
caption names. With `seed=s` (`--seed`) a cell is that one seed's value, as printed before there
were seeds (any seed, listed in `seeds` or not). A seeded run without metrics is named in
`Table.missing` (a configuration with none at all shows as `not run`); nothing is estimated.
Every number is a test-split metric. With `compare="paper"` each metric also shows the paper's
value (`solidcli/paper/table<N>.csv`, see its README) and our mean - paper; a cell the paper
does not print is missing. The paper ran Tables 2-5 on Arts with SASRec + DUET, and the
captions say so next to the set-up we ran. One `Table` holds any of them; one renderer per
format.

`judge` marks what the paper marks and more: each block's best mean in bold (Table 1: per SR
model), and every SOLID row compared with its DSR model alone (Table 1: the same SR model's APG
or DUET; Tables 2-5: the study model's base run) by `solidcli.pairing` / `solidcli.stats`:
† when significantly above, ‡ below (`stats` in params.yaml; `correction="holm"` over the
table's comparisons); the caption names the tests, alpha and the number of comparisons.
`stats=True` adds each comparison's difference, CI and p-values. `kind="full"` reads the
full-ranking metrics instead of the sampled ones (NDCG, Recall, MRR; no paper values).
`compare="protocols"` (Table 1) shows, per cell, ours under the paper's protocol, ours under
the authors' code's protocol (`protocols/authors`, test-selected) and the paper's number.
`compare="losses"` (Table 1) shows, per cell, ours under BCE and the same run trained under
softmax cross-entropy (`CE_GRID`: protocols/ce, and protocols/ce-din for DIN, read as one
grid), with that grid's own bold and marks; without it, Table 1 has each `Reference`'s
baselines as reference rows instead (`<SR model> (CE)`, `(sampled CE)`, `(CE, standard
encoder)`).

CSV columns: the label columns, then `n_seeds` (the seeds a row's cells average; 0: not run),
then per metric `<m>` (mean) and `<m>_sd` (empty when undefined), each followed by `<m>_paper`
and `<m>_diff` (mean - paper) when comparing with the paper, `<m>_authors`, `<m>_authors_sd`,
`<m>_paper` with the protocols, and `<m>_delta`, `<m>_delta_low`, `<m>_delta_high`,
`<m>_p_seeds`, `<m>_p_users`, `<m>_sig` (+1 / -1 / 0) with `stats`. With `seed=s` there are no `n_seeds` / `_sd`
columns: `<m>` is that seed's value. summary.json holds, per dataset and run key, `UAUC`,
`UAUC_sd`, `NDCG@10`, `NDCG@10_sd` (null when undefined) and `n_seeds` (with `seed=s`: `UAUC`
and `NDCG@10` only).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from solidcli._io import staged_files, write_json
from solidcli.config import Params, StatsCfg
from solidcli.errors import SolidError
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, modality_sets, table1, table2
from solidcli.layout import RunId, table_file
from solidcli.metrics import METRIC_NAMES
from solidcli.pairing import PerUser, pair
from solidcli.results import (
    KIND_METRICS,
    KINDS,
    Result,
    as_roots,
    backbone_name,
    dataset_name,
    dsr_name,
    read_results,
)
from solidcli.stats import Paired, check_correction, correct

# Table 1: (dsr, variant) -> the paper's dsr_model spelling in its CSV (labels: grid)
PAPER_DSR = {("none", "base"): "none", ("apg", "base"): "APG", ("apg", "scl"): "SOLID-APG",
             ("duet", "base"): "DUET", ("duet", "scl"): "SOLID-DUET"}
# Table 2: variant -> (SPG, SML, SCL), in paper order; scl_only = SCL without semantics
TABLE2_ROWS = {"base": (False, False, False), "spg": (True, False, False),
               "sml": (True, True, False), "scl_only": (False, False, True),
               "scl": (True, True, True)}
PAPER_SETUP = "paper: Arts, SASRec + DUET"  # Tables 2-5 of the paper
TABLE3_MODALITIES = ("id", "image", "text")  # the paper's column order
BUILT = ("1", "2", "3", "4", "5", "summary")
FORMATS = ("markdown", "latex", "csv")
COMPARE = ("paper", "protocols", "losses")
AUTHORS_METRICS = Path("protocols/authors/reports/metrics")  # `--compare protocols` reads it


@dataclass(frozen=True)
class Reference:
    """Runs trained outside the default pipeline under another objective (issue 12): where
    their metrics are, what they trained with, and how Table 1's reference rows
    (`<SR model><suffix>`, after the SR model's own rows) and the claims name them."""

    root: Path
    tag: str  # what the claims call its runs: `[ce]`, `[sampled-ce]`, `[ce, standard encoder]`
    suffix: str
    trained: str  # how they trained, for captions: "softmax cross-entropy over ..."
    where: str  # their params and project, for captions: "train.loss: ce, protocols/ce"
    rows: str = ""  # what their reference rows are (default: the baselines so trained)

    @property
    def note(self) -> str:
        """Table 1's caption words for its reference rows."""
        rows = self.rows or f"the baselines trained with {self.trained}"
        return f"{self.suffix.strip()}: {rows} ({self.where})"


# Table 1 under softmax cross-entropy, trained in two parts read as one grid: every item's
# softmax for GRU4Rec, SASRec and BERT4Rec; DIN (whose every-item softmax costs 190x its
# BCE epoch) over the positive and 100 sampled negatives
CE_GRID = (
    Reference(Path("protocols/ce/reports/metrics"), "ce", " (CE)",
              "softmax cross-entropy over every item", "train.loss: ce, protocols/ce"),
    Reference(Path("protocols/ce-din/reports/metrics"), "sampled-ce", " (sampled CE)",
              "softmax cross-entropy over the positive and 100 sampled negatives",
              "train.loss: sampled-ce, protocols/ce-din"),
)
# SASRec's grid under ce with the standard encoder (RecBole's; protocols/ce-standard)
STANDARD = Reference(Path("protocols/ce-standard/reports/metrics"), "ce, standard encoder",
                     " (CE, standard encoder)", CE_GRID[0].trained, "protocols/ce-standard",
                     rows="SASRec's baselines so trained, with the standard encoder of Kang & "
                          "McAuley and RecBole")


def found_in(refs: Sequence[Reference]) -> list[Reference]:
    """The references whose metrics folder exists."""
    return [r for r in refs if r.root.is_dir()]


SUMMARY_METRICS = ("UAUC", "NDCG@10")


@dataclass(frozen=True)
class Col:
    """A label column's header in each format."""

    csv: str
    markdown: str
    latex: str


@dataclass(frozen=True)
class Cell:
    """One configuration's test metrics over the seeds that have them: mean, sample sd (None
    for one seed) and the results they come from (in seed order)."""

    results: tuple[Result, ...]
    mean: dict[str, float]
    sd: dict[str, float | None]

    @classmethod
    def of(cls, results: list[Result], kind: str = "sampled") -> Cell:
        values = {m: [r.values(kind)[m] for r in results] for m in KIND_METRICS[kind]}
        return cls(tuple(results), {m: statistics.fmean(v) for m, v in values.items()},
                   {m: statistics.stdev(v) if len(v) > 1 else None for m, v in values.items()})

    @property
    def n(self) -> int:
        return len(self.results)


def seeds_of(params: Params, seed: int | None) -> tuple[int, ...]:
    """The training seeds a table or figure reads: `seeds`, or the one seed asked for."""
    return tuple(params.seeds) if seed is None else (int(seed),)


def seeds_note(seeds: tuple[int, ...], one_seed: bool, pm: str = "±") -> str:
    """What a cell is: `training seed 0`, or `mean ± sd over 5 training seeds (0, ..., 4)`."""
    if one_seed:
        return f"training seed {seeds[0]}"
    plural = "s" if len(seeds) > 1 else ""
    return (f"mean {pm} sd over {len(seeds)} training seed{plural} "
            f"({', '.join(map(str, seeds))})")


def read_cells(metrics_root: Path | Sequence[Path], planned: list[Planned], seeds: tuple[int, ...],
               kind: str = "sampled") -> tuple[dict[RunId, Cell], list[Planned]]:
    """The cell of each planned configuration with metrics for any of `seeds`, and one
    `Planned` per seeded run without metrics (its `run` is the seeded RunId)."""
    found, missing = read_results(metrics_root, [p.run for p in planned], list(seeds))
    by_config = {p.run: p for p in planned}
    return ({run: Cell.of(results, kind) for run, results in found.items()},
            [replace(by_config[run.config], run=run) for run in missing])


@dataclass
class Row:
    """One table row: label cells (a bool is a check mark), ours (None: no seed of the
    configuration has metrics) and the paper's metrics."""

    labels: tuple[str | bool, ...]
    csv: tuple[str, ...]  # the same labels as CSV writes them (the paper's spelling)
    ours: Cell | None
    paper: dict[str, float | None]
    group: str = ""  # section heading: Table 1's dataset
    block: str = ""  # rows whose best mean is bold together (Table 1: dataset + SR model)
    baseline: Cell | None = None  # what the row's marks compare it with (a SOLID row's DSR)
    pairs: dict[str, Paired] = field(default_factory=dict)  # metric -> ours vs baseline
    best: frozenset[str] = frozenset()  # metrics whose mean is the block's best
    other: Cell | None = None  # `--compare protocols`: the same run under the authors' protocol
    # (`--compare losses`: under train.loss ce, whose own row, with its marks, is `other_row`)
    run: RunId | None = None  # Table 1: the configuration the row shows (None: a reference row)
    other_row: Row | None = None


@dataclass
class Table:
    number: int
    title: str
    columns: tuple[Col, ...]
    rows: list[Row]
    seeds: tuple[int, ...] = (0,)  # the training seeds read
    one_seed: bool = False  # `seed=s`: cells are one seed's values, not mean ± sd
    setup: str = ""  # which runs ours are, when it is one set-up (Tables 2-5)
    paper_setup: str = ""  # which runs the paper's are, said only when comparing
    protocols: tuple[str, ...] = ()
    group: Col | None = None  # Table 1: the dataset column of the CSV
    missing: list[Planned] = field(default_factory=list)  # seeded runs without metrics
    baseline: str = ""  # what the marked rows are compared with, for the legend
    stats: StatsCfg | None = None  # set by `judge`: the tests behind the marks
    correction: str = "none"
    kind: str = "sampled"  # sampled (the paper's protocol) or full-ranking metrics
    other_setup: str = ""  # `--compare losses`: how the other side trained (`attach_losses`)

    @property
    def metrics(self) -> tuple[str, ...]:
        return KIND_METRICS[self.kind]

    def sign(self, row: Row, metric: str) -> int:
        """+1 / -1 when the row is significantly above / below its baseline, else 0."""
        pair = row.pairs.get(metric)
        return 0 if pair is None or self.stats is None else pair.significant(
            self.stats.alpha, self.stats.rule)

    @property
    def comparisons(self) -> int:
        return sum(len(r.pairs) for r in self.rows)

    @property
    def untested(self) -> int:
        """Comparisons that lack the user test the rule requires (no per-user files)."""
        if self.stats is None or self.stats.rule == "seeds":
            return 0
        return sum(1 for r in self.rows for p in r.pairs.values()
                   if p.has_user_test and p.n_users == 0)

    def partial(self, cell: Cell) -> bool:
        """Whether `cell` averages fewer seeds than the table's."""
        return cell.n < len(self.seeds)


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9)


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


def _setup(params: Params) -> str:
    s = params.study
    return (f"ours: {dataset_name(s.dataset)}, {backbone_name(s.backbone)} + "
            f"{dsr_name(s.dsr)}")


class _Reader:
    """Reads the planned configurations of one table at its seeds and keeps what is
    missing."""

    def __init__(self, metrics_root: Path | Sequence[Path], number: int, params: Params,
                 seed: int | None, kind: str = "sampled") -> None:
        self.root, self.number, self.kind = metrics_root, number, kind  # (`read_results`)
        self.seeds, self.one_seed = seeds_of(params, seed), seed is not None
        self.missing: list[Planned] = []
        self.found: list[Result] = []

    def read(self, planned: list[Planned]) -> dict[RunId, Cell]:
        cells, missing = read_cells(self.root, planned, self.seeds, self.kind)
        self.missing += missing
        self.found += [r for c in cells.values() for r in c.results]
        return cells

    def table(self, **kw) -> Table:
        if not self.found:
            configs = len({p.run.config for p in self.missing})
            seeds = ", ".join(map(str, self.seeds))
            where = " + ".join(map(str, as_roots(self.root)))
            raise SolidError(f"no Table {self.number} metrics under {where}: none of the "
                             f"{configs} runs params.yaml defines for it is evaluated (training "
                             f"seed{'s' if len(self.seeds) > 1 else ''} {seeds}; first: "
                             f"{self.missing[0].run if self.missing else 'none'}); run the "
                             "pipeline first (`dvc repro`)")
        protocols = tuple(sorted({p for r in self.found if (p := r.protocol_of(self.kind))}))
        return Table(self.number, seeds=self.seeds, one_seed=self.one_seed,
                     protocols=protocols, missing=self.missing, kind=self.kind, **kw)


def _table1(params: Params, metrics_root: Path, seed: int | None,
            kind: str = "sampled", references: Sequence[Reference] = ()) -> Table:
    """Table 1; with `references` (`CE_GRID`, `STANDARD`) each SR model also gets reference
    rows `<SR model><suffix>`: its baselines found there (trained under another objective;
    same seeds, data, candidates and selection on valid), in its block for the bold best
    mean."""
    paper, reader, rows = _paper(1), _Reader(metrics_root, 1, params, seed, kind), []
    shown: set[str] = set()  # the notes of the references that gave rows
    for dataset in params.datasets:
        planned = table1(params, dataset)
        found = reader.read(planned)
        refs_found = [(read_cells(ref.root, planned, reader.seeds, kind)[0], ref)
                      for ref in found_in(references)]
        ds = dataset_name(dataset)
        bases = {(q.run.backbone, q.run.dsr): q.run for q in planned if q.run.variant == "base"}
        for backbone, group in itertools.groupby(planned, key=lambda q: q.run.backbone):
            bb, block = backbone_name(backbone), f"{ds}/{backbone_name(backbone)}"
            group = list(group)
            for p in group:
                row = (p.run.dsr, p.run.variant)
                base = bases.get((backbone, p.run.dsr)) if p.run.variant != "base" else None
                rows.append(Row((bb, TABLE1_LABELS[row]), (bb, PAPER_DSR[row]),
                                found.get(p.run), _paper_row(paper, (ds, bb, PAPER_DSR[row])),
                                group=ds, block=block,
                                baseline=found.get(base) if base else None, run=p.run))
            for cells, ref in refs_found:  # the backbone's reference rows after its own
                name = bb + ref.suffix
                refs = [q.run for q in group if q.run.variant == "base" and q.run in cells]
                rows += [Row((name, TABLE1_LABELS[(r.dsr, "base")]),
                             (name, PAPER_DSR[(r.dsr, "base")]), cells[r],
                             dict.fromkeys(METRIC_NAMES), group=ds, block=block)
                         for r in refs]
                shown.update([ref.note] if refs else [])
    note = "; ".join(dict.fromkeys(r.note for r in references if r.note in shown))
    note = f"{note}, a reference" if note else ""
    return reader.table(title="overall comparison", setup=note,
                        columns=(Col("sr_model", "SR model", "SR model"),
                                 Col("dsr_model", "DSR model", "DSR model")),
                        rows=rows, group=Col("dataset", "Dataset", "Dataset"),
                        baseline="its DSR model alone (same SR model)")


def _study_base(params: Params, reader: _Reader) -> tuple[Cell | None, str]:
    """Tables 2-5 mark each SOLID row against the study model's DSR alone (Table 2's first
    row): its cell, and its name for the legend."""
    base = table2(params)["base"]
    cell = reader.read([base]).get(base.run)
    s = params.study
    return cell, f"{backbone_name(s.backbone)} + {dsr_name(s.dsr)} alone"


def _flag_rows(number: int, reader: _Reader, planned: list[tuple[tuple[bool, ...], Planned]],
               baseline: Cell | None) -> list[Row]:
    """Tables 2 and 3: one row per switch pattern (a check mark per switch that is on)."""
    paper = _paper(number)
    found = reader.read([p for _, p in planned])
    rows = []
    for flags, p in planned:
        bits = tuple(str(int(f)) for f in flags)
        rows.append(Row(flags, bits, found.get(p.run), _paper_row(paper, bits),
                        baseline=baseline if p.run.variant != "base" else None))
    return rows


def _table2(params: Params, metrics_root: Path, seed: int | None,
            kind: str = "sampled") -> Table:
    reader = _Reader(metrics_root, 2, params, seed, kind)
    planned = [(TABLE2_ROWS[v], p) for v, p in table2(params).items()]
    baseline, name = _study_base(params, reader)
    return reader.table(title="module ablation", columns=tuple(Col(n, n, n) for n in
                                                               ("SPG", "SML", "SCL")),
                        rows=_flag_rows(2, reader, planned, baseline), setup=_setup(params),
                        paper_setup=PAPER_SETUP, baseline=name)


def _table3(params: Params, metrics_root: Path, seed: int | None,
            kind: str = "sampled") -> Table:
    reader = _Reader(metrics_root, 3, params, seed, kind)
    sets = modality_sets(params, "scl")
    # the paper's order: by number of modalities, then ID before image before text
    def order(p: Planned) -> tuple:
        mods = p.modalities.split("+")
        return (len(mods), [TABLE3_MODALITIES.index(m) for m in mods if m in TABLE3_MODALITIES])

    planned = [(tuple(m in p.modalities.split("+") for m in TABLE3_MODALITIES), p)
               for p in sorted(sets, key=order)]
    baseline, name = _study_base(params, reader)
    return reader.table(title="modality ablation", columns=tuple(Col(n, n, n) for n in
                                                                 ("ID", "Image", "Text")),
                        rows=_flag_rows(3, reader, planned, baseline), setup=_setup(params),
                        paper_setup=PAPER_SETUP, baseline=name)


def _sweep_table(number: int, params: Params, metrics_root: Path, seed: int | None,
                 kind: str = "sampled") -> Table:
    swept, fixed = ("lambda", "T") if number == 4 else ("T", "lambda")
    value = params.solid.T if number == 4 else params.solid.lam
    paper, reader = _paper(number), _Reader(metrics_root, number, params, seed, kind)
    planned = [p for p in lambda_t_sweep(params)
               if _close(p.T if number == 4 else p.lam, value)]
    if not planned:
        raise SolidError(f"Table {number} sweeps {swept} at {fixed} = {value:g} (solid."
                         f"{fixed}), which is not in study.{'Ts' if number == 4 else 'lambdas'};"
                         " add it there")
    found = reader.read(planned)
    baseline, name = _study_base(params, reader)
    rows = []
    for p in planned:
        v = p.lam if number == 4 else p.T
        rows.append(Row((f"{v:g}",), (f"{v:g}",), found.get(p.run), _paper_row(paper, (v,)),
                        baseline=baseline))
    col = Col("lambda", "λ", "$\\lambda$") if number == 4 else Col("T", "T", "$T$")
    return reader.table(title=f"{swept} sweep at {fixed} = {value:g}", columns=(col,),
                        rows=rows, setup=_setup(params), paper_setup=PAPER_SETUP,
                        baseline=name)


def build(number: int | str, params: Params, metrics_root: Path, seed: int | None = None,
          correction: str = "none", kind: str = "sampled",
          references: Sequence[Reference] = ()) -> Table:
    """Table `number` (1 to 5) from the metrics files under `metrics_root`: mean ± sd over
    `params.seeds`, or the values of training seed `seed`; bold and marks as `judge` sets
    them."""
    number = str(number)
    if number not in BUILT or number == "summary":
        built = ", ".join(b for b in BUILT if b != "summary")
        raise SolidError(f"table {number} is not implemented yet (built: {built}, summary)")
    if kind not in KINDS:
        raise SolidError(f"unknown metrics '{kind}' (choose from {', '.join(KINDS)})")
    n = int(number)
    if n == 1:
        t = _table1(params, metrics_root, seed, kind, references)
    elif n == 2:
        t = _table2(params, metrics_root, seed, kind)
    elif n == 3:
        t = _table3(params, metrics_root, seed, kind)
    else:
        t = _sweep_table(n, params, metrics_root, seed, kind)
    return judge(t, params.stats, correction)


def attach_protocol(t: Table, params: Params, root: Path, seed: int | None,
                    kind: str = "sampled") -> Table:
    """Give every Table 1 row its cell under the authors' protocol (`root`: the metrics of
    `protocols/authors`, the same runs and seeds); a run it lacks shows as not run."""
    if not root.is_dir():
        raise SolidError(f"no authors'-protocol metrics under {root}; run them with `cd "
                         "protocols/authors && dvc repro`")
    planned = [p for d in params.datasets for p in table1(params, d)]
    cells, _ = read_cells(root, planned, seeds_of(params, seed), kind)
    for r in t.rows:
        r.other = cells.get(r.run) if r.run is not None else None
    return t


def attach_losses(t: Table, params: Params, refs: Sequence[Reference], seed: int | None,
                  correction: str = "none", kind: str = "sampled") -> Table:
    """Give every Table 1 row the same configuration trained under softmax cross-entropy
    (`refs`: the parts of the ce-trained grid, `CE_GRID`, read as one), with that table's own
    bold and marks (SOLID vs its DSR, both so trained); a run none of them has shows as not
    run. The caption names each part's objective and the SR models it gave."""
    present = found_in(refs)
    if not present:
        raise SolidError("no metrics of the ce-trained Table 1 under "
                         f"{' or '.join(str(r.root) for r in refs)}; run them with "
                         "`make repro-ce` (cd protocols/ce && dvc repro)")
    other = build("1", params, [r.root for r in present], seed, correction, kind)
    by_run = {r.run: r for r in other.rows if r.run is not None}
    for r in t.rows:
        o = by_run.get(r.run)
        r.other_row = o if o is not None and o.ours is not None else None
        r.other = None if r.other_row is None else r.other_row.ours
    parts = []
    for ref in present:
        gave = dict.fromkeys(backbone_name(res.run.backbone) for r in t.rows if r.other
                             for res in r.other.results if res.path.is_relative_to(ref.root))
        if gave:
            parts.append(f"{ref.trained} ({ref.where}: {', '.join(gave)})")
    t.other_setup = " or ".join(parts)
    return t


def judge(t: Table, cfg: StatsCfg, correction: str = "none") -> Table:
    """Set each row's best-of-block metrics (bold) and, for every row with a baseline, its
    paired comparison per metric (`solidcli.pairing`; `correction` over the whole table)."""
    check_correction(correction)
    users = PerUser()
    keys, family = [], []
    for i, r in enumerate(t.rows):
        if r.ours is None or r.baseline is None:
            continue
        for m in t.metrics:
            keys.append((i, m))
            family.append(pair(r.ours.results, r.baseline.results, m, users, cfg.user_test,
                               t.kind))
    for (i, m), p in zip(keys, correct(family, correction), strict=True):
        t.rows[i].pairs[m] = p
    for block in dict.fromkeys(r.block for r in t.rows):
        rows = [r for r in t.rows if r.block == block and r.ours is not None]
        if len(rows) < 2:  # nothing to be best among
            continue
        best = {m: max(_num(r.ours.mean[m]) for r in rows) for m in t.metrics}
        for r in rows:
            r.best = frozenset(m for m in t.metrics if _num(r.ours.mean[m]) == best[m])
    t.stats, t.correction = cfg, correction
    return t


def _summary_entry(cell: Cell, one_seed: bool) -> dict:
    if one_seed:
        return {m: round(cell.mean[m], 6) for m in SUMMARY_METRICS}
    out: dict = {}
    for m in SUMMARY_METRICS:
        sd = cell.sd[m]
        out |= {m: round(cell.mean[m], 6), f"{m}_sd": None if sd is None else round(sd, 6)}
    return out | {"n_seeds": cell.n}


def summary(params: Params, metrics_root: Path, seed: int | None = None
            ) -> tuple[dict, list[Planned]]:
    """Table 1's headline metrics: {dataset: {<backbone>-<dsr>-<run>: {UAUC, UAUC_sd, NDCG@10,
    NDCG@10_sd, n_seeds}}} over `params.seeds`, or {UAUC, NDCG@10} of training seed `seed`."""
    out: dict[str, dict] = {}
    missing: list[Planned] = []
    for dataset in params.datasets:
        planned = table1(params, dataset)
        cells, absent = read_cells(metrics_root, planned, seeds_of(params, seed))
        missing += absent
        out[dataset] = {p.run.key: _summary_entry(cells[p.run], seed is not None)
                        for p in planned if p.run in cells}
    return out, missing


# ---- rendering ------------------------------------------------------------------------------

def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def _diff(ours: float | None, paper: float | None) -> str:
    return "" if paper is None or ours is None else f"{ours - paper:+.4f}"


def _mean(cell: Cell | None, m: str) -> float | None:
    return None if cell is None else cell.mean[m]


MARKS = {"markdown": {1: "†", -1: "‡"}, "latex": {1: "$^{\\dagger}$", -1: "$^{\\ddagger}$"}}
USER_TEST_NAMES = {"ttest": "a paired t-test over users", "wilcoxon": "a Wilcoxon signed-rank "
                   "test over users", "permutation": "a sign-flip permutation test over users"}


def _p(v: float) -> str:
    return "n/a" if math.isnan(v) else "<0.001" if v < 0.001 else f"{v:.3f}"


def ci_text(pair: Paired) -> str:
    """` (-0.0030, +0.0070)`: the 95% CI of the difference over seeds ('' with one seed)."""
    return "" if math.isnan(pair.ci[0]) else f" ({pair.ci[0]:+.4f}, {pair.ci[1]:+.4f})"


def _stats_text(pair: Paired) -> str:
    """`Δ +0.0020 (-0.0030, +0.0070), p 0.412 / 0.031`: mean difference over seeds, its 95%
    CI, and the p-values over seeds / over users."""
    return f"Δ {pair.diff:+.4f}{ci_text(pair)}, p {_p(pair.p_seeds)} / {_p(pair.p_users)}"


def _mean_sd(cell: Cell, m: str, pm: str, mean: str | None = None) -> str:
    """`mean pm sd` of one cell (`mean`: the mean as already formatted), without the sd when
    it is undefined."""
    sd = cell.sd[m]
    return (mean or _num(cell.mean[m])) + ("" if sd is None else f" {pm} {_num(sd)}")


def _ours(t: Table, r: Row, m: str, fmt: str, stats: bool = False) -> str:
    """`mean pm sd` (the mean bold when best of its block), a †/‡ mark when significant, `(n=k)`
    when partial, and with `stats` the comparison with the row's baseline."""
    cell = r.ours
    pm = "±" if fmt == "markdown" else "$\\pm$"
    mean = _num(cell.mean[m])
    if m in r.best:
        mean = f"**{mean}**" if fmt == "markdown" else f"\\textbf{{{mean}}}"
    text = _mean_sd(cell, m, pm, mean)
    text += MARKS[fmt].get(t.sign(r, m), "")
    text += f" (n={cell.n})" if t.partial(cell) else ""
    if stats and m in r.pairs:
        extra = _stats_text(r.pairs[m])
        if fmt == "markdown":
            text += f" [{extra}]"
        else:
            tex = _tex_text(extra).replace("Δ", "$\\Delta$")
            text += " {\\scriptsize [" + tex + "]}"
    return text


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


def _caption(t: Table, compare: str | None, group: str = "", stats: bool = False) -> str:
    parts = ["test split"] + list(t.protocols) + [seeds_note(t.seeds, t.one_seed)]
    if any(r.ours is not None and t.partial(r.ours) for r in t.rows):
        parts.append("(n=k): a mean over the k seeds that have metrics")
    if t.missing:
        parts.append(f"{len(t.missing)} run{'s' if len(t.missing) > 1 else ''} missing")
    parts += [s for s in (t.setup, t.paper_setup if compare else "") if s]
    parts += legend(t)
    if stats and t.comparisons:
        parts.append(f"[Δ: ours - {t.baseline}, mean over seeds (95% CI); p over seeds / over "
                     "users]")
    if compare == "paper":
        parts.append("cells: ours / paper (ours - paper)")
    elif compare == "protocols":
        parts.append("cells: ours under the paper's protocol / ours under the authors' code's "
                     "protocol (TEST-SELECTED: checkpoint chosen on test; "
                     f"{seeds_note(t.seeds, t.one_seed)}) / the paper's number")
    elif compare == "losses":
        parts.append("cells: trained with the paper's BCE on 4 sampled negatives / trained "
                     f"with {t.other_setup} (the same seeds, candidates and selection on "
                     "valid; its bold and marks: the same tests among the runs so trained)")
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


def render(table: Table, fmt: str, compare: str | None = None, stats: bool = False) -> str:
    """`table` as markdown, LaTeX (a booktabs tabular) or CSV; `compare="paper"` adds the
    paper's value and our mean - paper to every metric; `stats` the difference from the row's
    baseline with its CI and p-values."""
    _check(fmt, compare)
    return {"markdown": _markdown, "latex": _latex, "csv": _csv}[fmt](table, compare, stats)


STATS_COLUMNS = ("delta", "delta_low", "delta_high", "p_seeds", "p_users", "sig")


def _stats_cells(t: Table, r: Row, m: str) -> list[str]:
    pair = r.pairs.get(m)
    if pair is None:
        return [""] * len(STATS_COLUMNS)
    def g(v: float) -> str:
        return "" if math.isnan(v) else f"{v:.6g}"
    return [_num(pair.diff), _num(None if math.isnan(pair.ci[0]) else pair.ci[0]),
            _num(None if math.isnan(pair.ci[1]) else pair.ci[1]), g(pair.p_seeds),
            g(pair.p_users), str(t.sign(r, m))]


def _csv(t: Table, compare: str | None, stats: bool = False) -> str:
    spread = not t.one_seed  # n_seeds and <m>_sd columns
    head = ([t.group.csv] if t.group else []) + [c.csv for c in t.columns]
    head += ["n_seeds"] if spread else []
    extra = {"paper": ("paper", "diff"), "protocols": ("authors", "authors_sd", "paper"),
             "losses": ("ce", "ce_sd", "ce_sig"), None: ()}[compare]
    for m in t.metrics:
        head += [m] + ([f"{m}_sd"] if spread else []) + [f"{m}_{c}" for c in extra]
        head += [f"{m}_{c}" for c in STATS_COLUMNS] if stats else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for r in t.rows:
        cells = ([r.group] if t.group else []) + list(r.csv)
        cells += [r.ours.n if r.ours else 0] if spread else []
        for m in t.metrics:
            ours = _mean(r.ours, m)
            cells.append(_num(ours))
            if spread:
                cells.append(_num(r.ours.sd[m] if r.ours else None))
            if compare == "paper":
                cells += [_num(r.paper[m]), _diff(ours, r.paper[m])]
            elif compare == "protocols":
                cells += [_num(_mean(r.other, m)),
                          _num(r.other.sd[m] if r.other else None), _num(r.paper[m])]
            elif compare == "losses":
                cells += [_num(_mean(r.other, m)), _num(r.other.sd[m] if r.other else None),
                          str(t.sign(r.other_row, m)) if r.other_row else ""]
            if stats:
                cells += _stats_cells(t, r, m)
        writer.writerow(cells)
    return buf.getvalue()


def _md_text(s: str | bool) -> str:
    if isinstance(s, bool):
        return "✓" if s else "✗"
    return s.replace("\\", "\\\\").replace("|", "\\|")


def _other_text(t: Table, r: Row, m: str, pm: str, fmt: str = "markdown") -> str:
    """The authors'-protocol cell of `--compare protocols` (mean pm sd), or the ce-trained
    cell of `--compare losses` (with its bold and marks among the ce-trained runs); or not
    run."""
    if r.other is None:
        return "not run"
    if r.other_row is not None:
        return _ours(t, r.other_row, m, fmt)
    return _mean_sd(r.other, m, pm)


def _markdown(t: Table, compare: str | None, stats: bool = False) -> str:
    out = []
    for group, rows in _groups(t):
        out += [f"### {_md_text(_caption(t, compare, group, stats))}", ""]
        labels = [c.markdown for c in t.columns]
        out.append("| " + " | ".join(labels + list(t.metrics)) + " |")
        out.append("|" + ":---|" * len(labels) + "---:|" * len(t.metrics))
        for r in rows:
            cells = [_md_text(x) for x in r.labels]
            for m in t.metrics:
                if r.ours is None:
                    cells.append("not run")
                    continue
                cell = _ours(t, r, m, "markdown", stats)
                if compare == "paper":
                    paper, diff = r.paper[m], _diff(r.ours.mean[m], r.paper[m])
                    cell += f" / {_num(paper)} ({diff})" if paper is not None else " / missing"
                elif compare == "protocols":
                    paper = r.paper[m]
                    cell += (f" / {_other_text(t, r, m, '±')} / "
                             f"{_num(paper) if paper is not None else 'missing'}")
                elif compare == "losses":
                    cell += f" / {_other_text(t, r, m, '±')}"
                cells.append(cell)
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def _tex_text(s: str | bool) -> str:
    if isinstance(s, bool):
        return r"$\surd$" if s else r"$\times$"
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in s)


def _tex_num(text: str) -> str:
    """A formatted number with its sign in math mode; an empty one is '--'."""
    if not text:
        return "--"
    return f"${text}$" if text[0] in "+-" else text


def _latex(t: Table, compare: str | None, stats: bool = False) -> str:
    nlab, per = len(t.columns), 3 if compare else 1
    ncol = nlab + per * len(t.metrics)
    out = [f"% {_caption(t, compare, stats=stats)}", "% Needs only \\usepackage{booktabs}.",
           "\\begin{tabular}{" + "l" * nlab + "r" * (ncol - nlab) + "}", "\\toprule"]
    labels = " & ".join(c.latex for c in t.columns)
    if compare:
        out.append("&" * (nlab - 1) + " & " + " & ".join(
            f"\\multicolumn{{3}}{{c}}{{{_tex_text(m)}}}" for m in t.metrics) + " \\\\")
        out.append(" ".join(f"\\cmidrule(lr){{{nlab + 1 + 3 * i}-{nlab + 3 + 3 * i}}}"
                            for i in range(len(t.metrics))))
        sub = {"paper": "Ours & Paper & $\\Delta$", "protocols": "Paper prot. & Authors' & Paper",
               "losses": "BCE & CE & $\\Delta$"}[compare]
        out.append(labels + " & " + " & ".join([sub] * len(t.metrics)) + " \\\\")
    else:
        out.append(labels + " & " + " & ".join(_tex_text(m) for m in t.metrics) + " \\\\")
    for group, rows in _groups(t):
        out.append("\\midrule")
        if group:
            out.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\textit{{{_tex_text(group)}}}}} \\\\")
        for r in rows:
            cells = [_tex_text(x) for x in r.labels]
            for m in t.metrics:
                cells.append(_ours(t, r, m, "latex", stats) if r.ours else "--")
                if compare == "paper":
                    cells += [_tex_num(_num(r.paper[m])),
                              _tex_num(_diff(_mean(r.ours, m), r.paper[m]))]
                elif compare == "protocols":
                    other = _other_text(t, r, m, "$\\pm$")
                    cells += ["--" if other == "not run" else other, _tex_num(_num(r.paper[m]))]
                elif compare == "losses":
                    other = _other_text(t, r, m, "$\\pm$", "latex")
                    cells += ["--" if other == "not run" else other,
                              _tex_num(_diff(_mean(r.other, m), _mean(r.ours, m)))]
            out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    notes = [seeds_note(t.seeds, t.one_seed, "$\\pm$")] + [
        _tex_text(s) for s in (t.setup, t.paper_setup if compare else "") if s]
    lines = ["; ".join(notes)] + [_tex_text(s).replace("†", "$\\dagger$").replace(
        "‡", "$\\ddagger$") for s in legend(t)]
    out += [f"\\multicolumn{{{ncol}}}{{l}}{{\\footnotesize {line}}} \\\\" for line in lines]
    out += ["\\end{tabular}", ""]
    return "\n".join(out)


def run(table: int | str, fmt: str, params: Params, metrics_root: Path,
        out_dir: Path | None, compare: str | None = None, seed: int | None = None,
        stats: bool = False, correction: str = "none", kind: str = "sampled",
        authors_root: Path = AUTHORS_METRICS, ce: Sequence[Reference] = CE_GRID,
        standard: Reference = STANDARD) -> tuple[str, list[Path], list[Planned]]:
    """Table `table` in `fmt` (mean ± sd over `params.seeds`, or training seed `seed`'s
    values) of the `kind` metrics; with `out_dir`, also write table<N>.{md,tex,csv} there
    (table<N>-full.* for full ranking; or summary.json). Table 1 has the reference rows of
    `ce` and `standard` (`--compare losses`: `ce` beside every cell instead). Returns
    the text, the files written and the seeded runs that are missing (as `Planned`)."""
    from solidcli.pipeline.study_tables import STUDY_TABLES

    if str(table) in STUDY_TABLES:
        return _study_table(str(table), fmt, params, metrics_root, out_dir, compare, seed,
                            stats, correction, kind)
    _check(fmt, compare)
    if str(table) == "summary":
        data, missing = summary(params, metrics_root, seed)
        text = json.dumps(data, indent=2) + "\n"
        written = [write_json(Path(out_dir) / "summary.json", data)] if out_dir else []
        return text, written, missing
    if kind == "full" and compare == "paper":
        raise SolidError("the paper reports sampled metrics only: --compare paper needs "
                         "--metrics sampled")
    if compare == "protocols" and str(table) != "1":
        raise SolidError("--compare protocols is Table 1's (the authors' protocol ran Table 1 "
                         "only: protocols/authors)")
    if compare == "losses" and str(table) != "1":
        raise SolidError("--compare losses is Table 1's (the ce-trained grid is Table 1's: "
                         "protocols/ce)")
    # a table of the ce-trained grid itself has no reference rows
    same = any(Path(metrics_root).resolve() == r.root.resolve() for r in ce)
    references = [] if compare == "losses" or same else [*ce, standard]
    built = build(table, params, metrics_root, seed, correction, kind, references)
    if compare == "protocols":
        attach_protocol(built, params, Path(authors_root), seed, kind)
    elif compare == "losses":
        attach_losses(built, params, ce, seed, correction, kind)
    text = render(built, fmt, compare, stats)
    written = []
    if out_dir is not None:  # every format or none (a full disk at the last one)
        name = table if kind == "sampled" else f"{table}-{kind}"
        written = [table_file(name, f, out_dir) for f in FORMATS]
        with staged_files(written) as temps:
            for f, tmp in zip(FORMATS, temps, strict=True):
                tmp.write_text(render(built, f, compare, stats), encoding="utf-8")
    return text, written, built.missing


def _study_table(name: str, fmt: str, params: Params, metrics_root: Path, out_dir: Path | None,
                 compare, seed, stats, correction, kind) -> tuple[str, list[Path], list[Planned]]:
    """`--table mechanics | breakdown` (`study_tables`): mean ± sd over `seeds`, sampled
    metrics, with their own difference and p-value columns."""
    from solidcli import grid
    from solidcli.pipeline import study_tables

    given = [flag for flag, on in (("--compare", compare is not None), ("--seed", seed is not None),
                                   ("--stats", stats), ("--correction", correction != "none"),
                                   ("--metrics", kind != "sampled")) if on]
    if given:
        raise SolidError(f"--table {name} takes no {', '.join(given)} (it shows its own "
                         "differences and p-values)")
    text, written, missing = study_tables.run(name, fmt, params, Path(metrics_root), out_dir)
    return text, written, [replace(grid.find(params, r) or grid.single(r.config), run=r)
                           for r in missing]
