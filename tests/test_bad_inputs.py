"""The catalogue of bad inputs and faults: each ends with exit 1, one stderr line, and nothing
written (every file of the project is byte-identical afterwards)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, snapshot
from test_cli import assert_one_line_error, invoke

from solidcli import layout
from solidcli.layout import RunId


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
SML = layout.model_dir(RunId("tiny", "sasrec", "duet", "sml", seed=0))
PREPARED = layout.prepared_dir("tiny")
EVAL_SCL = ["evaluate", "--dsr", "duet", "--variant", "scl"]
RETRAIN_SCL = "rebuild it with `solid train-scl --dataset tiny --backbone sasrec --dsr duet`"


def _spec(**change) -> Callable[[], None]:
    return lambda: _edit_json(SCL / "run.json", lambda d: d["spec"].update(change))


def _swap_model() -> None:
    """Another seed's model.pt (the same architecture) in place of this seed's."""
    shutil.copy(SCL.parent / "seed1" / "model.pt", SCL / "model.pt")


class _Payload:
    """A pickle that would run code when loaded (here a harmless call)."""

    def __reduce__(self):
        import os

        return (os.getcwd, ())


def _malicious_checkpoint() -> None:
    """model.pt replaced by a code-running pickle, and its run.json's hash forged to match:
    torch's weights_only loader refuses it, in one line (its warnings are not shown)."""
    import hashlib
    import pickle

    (SCL / "model.pt").write_bytes(pickle.dumps(_Payload()))
    sha = hashlib.sha256((SCL / "model.pt").read_bytes()).hexdigest()
    _edit_json(SCL / "run.json", lambda d: d.update(model_sha256=sha))


def _cli(*args: str) -> Callable[[], None]:
    """A breaker that is a successful command: the artifacts it rewrites outdate others."""
    def run() -> None:
        result = invoke(*args)
        assert result.exit_code == 0, result.output
    return run
