"""The `solid` command line: one command per DVC stage.

Each command resolves its parameters (params.yaml + flags), imports its pipeline module
inside the function (so `solid --help` never loads torch), runs it and prints what it wrote.
A SolidError becomes one line on stderr and exit code 1; SOLID_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from solidcli import __version__
from solidcli._options import (
    BackboneOpt,
    DataSeedOpt,
    DatasetOpt,
    DeviceOpt,
    DsrOpt,
    ModalitiesOpt,
    ParamsOpt,
    SetOpt,
    TagOpt,
    VariantOpt,
)
from solidcli.errors import SolidError, Terminated
from solidcli.layout import METRICS_ROOT

app = typer.Typer(
    name="solid",
    help="Reproduce SOLID (Semantic Codebook Learning for Dynamic Recommendation Models, "
    "ACM MM 2024). `dvc repro` runs every stage; each command also runs alone.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"solid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Reproduce SOLID (ACM MM 2024): `dvc repro` runs every stage; each command also runs alone."""


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Every way a command can fail ends as one stderr line: a SolidError (exit 1), an OSError
    (disk full, permissions: exit 1), an interrupt (SIGINT 130, SIGTERM 143), running out of
    memory, and, as a last resort, any other exception a library raised on input nobody
    checked (exit 1, naming its type; SOLID_DEBUG=1 shows the traceback)."""
    debug = bool(os.environ.get("SOLID_DEBUG"))
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        typer.echo("solid: interrupted (SIGINT); nothing incomplete was saved", err=True)
        raise typer.Exit(130) from None
    except Terminated:
        typer.echo("solid: terminated (SIGTERM); nothing incomplete was saved", err=True)
        raise typer.Exit(143) from None
    except SolidError as exc:
        if debug:
            raise
        typer.echo(f"solid: error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # disk full, permissions, ...: the user's to fix, not a bug
        if debug:
            raise
        typer.echo(f"solid: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
                   err=True)
        raise typer.Exit(1) from None
    except MemoryError:
        if debug:
            raise
        typer.echo("solid: error: out of memory; lower the sizes in params.yaml (train.dim, "
                   "train.max_len, batch sizes) or free memory", err=True)
        raise typer.Exit(1) from None
    except Exception as exc:  # the last resort: never a traceback
        if debug:
            raise
        text = (str(exc).strip().splitlines() or [""])[0][:300]
        typer.echo(f"solid: error: unexpected {type(exc).__name__}: {text} (nothing "
                   "incomplete was saved; SOLID_DEBUG=1 shows the traceback)", err=True)
        raise typer.Exit(1) from None


def _params(path: Path, sets: list[str] | None, seed: int | None = None,
            device: str | None = None):
    from solidcli.config import load_params

    overrides = list(sets or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    if device is not None:
        overrides.append(f"device={device}")
    return load_params(path, overrides)


def _pick(value: str | None, axis: list[str], name: str) -> str:
    from solidcli.grid import pick

    return pick(value, axis, name)


def _dataset(value: str | None, p):
    """(params, name) for `--dataset`: a name, a folder of atomic files, or the default."""
    return p.for_dataset(_pick(value, p.datasets, "datasets"))


def _pick_dsr(value: str | None, p, variant: str) -> str:
    from solidcli.grid import pick_dsr

    return pick_dsr(value, p, variant)


def _fail(message: str) -> None:
    with _guard():
        raise SolidError(message)


def _done(paths: list[Path]) -> None:
    for p in paths:
        typer.echo(str(p))


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(
        metavar="DIR", help="Where the project goes (made if absent).")] = Path("."),
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing params.yaml and dvc.yaml.")] = False,
) -> None:
    """Make a SOLID project in DIR: the default params.yaml and dvc.yaml (without the
    repository's code deps), a .gitignore, and git and DVC repositories where absent; then
    `dvc repro` there runs the paper's grid on the bundled Scientific dataset, offline."""
    with _guard():
        import shlex

        from solidcli import scaffold

        _done(scaffold.init(folder, force=force))
        here = folder.resolve() == Path.cwd().resolve()
        typer.echo("solid: project ready; next: "
                   f"{'' if here else f'cd {shlex.quote(str(folder))} && '}dvc repro", err=True)


@app.command("check-params", epilog="DVC stage: check-params (the first; every stage "
             "depends on it)")
def check_params(params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None) -> None:
    """Check params.yaml (with any -S overrides) whole and plan every run of the default
    pipeline, writing nothing else: DVC runs it before any stage removes its outputs."""
    with _guard():
        p = _params(params, set_)
        from solidcli import grid
        from solidcli.layout import PARAMS_CHECKED

        runs = 0
        for name in p.datasets:
            for section in (p.data_cfg, p.embed_cfg, p.semantics_cfg):
                section(name)  # each dataset has its sections (or `default`)
            runs += len(grid.dataset_runs(p, name))
        if set_:  # a check of overrides: the mark stands for params.yaml as it is
            typer.echo(f"params valid: {len(p.datasets)} datasets, {runs} runs x "
                       f"{len(p.seeds)} seeds")
            return
        from solidcli._io import write_json

        # the same bytes whatever the values, so no stage reruns because this one did
        write_json(PARAMS_CHECKED, {"checked": str(params), "by": "solid check-params"})
        _done([PARAMS_CHECKED])


@app.command()
def download(dataset: DatasetOpt = None, seed: DataSeedOpt = None,
             params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None) -> None:
    """Fetch a dataset (or read a folder of atomic files) and write data/prepared/<dataset>.

    Bundled (offline): scientific, scientific-full.
    MISSRec release: instruments, arts, office, and each with -full.
    Rebuilt from Amazon 2018: scientific-2018, instruments-2018, arts-2018, office-2018.
    Amazon 2014: cds, electronic.  DGRec Douban: douban-book, douban-music.
    Raw files are cached in data/raw/<dataset>/; SOLID_MIRROR=<url> reads from a mirror.
    A folder with no data.<name> section in the params file gets its data, embed and
    semantics sections derived from its files and written there.
    """
    with _guard():
        p, name = _dataset(dataset, _params(params, set_, seed))
        from solidcli.pipeline import download as stage

        _done(stage.run(p, name, params_file=params))


@app.command()
def synth(
    like: Annotated[str, typer.Option("--like", help="Imitate this registered dataset.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created).")],
    scale: Annotated[float, typer.Option("--scale", help="Users and items times this.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
) -> None:
    """Write a synthetic dataset with the statistics of a registered one, at any scale.

    Atomic files as the real ones (leave-one-out, histories cut to 50), item text and random
    512-d features for the modalities the named dataset has. Use it with
    `solid download --dataset <out>`. Features are random: semantic ids carry no signal.
    """
    with _guard():
        from solidcli.data import synth as stage

        s = stage.run(like, scale, seed, out, force=force)
        typer.echo(f"{out}: like {like} x{scale:g} (seed {seed}): {s['users']} users, "
                   f"{s['items']} items, {s['interactions']} interactions, mean length "
                   f"{s['mean_length']:.2f} (min {s['min_length']}, max {s['max_length']}), "
                   f"popularity Gini {s['popularity_gini']:.3f}, top 1% of items "
                   f"{100 * s['top1pct_share']:.1f}% of interactions, in {s['seconds']} s")


@app.command()
def embed(dataset: DatasetOpt = None, params: ParamsOpt = Path("params.yaml"),
          set_: SetOpt = None) -> None:
    """Write item text/image features to data/features/<dataset>: imported or encoded."""
    with _guard():
        p, name = _dataset(dataset, _params(params, set_))
        from solidcli.pipeline import embed as stage

        _done(stage.run(p, name))


@app.command("assign-semantics", epilog="DVC stages: assign-semantics@<dataset>, "
             "semantics-by-modality (--study-sets)")
def assign_semantics(dataset: DatasetOpt = None, modalities: ModalitiesOpt = None,
                     study_sets: Annotated[bool, typer.Option(
                         "--study-sets", help="Table 3: one semantics per set of "
                         "study.modalities, for study.dataset.")] = False,
                     study_k: Annotated[bool, typer.Option(
                         "--study-k", help="The K study: one semantics per K of study.ks "
                         "and the category method, for study.dataset.")] = False,
                     seed: DataSeedOpt = None, params: ParamsOpt = Path("params.yaml"),
                     set_: SetOpt = None) -> None:
    """Map every item to a semantic id: k-means (paper Eq. 7) or category (Eq. 8-10)."""
    with _guard():
        flag = "--study-sets" if study_sets else "--study-k" if study_k else None
        if flag and (modalities is not None or dataset is not None or study_sets and study_k):
            raise SolidError(f"{flag} takes study.dataset and its settings from params.yaml "
                             "(no --dataset / --modalities, and not both study flags)")
        p = _params(params, set_, seed)
        from solidcli.pipeline import semantics as stage

        if study_sets:
            _done(stage.run_study_sets(p))
            return
        if study_k:
            _done(stage.run_study_k(p))
            return
        p, name = _dataset(dataset, p)
        _done(stage.run(p, name, by_modality=modalities))


AllOpt = Annotated[bool, typer.Option(
    "--all", help="Train every run of this variant params.yaml defines for the dataset (the "
    "DVC stage), spread over the workers.")]
SweepOpt = Annotated[str | None, typer.Option(
    "--sweep", help="Train every cell of a study sweep (the DVC stage): T or modality "
    "(train-sml); lambda-T or modality (train-scl).", show_default=False)]
TrainSeedOpt = Annotated[int | None, typer.Option(
    "--seed", help="Train this one training seed (instead of every seed of `seeds`).",
    show_default=False)]
SeedsOpt = Annotated[str | None, typer.Option(
    "--seeds", help="Train these training seeds, e.g. 0,1,2 (instead of `seeds`).",
    show_default=False)]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Worker processes (default: as many as cores and runs allow; env "
    "SOLID_WORKERS).", show_default=False)]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", help="Torch threads per worker (default 1; env SOLID_THREADS); workers x "
    "threads may not exceed the cores.", show_default=False)]


