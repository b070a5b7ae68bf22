"""`protocol: authors` (solidcli/profiles.py): every setting of the authors' code, all at once;
test-set selection only inside it; the authors' auxiliary loss; a whole tiny run under it."""

from __future__ import annotations

import json
import re

import pytest
import torch
from conftest import REPO, inside_tiny_project, tiny_params, write_params
from ruamel.yaml import YAML
from typer.testing import CliRunner

from solidcli.cli import app
from solidcli.config import ConfigError, load_params
from solidcli.engine import fit
from solidcli.models.recommender import Recommender
from solidcli.models.spec import ModelSpec
from solidcli.profiles import AUTHORS, expand

AUTHORS_PARAMS = REPO / "protocols" / "authors" / "params.yaml"
# the authors' code's differences from the paper, each a row of the profile
NAMED = {"lr 0.001": "train.lr", "batch size": "train.batch_size", "10 epochs": "train.epochs",
         "history window 20": "train.max_len", "fmod generators": "dsr.duet.init",
         "never trained": "dsr.duet.freeze", "unmasked SASRec": "models.sasrec.causal",
         "category ids": "semantics.<dataset>.method", "metacode from SPG": "solid.metacode",
         "frozen codebook": "solid.train_codebook", "their auxiliary loss": "solid.aux_loss",
         "APG without activation and bias": "dsr.apg.authors_simplified",
         "no validation split, checkpoint on test": "protocol"}


def profiled(data: dict) -> dict:
    """`data` (a params tree) with every row of the profile applied."""
    for key, value, _ in AUTHORS:
        if key.startswith("semantics."):
            for section in data["semantics"].values():
                section["method"] = value
            continue
        node, *path = data, *key.split(".")
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return data


def test_the_profile_sets_every_option_the_issue_names() -> None:
    keys = {key for key, _, _ in AUTHORS}
    assert set(NAMED.values()) <= keys
    params = load_params(AUTHORS_PARAMS)
    assert params.protocol == "authors" and params.datasets == ["scientific"]
    assert {r[0] for r in expand(params)} >= {"semantics.scientific.method", "train.lr"}
    root = load_params(REPO / "params.yaml")
    assert root.protocol == "paper"  # the default is the paper's protocol


