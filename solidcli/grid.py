"""The runs params.yaml defines: the same axes dvc.yaml expands, as a list of planned runs.

    Table 1        per dataset: backbones x dsrs (base) and backbones x solid_dsrs x {spg, sml,
                   scl}
    study          (dataset, backbone, dsr of `study`): Table 2's ablation (scl_only), the T
                   sweep of SML (sml-T<T>), the lambda x T sweep of SCL (scl-lam<l>-T<T>) and
                   the modality sets of Table 3 (sml-mod-<set>, scl-mod-<set>)
    mechanics      a study outside the default pipeline (studies/dvc.yaml): the study
                   backbone x solid_dsrs, SOLID as written and with each of the mechanics fixes
                   added in turn (sml-mech-<row>, scl-mech-<row>; `MECHANICS`)

`evaluate --all`, `solid table` and `solid figure` read exactly these runs, never what they
find by listing folders, so a leftover run of a removed backbone or a staging folder never
reaches a table. A planned run is a configuration: it is trained once per seed of `seeds`,
all seeds together. Each carries its family (the DVC stage that trains it: one stage per
family, so one process per stage starts once and hands configurations to its workers), the
command that trains it alone, what that command sets (a sweep cell's lambda / T, its modality
set, the SML run its metacode comes from) and its coordinates in the sweeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from solidcli.config import Params, modality_key, parse_modalities
from solidcli.errors import SolidError
from solidcli.layout import STUDIES, RunId
from solidcli.models import dsrs


class _Table1Labels(Mapping):
    """Table 1's rows within a backbone, (dsr, variant) -> label, in the paper's order: every
    registered DSR alone and SOLID on each dynamic one. Read from the DSR registry
    (`solidcli.models.dsrs`) at each lookup, so a DSR registered after import has its row."""

    def __getitem__(self, row: tuple[str, str]) -> str:
        return dsrs.table1_rows()[row].label

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(dsrs.table1_rows())

    def __len__(self) -> int:
        return len(dsrs.table1_rows())


TABLE1_LABELS = _Table1Labels()
MODALITY_TAG = "mod-"


def sweep_tag(value: float) -> str:
    """A sweep value as DVC writes `${item.T}` into the stage command (Python's str)."""
    return str(value)


FAMILIES = {  # family -> (variant, the stage command that trains every run of the family)
    "base": ("base", "solid train-base --dataset {dataset} --all"),
    "spg": ("spg", "solid train-spg --dataset {dataset} --all"),
    "sml": ("sml", "solid train-sml --dataset {dataset} --all"),
    "scl": ("scl", "solid train-scl --dataset {dataset} --all"),
    "scl_only": ("scl_only", "solid train-scl --without-semantics --all"),
    "sml-T": ("sml", "solid train-sml --sweep T"),
    "scl-lambda-T": ("scl", "solid train-scl --sweep lambda-T"),
    "sml-modality": ("sml", "solid train-sml --sweep modality"),
    "scl-modality": ("scl", "solid train-scl --sweep modality"),
}
SWEEPS = {"sml": {"T": "sml-T", "modality": "sml-modality"},
          "scl": {"lambda-T": "scl-lambda-T", "modality": "scl-modality"}}
MAIN_FAMILIES = tuple(FAMILIES)  # the default pipeline's (dvc.yaml); studies come after
FAMILIES.update({family: (variant, f"solid train-{variant} --study {study}")
                 for study, by_variant in STUDIES.items()
                 for variant, family in by_variant.items()})

# The mechanics table: SOLID as the paper writes it, then each fix added in turn.
# Every row sets every mechanics key, so a row means the same whatever the defaults are.
LITERAL = ("solid.branch_scale=dsr", "solid.bound=clip", "solid.straight_through=false",
           "solid.aux_loss=paper", "solid.dead_codes=keep", "solid.warm_start=false",
           "solid.metacode=sml")
MECHANICS = (  # (tag, label, what the row changes from the one above)
    ("literal", "paper-literal SOLID", ()),
    ("live", "+ live branch (generated at the scale of T)", ("solid.branch_scale=T",)),
    ("rms", "+ kept inside (each user's branch at RMS T/2)", ("solid.branch_scale=rms",)),
    ("tanh", "+ smooth bound T tanh(x/T)", ("solid.bound=tanh",)),
    ("vq", "+ learning codebook (straight-through, VQ loss, dead-code restarts)",
     ("solid.straight_through=true", "solid.aux_loss=vq", "solid.dead_codes=reinit")),
    ("warm", "+ one space (SCL from SML, codes at item centroids)",
     ("solid.warm_start=true", "solid.metacode=centroids")),
    ("k", "+ K chosen on valid (the K study: params.yaml's semantics)", ()),
)
# the rows above "k" use `study.paper_k` (550 for Scientific: the authors' padded category
# vocabulary), from the K study's semantics, so they mean the same whatever K params.yaml chooses
BRANCH_KEYS = ("solid.branch_scale", "solid.bound")  # the settings an SML run depends on


@dataclass(frozen=True)
class Planned:
    """A configuration the params define (trained once per seed), how to train it, and
    where it sits in the sweeps."""

    run: RunId  # no seed
    command: str  # trains this configuration alone (all seeds)
    sets: tuple[str, ...] = ()  # params overrides of the configuration (a sweep cell)
    by_modality: str | None = None  # the modality set its semantics come from (Table 3)
    metacode_tag: str | None = None  # the tagged SML/SPG run its codebook starts from
    lam: float | None = None  # lambda x T cell (scl) / T sweep (sml)
    T: float | None = None
    modalities: str | None = None  # Table 3 set, canonical (id+text), None otherwise
    by_k: str | None = None  # the K study's semantics setting (k<K> | category)
    alias: str | None = None  # a Table 3 cell that is a Table 1 run: the tag it would have had

    @property
    def family(self) -> str:
        return self.run.stage_family


def _plan(run: RunId, sets: tuple[str, ...] = (), by_modality: str | None = None,
          metacode_tag: str | None = None, by_k: str | None = None, **coords) -> Planned:
    stage = {"base": "train-base", "spg": "train-spg", "sml": "train-sml", "scl": "train-scl",
             "scl_only": "train-scl --without-semantics"}[run.variant]
    parts = [f"solid {stage} --dataset {run.dataset} --backbone {run.backbone} --dsr {run.dsr}",
             *(f"--set {item}" for item in sets)]
    if by_modality is not None:
        parts.append(f"--modalities {by_modality}")
    if run.tag is not None:
        parts.append(f"--tag {run.tag}")
    if metacode_tag is not None:
        parts.append(f"--metacode-tag {metacode_tag}")
    return Planned(run, " ".join(parts), sets, by_modality, metacode_tag, by_k=by_k, **coords)


def single(run: RunId, by_modality: str | None = None,
           metacode_tag: str | None = None, by_k: str | None = None) -> Planned:
    """A configuration given on the command line (its params already set)."""
    return _plan(run, by_modality=by_modality, metacode_tag=metacode_tag, by_k=by_k)


def stage_command(family: str, dataset: str) -> str:
    """The DVC stage command that trains every run of `family`."""
    return FAMILIES[family][1].format(dataset=dataset)


def table1(params: Params, dataset: str) -> list[Planned]:
    """Table 1's runs of one dataset, by backbone in params order, rows in paper order."""
    out = []
    for backbone in params.backbones:
        for dsr, variant in dsrs.table1_rows():
            axis = params.dsrs if variant == "base" else params.solid_dsrs
            if dsr in axis:
                out.append(_plan(RunId(dataset, backbone, dsr, variant)))
    return out


def solid_parts(params: Params, dataset: str) -> list[Planned]:
    """SPG and SML of every Table 1 SOLID cell (SCL itself is in `table1`)."""
    return [_plan(RunId(dataset, backbone, dsr, variant)) for backbone in params.backbones
            for dsr in params.solid_dsrs for variant in ("spg", "sml")]


def family_runs(params: Params, family: str, dataset: str) -> list[Planned]:
    """The runs one family (one DVC stage) trains."""
    if family in ("base", "spg", "sml", "scl"):
        return [p for p in table1(params, dataset) + solid_parts(params, dataset)
                if p.run.variant == family]
    if dataset != params.study.dataset:
        return []
    planned = {"scl_only": lambda: [ablation(params)], "sml-T": lambda: t_sweep(params),
               "scl-lambda-T": lambda: lambda_t_sweep(params),
               "sml-modality": lambda: modality_sets(params, "sml"),
               "scl-modality": lambda: modality_sets(params, "scl"),
               "mechanics-sml": lambda: mechanics(params, "sml"),
               "mechanics-scl": lambda: mechanics(params, "scl"),
               "k-sml": lambda: k_study(params)}[family]()
    return [p for p in planned if p.family == family]  # a Table 1 twin is Table 1's stage's


def _study(params: Params, variant: str, tag: str | None = None,
           family: str | None = None) -> RunId:
    s = params.study
    return RunId(s.dataset, s.backbone, s.dsr, variant, tag, family)


def ablation(params: Params) -> Planned:
    """Table 2, row 4: SCL without semantic information."""
    return _plan(_study(params, "scl_only"))


def table1_twin(params: Params, variant: str, modalities: str) -> RunId | None:
    """The Table 1 run a modality-set cell would train again, bit for bit, or None.

    Table 3's cell of the dataset's own modality set (`semantics.<d>.modalities`) is the study
    model's Table 1 SML / SCL run (the same params and semantics; SCL's metacode is that SML)
    when the metacode is SML's, as the modality cells set it: it is planned as that run,
    trained once by Table 1's stage and read from there (the modality stages trained
    it a second time, to the same bytes, as a seventh unit on two workers). Only when the study
    model is one of Table 1's SOLID cells. (The lambda x T sweep's cell at params.yaml's own
    lambda and T is Table 1's run too, but it stays the sweep's: deduplicating it would make
    the sweep depend on solid.lambda and solid.T, so every `-S solid.lambda=...` experiment
    would retrain the whole sweep, for one unit fewer of 16 and no shorter stage.)"""
    p, s = params, params.study
    if (s.dataset not in p.datasets or s.backbone not in p.backbones
            or s.dsr not in p.solid_dsrs or p.solid.metacode != "sml"):
        return None
    if modalities != modality_key(p.semantics_cfg(s.dataset).modalities):
        return None
    return _study(params, variant)


def t_sweep(params: Params) -> list[Planned]:
    """SML at every T of `study.Ts` (the metacode of the lambda x T sweep)."""
    return [_plan(_study(params, "sml", f"T{sweep_tag(t)}", "sml-T"),
                  (f"solid.T={sweep_tag(t)}",), T=t) for t in params.study.Ts]


def lambda_t_sweep(params: Params) -> list[Planned]:
    """SCL at every (lambda, T) of `study.lambdas` x `study.Ts` (Tables 4, 5, Figure 5)."""
    return [_plan(_study(params, "scl", f"lam{sweep_tag(lam)}-T{sweep_tag(t)}", "scl-lambda-T"),
                  (f"solid.lambda={sweep_tag(lam)}", f"solid.T={sweep_tag(t)}"),
                  metacode_tag=f"T{sweep_tag(t)}", lam=lam, T=t)
            for lam in params.study.lambdas for t in params.study.Ts]


def modality_sets(params: Params, variant: str) -> list[Planned]:
    """SML or SCL with semantics from each modality set of `study.modalities` (Table 3); SCL's
    metacode is the same set's SML run. The dataset's own set is Table 1's runs
    (`table1_twin`)."""
    out = []
    for text in params.study.modalities:
        tag = f"{MODALITY_TAG}{text}"
        key = modality_key(parse_modalities(text))
        twin = table1_twin(params, variant, key)
        if twin is not None:
            out.append(replace(_plan(twin, modalities=key), alias=tag))
            continue
        out.append(_plan(_study(params, variant, tag, f"{variant}-modality"), ("solid.metacode=sml",) if variant == "scl" else (),
                         by_modality=text, metacode_tag=tag if variant == "scl" else None,
                         modalities=key))
    return out


def _overlay(base: tuple[str, ...], changes: tuple[str, ...]) -> tuple[str, ...]:
    """`base` overrides with `changes` replacing those of the same key."""
    new = {c.split("=")[0]: c for c in changes}
    return tuple(new.pop(b.split("=")[0], b) for b in base) + tuple(new.values())


def mechanics_rows() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(tag, label, cumulative overrides, tag of the SML row it builds on) per row."""
    out, sets, sml = [], LITERAL, None
    for tag, label, changes in MECHANICS:
        sets = _overlay(sets, changes)
        if sml is None or tag == "k" or any(c.split("=")[0] in BRANCH_KEYS for c in changes):
            sml = tag  # a new branch or new semantics: a new SML run (the metacode, and
            # SCL's warm start)
        out.append((tag, label, sets, sml))
    return out


def chosen_setting(params: Params) -> str:
    """The K-study setting params.yaml's semantics of the study dataset are (k<K> or
    category); an error if the K study does not train it."""
    cfg = params.semantics_cfg(params.study.dataset)
    setting = "category" if cfg.method == "category" else f"k{cfg.k}"
    known = [name for name, _ in k_settings(params)]
    if setting not in known:
        raise SolidError(f"the mechanics study needs semantics.{params.study.dataset} "
                         f"({setting}) among the K study's settings ({', '.join(known)}): "
                         "add its K to study.ks")
    return setting


def mechanics(params: Params, variant: str) -> list[Planned]:
    """The study model's SML (one per branch and semantics) or SCL (one per row) runs of the
    mechanics table, for every dsr SOLID is applied to, on the K study's semantics (the
    authors' K, then the chosen one)."""
    s = params.study
    settings = dict(k_settings(params))
    if f"k{s.paper_k}" not in settings:
        raise SolidError(f"the mechanics study needs study.paper_k ({s.paper_k}) in study.ks")
    out = []
    for dsr in params.solid_dsrs:
        for tag, _, sets, sml in mechanics_rows():
            if variant == "sml" and tag != sml:
                continue
            setting = chosen_setting(params) if tag == "k" else f"k{s.paper_k}"
            run = RunId(s.dataset, s.backbone, dsr, variant, f"mech-{tag}",
                        STUDIES["mechanics"][variant])
            out.append(_plan(run, settings[setting] + sets, by_k=setting,
                             metacode_tag=f"mech-{sml}" if variant == "scl" else None))
    return out


