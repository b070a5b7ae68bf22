"""Write dvc.yaml and studies/dvc.yaml whole, from the description below, the grid
(solidcli.grid: training commands, the configurations the plots show), the output paths of
solidcli/layout.py and each stage's code deps, the import closure of its `solid` commands
(tests/import_closure.py); nobody edits those files by hand.

    python tools/dvc_yaml.py            # rewrite dvc.yaml, studies/dvc.yaml and the copy
                                        # `solid init` ships (solidcli/project/dvc.yaml)
    python tools/dvc_yaml.py --check    # exit 1, naming the files, if any would change
                                        # (tests/test_dvc_layout.py runs it)

Rerun it after changing a stage below, an import in solidcli/, or the grid (params.yaml's
datasets, seeds, axes: the top-level plots list one chart per configuration).

A stage's list (deps or params) that equals an earlier one is written once with a YAML anchor
on the line below its key and reused by alias (`deps: *train-spg-deps`): DVC wants every
`deps` flat, so only whole lists can be shared; the anchor stays off the `deps:` line so
`solid init` can still drop the `- solidcli/...` lines (solidcli/scaffold.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from import_closure import command_closure

from solidcli import layout
from solidcli.config import load_params
from solidcli.grid import FAMILIES, TABLE1_LABELS, dataset_runs
from solidcli.models.dsrs import dynamic
from solidcli.results import backbone_name, dsr_name

COPY = "solidcli/project/dvc.yaml"  # `solid init` ships it: byte-identical to dvc.yaml
D, S = "${item.dataset}", "${study.dataset}"  # a matrix stage's dataset, the study's
MATRIX = {"dataset": "${datasets}"}
CHECKED = layout.PARAMS_CHECKED.as_posix()
KEEP = {"cache": False, "persist": True}  # committed, kept while the command reruns
PERSIST = {"persist": True}
CURVE_Y = "valid_UAUC"  # what the plots show, per epoch


@dataclass
class Stage:
    name: str
    cmd: str | list[str]
    deps: list[str]  # data deps and package data; the code deps are added
    params: list[str]
    outs: list[str | tuple[str, dict]]
    note: str = ""  # comment lines under the stage's name
    matrix: dict | None = None
    wdir: str | None = None
    metrics: list[tuple[str, dict]] = field(default_factory=list)


def p(path) -> str:
    return Path(path).as_posix()


TRAIN = ["protocol", "seed", "seeds", "device", "train", "eval"]
DYNAMIC = [f"dsr.{name}" for name in dynamic()]  # the DSRs SOLID can be applied to
SOLID_AXES = ["backbones", "solid_dsrs", "models", *DYNAMIC, f"semantics.{D}"]
STUDY_MODEL = ["models.${study.backbone}", "dsr.${study.dsr}", f"semantics.{S}"]
STUDY_RUN = ["study.dataset", "study.backbone", "study.dsr"]
BRANCH = ["solid.branch_scale", "solid.bound"]
SCL_MECH = ["solid.aux_loss", "solid.commitment", "solid.straight_through", "solid.dead_codes"]
SEMANTICS = ["seed", "seeds", f"semantics.{D}", "id_semantics"]
EVALUATE = ["seed", "seeds", "device", "eval", "train.eval_batch_size"]
REPORT = ["seeds", "datasets", "backbones", "dsrs", "solid_dsrs", "study", "solid.lambda",
          "solid.T", "stats"]
ID_BASE = "models/{d}/base/${{id_semantics.backbone}}-${{id_semantics.dsr}}"


def train(family: str, deps: list[str], params: list[str], note: str = "",
          dataset: str = D) -> Stage:
    """The stage training one family of the grid (its command: solidcli.grid.FAMILIES)."""
    cmd = FAMILIES[family][1].format(dataset=dataset)
    name = {"scl_only": "train-ablation", "sml-T": "sweep-sml", "scl-lambda-T": "sweep-scl",
            "sml-modality": "sweep-modality-sml", "scl-modality": "sweep-modality-scl"}.get(
        family, f"train-{family}")
    return Stage(name, cmd, [CHECKED, p(layout.prepared_dir(dataset)), *deps], TRAIN + params,
                 [p(layout.family_dir(dataset, family))], note,
                 MATRIX if dataset == D else None)


TABLES = [f"solid table --table {t} --compare paper --out-dir reports" for t in range(1, 6)]
TABLE_OUTS = [layout.table_file(n, f) for n in (*range(1, 6), "1-full")
              for f in ("markdown", "latex", "csv")]
TABLE_OUTS += [layout.table_file("-breakdown", f) for f in ("markdown", "csv")]
TABLE_OUTS += [layout.figure_file(5, s) for s in ("png", "pdf")]

MAIN_HEADER = """\
# The SOLID pipeline. Axes come from lists in params.yaml; each stage lists only the
# parameters it reads, so `dvc exp run -S solid.lambda=1` reruns only the stages that read
# lambda and what follows them. Checkpoints (cached) and metrics (cache: false, committed) live
# in separate stages so the run-cache stays on for training.
#
# Every training stage trains one *family* of runs (its one output folder, models/<d>/<family>)
# in one process: each run once per training seed of `seeds`, all seeds of a run together as
# one batched model, runs spread over worker processes (both cores; solidcli/workers.py). One
# stage per family keeps DVC's per-stage cost (process start, imports, hashing: ~7 s) to a
# dozen stages. The price: changing one backbone's section reruns its whole family, and a
# changed `seeds` list retrains every seed (DVC caches whole stages, not seeds; switching back
# to a list run before is restored from the run-cache).
#
#   Table 1      train-base (backbones x dsrs) and train-{spg,sml,scl} (backbones x solid_dsrs)
#   Table 2      the `study` model: base, spg, sml (from Table 1's runs), ablation (scl_only), scl
#   Table 3      semantics-by-modality (every modality set) -> sweep-modality-sml -> -scl
#   Tables 4, 5  sweep-sml (every T) -> sweep-scl (lambda x T) on the `study` model; Figure 5
# The `id` modality is the item table of a trained baseline (`id_semantics`, first seed), so
# semantics stages depend on that train-base run.
#
# WRITTEN BY tools/dvc_yaml.py (`make dvc-yaml`; CI checks it): edit that file, not this one.
# Code deps: each stage lists the solidcli files its command can import (its import closure;
# `python tests/import_closure.py <command>` prints one), so editing e.g.
# solidcli/data/batching.py reruns every training stage and nothing else. A list equal to an
# earlier stage's is written once: `&name` under the first, `*name` for the others (YAML).
# Output paths are those of solidcli/layout.py (tests/test_dvc_layout.py checks them).
# Every output is cached (`dvc push` / `dvc pull` share it: docs/dvc.md) except the small
# committed reports (cache: false). The plots at the end: one chart per configuration of the
# grid, its seeds overlaid (`make plots` renders them offline).
"""

MAIN = [
    Stage("check-params", "solid check-params", [], ["params.yaml:"], [(CHECKED, KEEP)],
          "params.yaml checked whole (and every run of the default pipeline planned) before any\n"
          "stage runs: DVC removes a stage's outputs before its command starts, so bad params "
          "must\nstop `dvc repro` here (the mark's bytes never change: nothing reruns because "
          "it did)"),
    Stage("download", f"solid download --dataset {D}", [CHECKED, "solidcli/bundled"],
          ["seed", f"data.{D}"], [(p(layout.prepared_dir(D)), PERSIST)], matrix=MATRIX),
    Stage("embed", f"solid embed --dataset {D}",
          [CHECKED, p(layout.prepared_dir(D)), "solidcli/bundled"],
          ["device", f"data.{D}", f"embed.{D}"], [(p(layout.features_dir(D)), PERSIST)],
          matrix=MATRIX),
    Stage("assign-semantics", f"solid assign-semantics --dataset {D}",
          [CHECKED, p(layout.prepared_dir(D)), p(layout.features_dir(D)), ID_BASE.format(d=D)],
          SEMANTICS, [(p(layout.semantics_dir(D)), PERSIST)], matrix=MATRIX),
    Stage("semantics-by-modality", "solid assign-semantics --study-sets",
          [CHECKED, p(layout.prepared_dir(S)), p(layout.features_dir(S)), ID_BASE.format(d=S)],
          [*(x.replace(D, S) for x in SEMANTICS), "study.dataset", "study.modalities"],
          [(p(layout.semantics_dir(S, "id").parent), PERSIST)],
          "Table 3: the study dataset's semantics from each modality set (id, image, text, ...)"),
    train("base", [], ["backbones", "dsrs", "models", "dsr"]),
    train("spg", [p(layout.semantics_dir(D))], SOLID_AXES),
    train("sml", [p(layout.semantics_dir(D))], [*SOLID_AXES, "solid.T", *BRANCH]),
    train("scl", [p(layout.semantics_dir(D)), p(layout.family_dir(D, "spg")),
                  p(layout.family_dir(D, "sml"))], [*SOLID_AXES, "solid"]),
    train("scl_only", [], [*STUDY_MODEL, "solid.lambda", "solid.train_codebook",
                           "solid.mask_padding", *STUDY_RUN, *SCL_MECH],
          "Table 2, row 4: SCL without semantic information (random codebook, no semantic "
          "trunk)", S),
    train("sml-T", [p(layout.semantics_dir(S))],
          [*STUDY_MODEL, *STUDY_RUN, "study.Ts", *BRANCH],
          "SML at every T of study.Ts (the metacode of the lambda x T sweep)", S),
    train("scl-lambda-T", [p(layout.semantics_dir(S)), p(layout.family_dir(S, "spg")),
                           p(layout.family_dir(S, "sml-T"))],
          [*STUDY_MODEL, "solid.metacode", "solid.train_codebook", "solid.mask_padding",
           *STUDY_RUN, "study.lambdas", "study.Ts", *SCL_MECH, *BRANCH, "solid.warm_start"],
          "Tables 4, 5 and Figure 5: SCL at every (lambda, T) of study.lambdas x study.Ts", S),
    train("sml-modality", [p(layout.semantics_dir(S, "id").parent)],
          [*STUDY_MODEL, "solid.T", *STUDY_RUN, "study.modalities", "solid.metacode",
           "datasets", "backbones", "solid_dsrs", *BRANCH],
          "Table 3: SML with the semantics of each modality set (the dataset's own set is Table "
          "1's\nrun when the study model is in Table 1 and solid.metacode is sml: "
          "grid.table1_twin)", S),
    train("scl-modality", [p(layout.semantics_dir(S, "id").parent),
                           p(layout.family_dir(S, "sml-modality"))],
          [*STUDY_MODEL, "solid.lambda", "solid.T", "solid.train_codebook",
           "solid.mask_padding", *STUDY_RUN, "study.modalities", "solid.metacode", "datasets",
           "backbones", "solid_dsrs", *SCL_MECH, *BRANCH, "solid.warm_start"],
          "Table 3 rows: full SOLID with the metacode of the same modality set's SML run (the\n"
          "dataset's own set: Table 1's runs, as in sweep-modality-sml)", S),
    Stage("evaluate", f"solid evaluate --dataset {D} --all",
          [CHECKED, p(layout.prepared_dir(D)), p(layout.MODELS / D)],
          [*EVALUATE, "backbones", "dsrs", "solid_dsrs", "study"],
          [(p(layout.metrics_dir(D)), KEEP), (p(layout.curves_dir(D)), KEEP)],
          "scores exactly the runs params.yaml defines for the dataset (worker processes, as "
          "training)", MATRIX),
    Stage("table", [*TABLES, "solid table --table 1 --metrics full --out-dir reports",
                    "solid table --table breakdown --out-dir reports",
                    "solid table --table summary --out-dir reports",
                    f"solid figure --figure 5 --out {p(layout.figure_file(5))}"],
          [CHECKED, p(layout.METRICS_ROOT), "solidcli/paper"], REPORT,
          [(p(o), KEEP) for o in TABLE_OUTS], metrics=[(p(layout.SUMMARY), KEEP)]),
    Stage("claims", "solid claims --out-dir reports --readme README.md",
          [CHECKED, p(layout.METRICS_ROOT), "solidcli/paper"], REPORT,
          [(p(layout.claims_file(s)), KEEP) for s in ("md", "csv")],
          "every claim of the paper tested on the evaluated runs (reports/claims.md, "
          "claims.csv),\nand the README's verdict block rewritten from them (where the README "
          "has one; git tracks it, not DVC)"),
]

STUDIES_HEADER = """\
# Studies outside the default pipeline: `make mechanics` (= `dvc repro studies/dvc.yaml`).
# `dvc repro` at the top runs dvc.yaml alone, so these runs never lengthen the default
# pipeline. Every stage runs from the project root (wdir: ..) with its params.yaml, and writes
# where solidcli/layout.py says: models/studies/<study>/<d>/<family>, reports/studies/<study>/.
#
#   mechanics    issue 11: the study backbone with each dynamic model of `solid_dsrs`, SOLID
#                as written (Eq. 12-13) and with each fix added in turn (solidcli/grid.py
#                MECHANICS, whose rows set every mechanics key themselves; at the authors'
#                K = 550, then at the K chosen on valid, from the K study's semantics), beside
#                Table 1's DSR and SOLID -> reports/studies/mechanics/table-mechanics.{md,csv}
#   k            issue 11: the study model's SML with semantics from k-means at every K of
#                study.ks and from the category method; the best mean valid UAUC chooses
#                -> reports/studies/k/table-k.{md,csv} and semantics-selected.json
#
# WRITTEN BY tools/dvc_yaml.py, as dvc.yaml (code deps: each stage's import closure; `&name`
# and `*name`: a list written once, reused).
vars:
  - ../params.yaml:study,id_semantics
