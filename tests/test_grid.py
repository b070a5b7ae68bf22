"""Every backbone x dsr x variant trains one epoch (a group of two seeds) and evaluates on the
tiny dataset."""

import dataclasses

import pytest
import torch

from solidcli.engine import EvalSet, evaluate, fit
from solidcli.metrics import METRIC_NAMES
from solidcli.models.recommender import Recommender
from solidcli.runs import build_spec

COMBOS = [(b, d, v) for b in ("din", "gru4rec", "sasrec", "bert4rec")
          for d, v in [("none", "base"), ("apg", "base"), ("duet", "base"), ("apg", "spg"),
                       ("apg", "sml"), ("apg", "scl"), ("duet", "spg"), ("duet", "sml"),
                       ("duet", "scl"), ("duet", "scl_only"), ("apg", "scl_only")]]


@pytest.mark.parametrize(("backbone", "dsr", "variant"), COMBOS,
                         ids=["-".join(c) for c in COMBOS])
def test_one_epoch_and_an_evaluation(prepared, backbone, dsr, variant):
    params, data, mapping, k = prepared
    spec = build_spec(params, data.n_items, backbone, dsr, variant, 0 if variant == "base" else k)
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append(Recommender(spec, item_to_semantic=mapping))
    model = Recommender.group(members)
    cfg = dataclasses.replace(params.train, epochs=1)
    results = fit(model, data, cfg, lam=spec.lam, seeds=[0, 1], data_seed=0,
                  device=torch.device("cpu"), ties="conservative", label="grid")
    for result in results:
        assert result.best_epoch == 1 and len(result.curves) == 1
        assert result.curves[0]["loss"] > 0
    for metrics in evaluate(model, EvalSet.from_split(data, "test", spec.max_len), 64,
                            torch.device("cpu"), "conservative"):
        for name in METRIC_NAMES:
            assert 0.0 <= metrics[name] <= 1.0
        assert metrics["users"] == len(data.splits["test"].users)