def k_settings(params: Params) -> list[tuple[str, tuple[str, ...]]]:
    """(setting, overrides) of the K study: k-means at every K of `study.ks`, and the
    category method (K = the number of categories)."""
    d = params.study.dataset
    return ([(f"k{k}", (f"semantics.{d}.method=kmeans", f"semantics.{d}.k={k}"))
             for k in params.study.ks] + [("category", (f"semantics.{d}.method=category",))])


def k_study(params: Params) -> list[Planned]:
    """SML of the study model with the semantics of each K-study setting (the cheapest
    variant with a semantic trunk and the branch; its other settings are params.yaml's), to
    choose K and the method on valid."""
    s = params.study
    return [_plan(RunId(s.dataset, s.backbone, s.dsr, "sml", f"k-{setting}", "k-sml"),
                  sets, by_k=setting) for setting, sets in k_settings(params)]


def study_runs(params: Params, study: str, dataset: str) -> list[Planned]:
    """Every run a study outside the default pipeline trains (`STUDIES`)."""
    if study not in STUDIES:
        raise SolidError(f"unknown study '{study}' (choose from {', '.join(STUDIES)})")
    return [p for family in STUDIES[study].values()
            for p in family_runs(params, family, dataset)]


def table2(params: Params) -> dict[str, Planned]:
    """Table 2's rows: the study model's base, spg, sml, scl_only and scl runs."""
    return {variant: _plan(_study(params, variant))
            for variant in ("base", "spg", "sml", "scl_only", "scl")}