def _executor(ctx: typer.Context, value: str | None) -> str | None:
    """--executor: the engine for this command's units (`solidcli.executors`), until it ends."""
    if value is not None:
        from solidcli import executors

        if value not in executors.EXECUTORS:
            raise typer.BadParameter(f"'{value}' (choose from {', '.join(executors.EXECUTORS)})")
        executors.choose(value)
        ctx.call_on_close(lambda: executors.choose(None))
    return value


ExecutorOpt = Annotated[str | None, typer.Option(
    "--executor", help="Where the units run: local (worker processes, the default), ray or "
    "slurm (env SOLID_EXECUTOR; settings: cluster.yaml, docs/cluster.md). Not a param: "
    "switching retrains nothing.", callback=_executor, show_default=False)]


def _seed_sets(seed: int | None, seeds: str | None) -> list[str]:
    """--seed / --seeds as an override of `seeds`."""
    if seed is not None and seeds is not None:
        raise SolidError("--seed and --seeds exclude each other")
    if seed is not None:
        return [f"seeds=[{seed}]"]
    if seeds is None:
        return []
    parts = [x.strip() for x in seeds.split(",")]
    if not parts or not all(x.isdigit() for x in parts):
        raise SolidError(f"--seeds '{seeds}' must look like 0,1,2 (whole numbers >= 0)")
    return [f"seeds=[{', '.join(parts)}]"]


