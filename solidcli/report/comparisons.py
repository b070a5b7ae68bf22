"""What `solid table --compare` puts beside our cells: one `Comparison` per kind (registry
`COMPARISONS`), which says what it reads, the columns each format adds per metric and their
text, and the caption's words for them; the renderers only lay these out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from solidcli.config import Params
from solidcli.errors import SolidError
from solidcli.grid import table1
from solidcli.report.model import Row, Table, mean_of, read_cells, sd_of, seeds_of
from solidcli.report.paper_tables import build
from solidcli.report.references import Reference, found_in
from solidcli.report.render.cells import other
from solidcli.report.text import num, seeds_note, signed, tex_num
from solidcli.results import backbone_name


class Comparison:
    """No comparison: ours only (the base every comparison extends)."""

    name: str | None = None
    csv_columns: tuple[str, ...] = ()  # per metric m, CSV columns `<m>_<c>` after ours
    latex_heads: tuple[str, ...] = ()  # per metric, LaTeX sub-columns (ours first); () none
    references = True  # whether Table 1 keeps its reference rows (`CE_GRID`, `STANDARD`)
    shows_paper = False  # whether its cells hold the paper's number (a sampled metric)
    table1_only = ""  # why it compares Table 1 only ("": every table)

    def check(self, table: str, kind: str) -> None:
        """Refuse a table or metrics kind the comparison cannot show."""
        if self.table1_only and table != "1":
            raise SolidError(f"--compare {self.name} is Table 1's ({self.table1_only})")
        if self.shows_paper and kind == "full":
            raise SolidError(f"the paper reports sampled metrics only: --compare {self.name} "
                             "needs --metrics sampled")

    def attach(self, t: Table, params: Params, seed: int | None, correction: str, kind: str,
               authors_root: Path, ce: Sequence[Reference]) -> Table:
        """Read what the comparison shows into `t`'s rows."""
        return t

    def caption(self, t: Table) -> str:
        """The caption's words for what a cell shows."""
        return ""

    def markdown(self, t: Table, r: Row, m: str) -> str:
        """What a markdown cell adds after ours (a row with metrics)."""
        return ""

    def latex(self, t: Table, r: Row, m: str) -> list[str]:
        """The LaTeX cells after ours (`latex_heads` but the first)."""
        return []

    def csv(self, t: Table, r: Row, m: str) -> list[str]:
        """The CSV cells of `csv_columns`."""
        return []


class Paper(Comparison):
    """The paper's value and ours - paper."""

    name = "paper"
    csv_columns = ("paper", "diff")
    latex_heads = ("Ours", "Paper", "$\\Delta$")
    shows_paper = True

    def caption(self, t: Table) -> str:
        return "cells: ours / paper (ours - paper)"

    def markdown(self, t: Table, r: Row, m: str) -> str:
        paper = r.paper[m]
        if paper is None:
            return " / missing"
        return f" / {num(paper)} ({signed(r.ours.mean[m], paper)})"

    def latex(self, t: Table, r: Row, m: str) -> list[str]:
        return [tex_num(num(r.paper[m])), tex_num(signed(mean_of(r.ours, m), r.paper[m]))]

    def csv(self, t: Table, r: Row, m: str) -> list[str]:
        return [num(r.paper[m]), signed(mean_of(r.ours, m), r.paper[m])]


class Protocols(Comparison):
    """Ours under the paper's protocol, under the authors' code's, and the paper's number."""

    name = "protocols"
    csv_columns = ("authors", "authors_sd", "paper")
    latex_heads = ("Paper prot.", "Authors'", "Paper")
    shows_paper = True
    table1_only = "the authors' protocol ran Table 1 only: protocols/authors"

    def attach(self, t: Table, params: Params, seed: int | None, correction: str, kind: str,
               authors_root: Path, ce: Sequence[Reference]) -> Table:
        return attach_protocol(t, params, Path(authors_root), seed, kind)

    def caption(self, t: Table) -> str:
        return ("cells: ours under the paper's protocol / ours under the authors' code's "
                "protocol (TEST-SELECTED: checkpoint chosen on test; "
                f"{seeds_note(t.seeds, t.one_seed)}) / the paper's number")

    def markdown(self, t: Table, r: Row, m: str) -> str:
        paper = r.paper[m]
        return (f" / {other(t, r, m, '±')} / "
                f"{num(paper) if paper is not None else 'missing'}")

    def latex(self, t: Table, r: Row, m: str) -> list[str]:
        text = other(t, r, m, "$\\pm$")
        return ["--" if text == "not run" else text, tex_num(num(r.paper[m]))]

    def csv(self, t: Table, r: Row, m: str) -> list[str]:
        return [num(mean_of(r.other, m)), num(sd_of(r.other, m)), num(r.paper[m])]


class Losses(Comparison):
    """Trained with the paper's BCE beside the same run trained with softmax cross-entropy."""

    name = "losses"
    csv_columns = ("ce", "ce_sd", "ce_sig")
    latex_heads = ("BCE", "CE", "$\\Delta$")
    references = False
    table1_only = "the ce-trained grid is Table 1's: protocols/ce"

    def attach(self, t: Table, params: Params, seed: int | None, correction: str, kind: str,
               authors_root: Path, ce: Sequence[Reference]) -> Table:
        return attach_losses(t, params, ce, seed, correction, kind)

    def caption(self, t: Table) -> str:
        return ("cells: trained with the paper's BCE on 4 sampled negatives / trained "
                f"with {t.other_setup} (the same seeds, candidates and selection on "
                "valid; its bold and marks: the same tests among the runs so trained)")

    def markdown(self, t: Table, r: Row, m: str) -> str:
        return f" / {other(t, r, m, '±')}"

    def latex(self, t: Table, r: Row, m: str) -> list[str]:
        text = other(t, r, m, "$\\pm$", "latex")
        return ["--" if text == "not run" else text,
                tex_num(signed(mean_of(r.other, m), mean_of(r.ours, m)))]

    def csv(self, t: Table, r: Row, m: str) -> list[str]:
        return [num(mean_of(r.other, m)), num(sd_of(r.other, m)),
                str(t.sign(r.other_row, m)) if r.other_row else ""]


COMPARISONS: dict[str | None, Comparison] = {
    c.name: c for c in (Comparison(), Paper(), Protocols(), Losses())}
COMPARE = tuple(k for k in COMPARISONS if k is not None)


def comparison(name: str | None) -> Comparison:
    """The comparison called `name` (None: none), else a SolidError naming them."""
    if name not in COMPARISONS:
        raise SolidError(f"unknown comparison '{name}' (choose from {', '.join(COMPARE)})")
    return COMPARISONS[name]


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
    built = build("1", params, [r.root for r in present], seed, correction, kind)
    by_run = {r.run: r for r in built.rows if r.run is not None}
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
