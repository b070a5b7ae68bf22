"""The paper's claims made testable: each sentence of its experiments as a `Claim` (a above, or
below, its rivals) on the runs params.yaml defines.

Each claim says configuration a is above (or, for "T = 1 collapses", below) one or more
rivals on each test metric; its family is the paper's sentence (`FAMILY_WORDS`) and its kind
how the comparisons combine (`FAMILY_KIND`; tested in `verdicts`). The claims and their words:

* Table 1 (each dataset of `datasets`): Ours (APG) > APG and Ours (DUET) > DUET for each SR
  model ("our proposed methods significantly outperform both APG and DUET"); APG > "-" and
  DUET > "-" ("the '-' option consistently performs worse than using a DSR model").
* Table 2 (the study model): the full method beats each other row ("the model performs best
  when all three modules are used"); SPG + SML > SPG (SML adds to SPG, which the method
  implies and the paper's own Table 2 does not show); SCL alone > SPG alone ("SCL has the
  greatest impact on performance").
* Table 3: Text > Image > ID; ID + Text > Image + Text > ID + Image; ID + Text > all three
  ("the fusion of three modalities is not necessarily the best option").
* Table 4: lambda = 0.1 is best (at T = `solid.T`); Table 5: T = 0.01 is best and T = 1 is
  below every other T (at lambda = `solid.lambda`); Figure 5: (lambda 0.1, T 0.01) is the best
  cell of the grid on UAUC, NDCG@10 and Recall@10.

The paper ran Tables 2-5 on Arts with SASRec + DUET; each such row says so and is tested on
the study model we ran (`study`). A claim whose runs the params do not define (a lambda, T or
modality set not in `study`), or whose runs are not evaluated, is listed as not run with the
reason, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solidcli.config import Params, modality_key
from solidcli.grid import TABLE1_LABELS, Planned, lambda_t_sweep, modality_sets, table1, table2
from solidcli.metrics import METRIC_NAMES
from solidcli.models.dsrs import DSRS
from solidcli.report.paper import TABLE2_ROWS, missing, paper_dsr, paper_row, paper_rows
from solidcli.results import backbone_name, dataset_name, dsr_name

FIGURE5_METRICS = ("UAUC", "NDCG@10", "Recall@10")  # the figure's three panels
# a family's heading when its claims' own words differ (one per SR model / DSR)
FAMILY_WORDS = {"T1.ours>dsr": "our proposed methods significantly outperform both APG and DUET "
                               "(every SR model, every metric)",
                "T1.dsr>none": "the '-' option consistently performs worse than using a DSR "
                               "model"}
ARTS = "paper: Arts, SASRec + DUET"
# how each claim combines its comparisons (`solidcli.stats.claim_verdict`): all = "for every
# SR model and metric" (intersection-union, each comparison at alpha); best = "X is best"
# (Holm over the claim); any = "at least one" (Holm over the claim)
FAMILY_KIND = {"T1.ours>dsr": "all", "T1.dsr>none": "all", "T2.full-best": "best",
               "T2.sml-adds": "all", "T2.scl-greatest": "best", "T3.single": "all",
               "T3.pairs": "all", "T3.not-all-three": "any", "T4.lambda-best": "best",
               "T5.T-best": "best", "T5.T1-collapses": "all", "F5.grid-best": "best"}
KIND_WORDS = {"all": "every comparison (intersection-union test, each at α)",
              "best": "X is best (Holm over the claim)",
              "any": "at least one (Holm over the claim)"}


def family_kind(family: str) -> str:
    """A claim's kind (FAMILY_KIND; `all` for a family not listed)."""
    return FAMILY_KIND.get(family, "all")


@dataclass(frozen=True)
class Side:
    """One configuration of a claim: the planned run, its label and the paper's numbers."""

    planned: Planned | None  # None: the params do not define this configuration
    label: str
    paper: dict[str, float | None]


