"""The package outside the repository: the wheel (distribution solid-rec) installed in a fresh
environment, `solid init` making a project there and DVC running it offline; the files
`solid init` ships kept equal to the repository's; one source for the version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from ruamel.yaml import YAML
from typer.testing import CliRunner

from solidcli import __version__, scaffold
from solidcli.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_dvc_analytics(monkeypatch):
    """`dvc init` here, and the commands of the slow tests, report nothing to DVC's servers."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


def one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("solid: error:") and text in lines[0], lines


def test_shipped_project_files_are_the_repositorys():
    for name in scaffold.FILES:
        assert (REPO / name).read_bytes() == (scaffold.TEMPLATES / name).read_bytes(), (
            f"{name} and solidcli/project/{name} differ: `solid init` ships the latter; "
            f"after editing {name}, run: cp {name} solidcli/project/{name}")


def test_init_dvc_yaml_is_the_repositorys_without_code_deps():
    """Stage by stage the same as the repository's dvc.yaml, but for the deps on solidcli/
    (a project made by `solid init` has no such files, and DVC fails on a missing dep)."""
    repo = yaml.safe_load((REPO / "dvc.yaml").read_text())
    text = scaffold.project_dvc_yaml((REPO / "dvc.yaml").read_text())
    made = yaml.safe_load(text)
    assert "solidcli/" not in "".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    assert made.keys() == repo.keys() and made["stages"].keys() == repo["stages"].keys()
    for name, stage in repo["stages"].items():
        deps = [d for d in stage.get("deps", []) if not d.startswith("solidcli")]
        want = {**stage, "deps": deps} if deps else {
            k: v for k, v in stage.items() if k != "deps"}
        assert made["stages"][name] == want, name
    assert "deps" not in made["stages"]["check-params"]  # its deps were all code
    assert {k: v for k, v in made.items() if k != "stages"} == {
        k: v for k, v in repo.items() if k != "stages"}