def _check_workers(workers: int | None, threads: int | None) -> None:
    """--workers / --threads are whole numbers >= 1 (checked before any work)."""
    for flag, value in (("--workers", workers), ("--threads", threads)):
        if value is not None and value < 1:
            raise SolidError(f"{flag} must be a whole number >= 1, got {value}")


def _train(variant: str, dataset, backbone, dsr, seed, seeds, device, params, sets, tag=None,
           metacode_tag=None, modalities=None, all_=False, sweep=None, workers=None,
           threads=None, study=None) -> None:
    with _guard():
        _check_workers(workers, threads)
        p = _params(params, [*(sets or []), *_seed_sets(seed, seeds)], None, device)
        from solidcli import grid
        from solidcli.layout import RunId
        from solidcli.pipeline import train as stage

        if study is not None:
            if sweep is not None:
                raise SolidError("--study and --sweep exclude each other")
            if study not in grid.STUDIES or variant not in grid.STUDIES[study]:
                known = [s for s, by in grid.STUDIES.items() if variant in by]
                raise SolidError(f"unknown --study '{study}' for train-{variant} (choose "
                                 f"from {', '.join(known) or 'none'})")
            sweep = study
        if all_ or sweep is not None:
            given = [flag for flag, value in (("--backbone", backbone), ("--dsr", dsr),
                                              ("--tag", tag), ("--modalities", modalities),
                                              ("--metacode-tag", metacode_tag)) if value]
            if given:
                raise SolidError(f"{' '.join(given)}: a whole family (--all / --sweep) takes "
                                 "its runs from params.yaml")
            if study is not None:
                family = grid.STUDIES[study][variant]
            elif sweep is not None:
                choices = grid.SWEEPS.get(variant, {})
                if sweep not in choices:
                    raise SolidError(f"unknown --sweep '{sweep}' for train-{variant} (choose "
                                     f"from {', '.join(choices) or 'none'})")
                family = choices[sweep]
            else:
                family = variant
            if family != variant or variant == "scl_only":  # the study model's families
                if dataset is not None and dataset != p.study.dataset:
                    raise SolidError(f"the study sweeps and the ablation run on "
                                     f"study.dataset ({p.study.dataset}), not '{dataset}'")
                dataset = p.study.dataset
            p, name = _dataset(dataset, p)
            _done(stage.run_family(p, family, name, workers, threads))
            return
        p, name = _dataset(dataset, p)
        run = RunId(name, _pick(backbone, p.backbones, "backbones"),
                    _pick_dsr(dsr, p, variant), variant, tag)
        tagged = grid.find_tagged(p, run)
        found = grid.find(p, tagged)  # a K-study run: its semantics setting
        planned = grid.single(tagged, modalities, metacode_tag,
                              found.by_k if found is not None else None)
        _done(stage.run(p, planned, workers, threads))


