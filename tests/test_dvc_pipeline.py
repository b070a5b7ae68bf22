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
    first = run(["dvc", "repro"], root, env)
    return root, env, first


def test_dvc_stage_list_parses_the_repository_file():
    out = subprocess.run([sys.executable, "-m", "dvc", "stage", "list"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "train-scl@scientific-sasrec-duet" in out.stdout


def test_repro_runs_the_whole_dag(project):
    root, _, first = project
    assert {"download@tiny", "embed@tiny", "assign-semantics@tiny",
            "train-base@tiny-sasrec-none", "train-base@tiny-sasrec-duet",
            "train-spg@tiny-sasrec-duet", "train-sml@tiny-sasrec-duet",
            "train-scl@tiny-sasrec-duet", "train-ablation", "sweep-sml@0.1",
            "sweep-scl@1.0-0.01", "semantics-by-modality@id+image",
            "sweep-modality-sml@text", "sweep-modality-scl@id+image", "evaluate@tiny",
            "table"} <= stages_run(first)
    table = (root / "reports/table1.md").read_text()
    assert "Ours (DUET)" in table and "| SASRec | - |" in table
    assert "| ✓ | ✓ | ✗ |" in (root / "reports/table3.md").read_text()  # id + image
    for n in (1, 2, 3, 4, 5):
        for ext in ("md", "tex", "csv"):
            assert (root / f"reports/table{n}.{ext}").is_file()
    assert (root / "reports/figure5.png").stat().st_size > 1000
    assert "| 1 |" in (root / "reports/table4.md").read_text()


def test_lambda_experiment_reruns_only_what_depends_on_it(project):
    root, env, _ = project
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "baseline"], root, env)
    out = run(["dvc", "exp", "run", "-S", "solid.lambda=1"], root, env)
    ran = stages_run(out)
    assert {"train-scl@tiny-sasrec-duet", "sweep-modality-scl@text"} <= ran
    assert not {s for s in ran if s.startswith(("train-base", "train-spg", "train-sml",
                                                "sweep-sml", "sweep-scl", "sweep-modality-sml",
                                                "download", "embed", "assign", "semantics"))}
    out = run(["dvc", "exp", "run", "-S", "solid.T=0.1"], root, env)
    ran = stages_run(out)
    assert {"train-sml@tiny-sasrec-duet", "train-scl@tiny-sasrec-duet",
            "sweep-modality-sml@id+image"} <= ran
    assert not {s for s in ran if s.startswith(("train-base", "train-spg", "sweep-sml",
                                                "sweep-scl", "semantics"))}