"""


def study(name: str, cmd: str, deps: list[str], params: list[str], outs: list) -> Stage:
    return Stage(name, cmd, [CHECKED, *deps], params, outs, wdir="..")


BY_K = p(layout.semantics_dir(S, by_k="k").parent)
MECH, K = (layout.study_roots(s) for s in ("mechanics", "k"))
STUDIES = [
    study("mechanics-sml", "solid train-sml --study mechanics",
          [p(layout.prepared_dir(S)), BY_K],
          [*TRAIN, "solid_dsrs", *STUDY_MODEL[:1], *DYNAMIC, STUDY_MODEL[2],
           "study.dataset", "study.backbone", "study.ks", "solid.T"],
          [p(layout.family_dir(S, "mechanics-sml"))]),
    study("mechanics-scl", "solid train-scl --study mechanics",
          [p(layout.prepared_dir(S)), BY_K, p(layout.family_dir(S, "mechanics-sml"))],
          [*TRAIN, "solid_dsrs", *STUDY_MODEL[:1], *DYNAMIC, STUDY_MODEL[2],
           "study.dataset", "study.backbone", "study.ks", "solid.lambda", "solid.T",
           "solid.train_codebook", "solid.mask_padding", "solid.commitment"],
          [p(layout.family_dir(S, "mechanics-scl"))]),
    study("mechanics-evaluate", "solid evaluate --study mechanics",
          [p(layout.prepared_dir(S)), p(layout.family_dir(S, "mechanics-sml").parent)],
          [*EVALUATE, "solid_dsrs", "study"],
          [(p(layout.metrics_dir(S, MECH[0])), KEEP), (p(layout.curves_dir(S, MECH[1])), KEEP)]),
    study("mechanics-table", "solid table --table mechanics --out-dir reports/studies/mechanics",
          [p(layout.metrics_dir(S, MECH[0])), p(layout.metrics_dir(S))],
          ["seeds", "solid_dsrs", "study", "stats"],
          [(f"reports/studies/mechanics/table-mechanics.{s}", KEEP) for s in ("md", "csv")]),
    study("k-semantics", "solid assign-semantics --study-k",
          [p(layout.prepared_dir(S)), p(layout.features_dir(S)), ID_BASE.format(d=S)],
          [*(x.replace(D, S) for x in SEMANTICS), "study.dataset", "study.ks"], [(BY_K, PERSIST)]),
    study("k-sml", "solid train-sml --study k", [p(layout.prepared_dir(S)), BY_K],
          [*TRAIN, *STUDY_MODEL, *STUDY_RUN, "study.ks", "solid.T"],
          [p(layout.family_dir(S, "k-sml"))]),
    study("k-evaluate", "solid evaluate --study k",
          [p(layout.prepared_dir(S)), p(layout.family_dir(S, "k-sml").parent)],
          [*EVALUATE, "study"],
          [(p(layout.metrics_dir(S, K[0])), KEEP), (p(layout.curves_dir(S, K[1])), KEEP)]),
    study("k-table", "solid table --table k --out-dir reports/studies/k",
          [p(layout.metrics_dir(S, K[0]))], ["seeds", "study"],
          [(f"reports/studies/k/{f}", KEEP) for f in
           ("semantics-selected.json", "table-k.md", "table-k.csv")]),
]


def code_deps(stage: Stage) -> list[str]:
    """The stage's deps: its data deps as given, then package data and the solidcli files its
    `solid` commands import, sorted."""
    code: set[str] = set()
    for cmd in [stage.cmd] if isinstance(stage.cmd, str) else stage.cmd:
        code |= {f.as_posix() for f in command_closure(cmd.split()[1])}
    data = [d for d in stage.deps if not d.startswith("solidcli")]
    return data + sorted(code | {d for d in stage.deps if d.startswith("solidcli")})


def plot_title(planned) -> str:
    """`SASRec + DUET, Ours (valid UAUC)`: the SR model and DSR as the tables name them, then
    Table 1's row label for the variant (none for a baseline) or the variant and its sweep
    coordinates."""
    run = planned.run
    name = backbone_name(run.backbone) + ("" if run.dsr == "none" else f" + {dsr_name(run.dsr)}")
    row = TABLE1_LABELS.get((run.dsr, run.variant)) if run.tag is None else None
    if row is None:
        row = {"scl_only": "SCL without semantics"}.get(run.variant, run.variant.upper())
        coords = [f"λ={planned.lam:g}" if planned.lam is not None else "",
                  f"T={planned.T:g}" if planned.T is not None else "",
                  planned.modalities or ""]
        row = " ".join([row, *filter(None, coords)])
    elif row in ("-", dsr_name(run.dsr)):
        row = ""
    else:
        row = row.removesuffix(f" ({dsr_name(run.dsr)})")
    return f"{name}{', ' + row if row else ''} ({CURVE_Y.replace('_', ' ')})"


PLOTS_HEADER = """
# One chart per configuration of the grid (solidcli.grid.dataset_runs of params.yaml), its
# seeds' validation curves overlaid: `make plots` (offline) or `dvc plots show [<id> ...]`.
plots:"""


def plots_yaml() -> str:
    params = load_params(REPO / "params.yaml")
    lines = PLOTS_HEADER.splitlines()
    for dataset in params.datasets:
        for planned in dataset_runs(params, dataset):
            key = planned.run.key
            lines += [f"  - {dataset}/{key}:", f'      title: "{plot_title(planned)}"',
                      "      x: epoch", "      y:"]
            lines += [f"        {p(layout.curves_path(dataset, key, s))}: {CURVE_Y}"
                      for s in params.seeds]
    return "\n".join(lines) + "\n"


def _list(key: str, items: list[str], seen: dict, anchor: str, note: str = "") -> list[str]:
    """`key:` and its block list (`note` above its first solidcli/ item, where other items
    come first), or an alias of an equal list written before."""
    if not items:
        return []
    if tuple(items) in seen:
        return [f"    {key}: *{seen[tuple(items)]}"]
    head = [f"    {key}:"]
    if anchor in seen.get("wanted", ()):
        seen[tuple(items)] = anchor
        head.append(f"      &{anchor}")
    body = [f"      - {x}" for x in items]
    code = next((i for i, x in enumerate(items) if x.startswith("solidcli")), 0)
    if note and code:
        body.insert(code, f"      # {note}")
    return head + body


def _outs(key: str, outs: list) -> list[str]:
    lines = [f"    {key}:"] if outs else []
    for out in outs:
        path, opts = (out, {}) if isinstance(out, str) else out
        lines.append(f"      - {path}" + (":" if opts else ""))
        lines += [f"          {k}: {str(v).lower()}" for k, v in opts.items()]
    return lines


def render(header: str, stages: list[Stage], tail: str = "") -> str:
    resolved = [(s, code_deps(s)) for s in stages]
    # the lists repeated later get an anchor at their first appearance
    counts: dict[tuple, list[str]] = {}
    for s, deps in resolved:
        counts.setdefault(tuple(deps), []).append(f"{s.name}-deps")
        counts.setdefault(tuple(s.params), []).append(f"{s.name}-params")
    seen: dict = {"wanted": {names[0] for names in counts.values() if len(names) > 1}}
    out = [header.rstrip("\n"), "stages:"]
    for i, (s, deps) in enumerate(resolved):
        out += ([""] if i else []) + [f"  {s.name}:"]
        out += [f"    # {line}" for line in s.note.splitlines()]
        if s.matrix:
            out += ["    matrix:", *(f"      {k}: {v}" for k, v in s.matrix.items())]
        if s.wdir:
            out.append(f"    wdir: {s.wdir}")
        if isinstance(s.cmd, str):
            out.append(f"    cmd: {s.cmd}")
        else:
            out += ["    cmd:", *(f"      - {c}" for c in s.cmd)]
        verbs = sorted({c.split()[1] for c in ([s.cmd] if isinstance(s.cmd, str) else s.cmd)})
        out += _list("deps", deps, seen, f"{s.name}-deps",
                     f"code: what `solid {'/'.join(verbs)}` imports, and package data")
        out += _list("params", s.params, seen, f"{s.name}-params")
        out += _outs("outs", s.outs) + _outs("metrics", s.metrics)
    return "\n".join(out) + "\n" + tail


def files() -> dict[str, str]:
    main = render(MAIN_HEADER, MAIN, plots_yaml())
    return {"dvc.yaml": main, COPY: main, "studies/dvc.yaml": render(STUDIES_HEADER, STUDIES)}


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name, text in files().items():
        path = REPO / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"{', '.join(stale)} differ from what tools/dvc_yaml.py writes: run "
              "`python tools/dvc_yaml.py` (or `make dvc-yaml`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
