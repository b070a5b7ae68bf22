"""Shared fixtures: a tiny synthetic dataset in the real atomic-file format, and params for it."""

from __future__ import annotations

import contextlib
import os

# `make test` runs the suite in pytest-xdist workers, one per core: each is a training process,
# so each gets one thread (workers x threads <= cores), and so do the `solid` processes the
# tests start. Set before numpy and torch are imported: they read it once.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent

# A suite started in the background (`make test &` in a script) inherits SIGINT ignored, and so
# would every `solid` process it starts: the interrupt tests need a terminal's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
N_USERS, N_ITEMS, DIM = 30, 20, 8


def write_tiny_dataset(folder: Path, seed: int = 0) -> Path:
    """30 users x 20 items, histories of 5-8 distinct items, 8-d text and image features."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "Tiny"
    (folder / f"{stem}.item2index").write_text(
        "".join(f"ITEM{i:03d}\t{i}\n" for i in range(N_ITEMS)))
    (folder / f"{stem}.user2index").write_text(
        "".join(f"USER{u:03d}\t{u}\n" for u in range(N_USERS)))
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    rows = {"train": [], "valid": [], "test": []}
    for u in range(N_USERS):
        # users prefer one of 4 item groups, so there is signal to learn
        group = u % 4
        pool = [i for i in range(N_ITEMS) if i % 4 == group] + list(rng.permutation(N_ITEMS)[:4])
        seq = list(dict.fromkeys(rng.permutation(pool).tolist()))[: int(rng.integers(5, 9))]
        for n in range(1, len(seq) - 2):
            rows["train"].append(f"{u}\t{' '.join(map(str, seq[:n]))}\t{seq[n]}\n")
        rows["valid"].append(f"{u}\t{' '.join(map(str, seq[:-2]))}\t{seq[-2]}\n")
        rows["test"].append(f"{u}\t{' '.join(map(str, seq[:-1]))}\t{seq[-1]}\n")
    for split, lines in rows.items():
        (folder / f"{stem}.{split}.inter").write_text(head + "".join(lines))
    (folder / f"{stem}.text").write_text("item_id:token\ttext:token_seq\n" + "".join(
        f"ITEM{i:03d}\tThing {i}. Tiny Things Group {i % 4}. Brand{i % 3}. \n"
        for i in range(N_ITEMS)))
    centers = rng.normal(size=(4, DIM))
    for suffix in ("feat1CLS", "feat3CLS"):
        feats = centers[np.arange(N_ITEMS) % 4] + 0.3 * rng.normal(size=(N_ITEMS, DIM))
        feats.astype(np.float32).tofile(folder / f"{stem}.{suffix}")
    return folder


def tiny_params(dataset_dir: Path, **changes) -> dict:
    """The repository's params.yaml, pointed at the tiny dataset and made fast."""
    data = YAML(typ="safe", pure=True).load((REPO / "params.yaml").read_text())
    data["datasets"] = ["tiny"]
    data["backbones"] = ["sasrec"]
    data["dsrs"] = ["none", "duet"]
    data["solid_dsrs"] = ["duet"]
    data["study"].update(dataset="tiny", lambdas=[1.0, 0.1], Ts=[0.1, 0.01],
                         modalities=["text", "id+image"], ks=[2, 4], paper_k=4)
    data["data"] = {"tiny": {"path": str(dataset_dir), "eval_negatives": 9,
                             "category_prefix": "Tiny Things"}}
    data["embed"] = {"tiny": {"text": "file:feat1CLS", "image": "file:feat3CLS", "dim": DIM,
                              "batch_size": 8}}
    data["semantics"] = {"tiny": {"method": "kmeans", "k": 4, "modalities": ["text", "image"]}}
    data["train"].update(epochs=2, batch_size=16, eval_batch_size=64, dim=8, max_len=10,
                         patience=2)
    for name in ("sasrec", "bert4rec"):
        data["models"][name].update(heads=2)
    data["device"] = "cpu"
    data["seeds"] = [0, 1]  # two training seeds: every run is a group
    for key, value in changes.items():
        node = data
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    return data


