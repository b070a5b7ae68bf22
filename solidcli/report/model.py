"""The table model every report shares: a `Cell` of one configuration's metrics over seeds,
a `Row` of cells with the paper's numbers and its comparison, a paper `Table` of rows, a plain
`Grid` (the study tables), and reading the planned configurations' cells."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from solidcli.config import Params, StatsCfg
from solidcli.errors import SolidError
from solidcli.grid import Planned
from solidcli.layout import RunId
from solidcli.results import KIND_METRICS, Result, as_roots, read_results
from solidcli.stats import Paired


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


def mean_of(cell: Cell | None, m: str) -> float | None:
    """The cell's mean of `m` (None without a cell)."""
    return None if cell is None else cell.mean[m]


def sd_of(cell: Cell | None, m: str) -> float | None:
    """The cell's sd of `m` (None without a cell or with one seed)."""
    return None if cell is None else cell.sd[m]


def seeds_of(params: Params, seed: int | None) -> tuple[int, ...]:
    """The training seeds a table or figure reads: `seeds`, or the one seed asked for."""
    return tuple(params.seeds) if seed is None else (int(seed),)


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

    def groups(self) -> list[tuple[str, list[Row]]]:
        """(group, its rows) in order of first appearance."""
        return [(g, [r for r in self.rows if r.group == g])
                for g in dict.fromkeys(r.group for r in self.rows)]


class Reader:
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


@dataclass
class Grid:
    """A plain table (the study tables): title, header, rows of text (markdown) and of values
    (CSV), notes under it, and the seeded runs without metrics."""

    title: str
    header: list[str]
    rows: list[list[str]]
    csv_header: list[str]
    csv_rows: list[list]
    notes: list[str]
    missing: list[RunId]