def test_init_writes_a_project_refuses_twice_and_force_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".gitignore").write_text("mine")  # kept, GITIGNORE's lines added
    result = runner.invoke(app, ["init", "p"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "p"
    assert (root / "params.yaml").read_bytes() == (REPO / "params.yaml").read_bytes()
    assert (root / "dvc.yaml").read_text() == scaffold.project_dvc_yaml(
        (REPO / "dvc.yaml").read_text())
    assert (root / ".gitignore").read_text().splitlines() == ["mine", *scaffold.GITIGNORE]
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir()
    assert "next: cd p && dvc repro" in result.stderr

    (root / "params.yaml").write_text("seeds: [7]\n")
    one_line_error(runner.invoke(app, ["init", "p"]), "already exist")
    assert (root / "params.yaml").read_text() == "seeds: [7]\n"  # untouched
    (root / "dvc.yaml").unlink()
    one_line_error(runner.invoke(app, ["init", "p"]), "p/params.yaml already exists; `solid "
                   "init --force` overwrites it")

    monkeypatch.chdir(root)
    result = runner.invoke(app, ["init", "--force"])  # the current folder by default
    assert result.exit_code == 0, result.output
    assert (root / "params.yaml").read_bytes() == (REPO / "params.yaml").read_bytes()
    assert (root / "dvc.yaml").is_file() and "next: dvc repro" in result.stderr
    assert (root / ".gitignore").read_text().splitlines() == ["mine", *scaffold.GITIGNORE]


def test_init_inside_a_git_repository_or_without_git(tmp_path, monkeypatch):
    """Inside another git work tree: `dvc init --subdir`, no second git repository; with no
    git installed: `dvc init --no-scm`."""
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    made = scaffold.init(tmp_path / "repo" / "study")
    assert not (tmp_path / "repo" / "study" / ".git").exists()
    assert (tmp_path / "repo" / "study" / ".dvc").is_dir()
    assert tmp_path / "repo" / "study" / ".dvc" in made
    monkeypatch.setattr(scaffold.shutil, "which", lambda name: None)
    scaffold.init(tmp_path / "nogit")
    assert not (tmp_path / "nogit" / ".git").exists()
    assert "no_scm = True" in (tmp_path / "nogit" / ".dvc" / "config").read_text()


def test_the_version_has_one_source():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "solidcli.__version__"}
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["version"] == __version__ and cff["license"] == project["project"]["license"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"solid {__version__}\n"


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (cmd, result.stdout[-3000:], result.stderr[-3000:])
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout's files, installed without its dependencies into a
    fresh venv that finds them in this interpreter's site-packages through a .pth path line
    (such a line does not run that folder's own .pth files, so this checkout's editable
    solidcli stays out of sight): (venv, wheel, environment for its commands)."""
    tmp = tmp_path_factory.mktemp("package")
    src = tmp / "src"  # a copy: the build writes build/ and *.egg-info beside its sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "solidcli", src / "solidcli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    log = run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
               "--no-index", "-w", str(tmp / "dist"), str(src)], tmp)
    assert "DeprecationWarning" not in log, log[-3000:]
    (wheel,) = (tmp / "dist").glob("solid_rec-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([str(python), "-c", code], tmp).strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "borrowed-deps.pth").write_text("".join(f"{p}\n" for p in ours))
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--ignore-installed", str(wheel)], tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1",
               SOLID_MIRROR="http://127.0.0.1:9",  # a download would fail: offline it is
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return venv, wheel, env


@pytest.mark.slow
def test_the_wheel_carries_its_files_and_one_version(installed, tmp_path):
    venv, wheel, env = installed
    version = wheel.name.split("-")[1]
    assert version == __version__
    solid = shutil.which("solid", path=env["PATH"])  # what DVC's stage commands run
    assert solid == str(venv / "bin" / "solid")
    assert Path(solid).read_text().splitlines()[0] == f"#!{venv / 'bin' / 'python'}"
    assert run([solid, "--version"], tmp_path, env).strip() == f"solid {version}"
    code = ("import importlib.metadata as m, solidcli; print(m.version('solid-rec')); "
            "print(solidcli.__file__)")
    shown = run([str(venv / "bin" / "python"), "-c", code], tmp_path, env).split()
    assert shown[0] == version and Path(shown[1]).is_relative_to(venv)  # the wheel's code
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"solid_rec-{version}.dist-info/METADATA").decode()
    assert {f"solid_rec-{version}.dist-info/licenses/LICENSE", "solidcli/project/params.yaml",
            "solidcli/project/dvc.yaml", "solidcli/bundled/scientific/Scientific.feat1CLS",
            "solidcli/paper/table1.csv"} <= names
    assert "License-Expression: MIT" in meta and "Classifier: License ::" not in meta
    assert "Requires-Dist: torch<2.14,>=2.13" in meta


STAGES = {"check-params", "download@scientific", "embed@scientific", "train-base@scientific",
          "assign-semantics@scientific", "train-spg@scientific", "train-sml@scientific",
          "train-scl@scientific"}


@pytest.mark.slow
def test_init_then_dvc_repro_runs_offline_from_the_wheel(installed, tmp_path):
    """`solid init` and `dvc repro train-scl@scientific` (Table 1's SOLID path: data, features,
    the SASRec baselines, semantics, SPG, SML, SCL; one seed, one epoch) on the bundled data,
    then the SCL run evaluated. The whole reduced grid (17 stages) takes about 2 minutes here:
    the DVC layout of every stage is tests/test_dvc_pipeline.py's."""
    venv, _, env = installed
    run([str(venv / "bin" / "solid"), "init", "study"], tmp_path, env)
    root = tmp_path / "study"
    yaml_rt = YAML()
    params = yaml_rt.load(root / "params.yaml")
    params.update(seeds=[0], device="cpu", backbones=["sasrec"], dsrs=["none", "duet"],
                  solid_dsrs=["duet"])
    params["train"].update(epochs=1, min_epochs=1, eval_batch_size=1024)
    params["semantics"]["scientific"]["k"] = 8
    yaml_rt.dump(params, root / "params.yaml")
    out = run([str(venv / "bin" / "python"), "-m", "dvc", "repro", "train-scl@scientific"],
              root, env)
    assert set(re.findall(r"Running stage '([^']+)'", out)) == STAGES, out[-3000:]
    run(["solid", "evaluate", "--dsr", "duet", "--variant", "scl"], root, env)
    metrics = root / "reports/metrics/scientific/sasrec-duet-scl/seed0/metrics.json"
    assert metrics.is_file()
    status = run([str(venv / "bin" / "python"), "-m", "dvc", "status", "train-scl@scientific"],
                 root, env)
    assert "up to date" in status, status