StudyOpt = Annotated[str | None, typer.Option(
    "--study", help="Train every run of a study outside the default pipeline "
    "(studies/dvc.yaml): mechanics (SOLID as written and with each fix), k (SML over K and the "
    "semantics method).", show_default=False)]


@app.command("train-base", epilog="DVC stage: train-base@<dataset> (--all)")
def train_base(dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
               seed: TrainSeedOpt = None, seeds: SeedsOpt = None, device: DeviceOpt = None,
               params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
               tag: TagOpt = None, all_: AllOpt = False, workers: WorkersOpt = None,
               threads: ThreadsOpt = None, executor: ExecutorOpt = None) -> None:
    """Train a baseline: the SR model alone (--dsr none) or with a dynamic model (DSR)."""
    _train("base", dataset, backbone, dsr, seed, seeds, device, params, set_, tag,
           all_=all_, workers=workers, threads=threads)


@app.command("train-spg", epilog="DVC stage: train-spg@<dataset> (--all)")
def train_spg(dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
              seed: TrainSeedOpt = None, seeds: SeedsOpt = None, device: DeviceOpt = None,
              params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
              tag: TagOpt = None, modalities: ModalitiesOpt = None, all_: AllOpt = False,
              workers: WorkersOpt = None, threads: ThreadsOpt = None,
              executor: ExecutorOpt = None) -> None:
    """Train SPG: dynamic parameters from the semantic sequence (paper Eq. 11)."""
    _train("spg", dataset, backbone, dsr, seed, seeds, device, params, set_, tag,
           modalities=modalities, all_=all_, workers=workers, threads=threads)


@app.command("train-sml", epilog="DVC stages: train-sml@<dataset> (--all), sweep-sml "
             "(--sweep T), sweep-modality-sml (--sweep modality)")
def train_sml(dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
              seed: TrainSeedOpt = None, seeds: SeedsOpt = None, device: DeviceOpt = None,
              params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
              tag: TagOpt = None, modalities: ModalitiesOpt = None, all_: AllOpt = False,
              sweep: SweepOpt = None, study: StudyOpt = None, workers: WorkersOpt = None,
              threads: ThreadsOpt = None, executor: ExecutorOpt = None) -> None:
    """Train SML: semantic trunk + item branch clipped to +-T (paper Eq. 12)."""
    _train("sml", dataset, backbone, dsr, seed, seeds, device, params, set_, tag,
           modalities=modalities, all_=all_, sweep=sweep, workers=workers, threads=threads,
           study=study)


