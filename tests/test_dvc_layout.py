"""dvc.yaml against the code: every stage's deps cover its command's import closure, its
outputs are the paths of solidcli/layout.py, and its training runs (one family per stage) are
the grid's."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from conftest import REPO
from import_closure import command_closure

from solidcli import layout
from solidcli.config import load_params
from solidcli.grid import STUDIES, SWEEPS, dataset_runs, family_runs, k_settings, study_runs
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
    assert Path("solidcli/report/tables.py") not in train
    assert Path("solidcli/engine.py") not in command_closure("table")


def _family_of(args: list[str], params) -> tuple[str, str]:
    """(dataset, family) a training stage's command trains."""
    opts, i = {}, 1
    while i < len(args):
        if args[i] in ("--without-semantics", "--all"):
            opts[args[i]] = True
            i += 1
        else:
            opts[args[i]] = args[i + 1]
            i += 2
    variant = VARIANT[args[0]]
    if "--without-semantics" in opts:
        return params.study.dataset, "scl_only"
    if "--sweep" in opts:
        return params.study.dataset, SWEEPS[variant][opts["--sweep"]]
    if "--study" in opts:
        return params.study.dataset, STUDIES[opts["--study"]][variant]
    assert "--all" in opts, args
    return opts["--dataset"], variant


def test_outputs_are_the_layout_paths_and_training_runs_the_grid(stages):
    params = load_params(REPO / "params.yaml")
    trained: set[RunId] = set()
    for name, cmds, _, outs in stages:
        args = _solid_commands(cmds)[0]
        kind = name.split("@")[0].split(":")[-1]  # studies/dvc.yaml:<stage>
        if args[0] in VARIANT:
            dataset, family = _family_of(args, params)
            runs = family_runs(params, family, dataset)
            assert runs, name
            assert not trained & {p.run for p in runs}, name  # each run in one stage
            trained |= {p.run for p in runs}
            assert outs == [layout.family_dir(dataset, family).as_posix()], name
            assert all(layout.config_dir(p.run).parent == layout.family_dir(dataset, family)
                       for p in runs)
        elif kind == "check-params":
            assert args == ["check-params"] and outs == [layout.PARAMS_CHECKED.as_posix()]
        elif kind == "download":
            assert outs == [layout.prepared_dir(args[2]).as_posix()]
        elif kind == "embed":
            assert outs == [layout.features_dir(args[2]).as_posix()]
        elif kind == "assign-semantics":
            assert outs == [layout.semantics_dir(args[2]).as_posix()], name
        elif kind == "semantics-by-modality":
            assert args == ["assign-semantics", "--study-sets"], name
            sets = [layout.semantics_dir(params.study.dataset, m).parent
                    for m in params.study.modalities]
            assert outs == [sets[0].as_posix()] and len(set(sets)) == 1, name
        elif kind == "evaluate":
            assert outs == [layout.metrics_dir(args[2]).as_posix(),
                            layout.curves_dir(args[2]).as_posix()]
        elif kind in ("mechanics-evaluate", "k-evaluate"):
            study = kind.split("-")[0]
            assert args == ["evaluate", "--study", study], name
            roots = layout.study_roots(study)
            assert outs == [layout.metrics_dir(params.study.dataset, roots[0]).as_posix(),
                            layout.curves_dir(params.study.dataset, roots[1]).as_posix()]
        elif kind == "k-semantics":
            assert args == ["assign-semantics", "--study-k"], name
            settings = [layout.semantics_dir(params.study.dataset, by_k=s)
                        for s, _ in k_settings(params)]
            assert outs == [settings[0].parent.as_posix()] and len(set(settings)) > 1, name
        elif kind == "k-table":
            assert args == ["table", "--table", "k", "--out-dir", "reports/studies/k"], name
            assert outs == ["reports/studies/k/semantics-selected.json",
                            *(f"reports/studies/k/table-k.{s}" for s in ("md", "csv"))], name
        elif kind == "mechanics-table":
            assert args == ["table", "--table", "mechanics", "--out-dir",
                            "reports/studies/mechanics"], name
            assert outs == [f"reports/studies/mechanics/table-mechanics.{s}"
                            for s in ("md", "csv")], name
        elif kind == "claims":
            assert args == ["claims", "--out-dir", "reports", "--readme", "README.md"], name
            assert outs == [layout.claims_file(s).as_posix() for s in ("md", "csv")]
        else:
            assert kind == "table", name
            want = [layout.table_file(n, f).as_posix() for n in (*range(1, 6), "1-full")
                    for f in ("markdown", "latex", "csv")]
            want += [layout.table_file("-breakdown", f).as_posix() for f in ("markdown", "csv")]
            want += [layout.figure_file(5, s).as_posix() for s in ("png", "pdf")]
            assert outs == [*want, layout.SUMMARY.as_posix()]
    planned = {p.run for d in params.datasets for p in dataset_runs(params, d)}
    planned |= {p.run for s in STUDIES for p in study_runs(params, s, params.study.dataset)}
    assert trained == planned  # evaluate --all (--study) scores exactly what is trained