def _other(key: str, value):
    """A value of the same type that the profile does not allow."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2
    return {"spg": "sml", "optimistic": "conservative", "category": "kmeans", "keep": "reinit",
            "clip": "tanh", "dsr": "T"}.get(
        value, "scaled" if key.endswith(".init") else "paper")


@pytest.mark.parametrize("row", [r for r in AUTHORS if r[0] != "protocol"],
                         ids=[r[0] for r in AUTHORS if r[0] != "protocol"])
def test_a_half_applied_profile_is_an_error(tmp_path, row) -> None:
    key, value, what = row
    data = YAML(typ="safe", pure=True).load(AUTHORS_PARAMS.read_text())
    if key.startswith("semantics."):
        data["semantics"]["scientific"]["method"] = "kmeans"
    else:
        node, *path = data, *key.split(".")
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = _other(key, value)
    path = write_params(tmp_path / "params.yaml", data)
    with pytest.raises(ConfigError, match=f"'protocol: authors' needs '{key.split('<')[0]}.*"
                                          f"{re.escape(what)}, as the authors' code"):
        load_params(path)


def test_a_spec_saved_before_aux_loss_existed_loads_with_the_default() -> None:
    spec = ModelSpec("sasrec", "duet", "scl", 10, 3, 8, 5,
                     {"layers": 1, "heads": 2, "dropout": 0.0, "causal": True,
                      "input": "tanh", "output": "mlp", "init": "xavier"},
                     {"layers": 2, "init": "scaled", "freeze": False}, clip=0.01, lam=0.1)
    stored = spec.to_dict()
    del stored["aux_loss"]
    assert ModelSpec.from_dict(stored) == spec
    for key in ("input", "output", "init"):  # saved before the standard encoder's options
        del stored["backbone_opts"][key]
    assert ModelSpec.from_dict(stored) == spec
    with pytest.raises(ValueError, match="spec.aux_loss 'mine' is unknown"):
        ModelSpec.from_dict({**spec.to_dict(), "aux_loss": "mine"})


def test_the_authors_aux_loss_pulls_the_semantic_history_to_fixed_codes() -> None:
    from test_models import batch, build

    paper, authors = build("duet", "scl"), build("duet", "scl", aux_loss="authors")
    hist, lengths, cands = batch()
    for model in (paper, authors):
        model.rng.seed([0], torch.device("cpu"))
    _, aux_paper = paper(hist, lengths, cands)
    _, aux_authors = authors(hist, lengths, cands)
    assert not torch.allclose(aux_paper, aux_authors)
    aux_authors.sum().backward()
    assert authors.codebook.codes.grad is None or not authors.codebook.codes.grad.any()
    assert authors.semantics.weight.grad.abs().sum() > 0  # the semantic history moves


def test_test_selection_trains_on_valid_and_keeps_the_best_test_epoch(tmp_path) -> None:
    import dataclasses

    from solidcli.data.prepared import PreparedDataset
    from solidcli.engine import EvalSet, evaluate
    from solidcli.pipeline import download
    from solidcli.runs import build_spec

    with inside_tiny_project(tmp_path):
        params = load_params("params.yaml")
        download.run(params, "tiny")
        data = PreparedDataset.load("tiny")
        spec = build_spec(params, data.n_items, "sasrec", "none", "base", 0)
        cfg = dataclasses.replace(params.train, epochs=3, patience=3, min_epochs=3)
        results = {}
        for select_on in ("valid", "test"):
            torch.manual_seed(0)
            model = Recommender(spec)
            results[select_on] = fit(model, data, cfg, lam=0.0, seeds=[0], data_seed=0,
                                     device=torch.device("cpu"), ties="conservative",
                                     label="t", select_on=select_on)[0]
        test = results["test"]
        best = max(test.curves, key=lambda r: r["valid_UAUC"])
        assert test.best_epoch == best["epoch"]
        kept = Recommender(spec)
        kept.load_state_dict(test.state)
        on_test = evaluate(kept, EvalSet.from_split(data, "test", cfg.max_len), 64,
                           torch.device("cpu"), "conservative")[0]
        assert on_test["UAUC"] == pytest.approx(test.best_valid["UAUC"], abs=1e-6)
        # the valid interaction joined training: the first epoch already differs
        assert results["valid"].curves[0]["loss"] != test.curves[0]["loss"]
        with pytest.raises(ValueError, match="select_on must be valid or test"):
            fit(Recommender(spec), data, cfg, lam=0.0, seeds=[0], data_seed=0,
                device=torch.device("cpu"), ties="conservative", label="t", select_on="train")


def test_a_tiny_run_under_the_profile_is_labelled_test_selected(tmp_path, monkeypatch) -> None:
    with inside_tiny_project(tmp_path) as root:
        data = profiled(tiny_params(root / "raw" / "tiny"))
        data["semantics"]["tiny"]["method"] = "kmeans"  # the tiny items have no categories
        data["protocol"] = "paper"
        write_params(root / "params.yaml", data)
        runner = CliRunner()
        for cmd in (["download"], ["embed"], ["assign-semantics"],
                    ["train-base", "--dsr", "duet"], ["train-spg", "--dsr", "duet"],
                    ["train-scl", "--dsr", "duet"],
                    ["evaluate", "--dsr", "duet", "--variant", "scl"]):
            done = runner.invoke(app, cmd)
            assert done.exit_code == 0, (cmd, done.output)
        metrics = json.loads((root / "reports/metrics/tiny/sasrec-duet-scl/seed0/"
                                     "metrics.json").read_text())
        assert metrics["selected_on"] == "valid" and "TEST" not in metrics["protocol"]
        # the same run under protocol: authors (kmeans semantics are refused by the profile,
        # so only the training stages run with it: the semantics already exist)
        data["protocol"] = "authors"
        data["semantics"]["tiny"]["method"] = "category"
        write_params(root / "params.yaml", data)
        for cmd in (["train-base", "--dsr", "duet"], ["evaluate", "--dsr", "duet"]):
            done = runner.invoke(app, cmd)
            assert done.exit_code == 0, (cmd, done.output)
        record = json.loads((root / "models/tiny/base/sasrec-duet/seed0/run.json").read_text())
        assert record["selected_on"] == "test" and record["params"]["protocol"] == "authors"
        metrics = json.loads((root / "reports/metrics/tiny/sasrec-duet-base/seed0/"
                                     "metrics.json").read_text())
        assert metrics["selected_on"] == "test"
        assert "TEST-SELECTED" in metrics["protocol"] and "TEST-SELECTED" in metrics[
            "protocol_full"]