@app.command("train-scl", epilog="DVC stages: train-scl@<dataset> (--all), train-ablation "
             "(--without-semantics --all), sweep-scl (--sweep lambda-T), sweep-modality-scl "
             "(--sweep modality)")
def train_scl(
    dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
    seed: TrainSeedOpt = None, seeds: SeedsOpt = None, device: DeviceOpt = None,
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None, tag: TagOpt = None, modalities: ModalitiesOpt = None,
    metacode_tag: Annotated[str | None, typer.Option(
        "--metacode-tag", help="Take the metacode from this tagged SML/SPG run.",
        show_default=False)] = None,
    without_semantics: Annotated[bool, typer.Option(
        "--without-semantics", help="Ablation (Table 2): no semantic trunk, codebook "
        "initialised at random (variant scl_only).")] = False,
    all_: AllOpt = False, sweep: SweepOpt = None, study: StudyOpt = None,
    workers: WorkersOpt = None, threads: ThreadsOpt = None, executor: ExecutorOpt = None,
) -> None:
    """Train full SOLID: SML with the semantic codebook, BCE + lambda * MSE (paper Eq. 13)."""
    if without_semantics and modalities is not None:
        _fail("--modalities and --without-semantics exclude each other")
    _train("scl_only" if without_semantics else "scl", dataset, backbone, dsr, seed, seeds,
           device, params, set_, tag, metacode_tag, modalities, all_=all_, sweep=sweep,
           workers=workers, threads=threads, study=study)


@app.command()
def evaluate(dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
             variant: VariantOpt = "base", tag: TagOpt = None,
             all_: Annotated[bool, typer.Option(
                 "--all", help="Evaluate every model trained for the dataset (the DVC stage).")]
             = False,
             study: Annotated[str | None, typer.Option(
                 "--study", help="Evaluate every run of a study (its own reports folder, "
                 "reports/studies/<study>/).", show_default=False)] = None,
             seed: Annotated[int | None, typer.Option(
                 "--seed", help="Evaluate this training seed alone (instead of every seed "
                 "of `seeds`).", show_default=False)] = None,
             device: DeviceOpt = None, params: ParamsOpt = Path("params.yaml"),
             set_: SetOpt = None, workers: WorkersOpt = None,
             threads: ThreadsOpt = None, executor: ExecutorOpt = None) -> None:
    """Score trained models on valid and test: AUC, UAUC, NDCG@10/20, Recall@10/20."""
    with _guard():
        _check_workers(workers, threads)
        from solidcli.config import VARIANTS

        if variant not in VARIANTS:
            raise SolidError(f"unknown variant '{variant}' (choose from {', '.join(VARIANTS)})")
        sets = [*(set_ or []), *_seed_sets(seed, None)]
        p, name = _dataset(dataset, _params(params, sets, None, device))
        from solidcli.pipeline import evaluate as stage

        if study is not None:
            from solidcli import grid

            if study not in grid.STUDIES:
                raise SolidError(f"unknown --study '{study}' (choose from "
                                 f"{', '.join(grid.STUDIES)})")
            _done(stage.run_all(p, p.study.dataset if dataset is None else name, study,
                                workers, threads))
            return
        if all_:
            _done(stage.run_all(p, name, workers=workers, threads=threads))
            return
        _done(stage.run(p, name, _pick(backbone, p.backbones, "backbones"),
                        _pick_dsr(dsr, p, variant), variant, tag=tag, threads=threads))


ModelSeedOpt = Annotated[int | None, typer.Option(
    "--seed", help="One training seed's model (default: the ensemble of every seed of "
    "`seeds`: the mean of their scores).", show_default=False)]


