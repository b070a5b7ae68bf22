"""The runs params.yaml defines: the same axes dvc.yaml expands, as a list of planned runs.

    Table 1        per dataset: backbones x dsrs (base) and backbones x solid_dsrs x {spg, sml,
                   scl}
    study          (dataset, backbone, dsr of `study`): Table 2's ablation (scl_only), the T
                   sweep of SML (sml-T<T>), the lambda x T sweep of SCL (scl-lam<l>-T<T>) and
                   the modality sets of Table 3 (sml-mod-<set>, scl-mod-<set>)

`evaluate --all`, `solid table` and `solid figure` read exactly these runs, never what they
find by listing folders, so a leftover run of a removed backbone or a staging folder never
reaches a table. Each planned run carries the command that trains it (the stage's `cmd` in
dvc.yaml) and its coordinates in the sweeps (lambda, T, modality set).
"""

from __future__ import annotations

from dataclasses import dataclass

from solidcli.config import Params, modality_key, parse_modalities
from solidcli.layout import RunId

# Table 1's rows within a backbone, in the paper's order, with the paper's row labels
TABLE1_LABELS = {("none", "base"): "-", ("apg", "base"): "APG", ("apg", "scl"): "Ours (APG)",
                 ("duet", "base"): "DUET", ("duet", "scl"): "Ours (DUET)"}
MODALITY_TAG = "mod-"


def sweep_tag(value: float) -> str:
    """A sweep value as DVC writes `${item.T}` into the stage command (Python's str)."""
    return str(value)


@dataclass(frozen=True)
class Planned:
    """A run the params define, how to train it, and where it sits in the sweeps."""

    run: RunId
    command: str
    lam: float | None = None  # lambda x T cell (scl) / T sweep (sml)
    T: float | None = None
    modalities: str | None = None  # Table 3 set, canonical (id+text), None otherwise


def _cmd(run: RunId, *extra: str) -> str:
    stage = {"base": "train-base", "spg": "train-spg", "sml": "train-sml", "scl": "train-scl",
             "scl_only": "train-scl --without-semantics"}[run.variant]
    parts = [f"solid {stage} --dataset {run.dataset} --backbone {run.backbone} --dsr {run.dsr}",
             *extra]
    if run.tag is not None:
        parts.append(f"--tag {run.tag}")
    return " ".join(parts)


def table1(params: Params, dataset: str) -> list[Planned]:
    """Table 1's runs of one dataset, by backbone in params order, rows in paper order."""
    out = []
    for backbone in params.backbones:
        for dsr, variant in TABLE1_LABELS:
            axis = params.dsrs if variant == "base" else params.solid_dsrs
            if dsr in axis:
                run = RunId(dataset, backbone, dsr, variant)
                out.append(Planned(run, _cmd(run)))
    return out


def solid_parts(params: Params, dataset: str) -> list[Planned]:
    """SPG and SML of every Table 1 SOLID cell (SCL itself is in `table1`)."""
    return [Planned(run, _cmd(run)) for backbone in params.backbones
            for dsr in params.solid_dsrs for variant in ("spg", "sml")
            for run in (RunId(dataset, backbone, dsr, variant),)]


def _study(params: Params, variant: str, tag: str | None = None) -> RunId:
    s = params.study
    return RunId(s.dataset, s.backbone, s.dsr, variant, tag)


def ablation(params: Params) -> Planned:
    """Table 2, row 4: SCL without semantic information."""
    run = _study(params, "scl_only")
    return Planned(run, _cmd(run))


def t_sweep(params: Params) -> list[Planned]:
    """SML at every T of `study.Ts` (the metacode of the lambda x T sweep)."""
    out = []
    for t in params.study.Ts:
        run = _study(params, "sml", f"T{sweep_tag(t)}")
        out.append(Planned(run, _cmd(run, f"--set solid.T={sweep_tag(t)}"), T=t))
    return out


def lambda_t_sweep(params: Params) -> list[Planned]:
    """SCL at every (lambda, T) of `study.lambdas` x `study.Ts` (Tables 4, 5, Figure 5)."""
    out = []
    for lam in params.study.lambdas:
        for t in params.study.Ts:
            run = _study(params, "scl", f"lam{sweep_tag(lam)}-T{sweep_tag(t)}")
            out.append(Planned(run, _cmd(run, f"--set solid.lambda={sweep_tag(lam)}",
                                         f"--set solid.T={sweep_tag(t)}",
                                         f"--metacode-tag T{sweep_tag(t)}"), lam=lam, T=t))
    return out


def modality_sets(params: Params, variant: str) -> list[Planned]:
    """SML or SCL with semantics from each modality set of `study.modalities` (Table 3)."""
    out = []
    for text in params.study.modalities:
        run = _study(params, variant, f"{MODALITY_TAG}{text}")
        extra = [f"--modalities {text}"]
        if variant == "scl":
            extra.append(f"--metacode-tag {MODALITY_TAG}{text}")
        out.append(Planned(run, _cmd(run, *extra), modalities=modality_key(
            parse_modalities(text))))
    return out


def table2(params: Params) -> dict[str, Planned]:
    """Table 2's rows: the study model's base, spg, sml, scl_only and scl runs."""
    rows = {}
    for variant in ("base", "spg", "sml", "scl_only", "scl"):
        run = _study(params, variant)
        rows[variant] = Planned(run, _cmd(run))
    return rows


def dataset_runs(params: Params, dataset: str) -> list[Planned]:
    """Every run the params define for `dataset`, each once, in a stable order."""
    planned = table1(params, dataset) + solid_parts(params, dataset)
    if dataset == params.study.dataset:
        planned += ([ablation(params)] + t_sweep(params) + lambda_t_sweep(params)
                    + modality_sets(params, "sml") + modality_sets(params, "scl"))
    out: dict[RunId, Planned] = {}
    for p in planned:
        out.setdefault(p.run, p)
    return list(out.values())


def find(params: Params, run: RunId) -> Planned | None:
    """The planned run with this id, if the params define it."""
    return next((p for p in dataset_runs(params, run.dataset) if p.run == run), None)


def train_command(params: Params, run: RunId) -> str:
    """The command that trains `run`: the planned one, or a plain command from its id."""
    planned = find(params, run)
    return planned.command if planned is not None else _cmd(run)
