"""Sharing trained models through a DVC remote (docs/dvc.md): a stage's cached outputs pushed
to a local-directory remote come back byte for byte with `dvc pull` into a clone that has
neither the outputs nor DVC's cache, and `dvc status` then finds nothing to rerun. A tiny
project of its own (two stages shaped like the pipeline's: a cached model folder, a
committed `cache: false` report), so it takes seconds; tests/test_dvc_pipeline.py does the
same with the real pipeline's outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DVC_YAML = """\
stages:
  train:
    cmd: python make.py models/m 3
    deps:
      - make.py
    outs:
      - models/m
  report:
    cmd: python make.py reports/r 1
    deps:
      - models/m
    outs:
      - reports/r:
          cache: false
"""
MAKE = """\
import os, sys
folder, n = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
for i in range(n):
    with open(os.path.join(folder, f"part{i}.bin"), "wb") as f:
        f.write(os.urandom(4096))  # not reproducible: only a pull can bring these bytes back
"""


def dvc(root: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, (args, out.stdout[-2000:], out.stderr[-2000:])
    return out.stdout + out.stderr


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "make.py").write_text(MAKE)
    dvc(root, "init", "-q", "--no-scm")
    dvc(root, "repro")
    return root


def test_push_then_pull_into_an_empty_clone_brings_the_models_back(project, tmp_path):
    store = tmp_path / "store"
    dvc(project, "remote", "add", "-d", "store", str(store))
    assert "url = " in (project / ".dvc" / "config").read_text()
    pushed = dvc(project, "push")
    assert "pushed" in pushed
    model = tree(project / "models")
    assert len(model) == 3

    # a colleague's clone: the project's files (what git would hold), no outputs, no cache
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("models", "cache", "tmp"))
    assert not (clone / "models").exists() and not (clone / ".dvc" / "cache").exists()
    dvc(clone, "pull")
    assert tree(clone / "models") == model
    assert tree(clone / "reports") == tree(project / "reports")  # committed, never pushed
    assert "up to date" in dvc(clone, "status")


def test_the_cache_false_report_is_not_pushed(project, tmp_path):
    """Only cached outputs go to the remote: the committed report travels with git."""
    store = tmp_path / "store"
    dvc(project, "remote", "add", "-d", "store", str(store))
    dvc(project, "push")
    sent = [p for p in store.rglob("*") if p.is_file() and not p.name.endswith(".dir")]
    assert len(sent) == 3  # the model's three files, not the report's
