"""The catalogue of bad inputs and faults: each ends with exit 1, one stderr line, and nothing
written (every file of the project is byte-identical afterwards)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, inside_tiny_project
from test_cli import assert_one_line_error, invoke
from typer.testing import CliRunner

from solidcli import layout
from solidcli.cli import app
from solidcli.layout import RunId


@pytest.fixture(scope="module")
def ready(tmp_path_factory) -> Path:
    """A tiny project with data, features, semantics and the Table 1 runs of SASRec-DUET."""
    with inside_tiny_project(tmp_path_factory.mktemp("ready")) as root:
        for cmd in (["download"], ["embed"], ["assign-semantics"],
                    ["train-base", "--dsr", "duet"], ["train-spg"], ["train-sml"],
                    ["train-scl"]):
            result = CliRunner().invoke(app, cmd)
            assert result.exit_code == 0, (cmd, result.output)
    return root


@pytest.fixture
def project(ready, tmp_path, monkeypatch) -> Path:
    root = tmp_path / "p"
    shutil.copytree(ready, root)
    monkeypatch.chdir(root)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rewrite_parquet(path: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    frame = pd.read_parquet(path)
    change(frame).to_parquet(path, index=False)


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(Path(path).read_text())
    change(data)
    Path(path).write_text(json.dumps(data))


def _bad_candidate(frame: pd.DataFrame) -> pd.DataFrame:
    items = [np.array(x) for x in frame["items"]]
    items[0][3] = 99999
    frame["items"] = items
    return frame


def _nan_image() -> None:
    path = layout.features_dir("tiny") / "image.npy"
    table = np.load(path)
    table[3, 2] = np.nan
    np.save(path, table)


def _repo_params() -> None:
    shutil.copy(REPO / "params.yaml", "params.yaml")


SCL = layout.model_dir(RunId("tiny", "sasrec", "duet", "scl", seed=0))
PREPARED = layout.prepared_dir("tiny")
CASES = [
    # -- parameters out of range: refused when params are loaded, before any work
    ("lambda-nan", None, ["train-scl", "-S", "solid.lambda=.nan"], {},
     "'solid.lambda' must be a finite number >= 0, got nan"),
    ("T-negative", None, ["train-scl", "-S", "solid.T=-1"], {}, "'solid.T' must be > 0"),
    ("epochs-0", None, ["train-base", "-S", "train.epochs=0"], {},
     "'train.epochs' must be >= 1, got 0"),
    ("lr-negative", None, ["train-base", "-S", "train.lr=-1"], {}, "'train.lr' must be > 0"),
    ("batch-0", None, ["train-base", "-S", "train.batch_size=0"], {},
     "'train.batch_size' must be >= 1"),
    ("eval-batch-0", None, ["evaluate", "-S", "train.eval_batch_size=0"], {},
     "'train.eval_batch_size' must be >= 1"),
    ("dim-0", None, ["train-base", "-S", "train.dim=0"], {}, "'train.dim' must be >= 1"),
    ("negatives-negative", None, ["train-base", "-S", "train.negatives=-1"], {},
     "'train.negatives' must be >= 1"),
    ("max-len-0", None, ["train-base", "-S", "train.max_len=0"], {},
     "'train.max_len' must be >= 1"),
    ("eval-negatives-negative", None, ["download", "-S", "data.tiny.eval_negatives=-5"], {},
     "'data.tiny.eval_negatives' must be >= 1"),
    ("heads-not-dividing", None, ["train-base", "-S", "models.sasrec.heads=3"], {},
     "'models.sasrec.heads' = 3 must divide 'train.dim' = 8"),
    # -- damaged artifacts: checked where they are read, naming the file and the fix
    ("sequences-without-target",
     lambda: _rewrite_parquet(PREPARED / "sequences.parquet",
                              lambda f: f.drop(columns="target")),
     ["train-base"], {}, "sequences.parquet has no column 'target'"),
    ("candidate-out-of-range",
     lambda: _rewrite_parquet(PREPARED / "candidates.parquet", _bad_candidate),
     ["evaluate", "--dsr", "duet", "--variant", "scl"], {},
     "candidates.parquet: split 'valid' candidates hold id 99999, outside 1..20"),
    ("nan-image-features", _nan_image, ["assign-semantics"], {},
     ("image.npy: 1 item rows of the image features hold NaN or infinite values; rerun "
     "`solid embed --dataset tiny`")),
    ("semantics-column-renamed",
     lambda: _rewrite_parquet(layout.semantics_dir("tiny") / "text+image.parquet",
                              lambda f: f.rename(columns={"semantic": "cluster"})),
     ["train-spg", "--tag", "x"], {}, "has no integer column 'semantic'"),
    ("run-json-without-spec", lambda: _edit_json(SCL / "run.json", lambda d: d.pop("spec")),
     ["evaluate", "--dsr", "duet", "--variant", "scl"], {}, "run.json: no 'spec'"),
    ("run-json-unknown-backbone",
     lambda: _edit_json(SCL / "run.json", lambda d: d["spec"].update(backbone="resnet")),
     ["evaluate", "--dsr", "duet", "--variant", "scl"], {},
     "spec.backbone 'resnet' is unknown"),
    ("missing-prerequisite",
     lambda: shutil.rmtree(layout.config_dir(RunId("tiny", "sasrec", "duet", "sml"))),
     ["train-scl", "--tag", "x"], {},
     ("tiny/sasrec/duet/sml seed 0 is not trained (models/tiny/sml/sasrec-duet/seed0/run.json "
      "missing); run `solid train-sml --dataset tiny --backbone sasrec --dsr duet` first")),
    # -- faults
    ("mirror-not-a-url", _repo_params, ["download", "--dataset", "cds"],
     {"SOLID_MIRROR": "not a url"}, "SOLID_MIRROR='not a url': 'not' is not a URL"),
    ("training-diverges", None, ["train-base", "--dsr", "duet", "--tag", "x",
                                 "-S", "train.lr=1e30"], {},
     "training diverged at epoch 1 (loss nan"),
]


@pytest.mark.parametrize(("breaker", "args", "env", "text"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_ends_cleanly(project, monkeypatch, breaker, args, env, text):
    if breaker is not None:
        breaker()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before = snapshot(project)
    assert_one_line_error(invoke(*args), text)
    assert snapshot(project) == before  # nothing written, nothing half-written


def test_disk_full_while_saving_the_checkpoint(project, monkeypatch):
    """torch reports a failed write as RuntimeError: /dev/full gives the real one."""
    import torch

    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, _path, *a, **k: real_save(obj, "/dev/full"))
    before = snapshot(project)
    result = invoke("train-base", "--dsr", "duet", "--tag", "x")
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("solid: error:")]
    assert errors == [result.stderr.strip().splitlines()[-1]]  # after the epoch log lines
    assert ("cannot write models/tiny/base/sasrec-duet-x/seed0/model.pt: the disk is full"
            in errors[0])
    assert snapshot(project) == before


def test_a_staging_folder_never_reaches_a_table_and_a_save_removes_it(project):
    """A kill during a save leaves `.scl.tmp-*`; evaluate and table read only planned runs."""
    stale = project / SCL.parent / ".seed0.tmp-1a2b3c4d"
    shutil.copytree(project / SCL, stale)
    grid = ["--set", "study.dataset=other", "--set", "dsrs=[duet]"]  # the runs `ready` has
    result = invoke("evaluate", "--all", *grid)
    assert result.exit_code == 0, result.output
    evaluated = {p.name for p in (project / layout.metrics_dir("tiny")).iterdir()
                 if p.is_dir()}
    assert evaluated == {"sasrec-duet-base", "sasrec-duet-spg", "sasrec-duet-sml",
                         "sasrec-duet-scl"}
    assert (project / layout.test_users_file("tiny")).is_file()
    result = invoke("table", *grid)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("| SASRec |") == 2
    assert invoke("train-scl").exit_code == 0
    assert not stale.exists()