CASES = [
    # -- parameters out of range: refused when params are loaded, before any work
    ("lambda-nan", None, ["train-scl", "-S", "solid.lambda=.nan"], {},
     "'solid.lambda' must be a finite number >= 0, got nan"),
    ("T-negative", None, ["train-scl", "-S", "solid.T=-1"], {}, "'solid.T' must be > 0"),
    ("epochs-0", None, ["train-base", "-S", "train.epochs=0"], {},
     "'train.epochs' must be >= 1 and <= 1,000,000, got 0"),
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
    # -- sizes, counts and seeds above what a 24 GiB machine (or a library) can take: refused
    #    when params are read, before any allocation
    ("dim-huge", None, ["train-base", "-S", "train.dim=1000000000000"], {},
     "'train.dim' must be >= 1 and <= 4,096, got 1000000000000"),
    ("max-len-huge", None, ["train-base", "-S", "train.max_len=5000"], {},
     "'train.max_len' must be >= 1 and <= 4,096"),
    ("rank-huge", None, ["train-base", "-S", "dsr.apg.rank=1000000000000"], {},
     "'dsr.apg.rank' must be >= 1 and <= 4,096"),
    ("layers-huge", None, ["train-base", "-S", "models.sasrec.layers=1000000000000"], {},
     "'models.sasrec.layers' must be >= 1 and <= 64"),
    ("epochs-huge", None, ["train-base", "-S", "train.epochs=10000000"], {},
     "'train.epochs' must be >= 1 and <= 1,000,000"),
    ("seed-2-64", None, ["train-base", "-S", "seed=18446744073709551616"], {},
     "'seed' must be >= 0 and <= 4,294,967,295"),
    ("seed-1e20", None, ["train-base", "-S", "seed=1e20"], {},
     "'seed' must be an integer, got 1e+20"),
    ("seeds-2-64", None, ["train-base", "--seed", "18446744073709551616"], {},
     "'seeds[0]' must be >= 0 and <= 4,294,967,295"),
    ("model-too-big-for-memory", None,
     ["train-base", "-S", "train.dim=4096", "-S", "train.max_len=4096", "-S",
      "models.sasrec.layers=64", "-S", "models.sasrec.heads=1", "-S", "train.batch_size=100000"],
     {}, "would need at least"),
    ("workers-0", None, ["train-base", "--all", "--workers", "0"], {},
     "--workers must be a whole number >= 1, got 0"),
    ("workers-negative", None, ["evaluate", "--all", "--workers", "-1"], {},
     "--workers must be a whole number >= 1, got -1"),
    ("threads-0", None, ["train-base", "--threads", "0"], {},
     "--threads must be a whole number >= 1, got 0"),
    ("threads-negative", None, ["train-base", "--threads", "-1"], {},
     "--threads must be a whole number >= 1, got -1"),
    ("check-params", None, ["check-params", "-S", "train.dim=0"], {}, "'train.dim' must be"),
    # -- a grid axis names each value once (a repeat would train and tabulate a run twice)
    ("backbones-twice", None, ["train-base", "-S", "backbones=[sasrec, sasrec]"], {},
     "'backbones' lists 'sasrec' twice"),
    ("dsrs-twice", None, ["table", "-S", "dsrs=[duet, none, duet]"], {},
     "'dsrs' lists 'duet' twice"),
    ("seeds-twice", None, ["train-base", "--seeds", "0,1,0"], {}, "'seeds' lists 0 twice"),
    ("ks-twice", None, ["assign-semantics", "--study-k", "-S", "study.ks=[2, 2]"], {},
     "'study.ks' lists 2 twice"),
    ("modality-sets-in-two-orders", None,
     ["assign-semantics", "--study-sets", "-S", "study.modalities=[text+image, image+text]"],
     {}, "'study.modalities' lists 'image+text' twice (each value once, in any order)"),
    ("modality-twice", None, ["assign-semantics", "-S", "semantics.tiny.modalities=[text, text]"],
     {}, "'semantics.tiny.modalities' lists 'text' twice"),
    ("tag-newline", None, ["train-base", "--tag", "a\nb"], {}, "invalid run tag 'a\\nb'"),
    ("tag-parent", None, ["train-base", "--tag", "../x"], {}, "invalid run tag '../x'"),
    ("tag-hidden", None, ["evaluate", "--tag", ".x"], {}, "invalid run tag '.x'"),
    # -- a damaged run.json: its spec is checked as strictly as params.yaml
    ("spec-clip-negative", _spec(clip=-1.0), EVAL_SCL, {},
     "spec.clip = -1.0 is out of range (>= 0.0)"),
    ("spec-clip-zero", _spec(clip=0.0), EVAL_SCL, {}, "a scl model's T must be > 0"),
    ("spec-lambda-nan", _spec(lam=float("nan")), EVAL_SCL, {},
     "spec.lam is nan, not a finite number"),
    ("spec-dim-huge", _spec(dim=10**12), EVAL_SCL, {}, "spec.dim = 1000000000000 is out of"),
    ("spec-changed-in-range", _spec(dim=16), EVAL_SCL, {},
     "run.json: its spec is not the one the model was trained with"),
    ("spec-heads-not-dividing",
     lambda: _edit_json(SCL / "run.json", lambda d: d["spec"]["backbone_opts"].update(heads=3)),
     EVAL_SCL, {}, "spec.backbone_opts.heads = 3 does not divide spec.dim = 8"),
    # -- provenance: a run is bound to its model.pt and to what it was trained from
    ("model-swapped", _swap_model, EVAL_SCL, {},
     ("models/tiny/scl/sasrec-duet/seed0/model.pt is not the file "
     "models/tiny/scl/sasrec-duet/seed0/run.json describes")),
    ("model-hash-missing",
     lambda: _edit_json(SCL / "run.json", lambda d: d.pop("model_sha256")),
     EVAL_SCL, {}, "records no SHA-256 of model.pt"),
    ("malicious-pickle", _malicious_checkpoint, EVAL_SCL, {},
     "corrupt checkpoint: models/tiny/scl/sasrec-duet/seed0/model.pt; retrain the run"),
    ("inputs-missing", lambda: _edit_json(SCL / "run.json", lambda d: d.pop("inputs")),
     EVAL_SCL, {}, "records no inputs"),
    ("data-prepared-again", _cli("download", "-S", "data.tiny.eval_negatives=5"), EVAL_SCL, {},
     ("models/tiny/scl/sasrec-duet/seed0/run.json is stale: it was made from other data than "
     f"data/prepared/tiny holds now; {RETRAIN_SCL}")),
    ("prepared-file-edited",
     lambda: pd.read_parquet(PREPARED / "users.parquet").to_parquet(
         PREPARED / "users.parquet", index=False, compression="gzip"),  # same rows, new bytes
     ["train-base", "--tag", "x"], {},
     "data/prepared/tiny/users.parquet was changed after `solid download` wrote it"),
    ("manifest-missing", lambda: (PREPARED / "manifest.json").unlink(), EVAL_SCL, {},
     "data/prepared/tiny/manifest.json missing"),
    ("metacode-retrained", _cli("train-sml", "-S", "train.lr=0.01"), EVAL_SCL, {},
     ("models/tiny/scl/sasrec-duet/seed0/run.json is stale: "
     f"models/tiny/sml/sasrec-duet/seed0/model.pt changed after it was made; {RETRAIN_SCL}")),
    ("semantics-assigned-again", _cli("assign-semantics", "-S", "semantics.tiny.k=3"),
     ["evaluate", "--dsr", "duet", "--variant", "sml"], {},
     ("models/tiny/sml/sasrec-duet/seed0/run.json is stale: "
     "data/semantics/tiny/text+image.parquet changed after it was made")),
    ("features-outdated", _cli("download", "-S", "data.tiny.eval_negatives=5"),
     ["assign-semantics"], {}, ("data/features/tiny/meta.json is stale: it was made from other "
     "data than data/prepared/tiny holds now; rebuild it with `solid embed --dataset tiny`")),
    ("data-seed-at-evaluate", None, [*EVAL_SCL, "-S", "seed=7"], {},
     "params say data seed 7, but data/prepared/tiny was prepared with seed 0"),
    ("data-seed-at-train", None, ["train-base", "--tag", "x", "-S", "seed=5"], {},
     "params say data seed 5, but data/prepared/tiny was prepared with seed 0"),
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


GRID = ["--set", "study.dataset=other", "--set", "dsrs=[duet]"]  # the runs `ready` has


def _test_metrics(project: Path) -> dict[str, dict]:
    root = project / layout.metrics_dir("tiny")
    return {str(p.relative_to(root)): json.loads(p.read_text())["test"]
            for p in sorted(root.rglob("metrics.json"))}


def test_a_second_folder_of_the_same_name_never_replaces_a_dataset(project):
    """`download --dataset other/tiny` beside a prepared `tiny` from another folder: refused;
    the old data and models still give their old metrics."""
    from conftest import write_tiny_dataset

    assert invoke("evaluate", "--all", *GRID).exit_code == 0
    old = _test_metrics(project)
    write_tiny_dataset(project / "raw2" / "tiny", seed=1)  # same name, other interactions
    before = snapshot(project)
    assert_one_line_error(invoke("download", "--dataset", "raw2/tiny"),
                          "dataset name 'tiny' is taken: data/prepared/tiny holds the folder ")
    assert snapshot(project) == before
    assert invoke("evaluate", "--all", *GRID).exit_code == 0
    assert _test_metrics(project) == old
    # the same files in another folder (a copied project) prepare the same data again
    shutil.rmtree(project / "raw2")
    write_tiny_dataset(project / "raw2" / "tiny")  # what `ready` was prepared from
    assert invoke("download", "--dataset", "raw2/tiny").exit_code == 0
    assert invoke("evaluate", "--all", *GRID).exit_code == 0
    assert _test_metrics(project) == old


def test_tables_refuse_metrics_their_model_or_per_user_file_no_longer_match(project):
    """A model retrained after it was evaluated, or a per-user file edited (2 NaN users once
    turned a verdict): the table names the stale metrics instead of printing them."""
    assert invoke("evaluate", "--all", *GRID).exit_code == 0
    assert invoke("table", *GRID).exit_code == 0
    per_user = project / layout.run_metrics_dir(
        RunId("tiny", "sasrec", "duet", "scl", seed=1)) / "per_user.parquet"
    frame = pd.read_parquet(per_user)
    frame.loc[[3, 7], "NDCG@10"] = np.nan
    frame.to_parquet(per_user, index=False, compression="zstd")
    before = snapshot(project)
    for command in (["table", *GRID], ["claims", *GRID]):
        assert_one_line_error(invoke(*command),
                              f"{per_user.relative_to(project)} is not the file "
                              f"{(per_user.parent / 'metrics.json').relative_to(project)} "
                              "describes")
    assert snapshot(project) == before
    assert invoke("evaluate", "--all", *GRID).exit_code == 0
    assert invoke("train-base", "--dsr", "duet", "-S", "train.lr=0.01").exit_code == 0
    assert_one_line_error(invoke("table", *GRID),
                          "reports/metrics/tiny/sasrec-duet-base/seed0/metrics.json is stale: "
                          "models/tiny/base/sasrec-duet/seed0/model.pt was retrained after it "
                          "was evaluated; rerun `solid evaluate --dataset tiny --all`")


def test_k_is_swept_with_an_override_as_documented(project):
    """`-S semantics.<d>.k=K` (README: sweeping K) plans its run even when the mechanics
    study could not use that K: the study's own error belongs to its own stage."""
    k3 = ["-S", "semantics.tiny.k=3"]
    assert invoke("assign-semantics", *k3).exit_code == 0
    result = invoke("train-sml", "--dsr", "duet", "--tag", "k3", *k3)
    assert result.exit_code == 0, result.output
    assert invoke("evaluate", "--dsr", "duet", "--variant", "sml", "--tag", "k3",
                  *k3).exit_code == 0
    assert_one_line_error(invoke("train-sml", "--study", "mechanics", *k3),
                          "the mechanics study needs semantics.tiny (k3)")


def test_any_exception_a_library_raises_is_one_line(project, monkeypatch):
    """The last resort of `cli._guard`: an exception nobody checked for names its type."""
    from solidcli.data import prepared

    def broken(*_a, **_k):
        raise ValueError("a library's complaint\nwith a second line")

    monkeypatch.setattr(prepared.PreparedDataset, "load", broken)
    before = snapshot(project)
    assert_one_line_error(invoke("train-base", "--tag", "x"),
                          "unexpected ValueError: a library's complaint (nothing incomplete")
    monkeypatch.setattr(prepared.PreparedDataset, "load", lambda *_: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    result = invoke("train-base", "--tag", "x")
    assert result.exit_code == 130
    assert result.stderr.strip() == "solid: interrupted (SIGINT); nothing incomplete was saved"
    assert snapshot(project) == before
