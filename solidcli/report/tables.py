"""`solid table`: every table by name (`TABLES`: the paper's Tables 1-5, the summary, the
studies), rendered in one format (`FORMATS`) and optionally written to a folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from solidcli._io import staged_files, write_json
from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.grid import Planned, find, single
from solidcli.layout import AUTHORS_METRICS, table_file
from solidcli.report import studies
from solidcli.report.comparisons import Comparison, comparison
from solidcli.report.model import Grid, Table
from solidcli.report.paper_tables import BUILDERS, build, summary
from solidcli.report.references import CE_GRID, STANDARD, Reference
from solidcli.report.render import csv, latex, markdown

FORMATS = {"markdown": markdown, "latex": latex, "csv": csv}  # format -> its renderer


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise SolidError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")


def render(table: Table, fmt: str, compare: str | None = None, stats: bool = False) -> str:
    """`table` as markdown, LaTeX (a booktabs tabular) or CSV; `compare` adds what that
    comparison shows (`COMPARISONS`) to every metric; `stats` the difference from the row's
    baseline with its CI and p-values."""
    check_format(fmt)
    return FORMATS[fmt].table(table, comparison(compare), stats)


@dataclass(frozen=True)
class Options:
    """What `solid table` asks beyond the table, format and folders."""

    compare: str | None = None
    seed: int | None = None
    stats: bool = False
    correction: str = "none"
    kind: str = "sampled"
    authors_root: Path = AUTHORS_METRICS
    ce: Sequence[Reference] = CE_GRID
    standard: Reference = STANDARD


Output = tuple[str, list[Path], list[Planned]]  # text, files written, seeded runs missing


@dataclass(frozen=True)
class PaperTable:
    """Tables 1-5 (`paper_tables.BUILDERS`): every format written, or none."""

    number: str

    def run(self, fmt: str, params: Params, metrics_root: Path, out_dir: Path | None,
            o: Options) -> Output:
        check_format(fmt)
        cmp = comparison(o.compare)
        cmp.check(self.number, o.kind)
        # a table of the ce-trained grid itself has no reference rows
        same = any(Path(metrics_root).resolve() == r.root.resolve() for r in o.ce)
        references = [*o.ce, o.standard] if cmp.references and not same else []
        built = build(self.number, params, metrics_root, o.seed, o.correction, o.kind,
                      references)
        built = cmp.attach(built, params, o.seed, o.correction, o.kind, o.authors_root, o.ce)
        text = _render(built, fmt, cmp, o.stats)
        written = []
        if out_dir is not None:  # every format or none (a full disk at the last one)
            name = self.number if o.kind == "sampled" else f"{self.number}-{o.kind}"
            written = [table_file(name, f, out_dir) for f in FORMATS]
            with staged_files(written) as temps:
                for f, tmp in zip(FORMATS, temps, strict=True):
                    tmp.write_text(_render(built, f, cmp, o.stats), encoding="utf-8")
        return text, written, built.missing


def _render(t: Table, fmt: str, cmp: Comparison, stats: bool) -> str:
    return FORMATS[fmt].table(t, cmp, stats)


class Summary:
    """Table 1's headline metrics as JSON (`paper_tables.summary`): reports/summary.json."""

    def run(self, fmt: str, params: Params, metrics_root: Path, out_dir: Path | None,
            o: Options) -> Output:
        check_format(fmt)
        comparison(o.compare)
        data, missing = summary(params, metrics_root, o.seed)
        text = json.dumps(data, indent=2) + "\n"
        written = [write_json(Path(out_dir) / "summary.json", data)] if out_dir else []
        return text, written, missing


@dataclass(frozen=True)
class StudyTable:
    """A study table (`studies`): markdown and CSV, mean ± sd over `seeds` of the sampled
    metrics, with its own differences and p-values; `selects`: the builder also returns the
    setting it chose, written beside the table (`studies.SELECTED`)."""

    name: str
    builder: Callable[[Params, Path], Grid | tuple[Grid, dict]]
    selects: bool = False

    def run(self, fmt: str, params: Params, metrics_root: Path, out_dir: Path | None,
            o: Options) -> Output:
        given = [flag for flag, on in (
            ("--compare", o.compare is not None), ("--seed", o.seed is not None),
            ("--stats", o.stats), ("--correction", o.correction != "none"),
            ("--metrics", o.kind != "sampled")) if on]
        if given:
            raise SolidError(f"--table {self.name} takes no {', '.join(given)} (it shows its "
                             "own differences and p-values)")
        if fmt not in ("markdown", "csv"):
            raise SolidError(f"--table {self.name} is written as markdown or csv, not {fmt}")
        built = self.builder(params, Path(metrics_root))
        g, choice = built if self.selects else (built, None)
        written = []
        if out_dir is not None:  # the table's files (and the K study's choice): all or none
            texts = {table_file(f"-{self.name}", f, out_dir): FORMATS[f].grid(g)
                     for f in ("markdown", "csv")}
            chosen = [Path(out_dir) / studies.SELECTED] if choice is not None else []
            written = [*chosen, *texts]
            with staged_files(written) as temps:
                for tmp in temps[:len(chosen)]:
                    write_json(tmp, choice)
                for tmp, text in zip(temps[len(chosen):], texts.values(), strict=True):
                    tmp.write_text(text, encoding="utf-8")
        missing = [replace(find(params, r) or single(r.config), run=r)
                   for r in g.missing]
        return FORMATS[fmt].grid(g), written, missing


# table name -> what builds and writes it (`solid table --table`)
TABLES = {**{n: PaperTable(n) for n in BUILDERS}, "summary": Summary(),
          "mechanics": StudyTable("mechanics", studies.mechanics_table),
          "breakdown": StudyTable("breakdown", studies.breakdown_table),
          "k": StudyTable("k", studies.k_table, selects=True)}
STUDY_TABLES = tuple(n for n, t in TABLES.items() if isinstance(t, StudyTable))


def run(table: int | str, fmt: str, params: Params, metrics_root: Path,
        out_dir: Path | None, compare: str | None = None, seed: int | None = None,
        stats: bool = False, correction: str = "none", kind: str = "sampled",
        authors_root: Path = AUTHORS_METRICS, ce: Sequence[Reference] = CE_GRID,
        standard: Reference = STANDARD) -> Output:
    """Table `table` (a name of `TABLES`) in `fmt` (mean ± sd over `params.seeds`, or training
    seed `seed`'s values) of the `kind` metrics; with `out_dir`, also write its files there
    (table<N>.{md,tex,csv}, table<N>-full.* for full ranking, summary.json, or
    table-<study>.{md,csv}). Table 1 has the reference rows of `ce` and `standard` (`--compare
    losses`: `ce` beside every cell instead). Returns the text, the files written and the
    seeded runs that are missing (as `Planned`)."""
    name = str(table)
    entry = TABLES.get(name) or PaperTable(name)  # an unknown name: `build` names the tables
    return entry.run(fmt, params, metrics_root, out_dir,
                     Options(compare, seed, stats, correction, kind, authors_root, ce, standard))