def test_table3s_own_set_is_table1s_run_trained_once(stages):
    """Table 3's cell of the dataset's own modality set is the study model's Table 1 SML / SCL
    run (the modality stages trained the same bytes again): planned as that run, in neither
    modality family, its tag still found; not so when the study model is not a Table 1 SOLID
    cell or the metacode is not SML's; the stages list what decides it."""
    from solidcli.config import load_overrides, modality_key
    from solidcli.grid import find_tagged, modality_sets

    params = load_params(REPO / "params.yaml")
    d, s = params.study.dataset, params.study
    own = modality_key(params.semantics_cfg(d).modalities)
    own_tag = next(f"mod-{m}" for m in s.modalities if modality_key(m.split("+")) == own)
    for variant in ("sml", "scl"):
        table1_run = RunId(d, s.backbone, s.dsr, variant)
        cells = modality_sets(params, variant)
        twins = [p for p in cells if p.alias is not None]
        assert [(p.run, p.alias, p.modalities) for p in twins] == [(table1_run, own_tag, own)]
        trained = family_runs(params, f"{variant}-modality", d)
        assert len(trained) == len(s.modalities) - 1 and table1_run not in {
            p.run for p in trained}
        assert find_tagged(params, RunId(d, s.backbone, s.dsr, variant, own_tag)) == table1_run
        assert find_tagged(params, RunId(d, s.backbone, s.dsr, variant, "mod-id")).tag == "mod-id"
    # a run whose tag is None is never a tagged run that merely has no alias
    apart = load_overrides(params, ["solid_dsrs=[apg]"])
    assert find_tagged(apart, RunId(d, s.backbone, s.dsr, "sml")) == RunId(d, s.backbone,
                                                                            s.dsr, "sml")
    for change in ("solid_dsrs=[apg]", "solid.metacode=spg", f"semantics.{d}.modalities=[id]"):
        other = load_overrides(params, [change])
        twins = [p.alias for v in ("sml", "scl") for p in modality_sets(other, v) if p.alias]
        assert twins == (["mod-id", "mod-id"] if "modalities" in change else []), change
    import yaml

    raw = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for stage in ("sweep-modality-sml", "sweep-modality-scl"):
        assert {f"semantics.{'${study.dataset}'}", "solid.metacode", "datasets", "backbones",
                "solid_dsrs"} <= set(raw[stage]["params"]), stage


def test_bad_params_stop_dvc_before_it_removes_any_output(stages):
    """DVC removes a stage's outputs before its command runs: every stage depends on the
    check-params stage's mark (bad params stop `dvc repro` there), and the stages whose
    run-cache DVC does not use anyway keep their outputs in place (`persist`), so even
    `dvc repro -s <stage>` with bad params leaves them as they were."""
    from dvc.repo import Repo

    for name, _, deps, _ in stages:
        if not name.startswith("check-params"):
            assert layout.PARAMS_CHECKED.as_posix() in deps, name
    with Repo(str(REPO)) as repo:
        for stage in repo.index.stages:
            verb = (stage.cmd if isinstance(stage.cmd, str) else stage.cmd[0]).split()[1]
            if verb in ("download", "embed", "assign-semantics", "evaluate", "table",
                        "claims", "check-params"):
                assert all(out.persist for out in stage.outs), stage.addressing