@dataclass(frozen=True)
class Claim:
    id: str
    family: str  # the paper's sentence (the Holm family)
    words: str
    where: str
    a: Side
    rivals: tuple[Side, ...]
    direction: int = 1  # +1: a above every rival; -1: a below every rival
    metrics: tuple[str, ...] = METRIC_NAMES
    absent: str = ""  # why the claim cannot be tested with these params (a side not planned)




def _table1_side(planned: dict, paper: list, dataset: str, backbone: str, dsr: str,
                 variant: str) -> Side | None:
    p = planned.get((backbone, dsr, variant))
    if p is None:
        return None
    bb = backbone_name(backbone)
    label = TABLE1_LABELS[(dsr, variant)]
    return Side(p, f"{bb} {label}",
                paper_row(paper, (dataset_name(dataset), bb, paper_dsr((dsr, variant)))))


def _table1_claims(params: Params) -> list[Claim]:
    paper, out = paper_rows(1), []
    for dataset in params.datasets:
        planned = {(p.run.backbone, p.run.dsr, p.run.variant): p for p in table1(params, dataset)}
        where = f"Table 1, {dataset_name(dataset)}"
        for backbone in params.backbones:
            sides = {(dsr, v): _table1_side(planned, paper, dataset, backbone, dsr, v)
                     for dsr in params.dsrs for v in ("base", "scl")}
            for dsr in params.solid_dsrs:
                a, b = sides.get((dsr, "scl")), sides.get((dsr, "base"))
                if a and b:
                    out.append(Claim(f"T1.{dataset}.{backbone}.ours-{dsr}>{dsr}", "T1.ours>dsr",
                                     f"Ours ({dsr_name(dsr)}) significantly outperforms "
                                     f"{dsr_name(dsr)}", where, a, (b,)))
            for dsr in params.dsrs:
                a, b = sides[(dsr, "base")], sides.get(("none", "base"))
                if DSRS[dsr].dynamic and a and b:
                    out.append(Claim(f"T1.{dataset}.{backbone}.{dsr}>none", "T1.dsr>none",
                                     f"'-' performs worse than {dsr_name(dsr)}", where, a, (b,)))
    return out


def _study_where(params: Params, table: str) -> str:
    s = params.study
    return (f"{table} ({ARTS}; ours: {dataset_name(s.dataset)}, {backbone_name(s.backbone)} + "
            f"{dsr_name(s.dsr)})")


def _table2_claims(params: Params) -> list[Claim]:
    paper, rows = paper_rows(2), table2(params)
    names = {"base": "DSR alone", "spg": "SPG", "sml": "SPG + SML", "scl_only": "SCL alone",
             "scl": "SPG + SML + SCL"}

    def side(variant: str) -> Side:
        bits = tuple(str(int(f)) for f in TABLE2_ROWS[variant])
        return Side(rows[variant], names[variant], paper_row(paper, bits))

    where = _study_where(params, "Table 2")
    out = [Claim(f"T2.full>{v}", "T2.full-best", "the model performs best when all three "
                 "modules are used", where, side("scl"), (side(v),))
           for v in ("base", "spg", "sml", "scl_only")]
    out.append(Claim("T2.sml>spg", "T2.sml-adds", "SML adds to SPG (implied by the method; the "
                     "paper's Table 2 shows SPG + SML below SPG)", where, side("sml"),
                     (side("spg"),)))
    out.append(Claim("T2.scl_only>spg", "T2.scl-greatest", "of the single modules, SCL has the "
                     "greatest impact on performance", where, side("scl_only"), (side("spg"),)))
    return out


