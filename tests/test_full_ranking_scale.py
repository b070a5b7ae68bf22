"""Full ranking at scale (issue 27): the counts reduced on the device give the same bits as
`metrics.full_ranking_metrics`; a target-dependent backbone (DIN) over the budget is ranked on
a fixed sample of users, recorded with its confidence intervals; a single `evaluate` honours
`--threads`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import REPO, inside_tiny_project, tiny_params, write_params

from solidcli.config import EvalCfg, load_params
from solidcli.engine import _full_counts
from solidcli.metrics import TIE_WEIGHT, full_ranking_from_counts, full_ranking_metrics
from solidcli.pipeline.evaluate import full_ranking_users


@pytest.mark.parametrize("via_numpy", [None, False])  # the CPU's path, and torch's (GPUs')
@pytest.mark.parametrize("ties", sorted(TIE_WEIGHT))
def test_device_counts_equal_full_ranking_metrics(ties, via_numpy):
    rng = np.random.default_rng(5)
    members, users, items = 3, 64, 40
    # few distinct values: many ties, with the target and with masked history items
    scores = rng.integers(0, 6, size=(members, users, items + 1)).astype(np.float32) / 4
    scores[0, :5] = rng.normal(size=(5, items + 1)).astype(np.float32)  # and no ties
    targets = rng.integers(1, items + 1, size=users)
    histories = [rng.choice(np.arange(1, items + 1), size=int(rng.integers(0, 12)),
                            replace=False) for _ in range(users)]
    histories[3] = np.append(histories[3], targets[3])  # the target in its own history
    greater, equal = _full_counts(torch.from_numpy(scores.copy()), targets, histories,
                                  via_numpy)
    assert greater.shape == equal.shape == (members, users)
    assert greater.dtype == equal.dtype == np.int64
    for m in range(members):
        want = full_ranking_metrics(scores[m], targets, histories, ties=ties)
        got = full_ranking_from_counts(greater[m], equal[m], ties=ties)
        assert list(got) == list(want)
        for name, values in want.items():
            assert got[name].dtype == values.dtype
            assert got[name].tobytes() == values.tobytes(), (ties, name)


def test_device_counts_refuse_non_finite_scores():
    from solidcli.errors import SolidError

    scores = torch.zeros(1, 2, 5)
    scores[0, 1, 3] = float("nan")
    with pytest.raises(SolidError, match="NaN or infinite scores for 1 of 2 users"):
        _full_counts(scores, np.array([1, 2]), [np.array([4]), np.array([], dtype=np.int64)])


def test_sample_rule():
    cfg = EvalCfg(ties="conservative")
    budget, least = EvalCfg.FULL_RANKING_BUDGET, EvalCfg.FULL_RANKING_MIN_USERS
    # the bundled Scientific data (2,928 test users, 1,585 items, max_len 50): every user
    params = load_params(REPO / "params.yaml")
    assert cfg.full_ranking_sample(2928, 1585, params.train.max_len, True) == 2928
    # a backbone whose state does not depend on the target: always every user
    assert cfg.full_ranking_sample(10**6, 10**5, 50, False) == 10**6
    # 10x Scientific: as many users as the budget pays for
    n = cfg.full_ranking_sample(29_280, 15_850, 50, True)
    assert n == budget // (15_850 * 50) and least <= n < 29_280
    assert n * 15_850 * 50 <= budget
    # never fewer than the floor, never more than there are
    assert cfg.full_ranking_sample(50_000, 10**6, 50, True) == least
    assert cfg.full_ranking_sample(least - 1, 10**7, 50, True) == least - 1


def test_sample_users_fixed_nested_and_sorted():
    a = full_ranking_users(0, 1000, 100)
    assert np.array_equal(a, full_ranking_users(0, 1000, 100))  # deterministic
    assert len(np.unique(a)) == 100 and np.all(np.diff(a) > 0) and a.max() < 1000
    assert set(a) <= set(full_ranking_users(0, 1000, 300))  # a larger sample holds it
    assert not np.array_equal(a, full_ranking_users(1, 1000, 100))  # the data seed's


@pytest.fixture(scope="module")
def din_project(tmp_path_factory):
    """A tiny project with DIN trained twice (none, duet: two models of the dataset) and
    SASRec once, every seed of `seeds`."""
    from typer.testing import CliRunner

    from solidcli.cli import app

    with inside_tiny_project(tmp_path_factory.mktemp("din")) as root:
        write_params(root / "params.yaml", tiny_params(
            root / "raw" / "tiny", backbones=["din", "sasrec"], **{"train.epochs": 1}))
        for cmd in (["download"], ["train-base", "-b", "din", "--dsr", "none"],
                    ["train-base", "-b", "din", "--dsr", "duet"],
                    ["train-base", "-b", "sasrec", "--dsr", "none"]):
            result = CliRunner().invoke(app, cmd)
            assert result.exit_code == 0, (cmd, result.output)
    return root


def _evaluate(root, monkeypatch, *args):
    from typer.testing import CliRunner

    from solidcli.cli import app

    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["evaluate", *args])
    assert result.exit_code == 0, result.output
    return result


def _metrics(root, key):
    return [json.loads((root / f"reports/metrics/tiny/{key}/seed{s}/metrics.json").read_text())
            for s in (0, 1)]


def test_din_over_budget_ranks_a_recorded_sample(din_project, monkeypatch):
    import pandas as pd

    from solidcli.pipeline import evaluate as stage

    drawn = []
    monkeypatch.setattr(stage, "full_ranking_users",
                        lambda *a: drawn.append(full_ranking_users(*a)) or drawn[-1])
    monkeypatch.setattr(EvalCfg, "FULL_RANKING_BUDGET", 1)
    monkeypatch.setattr(EvalCfg, "FULL_RANKING_MIN_USERS", 12)
    for dsr in ("none", "duet"):
        _evaluate(din_project, monkeypatch, "-b", "din", "--dsr", dsr)
    _evaluate(din_project, monkeypatch, "-b", "sasrec", "--dsr", "none")
    assert len(drawn) == 2 and np.array_equal(drawn[0], drawn[1])  # DIN's only, the same
    assert len(drawn[0]) == 12
    for key in ("din-none-base", "din-duet-base"):
        for rec in _metrics(din_project, key):
            assert "a random sample of 12 of 30 test users" in rec["protocol_full"]
            assert rec["test_full"]["users"] == 12
            for m, (lo, hi) in rec["test_full_ci"].items():
                assert lo <= rec["test_full"][m] <= hi
        frame = pd.read_parquet(din_project / f"reports/metrics/tiny/{key}/seed0/per_user.parquet")
        assert len(frame) == 30 and not [c for c in frame.columns if c.startswith("full_")]
    for rec in _metrics(din_project, "sasrec-none-base"):  # not target-dependent: every user
        assert rec["test_full"]["users"] == 30 and "test_full_ci" not in rec
        assert "sample" not in rec["protocol_full"]
    # the readers: the sample's means, and a paired comparison with the seed test alone
    from solidcli.layout import RunId
    from solidcli.pairing import PerUser, pair
    from solidcli.results import read_result

    root = din_project / "reports/metrics"
    a, b = ([read_result(root, RunId("tiny", "din", dsr, "base").with_seed(s)) for s in (0, 1)]
            for dsr in ("none", "duet"))
    assert "sample of 12 of 30" in a[0].protocol_of("full")
    assert a[0].values("full")["MRR"] == _metrics(din_project, "din-none-base")[0][
        "test_full"]["MRR"]
    assert pair(a, b, "MRR", PerUser(), kind="full").n_users == 0
    assert pair(a, b, "NDCG@10", PerUser()).n_users == 30  # the sampled metrics still pair


def test_din_sample_matches_its_users_full_ranking(din_project, monkeypatch):
    """The sample's metrics are those users' rows of the all-users full ranking (the same
    histories, scored in other batches), and the sampled logits are `score`'s."""
    from solidcli.config import load_params as load
    from solidcli.data.prepared import PreparedDataset
    from solidcli.engine import EvalSet, score, score_full
    from solidcli.layout import RunId
    from solidcli.runs import load_seeds

    monkeypatch.chdir(din_project)
    params = load("params.yaml")
    data = PreparedDataset.load("tiny")
    model = load_seeds(params, RunId("tiny", "din", "none", "base"), [0], data.n_items)[0][0]
    ev = EvalSet.from_split(data, "test", model.spec.max_len)
    device = torch.device("cpu")
    rows = full_ranking_users(params.seed, len(ev.lengths), 12)
    logits, full = score_full(model, ev, 8, device, "conservative")
    part_logits, part = score_full(model, ev, 8, device, "conservative", rows)
    assert np.array_equal(part_logits, score(model, ev, 8, device))
    np.testing.assert_allclose(part_logits, logits, rtol=1e-5, atol=1e-6)
    outside = np.setdiff1d(np.arange(len(ev.lengths)), rows)
    for m, values in part[0].items():
        assert np.isnan(values[outside]).all()
        np.testing.assert_allclose(values[rows], full[0][m][rows], rtol=1e-12)


def test_single_evaluate_honours_threads(din_project, monkeypatch):
    set_to = []
    before = torch.get_num_threads()
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (set_to.append(n), real(n)))
    monkeypatch.delenv("SOLID_THREADS", raising=False)
    try:
        _evaluate(din_project, monkeypatch, "-b", "sasrec", "--dsr", "none", "--threads", "1")
        assert set_to == [1]
        _evaluate(din_project, monkeypatch, "-b", "sasrec", "--dsr", "none")
        assert set_to == [1]  # no flag, no SOLID_THREADS: torch's default stays
        from typer.testing import CliRunner

        from solidcli.cli import app

        result = CliRunner().invoke(app, ["evaluate", "-b", "sasrec", "--dsr", "none",
                                          "--threads", "4096"])
        assert result.exit_code != 0 and "cores" in result.output
    finally:
        real(before)
