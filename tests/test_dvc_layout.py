"""dvc.yaml against the code: every stage's deps cover its command's import closure, its
outputs are the paths of solidcli/layout.py, and its training runs are the grid's."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from conftest import REPO
from import_closure import command_closure

from solidcli import layout
from solidcli.config import load_params
from solidcli.grid import dataset_runs
from solidcli.layout import RunId

DATA_DEPS = ("solidcli/bundled", "solidcli/paper")  # package data, not code
VARIANT = {"train-base": "base", "train-spg": "spg", "train-sml": "sml", "train-scl": "scl"}


@pytest.fixture(scope="module")
def stages():
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        return [(s.addressing, [s.cmd] if isinstance(s.cmd, str) else list(s.cmd),
                 [d.def_path for d in s.deps], [o.def_path for o in s.outs])
                for s in repo.index.stages]


def _solid_commands(cmds: list[str]) -> list[list[str]]:
    out = []
    for cmd in cmds:
        args = shlex.split(cmd)
        assert args[0] == "solid", cmd
        out.append(args[1:])
    return out


def _covered(path: Path, deps: list[str]) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in deps)


def test_every_stage_depends_on_its_import_closure(stages):
    for name, cmds, deps, _ in stages:
        code = [d for d in deps if d.startswith("solidcli") and not d.startswith(DATA_DEPS)]
        needed: set[Path] = set()
        for args in _solid_commands(cmds):
            needed |= command_closure(args[0])
        missing = sorted(str(p) for p in needed if not _covered(p, code))
        assert not missing, f"dvc.yaml stage {name} misses code deps: {missing}"
        stray = [d for d in code if not any(_covered(p, [d]) for p in needed)]
        assert not stray, f"dvc.yaml stage {name} depends on code it never imports: {stray}"


def test_closure_sees_lazy_imports_and_the_backbone_registry():
    train = command_closure("train-base")
    for f in ("solidcli/data/batching.py", "solidcli/data/sampling.py", "solidcli/config.py",
              "solidcli/data/prepared.py", "solidcli/runs.py", "solidcli/models/sasrec.py"):
        assert Path(f) in train
    assert Path("solidcli/pipeline/table.py") not in train
    assert Path("solidcli/engine.py") not in command_closure("table")


def _run_of(args: list[str]) -> RunId:
    opts, i = {}, 1
    while i < len(args):
        if args[i] == "--without-semantics":
            opts["without"] = True
            i += 1
        else:
            opts[args[i]] = args[i + 1]
            i += 2
    variant = "scl_only" if opts.get("without") else VARIANT[args[0]]
    return RunId(opts["--dataset"], opts["--backbone"], opts["--dsr"], variant,
                 opts.get("--tag"))


def test_outputs_are_the_layout_paths_and_training_runs_the_grid(stages):
    params = load_params(REPO / "params.yaml")
    trained: set[RunId] = set()
    for name, cmds, _, outs in stages:
        args = _solid_commands(cmds)[0]
        kind = name.split("@")[0]
        if args[0] in VARIANT:
            run = _run_of(args)
            trained.add(run)
            assert outs == [layout.model_dir(run).as_posix()], name
        elif kind == "download":
            assert outs == [layout.prepared_dir(args[2]).as_posix()]
        elif kind == "embed":
            assert outs == [layout.features_dir(args[2]).as_posix()]
        elif kind in ("assign-semantics", "semantics-by-modality"):
            by = args[4] if len(args) > 4 else None
            assert outs == [layout.semantics_dir(args[2], by).as_posix()], name
        elif kind == "evaluate":
            assert outs == [layout.metrics_dir(args[2]).as_posix(),
                            layout.curves_dir(args[2]).as_posix()]
        else:
            assert kind == "table", name
            want = [layout.table_file(n, f).as_posix() for n in range(1, 6)
                    for f in ("markdown", "latex", "csv")]
            want += [layout.figure_file(5, s).as_posix() for s in ("png", "pdf")]
            assert outs == [*want, layout.SUMMARY.as_posix()]
    planned = {p.run for d in params.datasets for p in dataset_runs(params, d)}
    assert trained == planned  # evaluate --all scores exactly what dvc.yaml trains