def _table3_claims(params: Params) -> list[Claim]:
    paper = paper_rows(3)
    sets = {p.modalities: p for p in modality_sets(params, "scl")}
    order = ("id", "image", "text")  # the paper's columns

    def side(text: str) -> Side:
        key = modality_key(text.split("+"))
        mods = key.split("+")
        bits = tuple(str(int(m in mods)) for m in order)
        label = " + ".join({"id": "ID", "image": "Image", "text": "Text"}[m]
                           for m in order if m in mods)
        return Side(sets.get(key), label, paper_row(paper, bits))

    where = _study_where(params, "Table 3")
    pairs_words = "two modalities: ID + Text > Image + Text > ID + Image"
    specs = [("text", "image", "T3.single", "single modalities: Text > Image > ID"),
             ("image", "id", "T3.single", "single modalities: Text > Image > ID"),
             ("id+text", "image+text", "T3.pairs", pairs_words),
             ("image+text", "id+image", "T3.pairs", pairs_words),
             ("id+text", "id+image+text", "T3.not-all-three", ("fusing all three modalities is "
              "not necessarily best (the paper: ID + Text above all three)"))]
    out = []
    for a, b, family, words in specs:
        absent = [t for t in (a, b) if side(t).planned is None]
        out.append(Claim(f"T3.{a}>{b}", family, words, where, side(a), (side(b),),
                         absent=f"{' and '.join(absent)} not in study.modalities"
                         if absent else ""))
    return out


def _sweep_claims(params: Params) -> list[Claim]:
    grid = lambda_t_sweep(params)
    lam, T = params.solid.lam, params.solid.T

    def close(x: float | None, y: float) -> bool:
        return x is not None and math.isclose(x, y, rel_tol=1e-9)

    def side(p: Planned | None, number: int | None, value: float | None = None) -> Side:
        """A cell of Table 4 / 5 (the paper's row of that value) or of Figure 5 (no numbers
        in the paper's tables); `value` names a cell the params do not plan."""
        if number is None:
            return Side(p, "λ = 0.1, T = 0.01" if p is None else f"λ = {p.lam:g}, T = {p.T:g}",
                        missing())
        v = value if p is None else p.lam if number == 4 else p.T
        return Side(p, f"{'λ' if number == 4 else 'T'} = {v:g}",
                    paper_row(paper_rows(number), (v,)))

    def one(cid: str, family: str, words: str, where: str, cells: list[Planned],
            pick, number: int | None, value: float, axis: str, **kw) -> Claim:
        """a = the cell `pick` selects, rivals = the other cells; absent when either is."""
        chosen = [p for p in cells if pick(p)]
        a = side(chosen[0] if chosen else None, number, value)
        rivals = tuple(side(p, number) for p in cells if not pick(p))
        absent = ("" if chosen and rivals else f"{a.label} not in {axis}" if not chosen else
                  f"nothing to compare with in {axis}")
        return Claim(cid, family, words, _study_where(params, where), a,
                     rivals or (Side(None, "the others", missing()),),
                     absent=absent, **kw)

    lam_line = [p for p in grid if close(p.T, T)]
    t_line = [p for p in grid if close(p.lam, lam)]
    return [
        one("T4.lambda0.1-best", "T4.lambda-best", f"performance is optimal when λ = 0.1 (at "
            f"T = {T:g})", "Table 4", lam_line, lambda p: close(p.lam, 0.1), 4, 0.1,
            "study.lambdas"),
        one("T5.T0.01-best", "T5.T-best", "the optimal performance is achieved when T = 0.01 "
            f"(at λ = {lam:g})", "Table 5", t_line, lambda p: close(p.T, 0.01), 5, 0.01,
            "study.Ts"),
        one("T5.T1-collapses", "T5.T1-collapses", "T = 1 is far below every other T (paper: "
            "UAUC 0.7308 vs 0.78-0.79)", "Table 5", t_line, lambda p: close(p.T, 1.0), 5, 1.0,
            "study.Ts", direction=-1),
        one("F5.lambda0.1-T0.01-best", "F5.grid-best", "the best performance is achieved when "
            "λ = 0.1 and T = 0.01", "Figure 5", grid,
            lambda p: close(p.lam, 0.1) and close(p.T, 0.01), None, 0.0,
            "study.lambdas x study.Ts", metrics=FIGURE5_METRICS),
    ]


def claims(params: Params) -> list[Claim]:
    """Every testable claim the params' runs cover, in paper order."""
    out = _table1_claims(params)
    if params.study.dataset in params.datasets:
        out += _table2_claims(params) + _table3_claims(params) + _sweep_claims(params)
    return out