def dataset_runs(params: Params, dataset: str, families=MAIN_FAMILIES) -> list[Planned]:
    """Every run the params define for `dataset` in the default pipeline (or in `families`),
    each once, in a stable order."""
    out: dict[RunId, Planned] = {}
    for family in families:
        for p in family_runs(params, family, dataset):
            out.setdefault(p.run, p)
    return list(out.values())


def pick(value: str | None, axis: list[str], name: str) -> str:
    """`value`, or the first of the params' axis `name` (a single command's default)."""
    if value is not None:
        return value
    if not axis:
        raise SolidError(f"params.yaml: '{name}' is empty; pass the value as a flag")
    return axis[0]


def pick_dsr(value: str | None, params: Params, variant: str) -> str:
    """Baselines default to the first of `dsrs`, SOLID variants to the first of `solid_dsrs`."""
    if variant == "base":
        return pick(value, params.dsrs, "dsrs")
    return pick(value, params.solid_dsrs, "solid_dsrs")


def find(params: Params, run: RunId) -> Planned | None:
    """The planned configuration of this run (any seed), if the params define it (in the
    default pipeline or a study)."""
    config = run.config
    return next((p for p in _every_run(params, run.dataset) if p.run == config), None)


def _every_run(params: Params, dataset: str) -> list[Planned]:
    """`dataset_runs` over every family, the studies' included; a study these params cannot
    plan (a K the mechanics study does not train, after `-S semantics.<d>.k=...`) has no runs
    to find here: its error belongs to its own stage, not to a lookup of another run."""
    out: dict[RunId, Planned] = {}
    for family in FAMILIES:
        try:
            runs = family_runs(params, family, dataset)
        except SolidError:
            if family in MAIN_FAMILIES:
                raise
            continue
        for p in runs:
            out.setdefault(p.run, p)
    return list(out.values())


def find_tagged(params: Params, run: RunId) -> RunId:
    """The planned run with this configuration in any family (a sweep's SML run, for one),
    or `run` itself when the params plan none."""
    for p in _every_run(params, run.dataset) + _twins(params, run.dataset):
        tags = (p.run.tag,) if p.alias is None else (p.run.tag, p.alias)
        if (p.run.backbone, p.run.dsr, p.run.variant) == (run.backbone, run.dsr, run.variant) \
                and run.tag in tags:
            return p.run
    return run.config


def _twins(params: Params, dataset: str) -> list[Planned]:
    """The modality cells that are Table 1 runs (`alias`: the tag they would have had)."""
    if dataset != params.study.dataset:
        return []
    return [p for variant in ("sml", "scl") for p in modality_sets(params, variant)
            if p.alias is not None]


def train_command(params: Params, run: RunId) -> str:
    """The command that trains `run`: the planned one, or a plain command from its id."""
    planned = find(params, run)
    return planned.command if planned is not None else _plan(run.config).command