def test_the_packaged_project_copy_is_not_a_pipeline_of_this_repository():
    """solidcli/project/ (what `solid init` writes) is a copy of dvc.yaml: DVC ignores it here,
    or `dvc repro` would run every stage twice, the second time inside the package."""
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        assert {s.path_in_repo for s in repo.index.stages} == {"dvc.yaml", "studies/dvc.yaml"}


def _tool():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("dvc_yaml", REPO / "tools/dvc_yaml.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules["dvc_yaml"] = tool  # its dataclass looks its module up
    spec.loader.exec_module(tool)
    return tool


def test_the_dvc_files_are_written_by_the_tool(tmp_path, monkeypatch, capsys):
    """`tools/dvc_yaml.py` writes dvc.yaml (and its copy) and studies/dvc.yaml whole: the
    committed files are its output; `--check` names a file that differs and exits 1."""
    tool = _tool()
    assert tool.main(["--check"]) == 0, capsys.readouterr().err
    for name in ("dvc.yaml", "studies/dvc.yaml", "solidcli/project/dvc.yaml", "params.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((REPO / name).read_text())
    (tmp_path / "studies/dvc.yaml").write_text(
        (REPO / "studies/dvc.yaml").read_text().replace("      - solidcli/engine.py\n", "", 1))
    monkeypatch.setattr(tool, "REPO", tmp_path)
    assert tool.main(["--check"]) == 1
    assert "studies/dvc.yaml differ" in capsys.readouterr().err
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0
    assert (tmp_path / "studies/dvc.yaml").read_text() == (REPO / "studies/dvc.yaml").read_text()


def test_shared_lists_are_anchored_and_plots_cover_every_configuration():
    """A repeated deps/params list is written once (YAML anchor, alias), the anchor off the
    `deps:` line so `solid init` still strips the code deps; the top-level plots are one chart
    per configuration of the grid, its seeds' curves overlaid, titled by display name."""
    import yaml

    from solidcli.grid import dataset_runs

    text = (REPO / "dvc.yaml").read_text()
    assert "deps: *train-spg-deps" in text and "\n      &train-spg-deps\n" in text
    assert not [ln for ln in text.splitlines() if ln.strip().startswith("deps: &")]
    params = load_params(REPO / "params.yaml")
    plots = {k: v for d in yaml.safe_load(text)["plots"] for k, v in d.items()}
    want = [f"{d}/{p.run.key}" for d in params.datasets for p in dataset_runs(params, d)]
    assert list(plots) == want
    sasrec = plots[f"{params.datasets[0]}/sasrec-duet-scl"]
    assert sasrec["title"] == "SASRec + DUET, Ours (valid UAUC)" and sasrec["x"] == "epoch"
    assert list(sasrec["y"]) == [
        layout.curves_path(params.datasets[0], "sasrec-duet-scl", s).as_posix()
        for s in params.seeds]
    assert set(sasrec["y"].values()) == {"valid_UAUC"}
    for name, plot in plots.items():  # the files `evaluate` writes, one per seed
        dataset, key = name.split("/")
        assert list(plot["y"]) == [layout.curves_path(dataset, key, s).as_posix()
                                   for s in params.seeds], name


def test_every_output_is_cached_but_the_committed_reports(stages):
    """What `dvc push` shares: every stage's outputs (data, models) go to DVC's cache, and
    only the small reports committed to git (under reports/) are `cache: false`."""
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        for stage in repo.index.stages:
            for out in stage.outs:
                path = out.def_path
                if path.startswith(("models/", "data/")):
                    assert out.use_cache, (stage.addressing, path)
                else:
                    assert path.startswith("reports/") and not out.use_cache, (
                        stage.addressing, path)
    assert any(o.startswith("models/") for _, _, _, outs in stages for o in outs)
