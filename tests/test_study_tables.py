"""Issue 11's tables and checks on the tiny project: the mechanics table, the breakdown by
target popularity and history length (and its claims), `solid inspect`, and the test users'
file they bucket by."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_cli import assert_one_line_error, invoke

from solidcli.grid import MECHANICS
from solidcli.report.studies import _buckets
from solidcli.stats import gap_test


def test_buckets_are_quantiles_that_keep_ties_together():
    values = np.array([0, 0, 0, 1, 2, 3, 4, 5, 6, 100])
    buckets = _buckets(values, 5)
    masks = [m for _, m in buckets]
    assert sum(m.sum() for m in masks) == len(values)  # a partition
    assert not (np.sum(masks, axis=0) > 1).any()
    assert all(len(set(values[m]) & set(values[o])) == 0
               for i, m in enumerate(masks) for o in masks[i + 1:])  # a tie stays in one
    assert buckets[0][0] == "0-1" and buckets[-1][0].endswith("-100")  # q0.2 = q0 = 0: merged
    assert len(_buckets(np.array([4, 4, 4, 4, 5]), 5)) == 2  # fewer when ties swallow edges


def test_the_gap_between_two_buckets_tests_seeds_paired_and_users_apart():
    rng = np.random.default_rng(0)
    low_users, high_users = rng.normal(0.02, 0.1, 50), rng.normal(0.0, 0.1, 70)
    low_seeds, high_seeds = np.array([0.02, 0.03, 0.01]), np.array([0.0, 0.016, -0.01])
    gap = gap_test("UAUC", low_seeds, high_seeds, low_users, high_users, "ttest")
    assert gap.diff == pytest.approx(0.018)
    assert gap.p_seeds == pytest.approx(stats.ttest_rel(low_seeds, high_seeds).pvalue)
    assert gap.p_users == pytest.approx(
        stats.ttest_ind(low_users, high_users, equal_var=False).pvalue)
    assert gap.user_diff == pytest.approx(low_users.mean() - high_users.mean())


def test_evaluate_writes_each_test_users_popularity_and_history_length(trained_tiny):
    frame = pd.read_parquet(trained_tiny / "reports/metrics/tiny/test_users.parquet")
    sequences = pd.read_parquet(trained_tiny / "data/prepared/tiny/sequences.parquet")
    valid = sequences[sequences.split == "valid"]
    test = sequences[sequences.split == "test"].set_index("user").loc[frame.user]
    counts = pd.Series(np.concatenate(valid.history.to_numpy())).value_counts()
    assert (frame.target.to_numpy() == test.target.to_numpy()).all()
    assert (frame.target_popularity.to_numpy()
            == counts.reindex(frame.target).fillna(0).to_numpy()).all()
    assert (frame.history_length.to_numpy() == test.history.map(len).to_numpy()).all()


def test_mechanics_table(trained_tiny, monkeypatch):
    monkeypatch.chdir(trained_tiny)
    md = invoke("table", "--table", "mechanics")
    assert md.exit_code == 0, md.output
    for _, label, _ in MECHANICS:
        assert f"| DUET | {label} |" in md.stdout
    assert "| DUET | DUET alone (Table 1) |" in md.stdout
    assert "→" in md.stdout and "(p " in md.stdout  # diagnostics and paired differences
    csv = invoke("table", "--table", "mechanics", "--format", "csv").stdout
    assert csv.startswith("dsr,setting,n_seeds,valid_UAUC,valid_UAUC_sd,UAUC,UAUC_sd")
    frame = pd.read_csv(pd.io.common.StringIO(csv))
    assert len(frame) == 1 + len(MECHANICS) + 1 and (frame.n_seeds == 2).all()  # both seeds
    literal, live = frame.branch_inside_T_kept[1], frame.branch_inside_T_kept[2]
    assert live > 0.9 and literal < 0.5  # the branch is live now
    assert_one_line_error(invoke("table", "--table", "mechanics", "--format", "latex"),
                          "--table mechanics is written as markdown or csv")
    assert_one_line_error(invoke("table", "--table", "mechanics", "--seed", "0"),
                          "--table mechanics takes no --seed")


def test_breakdown_table_and_its_claims(trained_tiny, monkeypatch, tmp_path):
    monkeypatch.chdir(trained_tiny)
    csv = invoke("table", "--table", "breakdown", "--format", "csv")
    assert csv.exit_code == 0, csv.output
    frame = pd.read_csv(pd.io.common.StringIO(csv.stdout))
    users = len(pd.read_parquet("reports/metrics/tiny/test_users.parquet"))
    for _, part in frame.groupby(["sr_model", "dsr_model", "split"]):
        assert part.users.sum() == users  # each split partitions the test users
    assert set(frame.split) == {"popularity", "length"}
    done = invoke("claims", "--out-dir", str(tmp_path))
    assert done.exit_code == 0, done.output
    text = (tmp_path / "claims.md").read_text()
    assert "## B: the paper's mechanism" in text
    assert "| B.tiny.sasrec.ours-duet.sparse |" in text
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert {"B.sparse-gain", "B.sparse-more"} <= set(claims.family)


def test_inspect_prints_each_seeds_diagnostics(trained_tiny, monkeypatch):
    monkeypatch.chdir(trained_tiny)
    done = invoke("inspect", "--dsr", "duet", "--variant", "scl")
    assert done.exit_code == 0, done.output
    assert "at initialisation" in done.stdout and "at the kept epoch" in done.stdout
    record = json.loads((trained_tiny / "models/tiny/scl/sasrec-duet/seed0/run.json")
                        .read_text())
    kept = record["diagnostics"]["kept"]
    assert {"branch_inside_T", "codes_used", "code_perplexity", "codes_changed"} <= set(kept)
    assert 0 < kept["codes_used"] <= kept["codes"]
    assert_one_line_error(invoke("inspect", "--dsr", "duet", "--variant", "base"),
                          "`solid inspect` reads SOLID runs")


def test_k_study_chooses_on_valid_and_never_reads_test(trained_tiny, monkeypatch, tmp_path):
    monkeypatch.chdir(trained_tiny)
    done = invoke("table", "--table", "k", "--out-dir", str(tmp_path), "--format", "csv")
    assert done.exit_code == 0, done.output
    frame = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert list(frame.setting) == ["k2", "k4", "category"] and (frame.n_seeds == 2).all()
    assert list(frame.K[:2]) == [2, 4]
    choice = json.loads((tmp_path / "semantics-selected.json").read_text())
    best = frame.setting[frame.valid_UAUC.idxmax()]
    assert choice["setting"] == best and frame.chosen[frame.setting == best].item() == 1
    assert choice["method"] == ("category" if best == "category" else "kmeans")
    # the choice reads valid alone: rewriting every test metric (of a copy) changes nothing
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_tiny / "reports/studies/k", copy / "reports/studies/k")
    shutil.copy(trained_tiny / "params.yaml", copy / "params.yaml")
    monkeypatch.chdir(copy)
    for path in Path("reports/studies/k/metrics/tiny").rglob("metrics.json"):
        record = json.loads(path.read_text())
        record["test"] = {**record["test"], "UAUC": 1.0 if "k2" in str(path) else 0.0}
        path.write_text(json.dumps(record))
    again = invoke("table", "--table", "k", "--out-dir", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again/semantics-selected.json").read_text()) == choice


def test_params_holds_the_committed_k_study_choice():
    """params.yaml's semantics of the study dataset are the K study's choice (on valid), as
    committed in reports/studies/k/semantics-selected.json (`make select-k`)."""
    from conftest import REPO

    from solidcli.config import load_params

    path = REPO / "reports/studies/k/semantics-selected.json"
    if not path.is_file():
        pytest.skip("the K study has not been run here (make select-k)")
    choice = json.loads(path.read_text())
    params = load_params(REPO / "params.yaml")
    cfg = params.semantics_cfg(choice["dataset"])
    assert cfg.method == choice["method"], "params.yaml disagrees with the K study's choice"
    if cfg.method == "kmeans":
        assert cfg.k == choice["k"], "params.yaml's K is not the K study's choice"
    assert choice["selected_on"].startswith("valid") and choice["complete"]