@app.command()
def recommend(
    dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
    variant: VariantOpt = "scl", tag: TagOpt = None,
    user: Annotated[list[str] | None, typer.Option(
        "--user", "-u", help="A user of the dataset, by user token (repeatable): from the "
        "history of --split.", show_default=False)] = None,
    history: Annotated[str | None, typer.Option(
        "--history", help="A history of item tokens, oldest first, separated by spaces (a "
        "user the model has never seen); an unknown token is refused.",
        show_default=False)] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Every user of the dataset, batched, to the Parquet file --out (user, "
        "rank, item, score).")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="The Parquet file of --all.", show_default=False)] = None,
    k: Annotated[int, typer.Option("-k", "--top", help="How many items.")] = 10,
    keep_seen: Annotated[bool, typer.Option(
        "--keep-seen", help="Keep the history's own items (left out by default).")] = False,
    split: Annotated[str, typer.Option(
        "--split", help="A known user's history: full (every interaction the dataset has), "
        "test or valid (that split's input history).")] = "full",
    seed: ModelSeedOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | csv.")] = "table",
    engine: Annotated[str, typer.Option(
        "--engine", help="torch: the trained models | onnx: the run's `solid export` file in "
        "onnxruntime (no torch to load; refused if the run changed since it was exported).")]
    = "torch",
    export: Annotated[Path | None, typer.Option(
        "--export", help="--engine onnx: the .onnx file (default: where `solid export` "
        "writes the run).", show_default=False)] = None,
    params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
) -> None:
    """Top-k items of a trained run, as item tokens with scores: for users of the dataset,
    for a new history, or for every user (to Parquet). The seeds' ensemble by default."""
    with _guard():
        from solidcli.pipeline import recommend as stage

        stage.check(fmt, k, user, history, all_, out)
        from solidcli import api

        model = api.load(dataset, backbone, dsr, variant, tag, seed, params=params,
                         overrides=set_ or [], engine=engine, export=export)
        which = f"seed {seed}" if seed is not None else f"mean of seeds {model.seeds}"
        if all_:
            n = stage.write_all(model, out, k, keep_seen, split)
            typer.echo(f"wrote {out}: top {k} of {n} users ({model.run}, {which})", err=True)
            return
        if history is not None:
            queries = [("history", model.item_ids(history.split()))]
        else:
            queries = [(u, model.user_history(u, split)) for u in user]
        rows = stage.rows_for(model, queries, k, keep_seen)
        sys.stdout.write(stage.render(rows, fmt, f"{model.run} ({which})"))


@app.command()
def export(
    dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
    variant: VariantOpt = "scl", tag: TagOpt = None,
    seed: ModelSeedOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="The .onnx file to write; <name>.items.json (the vocabulary) and "
        "<name>.json (what the inputs and output are, the run, its model.pt SHA-256s) go "
        "beside it (default: exports/<dataset>/<backbone>-<dsr>-<run>[-seed<s>].onnx).",
        show_default=False)] = None,
    params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
) -> None:
    """Write a trained run as an ONNX file (histories and lengths in, every item's score out,
    the generated per-user weights inside the graph) and its item vocabulary, to serve it
    without solid; checked against torch with onnxruntime before anything is written."""
    with _guard():
        from solidcli.config import VARIANTS

        if variant not in VARIANTS:
            raise SolidError(f"unknown variant '{variant}' (choose from {', '.join(VARIANTS)})")
        p, name = _dataset(dataset, _params(params, set_))
        from solidcli.pipeline import export as stage

        _done(stage.run(p, name, _pick(backbone, p.backbones, "backbones"),
                        _pick_dsr(dsr, p, variant), variant, tag=tag, seed=seed, out=out))


@app.command()
def inspect(dataset: DatasetOpt = None, backbone: BackboneOpt = None, dsr: DsrOpt = None,
            variant: VariantOpt = "scl", tag: TagOpt = None,
            params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None) -> None:
    """Diagnostics of a SOLID run, every seed: is the branch inside +-T, does it differ
    across users, how many codes do the items use (docs: SOLID's mechanics)."""
    with _guard():
        p, name = _dataset(dataset, _params(params, set_))
        from solidcli.pipeline import inspection

        inspection.run(p, name, _pick(backbone, p.backbones, "backbones"),
                       _pick_dsr(dsr, p, variant), variant, tag=tag)