def write_params(path: Path, data: dict) -> Path:
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w") as fh:
        yaml.dump(data, fh)
    return path


@contextlib.contextmanager
def inside_tiny_project(root: Path) -> Iterator[Path]:
    """Write the tiny dataset and its params.yaml under `root` and work there meanwhile."""
    write_tiny_dataset(root / "raw" / "tiny")
    write_params(root / "params.yaml", tiny_params(root / "raw" / "tiny"))
    old = os.getcwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(old)


@pytest.fixture
def tiny_project(tmp_path, monkeypatch) -> Path:
    """A temp working directory with the tiny dataset and its params.yaml; cwd moves there."""
    write_tiny_dataset(tmp_path / "raw" / "tiny")
    write_params(tmp_path / "params.yaml", tiny_params(tmp_path / "raw" / "tiny"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stage_commands(params_path: Path, dataset: str = "tiny") -> list[list[str]]:
    """The DVC training stages' commands for `dataset`, prerequisites first (base, spg, sml
    before scl; each family's SML before its SCL), as `solid` arguments."""
    import shlex

    from solidcli.config import load_params
    from solidcli.grid import FAMILIES, family_runs, stage_command

    params = load_params(params_path)
    return [shlex.split(stage_command(family, dataset))[1:] for family in FAMILIES
            if family_runs(params, family, dataset)]


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory) -> Path:
    """The tiny project after the whole pipeline (run once per session, through the CLI, with
    the DVC stages' commands): every run params.yaml defines, for every seed, evaluated."""
    from typer.testing import CliRunner

    from solidcli.cli import app

    with inside_tiny_project(tmp_path_factory.mktemp("trained")) as root:
        runner = CliRunner()
        training = stage_commands(root / "params.yaml")
        base = [c for c in training if c[0] == "train-base"]  # the id modality reads one
        commands = ([["download"], ["embed"], ["assign-semantics"], *base,
                     ["assign-semantics", "--study-sets"], ["assign-semantics", "--study-k"]]
                    + [c for c in training if c not in base]
                    + [["evaluate", "--all"], ["evaluate", "--dsr", "duet", "--variant", "scl"],
                       ["evaluate", "--study", "mechanics"], ["evaluate", "--study", "k"]])
        for cmd in commands:
            result = runner.invoke(app, cmd)
            assert result.exit_code == 0, (cmd, result.output)
    return root


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """(params, prepared data, item -> semantic id, K) of the tiny dataset, downloaded,
    embedded and assigned semantics once for the session (read only)."""
    from solidcli.config import load_params
    from solidcli.data.prepared import PreparedDataset
    from solidcli.pipeline import download, embed, semantics
    from solidcli.runs import load_item_semantics

    with inside_tiny_project(tmp_path_factory.mktemp("prepared")):
        params = load_params("params.yaml")
        for stage in (download, embed, semantics):
            stage.run(params, "tiny")
        data = PreparedDataset.load("tiny")
        mapping, k, _ = load_item_semantics(params, "tiny", data.n_items)
    return params, data, mapping, k


@pytest.fixture(scope="session")
def ready(tmp_path_factory) -> Path:
    """A tiny project with data, features, semantics and the Table 1 runs of SASRec-DUET
    (made once per session; tests work on a copy: `project`)."""
    from typer.testing import CliRunner

    from solidcli.cli import app

    with inside_tiny_project(tmp_path_factory.mktemp("ready")) as root:
        for cmd in (["download"], ["embed"], ["assign-semantics"],
                    ["train-base", "--dsr", "duet"], ["train-spg"], ["train-sml"],
                    ["train-scl"]):
            result = CliRunner().invoke(app, cmd)
            assert result.exit_code == 0, (cmd, result.output)
    return root


def private_copy(source: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of a session fixture's project under tmp_path/p that a test may damage; cwd
    moves there."""
    root = tmp_path / "p"
    shutil.copytree(source, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def project(ready, tmp_path, monkeypatch) -> Path:
    """A private copy of `ready`; cwd moves there."""
    return private_copy(ready, tmp_path, monkeypatch)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` and its SHA-256: what "nothing written" is checked against."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
