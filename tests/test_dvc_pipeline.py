"""The real dvc.yaml, end to end on the tiny dataset in a temp git repo."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, tiny_params, write_params, write_tiny_dataset

pytestmark = pytest.mark.slow


def run(cmd, cwd, env):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (cmd, result.stdout[-3000:], result.stderr[-3000:])
    return result.stdout + result.stderr


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dvcproj")
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copytree(REPO / "solidcli", root / "solidcli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    write_tiny_dataset(root / "raw" / "tiny")
    write_params(root / "params.yaml", tiny_params(root / "raw" / "tiny"))
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "DVC_NO_ANALYTICS": "1"}
    run(["git", "init", "-q"], root, env)
    run(["dvc", "init", "-q"], root, env)
    shutil.copy(REPO / ".dvcignore", root / ".dvcignore")  # solidcli/project/ is no pipeline
    first = run(["dvc", "repro"], root, env)
    return root, env, first


def test_dvc_stage_list_parses_the_repository_file():
    out = subprocess.run([sys.executable, "-m", "dvc", "stage", "list"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "train-scl@scientific" in out.stdout and "sweep-scl " in out.stdout


def test_repro_runs_the_whole_dag(project):
    root, _, first = project
    assert stages_run(first) == {
        "check-params", "download@tiny", "embed@tiny", "assign-semantics@tiny", "train-base@tiny",
        "train-spg@tiny", "train-sml@tiny", "train-scl@tiny", "train-ablation", "sweep-sml",
        "sweep-scl", "semantics-by-modality", "sweep-modality-sml", "sweep-modality-scl",
        "evaluate@tiny", "table", "claims"}
    for family in ("base", "spg", "sml", "scl", "scl_only", "sml-T", "scl-lambda-T",
                   "sml-modality", "scl-modality"):
        seeds = {p.name for p in (root / "models/tiny" / family).glob("*/seed*")}
        assert seeds == {"seed0", "seed1"}, family
    table = (root / "reports/table1.md").read_text()
    assert "Ours (DUET)" in table and "| SASRec | - |" in table
    assert "| ✓ | ✓ | ✗ |" in (root / "reports/table3.md").read_text()  # id + image
    for n in (1, 2, 3, 4, 5):
        for ext in ("md", "tex", "csv"):
            assert (root / f"reports/table{n}.{ext}").is_file()
    assert (root / "reports/figure5.png").stat().st_size > 1000
    assert "MRR" in (root / "reports/table1-full.md").read_text()
    claims = (root / "reports/claims.md").read_text()
    assert claims.startswith("# The paper's claims, tested") and "T1.ours>dsr" in claims
    assert "| 1 |" in (root / "reports/table4.md").read_text()


def changed_stages(root: Path, env) -> set[str]:
    """The stages `dvc status` would rerun because their own deps or params changed."""
    import json

    out = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=root, env=env,
                         capture_output=True, text=True, check=True).stdout
    return {name.split(":")[-1] for name in json.loads(out)}


TRAINING = ("train-base", "train-spg", "train-sml", "train-scl", "train-ablation", "sweep-sml",
            "sweep-scl", "sweep-modality-sml", "sweep-modality-scl")


def test_params_and_code_changes_rerun_exactly_their_stages(project):
    root, env, _ = project
    assert changed_stages(root, env) == set()  # up to date after the repro
    params = (root / "params.yaml").read_text()
    try:
        (root / "params.yaml").write_text(params.replace("lambda: 0.1", "lambda: 1.0", 1))
        assert changed_stages(root, env) == {
            "check-params", "train-scl@tiny", "train-ablation", "sweep-modality-scl",
            "table", "claims"}  # Table 5 and its claims sit at solid.lambda
        (root / "params.yaml").write_text(params.replace("T: 0.01", "T: 0.1", 1))
        assert changed_stages(root, env) == {
            "check-params", "train-sml@tiny", "train-scl@tiny", "sweep-modality-sml",
            "sweep-modality-scl", "table", "claims"}
        # the seed list: every stage that trains or reads a trained run, not the data
        (root / "params.yaml").write_text(params.replace("seeds:\n- 0\n- 1", "seeds:\n- 0", 1))
        assert changed_stages(root, env) == stages_run(project[2]) - {"download@tiny",
                                                                     "embed@tiny"}
    finally:
        (root / "params.yaml").write_text(params)
    batching = root / "solidcli/data/batching.py"
    code = batching.read_text()
    try:
        batching.write_text(code + "\n# an edit\n")
        changed = changed_stages(root, env)
        stages = set(stages_run(project[2]))
        assert changed == {s for s in stages if s.startswith(TRAINING) or s.startswith(
            "evaluate")}  # every training stage and the evaluation, nothing else
        assert any(s.startswith("sweep-scl") for s in changed)
    finally:
        batching.write_text(code)


def test_metrics_show_lists_the_summary_only(project):
    root, env, _ = project
    out = run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], root, env)
    import json

    shown = json.loads(out[out.index("{"):])
    files = {f for rev in shown.values() for f in rev["data"]}
    assert files == {"reports/summary.json"}
    summary = json.loads((root / "reports/summary.json").read_text())
    assert set(summary["tiny"]) == {"sasrec-none-base", "sasrec-duet-base", "sasrec-duet-scl"}
    assert (root / "reports/figure5.pdf").is_file()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("change", "target"), [
    (("eval_negatives: 9", "eval_negatives: -5"), ["-s", "download@tiny"]),  # one stage alone
    (("  dim: 8\n  max_len", "  dim: 0\n  max_len"), []),  # whole pipeline: its first stage
])
def test_bad_params_leave_every_output_in_place(project, change, target):
    """DVC removes a stage's outputs before its command runs; bad params must not cost them:
    the check-params stage stops `dvc repro` first, and a cheap stage run alone keeps its
    outputs (`persist`) while `solid` refuses."""
    root, env, _ = project
    params = (root / "params.yaml").read_text()
    assert change[0] in params
    kept = {d: _tree(root / d) for d in ("data/prepared/tiny", "models/tiny/base",
                                         "reports/metrics/tiny")}
    try:
        (root / "params.yaml").write_text(params.replace(*change, 1))
        out = subprocess.run([sys.executable, "-m", "dvc", "repro", *target], cwd=root,
                             env=env, capture_output=True, text=True, check=False)
        assert out.returncode != 0
        assert "solid: error: params.yaml:" in out.stderr + out.stdout
    finally:
        (root / "params.yaml").write_text(params)
    for folder, files in kept.items():
        assert _tree(root / folder) == files, folder
    assert changed_stages(root, env) == set()


def test_every_cached_output_round_trips_through_a_remote(project, tmp_path):
    """docs/dvc.md, sharing trained models: `dvc push` sends every cached output (data,
    semantics, models) to a remote the user adds; with those outputs and DVC's cache gone (a
    second machine), `dvc pull` brings them back byte for byte and nothing reruns."""
    from dvc.repo import Repo

    root, env, _ = project
    with Repo(str(root)) as repo:
        cached = sorted({o.def_path for s in repo.index.stages for o in s.outs if o.use_cache})
    assert any(p.startswith("models/") for p in cached) and "models/tiny/scl" in cached
    before = {p: _tree(root / p) for p in cached}
    run([sys.executable, "-m", "dvc", "remote", "add", "-d", "store", str(tmp_path / "store")],
        root, env)
    run([sys.executable, "-m", "dvc", "push"], root, env)
    for p in cached:
        shutil.rmtree(root / p)
    shutil.rmtree(root / ".dvc" / "cache")
    run([sys.executable, "-m", "dvc", "pull"], root, env)
    assert {p: _tree(root / p) for p in cached} == before
    assert changed_stages(root, env) == set()
