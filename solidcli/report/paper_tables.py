"""The paper's Tables 1-5 and the summary as `Table`s, one builder per table (`BUILDERS`).

* Table 1 - overall comparison: per dataset, SR model x {-, APG, Ours (APG), DUET, Ours (DUET)},
  and each `Reference`'s baselines as reference rows (`<SR model> (CE)`, `(sampled CE)`,
  `(CE, standard encoder)`).
* Table 2 - module ablation: SPG / SML / SCL switched on or off (the `study` model).
* Table 3 - modality ablation: full SOLID with semantics from each set of ID / image / text.
* Table 4 - the lambda sweep at T = `solid.T`; Table 5 - the T sweep at lambda = `solid.lambda`.
* `summary` - Table 1's headline test UAUC and NDCG@10 per row (reports/summary.json, the
  pipeline's DVC metrics file).

Rows are the configurations params.yaml defines (`solidcli.grid`), read for every training seed
of `seeds`; a cell is the mean ± sample sd over the seeds that have metrics (`model.Cell`), or
one seed's value with `seed=s`; a seeded run without metrics is named in `Table.missing`.
`judge` bolds each block's best mean (Table 1: per SR model) and compares every SOLID row with
its DSR alone (`solidcli.pairing`, `solidcli.stats`; † / ‡ when significantly above / below).
The paper ran Tables 2-5 on Arts with SASRec + DUET; the captions say so.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from solidcli.config import Params, StatsCfg
from solidcli.errors import SolidError
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, modality_sets, table1, table2
from solidcli.pairing import PerUser, pair
from solidcli.report.model import Cell, Col, Reader, Row, Table, read_cells, seeds_of
from solidcli.report.paper import (
    PAPER_SETUP,
    TABLE2_ROWS,
    TABLE3_MODALITIES,
    close,
    missing,
    paper_dsr,
    paper_row,
    paper_rows,
)
from solidcli.report.references import Reference, found_in
from solidcli.report.text import num
from solidcli.results import KINDS, backbone_name, dataset_name, dsr_name
from solidcli.stats import check_correction, correct

SUMMARY_METRICS = ("UAUC", "NDCG@10")


def _setup(params: Params) -> str:
    s = params.study
    return (f"ours: {dataset_name(s.dataset)}, {backbone_name(s.backbone)} + "
            f"{dsr_name(s.dsr)}")


def overall_table(params: Params, metrics_root: Path, seed: int | None,
                  kind: str = "sampled", references: Sequence[Reference] = ()) -> Table:
    """Table 1; with `references` (`CE_GRID`, `STANDARD`) each SR model also gets reference
    rows `<SR model><suffix>`: its baselines found there (trained under another objective;
    same seeds, data, candidates and selection on valid), in its block for the bold best
    mean."""
    paper, reader, rows = paper_rows(1), Reader(metrics_root, 1, params, seed, kind), []
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
                rows.append(Row((bb, TABLE1_LABELS[row]), (bb, paper_dsr(row)),
                                found.get(p.run), paper_row(paper, (ds, bb, paper_dsr(row))),
                                group=ds, block=block,
                                baseline=found.get(base) if base else None, run=p.run))
            for cells, ref in refs_found:  # the backbone's reference rows after its own
                name = bb + ref.suffix
                refs = [q.run for q in group if q.run.variant == "base" and q.run in cells]
                rows += [Row((name, TABLE1_LABELS[(r.dsr, "base")]),
                             (name, paper_dsr((r.dsr, "base"))), cells[r], missing(),
                             group=ds, block=block)
                         for r in refs]
                shown.update([ref.note] if refs else [])
    note = "; ".join(dict.fromkeys(r.note for r in references if r.note in shown))
    note = f"{note}, a reference" if note else ""
    return reader.table(title="overall comparison", setup=note,
                        columns=(Col("sr_model", "SR model", "SR model"),
                                 Col("dsr_model", "DSR model", "DSR model")),
                        rows=rows, group=Col("dataset", "Dataset", "Dataset"),
                        baseline="its DSR model alone (same SR model)")


def _study_base(params: Params, reader: Reader) -> tuple[Cell | None, str]:
    """Tables 2-5 mark each SOLID row against the study model's DSR alone (Table 2's first
    row): its cell, and its name for the legend."""
    base = table2(params)["base"]
    cell = reader.read([base]).get(base.run)
    s = params.study
    return cell, f"{backbone_name(s.backbone)} + {dsr_name(s.dsr)} alone"


def _flag_table(number: int, title: str, names: tuple[str, ...], params: Params,
                reader: Reader, planned: list[tuple[tuple[bool, ...], Planned]]) -> Table:
    """Tables 2 and 3: one row per switch pattern (a check mark per switch that is on)."""
    baseline, name = _study_base(params, reader)
    paper = paper_rows(number)
    found = reader.read([p for _, p in planned])
    rows = []
    for flags, p in planned:
        bits = tuple(str(int(f)) for f in flags)
        rows.append(Row(flags, bits, found.get(p.run), paper_row(paper, bits),
                        baseline=baseline if p.run.variant != "base" else None))
    return reader.table(title=title, columns=tuple(Col(n, n, n) for n in names), rows=rows,
                        setup=_setup(params), paper_setup=PAPER_SETUP, baseline=name)


def module_table(params: Params, metrics_root: Path, seed: int | None,
                 kind: str = "sampled") -> Table:
    """Table 2: the module ablation of the study model."""
    reader = Reader(metrics_root, 2, params, seed, kind)
    planned = [(TABLE2_ROWS[v], p) for v, p in table2(params).items()]
    return _flag_table(2, "module ablation", ("SPG", "SML", "SCL"), params, reader, planned)


def modality_table(params: Params, metrics_root: Path, seed: int | None,
                   kind: str = "sampled") -> Table:
    """Table 3: full SOLID with the semantics of each modality set."""
    reader = Reader(metrics_root, 3, params, seed, kind)
    sets = modality_sets(params, "scl")
    # the paper's order: by number of modalities, then ID before image before text
    def order(p: Planned) -> tuple:
        mods = p.modalities.split("+")
        return (len(mods), [TABLE3_MODALITIES.index(m) for m in mods if m in TABLE3_MODALITIES])

    planned = [(tuple(m in p.modalities.split("+") for m in TABLE3_MODALITIES), p)
               for p in sorted(sets, key=order)]
    return _flag_table(3, "modality ablation", ("ID", "Image", "Text"), params, reader,
                       planned)


def sweep(number: int, params: Params, metrics_root: Path, seed: int | None,
          kind: str = "sampled") -> Table:
    """Table 4 (the lambda sweep at T = solid.T) or 5 (the T sweep at lambda = solid.lambda)."""
    swept, fixed = ("lambda", "T") if number == 4 else ("T", "lambda")
    value = params.solid.T if number == 4 else params.solid.lam
    paper, reader = paper_rows(number), Reader(metrics_root, number, params, seed, kind)
    planned = [p for p in lambda_t_sweep(params)
               if close(p.T if number == 4 else p.lam, value)]
    if not planned:
        raise SolidError(f"Table {number} sweeps {swept} at {fixed} = {value:g} (solid."
                         f"{fixed}), which is not in study.{'Ts' if number == 4 else 'lambdas'};"
                         " add it there")
    found = reader.read(planned)
    baseline, name = _study_base(params, reader)
    rows = []
    for p in planned:
        v = p.lam if number == 4 else p.T
        rows.append(Row((f"{v:g}",), (f"{v:g}",), found.get(p.run), paper_row(paper, (v,)),
                        baseline=baseline))
    col = Col("lambda", "λ", "$\\lambda$") if number == 4 else Col("T", "T", "$T$")
    return reader.table(title=f"{swept} sweep at {fixed} = {value:g}", columns=(col,),
                        rows=rows, setup=_setup(params), paper_setup=PAPER_SETUP,
                        baseline=name)


# table number -> builder(params, metrics_root, seed, kind); Table 1's also takes references
BUILDERS: dict[str, Callable[..., Table]] = {
    "1": overall_table, "2": module_table, "3": modality_table,
    "4": functools.partial(sweep, 4), "5": functools.partial(sweep, 5)}


def build(number: int | str, params: Params, metrics_root: Path, seed: int | None = None,
          correction: str = "none", kind: str = "sampled",
          references: Sequence[Reference] = ()) -> Table:
    """Table `number` (1 to 5) from the metrics files under `metrics_root`: mean ± sd over
    `params.seeds`, or the values of training seed `seed`; bold and marks as `judge` sets
    them."""
    number = str(number)
    if number not in BUILDERS:
        raise SolidError(f"table {number} is not implemented yet (built: "
                         f"{', '.join(BUILDERS)}, summary)")
    if kind not in KINDS:
        raise SolidError(f"unknown metrics '{kind}' (choose from {', '.join(KINDS)})")
    extra = {"references": references} if number == "1" else {}
    t = BUILDERS[number](params, metrics_root, seed, kind, **extra)
    return judge(t, params.stats, correction)


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
        best = {m: max(num(r.ours.mean[m]) for r in rows) for m in t.metrics}
        for r in rows:
            r.best = frozenset(m for m in t.metrics if num(r.ours.mean[m]) == best[m])
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
    absent: list[Planned] = []
    for dataset in params.datasets:
        planned = table1(params, dataset)
        cells, gone = read_cells(metrics_root, planned, seeds_of(params, seed))
        absent += gone
        out[dataset] = {p.run.key: _summary_entry(cells[p.run], seed is not None)
                        for p in planned if p.run in cells}
    return out, absent