MetricsOpt = Annotated[Path, typer.Option("--metrics", help="Folder of metrics files "
                                          "(reports/metrics/<dataset>/<run key>/seed<s>/).")]
# `table` spells it --metrics-dir: its --metrics chooses sampled or full-ranking metrics
MetricsDirOpt = Annotated[Path, typer.Option("--metrics-dir", help="Folder of metrics files "
                                             "(reports/metrics/<dataset>/<run key>/seed<s>/).")]
OneSeedOpt = Annotated[int | None, typer.Option(
    "--seed", help="Show this training seed's values instead of the mean +- sd over `seeds`.",
    show_default=False)]


CorrectionOpt = Annotated[str, typer.Option(
    "--correction", help="Multiple-comparison correction of the p-values: none | holm.")]


def _warn_missing(what: str, missing) -> None:
    """One stderr line per run the params define that has no metrics (shown as missing)."""
    for planned in missing:
        typer.echo(f"solid: warning: {what}: no metrics for {planned.run}; train it with "
                   f"`{planned.command}`, then `solid evaluate --dataset {planned.run.dataset} "
                   "--all`", err=True)


@app.command(epilog="DVC stage: table (every table and figure of the default pipeline)")
def table(
    number: Annotated[str, typer.Option(
        "--table", "-t", help="Paper table 1 to 5; summary (Table 1's headline metrics as "
        "JSON: the pipeline's DVC metrics file); mechanics (SOLID as written and with each "
        "fix, beside its DSR; studies/dvc.yaml); breakdown (DSR vs SOLID by the target's "
        "popularity and the history's length); k (the K study: valid and test UAUC against K, "
        "and the setting valid chooses).")] = "1",
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="markdown | latex | csv (printed to stdout).")]
    = "markdown",
    compare: Annotated[str, typer.Option(
        "--compare", help="paper: show the paper's value and ours - paper; protocols (Table 1): "
        "ours under the paper's protocol / under the authors' code's protocol "
        "(protocols/authors) / the paper's number; losses (Table 1): trained with the paper's "
        "BCE / with softmax cross-entropy (over every item: protocols/ce; DIN over 100 sampled "
        "negatives: protocols/ce-din); none: ours only.")]
    = "none",
    metrics: MetricsDirOpt = METRICS_ROOT,
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", help="Also write table<N>.{md,tex,csv} (or summary.json) into this "
        "folder.", show_default=False)] = None,
    seed: OneSeedOpt = None,
    stats: Annotated[bool, typer.Option(
        "--stats", help="Add each marked cell's difference from its baseline (mean over seeds, "
        "95% CI) and its p-values over seeds / over users.")] = False,
    correction: CorrectionOpt = "none",
    kind: Annotated[str, typer.Option(
        "--metrics", help="sampled (1 positive + 99 negatives, the paper's protocol) | full "
        "(the target ranked among every item but the user's history; written as "
        "table<N>-full.*).")] = "sampled",
    params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
) -> None:
    """Print a paper table from the metrics of the runs params.yaml defines: each cell the
    mean +- sd over the training seeds (`seeds`), or one seed's value with --seed; the best
    mean of a block in bold, and a SOLID cell significantly above / below its DSR alone
    marked with a dagger / double dagger (params.yaml `stats`)."""
    with _guard():
        from solidcli.report import tables as stage

        if compare not in ("none", "paper", "protocols", "losses"):
            raise SolidError(f"unknown --compare '{compare}' (choose from paper, protocols, "
                             "losses, none)")
        text, written, missing = stage.run(number, fmt, _params(params, set_), metrics,
                                           out_dir, compare=None if compare == "none"
                                           else compare, seed=seed, stats=stats,
                                           correction=correction, kind=kind)
        sys.stdout.write(text)
        _warn_missing(f"table {number}", missing)
        for path in written:
            typer.echo(f"wrote {path}", err=True)


@app.command(epilog="DVC stage: claims")
def claims(
    metrics: MetricsOpt = METRICS_ROOT,
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", help="Also write claims.md and claims.csv into this folder.",
        show_default=False)] = None,
    correction: Annotated[str | None, typer.Option(
        "--correction", help="none | holm (default: params.yaml stats.correction).",
        show_default=False)] = None,
    readme: Annotated[Path | None, typer.Option(
        "--readme", help="Also rewrite this file's verdict block (the lines between "
        "'<!-- verdicts:start -->' and '<!-- verdicts:end -->'), where it has one, from the "
        "claims.csv written; needs --out-dir.", show_default=False)] = None,
    params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
) -> None:
    """Test every claim of the paper's experiments (Tables 1-5, Figure 5) on the evaluated
    runs, with paired tests over seeds and over users: supported, contradicted or
    inconclusive."""
    with _guard():
        if readme is not None and out_dir is None:
            raise SolidError("--readme needs --out-dir (the block is rendered from the "
                             "claims.csv written there)")
        from solidcli.report import claims_report as stage

        text, written, (sampled, _) = stage.run(_params(params, set_), metrics, out_dir,
                                                correction)
        sys.stdout.write(text)
        for claim_id, reason in dict.fromkeys((row.claim.id, row.missing[0])
                                              for row in sampled.rows if row.missing):
            typer.echo(f"solid: warning: claim {claim_id} not run: {reason}", err=True)
        for path in written:
            typer.echo(f"wrote {path}", err=True)
        if readme is not None:
            from solidcli.layout import claims_file
            from solidcli.report import readme as verdicts

            done = verdicts.update(readme, claims_file("csv", out_dir), stage.FAMILY_WORDS)
            typer.echo(f"{readme}'s verdict block: {done}" if done != "no block" else
                       f"solid: warning: {readme} has no verdict block ('{verdicts.START}' "
                       f"... '{verdicts.END}'); nothing written there", err=True)


@app.command(epilog="DVC stage: table")
def figure(
    number: Annotated[str, typer.Option(
        "--figure", help="5 (the lambda x T grid), 3 (CDs, Electronic), 4 (Douban Book, "
        "Music), or curves (per-epoch valid UAUC).")] = "5",
    out: Annotated[Path | None, typer.Option(
        "--out", help="PNG to write (a PDF is written beside it; default "
        "reports/figure<N>.png).", show_default=False)] = None,
    metrics: MetricsOpt = METRICS_ROOT,
    runs: Annotated[list[str] | None, typer.Option(
        "--run", help="curves: a run key such as sasrec-duet-scl (repeatable; default: the "
        "study model's Table 2 runs).", show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", help="curves: the dataset of --run (default: study.dataset).",
        show_default=False)] = None,
    seed: OneSeedOpt = None,
    params: ParamsOpt = Path("params.yaml"), set_: SetOpt = None,
) -> None:
    """Draw a paper figure (3, 4, 5) or training curves, as PNG and PDF, with matplotlib:
    means over the training seeds (or one seed's values with --seed)."""
    with _guard():
        from solidcli.layout import figure_file

        figures = ("3", "4", "5", "curves")
        if number not in figures:
            raise SolidError(f"unknown figure '{number}' (choose from {', '.join(figures)})")
        if (runs or dataset) and number != "curves":
            raise SolidError("--run and --dataset apply to --figure curves only")
        p = _params(params, set_)
        out = out or figure_file(number)
        from solidcli.report import figures as stage

        if number == "curves":
            written, absent = stage.figure_curves(p, dataset, runs, out, seed=seed)
            for run in absent:
                typer.echo(f"solid: warning: no training curves for {run}", err=True)
        else:
            if number == "5":
                written, missing = stage.figure5(p, metrics, out, seed=seed)
            else:
                written, missing = stage.figure_uauc(number, p, metrics, out, seed=seed)
            _warn_missing(f"figure {number}", missing)
        _done(written)


def _terminate(signum, frame) -> None:
    raise Terminated()


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminate)  # unwinds like Ctrl-C: staging removed, exit 143
    try:
        app()
    except KeyboardInterrupt:  # before a command's guard (while imports load): one line too
        sys.stderr.write("solid: interrupted (SIGINT)\n")
        raise SystemExit(130) from None
    except Terminated:
        sys.stderr.write("solid: terminated (SIGTERM)\n")
        raise SystemExit(143) from None
