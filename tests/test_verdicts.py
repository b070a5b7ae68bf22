"""Paired significance (solidcli.stats, solidcli.pairing), the tables' marks, and the claims
report, on hand-made data and hand-written metrics files with per-user metrics."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from test_table import make_params

from solidcli.errors import SolidError
from solidcli.grid import sweep_tag
from solidcli.layout import PER_USER, RunId, run_metrics_dir
from solidcli.metrics import METRIC_NAMES, evaluate_scores, per_user_metrics
from solidcli.report import claims_report, tables
from solidcli.report.references import CE_GRID, STANDARD, Reference
from solidcli.stats import Paired, compare, correct, holm, seed_test, user_test

SEEDS = (0, 1, 2)
USERS = 400


# ---- the statistics against scipy ----------------------------------------------------------

@pytest.fixture(autouse=True)
def _outside_the_repository(tmp_path: Path, monkeypatch) -> None:
    """Tables and claims read protocols/{authors,ce} relative to the working directory: run
    where there are none, so the repository's committed results never reach a test."""
    monkeypatch.chdir(tmp_path)


def test_seed_test_matches_scipy_and_a_hand_t_interval() -> None:
    a = np.array([0.710, 0.722, 0.705, 0.731, 0.718])
    b = a - np.array([0.020, 0.023, 0.018, 0.021, 0.019])  # always about 0.02 better
    diff, (lo, hi), p = seed_test(a, b)
    assert diff == pytest.approx(0.0202)
    assert p == pytest.approx(sps.ttest_rel(a, b).pvalue) and p < 1e-4
    d = a - b
    half = sps.t.ppf(0.975, df=4) * d.std(ddof=1) / math.sqrt(5)
    assert (lo, hi) == pytest.approx((d.mean() - half, d.mean() + half))
    # noise around zero: not significant, and the interval straddles 0
    c = a + np.array([0.004, -0.006, 0.002, -0.001, 0.0005])
    diff, (lo, hi), p = seed_test(c, a)
    assert p == pytest.approx(sps.ttest_rel(c, a).pvalue) and p > 0.5 and lo < 0 < hi


def test_seed_test_edge_cases() -> None:
    one = seed_test(np.array([0.7]), np.array([0.6]))
    assert one[0] == pytest.approx(0.1) and math.isnan(one[2]) and math.isnan(one[1][0])
    # equal differences up to JSON rounding: no 0/0 t statistic, a clear answer
    a = np.array([0.6, 0.61, 0.63])
    assert seed_test(a + 0.1, a)[2] == 0.0
    assert seed_test(a, a)[2] == 1.0


def test_user_tests_match_scipy() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(2000)
    b = np.clip(a - 0.01 + 0.05 * rng.normal(size=2000), 0, 1)
    diff, p = user_test(a, b, "ttest")
    assert diff == pytest.approx((a - b).mean()) and p == pytest.approx(
        sps.ttest_rel(a, b).pvalue) and p < 0.001
    assert user_test(a, b, "wilcoxon")[1] == pytest.approx(
        sps.wilcoxon(a - b, zero_method="pratt").pvalue)
    perm = user_test(a, b, "permutation")[1]
    assert perm < 0.01 and perm == user_test(a, b, "permutation")[1]  # fixed generator
    same = np.clip(a + 0.05 * rng.normal(size=2000), 0, 1)
    flip = np.where(rng.random(2000) < 0.5, same, a)  # no systematic difference
    assert user_test(flip, a, "ttest")[1] > 0.05
    with pytest.raises(ValueError, match="unknown user test"):
        user_test(a, b, "sign")


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4x, 3x, 2x, 1x -> 0.02, 0.03, 0.06, 0.04 -> monotone
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([0.2, float("nan"), 0.01])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1, and never below a smaller p's


def test_significance_rules() -> None:
    up = Paired("UAUC", 5, 0.01, (0.005, 0.015), 0.01, 100, 0.01, 0.001)
    assert up.significant(0.05) == 1 and up.significant(0.005) == 0
    assert up.significant(0.05, "seeds") == 1 and up.significant(0.005, "users") == 1
    disagree = Paired("UAUC", 5, 0.01, (0.0, 0.02), 0.01, 100, -0.002, 0.001)
    assert disagree.significant(0.05) == 0  # the two tests point different ways
    no_users = Paired("NDCG@10", 5, 0.01, (0.0, 0.02), 0.001, 0, math.nan, math.nan)
    assert no_users.significant(0.05) == 0 and no_users.significant(0.05, "seeds") == 1
    auc = Paired("AUC", 5, -0.01, (-0.02, -0.005), 0.001, 0, math.nan, math.nan)
    assert auc.significant(0.05) == -1 and auc.significant(0.05, "users") == -1
    one_seed = Paired("UAUC", 1, 0.01, (math.nan, math.nan), math.nan, 100, 0.01, 0.001)
    assert one_seed.significant(0.05) == 1 and one_seed.significant(0.05, "seeds") == 0


def test_correct_adjusts_each_kind_of_test() -> None:
    fam = [Paired("UAUC", 5, 0.01, (0, 0), 0.01, 10, 0.01, 0.02),
           Paired("UAUC", 5, 0.01, (0, 0), 0.04, 10, 0.01, 0.01)]
    out = correct(fam, "holm")
    assert [c.p_seeds for c in out] == pytest.approx([0.02, 0.04])
    assert [c.p_users for c in out] == pytest.approx([0.02, 0.02])
    assert correct(fam, "none") == fam


def test_per_user_metrics_average_to_the_table_metrics() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(300, 20)).round(1)  # many ties
    labels = np.zeros_like(scores, dtype=bool)
    labels[np.arange(300), rng.integers(0, 20, 300)] = True
    labels[:7] = False  # users without a positive: NaN, not counted
    for ties in ("conservative", "average", "optimistic"):
        agg = evaluate_scores(scores, labels, ties=ties)
        per = per_user_metrics(scores, labels, ties=ties)
        assert np.isnan(per["AUC"][:7]).all() and np.isnan(per["NDCG@10"][:7]).all()
        assert np.nanmean(per["AUC"]) == pytest.approx(agg["UAUC"], rel=1e-12)
        for m in ("NDCG@10", "Recall@10", "NDCG@20", "Recall@20"):
            assert np.nanmean(per[m]) == pytest.approx(agg[m], rel=1e-12)


# ---- hand-written evaluated runs with per-user metrics -------------------------------------

def write_evaluated(root: Path, run: RunId, level: float, noise: float = 0.02,
                    seeds=SEEDS, per_user: bool = True, salt: int = 0) -> RunId:
    """Seeds of one configuration: each user's metrics are level + user effect + seed noise;
    metrics.json holds their means (AUC: UAUC's value)."""
    users_rng = np.random.default_rng(12345)
    base = users_rng.normal(0, 0.1, USERS)  # the same users' difficulty for every run
    for seed in seeds:
        rng = np.random.default_rng([seed, salt, int(level * 1e4)])
        per = {m: np.clip(level + base + noise * rng.normal(size=USERS), 0, 1)
               for m in ("AUC", "NDCG@10", "Recall@10", "NDCG@20", "Recall@20")}
        test = {"AUC": float(per["AUC"].mean()), "UAUC": float(per["AUC"].mean()),
                **{m: float(per[m].mean()) for m in METRIC_NAMES[2:]}, "users": USERS}
        seeded = run.with_seed(seed)
        folder = run_metrics_dir(seeded, root)
        folder.mkdir(parents=True)
        rec = {"dataset": run.dataset, "backbone": run.backbone, "dsr": run.dsr,
               "variant": run.variant, "tag": run.tag, "seed": seed, "lambda": None, "T": None,
               "protocol": "sampled 1+99", "valid": test, "test": test}
        (folder / "metrics.json").write_text(json.dumps(rec))
        if per_user:
            pd.DataFrame({"user": np.arange(1, USERS + 1), **per}).to_parquet(
                folder / PER_USER, index=False)
    return run


def _run(backbone: str, dsr: str, variant: str, tag: str | None = None) -> RunId:
    return RunId("scientific", backbone, dsr, variant, tag)


def _grid(*roots: Path) -> tuple[Reference, ...]:
    """The ce-trained grid's parts (`CE_GRID`: every-item ce, then DIN's sampled-ce)
    read from `roots` instead."""
    return tuple(replace(ref, root=root) for ref, root in zip(CE_GRID, roots, strict=False))


def _standard(root: Path) -> Reference:
    return replace(STANDARD, root=root)


@pytest.fixture
def evaluated(tmp_path: Path):
    """SASRec: Ours (DUET) far above DUET; BERT4Rec: Ours (DUET) far below DUET; '-' level
    with DUET (noise only); the study model's ablation, modality and sweep runs."""
    params = make_params(tmp_path, modalities=["text", "id+text", "id+text+image"])
    r = tmp_path / "metrics"
    write_evaluated(r, _run("sasrec", "none", "base"), 0.60, salt=1)
    write_evaluated(r, _run("sasrec", "duet", "base"), 0.60, salt=2)
    write_evaluated(r, _run("sasrec", "duet", "scl"), 0.66)
    write_evaluated(r, _run("bert4rec", "none", "base"), 0.60, salt=3)
    write_evaluated(r, _run("bert4rec", "duet", "base"), 0.60, salt=4)
    write_evaluated(r, _run("bert4rec", "duet", "scl"), 0.54)
    for variant, level in (("spg", 0.62), ("sml", 0.58), ("scl_only", 0.63)):
        write_evaluated(r, _run("sasrec", "duet", variant), level)
    for mods, level in (("text", 0.64), ("id+text", 0.65), ("id+text+image", 0.63)):
        write_evaluated(r, _run("sasrec", "duet", "scl", f"mod-{mods}"), level)
    for lam, t, level in ((1.0, 0.1, 0.50), (1.0, 0.01, 0.62), (0.1, 0.1, 0.55),
                          (0.1, 0.01, 0.66)):
        write_evaluated(r, _run("sasrec", "duet", "scl", f"lam{sweep_tag(lam)}-T{sweep_tag(t)}"),
                        level)
    return params, r


def test_pairs_need_the_same_users_and_name_bad_files(evaluated) -> None:
    from solidcli.pairing import PerUser, pair
    from solidcli.results import read_result

    _params, r = evaluated
    ours = [read_result(r, _run("sasrec", "duet", "scl").with_seed(s)) for s in SEEDS]
    duet = [read_result(r, _run("sasrec", "duet", "base").with_seed(s)) for s in SEEDS]
    p = pair(ours, duet, "NDCG@10", PerUser())
    assert p.n_seeds == 3 and p.n_users == USERS and p.diff == pytest.approx(0.06, abs=0.01)
    assert p.significant(0.05) == 1
    auc = pair(ours, duet, "AUC", PerUser())
    assert auc.n_users == 0 and math.isnan(auc.p_users)  # pooled AUC: no user test
    bad = run_metrics_dir(_run("sasrec", "duet", "base").with_seed(1), r) / PER_USER
    frame = pd.read_parquet(bad)
    frame["user"] = frame["user"][::-1].to_numpy()
    frame.to_parquet(bad, index=False)
    with pytest.raises(SolidError, match="different test users"):
        pair(ours, duet, "UAUC", PerUser())
    bad.write_bytes(b"not parquet")
    with pytest.raises(SolidError, match=f"corrupt per-user metrics file {bad}.*solid evaluate"):
        pair(ours, duet, "UAUC", PerUser())


def test_table1_marks_bold_stats_and_legend(evaluated, tmp_path: Path) -> None:
    params, r = evaluated
    md, _, _ = tables.run(1, "markdown", params, r, None)
    rows = {line.split(" | ")[0] + " | " + line.split(" | ")[1]: line
            for line in md.splitlines() if line.startswith("| ") and "---" not in line}
    sas, bert = rows["| SASRec | Ours (DUET)"], rows["| BERT4Rec | Ours (DUET)"]
    assert sas.count("†") == len(METRIC_NAMES) and sas.count("**") == 2 * len(METRIC_NAMES)
    assert bert.count("‡") == len(METRIC_NAMES) and "**" not in bert
    assert "†" not in rows["| SASRec | DUET"] and "‡" not in rows["| SASRec | DUET"]
    assert "12 comparisons, uncorrected" in md and "unmarked" not in md
    stats_md, _, _ = tables.run(1, "markdown", params, r, None, stats=True, correction="holm")
    assert "12 comparisons, Holm-corrected" in stats_md
    assert "[Δ +0.06" in stats_md and "[Δ -0.06" in stats_md and "p <0.001 / <0.001" in stats_md
    rows_csv = list(csv.reader(tables.run(1, "csv", params, r, None, stats=True)[0]
                               .splitlines()))
    head = rows_csv[0]
    assert head[4:12] == ["AUC", "AUC_sd", "AUC_delta", "AUC_delta_low", "AUC_delta_high",
                          "AUC_p_seeds", "AUC_p_users", "AUC_sig"]
    sas_csv = next(x for x in rows_csv if x[1] == "SASRec" and x[2] == "SOLID-DUET")
    assert sas_csv[head.index("UAUC_sig")] == "1" and sas_csv[head.index("AUC_p_users")] == ""
    assert float(sas_csv[head.index("UAUC_delta_low")]) > 0
    tex, _, _ = tables.run(1, "latex", params, r, None)
    assert r"\textbf{" in tex and r"$^{\dagger}$" in tex and r"$^{\ddagger}$" in tex
    assert r"\footnotesize $\dagger$/$\ddagger$: significantly above/below" in tex
    with pytest.raises(SolidError, match="unknown correction 'bonferroni'"):
        tables.run(1, "markdown", params, r, None, correction="bonferroni")


def test_claims_report_verdicts(evaluated, tmp_path: Path) -> None:
    params, r = evaluated
    out = tmp_path / "out"
    text, written, (report, full) = claims_report.run(params, r, out, authors_root=tmp_path / "no")
    assert [p.name for p in written] == ["claims.md", "claims.csv"]
    assert (out / "claims.md").read_text() == text
    # metrics without test_users.parquet: section B says why it is not run, the rest stands
    assert "## B: the paper's mechanism" in text and "Not run: missing" in text
    rows = {(row["id"], row["metric"]): row
            for row in csv.DictReader((out / "claims.csv").read_text().splitlines())
            if row["metrics"] == "sampled"}
    for m in METRIC_NAMES:
        assert rows[("T1.scientific.sasrec.ours-duet>duet", m)]["verdict"] == "supported"
        assert rows[("T1.scientific.bert4rec.ours-duet>duet", m)]["verdict"] == "contradicted"
        assert rows[("T1.scientific.sasrec.duet>none", m)]["verdict"] == "inconclusive"
        # the full method (0.66) beats SPG (0.62), SML (0.58), SCL alone (0.63), DUET (0.60)
        for rival in ("base", "spg", "sml", "scl_only"):
            assert rows[(f"T2.full>{rival}", m)]["verdict"] == "supported"
        assert rows[("T2.sml>spg", m)]["verdict"] == "contradicted"  # 0.58 < 0.62
        assert rows[("T3.id+text>id+image+text", m)]["verdict"] == "supported"
        assert rows[("T3.text>image", m)]["verdict"] == "not run"  # no image-only run
        assert rows[("T4.lambda0.1-best", m)]["verdict"] == "supported"  # 0.66 vs 0.62
        assert rows[("T5.T1-collapses", m)]["verdict"] == "not run"  # T = 1 not in study.Ts
    row = rows[("T1.scientific.sasrec.ours-duet>duet", "UAUC")]
    assert float(row["diff"]) == pytest.approx(0.06, abs=0.01)
    assert float(row["ci_low"]) < float(row["diff"]) < float(row["ci_high"])
    assert float(row["p_seeds"]) >= float(row["p_seeds_raw"])  # Holm only raises p
    assert row["paper_a"] == "0.6738" and row["paper_rival"] == "0.6555"
    assert row["paper_agrees"] == "1"
    counts = report.counts()
    assert f"**{counts['supported']} supported, {counts['contradicted']} contradicted" in text
    # these files have no full-ranking metrics: every full-ranking row says so
    assert {r.verdict for r in full.rows} == {"not run"}
    assert all("no full-ranking metrics" in r.missing[0] or "not in study" in r.missing[0]
               for r in full.rows)
    assert "Holm-corrected within each claim" in text
    assert "| T1.ours>dsr: our proposed methods significantly outperform" in text
    assert "(not run: image not in study.modalities) |" in text
    assert "(not run: T = 1 not in study.Ts) |" in text
    assert "The authors' code's protocol (protocols/authors: Table 1's runs only, sampled metrics, " \
           "checkpoint chosen on TEST): not run" in text


def test_claims_without_any_run(tmp_path: Path) -> None:
    params = make_params(tmp_path)
    with pytest.raises(SolidError, match="no metrics folder"):
        claims_report.run(params, tmp_path / "nothing", None)
    with pytest.raises(SolidError, match="unknown correction"):
        claims_report.run(params, tmp_path, None, correction="bonferroni")


def test_claims_report_answers_first_with_one_verdict_per_claim(evaluated,
                                                                 tmp_path: Path) -> None:
    """Issue 30: the answer up front, one verdict per claim of its kind, each comparison's
    effect against the paper's with its power, and today's rule kept to compare with."""
    params, r = evaluated
    out = tmp_path / "out"
    text, _, (report, _) = claims_report.run(params, r, out, authors_root=tmp_path / "no")
    assert text.startswith("# The paper's claims, tested\n\n**Which claims hold.**")
    assert "**How large SOLID's gain is.**" in text and "**How sure.**" in text
    # Ours beats its DSR: SASRec far above, BERT4Rec far below -> the 'every' claim fails
    assert report.claim("T1.ours>dsr")[0] == "contradicted"
    assert report.claim("T2.full-best")[0] == "supported"  # a 'best' claim, Holm over 24
    assert claims_report.family_kind("T1.ours>dsr") == "all"
    assert claims_report.family_kind("T3.not-all-three") == "any"
    assert "| Table 1, Scientific | every | **contradicted** |" in text
    rows = [row for row in csv.DictReader((out / "claims.csv").read_text().splitlines())
            if row["metrics"] == "sampled" and row["family"] == "T1.ours>dsr"]
    sas = next(x for x in rows if x["id"] == "T1.scientific.sasrec.ours-duet>duet"
               and x["metric"] == "UAUC")
    assert sas["claim_kind"] == "all" and sas["claim_verdict"] == "contradicted"
    assert sas["test"] == "mixed" and float(sas["p_mixed"]) < 0.05
    assert float(sas["mixed_ci_low"]) > 0 and float(sas["mde"]) > 0
    # the paper's SASRec Ours (DUET) - DUET UAUC: 0.6738 - 0.6555; ours +0.06: above it
    assert float(sas["paper_diff"]) == pytest.approx(0.0183, abs=1e-6)
    assert sas["magnitude"] == "as large as claimed" and sas["alpha_comparison"] == "0.05"
    assert sas["seeds_for_paper_diff"] != ""
    bert = next(x for x in rows if x["id"] == "T1.scientific.bert4rec.ours-duet>duet"
                and x["metric"] == "UAUC")
    assert bert["magnitude"] == "reversed" and bert["paper_diff"] == ""  # no BERT4Rec row
    assert "## Effect against the paper's, and power" in text
    assert "verdicts change**" in text
    # today's rule as the option: the two runs swap their verdict columns
    old_text, _, (old, _) = claims_report.run(params, r, None, authors_root=tmp_path / "no",
                                       test="seed-and-user")
    assert old.test == "seed-and-user" and "Today's rule: a paired t-test" in old_text
    for new_row, old_row in zip(report.rows, old.rows, strict=True):
        assert (new_row.verdict, new_row.verdict_other) == (old_row.verdict_other,
                                                            old_row.verdict)
    with pytest.raises(SolidError, match="unknown claims test"):
        claims_report.run(params, r, None, authors_root=tmp_path / "no", test="bootstrap")


def test_compare_rejects_unpaired_user_arrays() -> None:
    with pytest.raises(ValueError, match="do not pair"):
        compare("UAUC", np.ones(2), np.ones(2), np.ones((2, 3)), np.ones((2, 4)))


def test_full_ranking_metrics_by_hand() -> None:
    from solidcli.metrics import full_ranking_metrics

    # columns: padding, items 1..6
    scores = np.array([[9.0, 0.1, 0.9, 0.5, 0.8, 0.5, 0.2],
                       [9.0, 0.3, 0.3, 0.7, 0.1, 0.3, 0.0]])
    targets = np.array([3, 2])
    # user 0 saw items 2 and 4 (both above the target: excluded) and the padding never counts:
    # the target 0.5 ties with item 5 -> rank 2 (conservative), 1.5 (average), 1 (optimistic)
    # user 1 saw item 2 before (its own target stays a candidate) and item 3 (excluded): the
    # target 0.3 ties with items 1 and 5 -> rank 3 / 2 / 1
    hists = [np.array([2, 4]), np.array([2, 3])]
    got = full_ranking_metrics(scores, targets, hists, ks=(1, 2), ties="conservative")
    assert got["MRR"] == pytest.approx([1 / 2, 1 / 3])
    assert got["Recall@1"] == pytest.approx([0, 0]) and got["Recall@2"] == pytest.approx([1, 0])
    assert got["NDCG@2"] == pytest.approx([1 / math.log2(3), 0])
    avg = full_ranking_metrics(scores, targets, hists, ks=(1, 2), ties="average")
    assert avg["MRR"] == pytest.approx([1 / 1.5, 1 / 2])
    opt = full_ranking_metrics(scores, targets, hists, ks=(1, 2), ties="optimistic")
    assert opt["MRR"] == pytest.approx([1, 1]) and opt["NDCG@1"] == pytest.approx([1, 1])
    bad = scores.copy()
    bad[1, 4] = np.nan
    with pytest.raises(SolidError, match="NaN or infinite scores for 1 of 2 users"):
        full_ranking_metrics(bad, targets, hists)


def test_the_authors_protocol_beside_ours(evaluated, tmp_path: Path) -> None:
    """`--compare protocols` and the claims report's column read the same runs evaluated under
    the authors' protocol (here: SASRec's Ours (DUET) level with DUET there)."""
    params, r = evaluated
    other = tmp_path / "authors"
    write_evaluated(other, _run("sasrec", "duet", "base"), 0.70, salt=5)
    write_evaluated(other, _run("sasrec", "duet", "scl"), 0.70, salt=6)
    md, _, _ = tables.run(1, "markdown", params, r, None, compare="protocols",
                         authors_root=other)
    line = next(x for x in md.splitlines() if x.startswith("| SASRec | Ours (DUET)"))
    # ours (bold, above DUET) / the authors'-protocol mean ± sd / the paper's AUC
    assert re.search(r"\| \*\*0\.65\d\d\*\* ± 0\.\d{4}† / 0\.69\d\d ± 0\.\d{4} / 0\.7111 \|",
                     line), line
    assert "| BERT4Rec | DUET |" in md and "/ not run /" in md
    assert "ours under the authors' code's protocol (TEST-SELECTED" in md
    tex, _, _ = tables.run(1, "latex", params, r, None, compare="protocols", authors_root=other)
    assert "Paper prot. & Authors' & Paper" in tex
    rows = list(csv.reader(tables.run(1, "csv", params, r, None, compare="protocols",
                                     authors_root=other)[0].splitlines()))
    assert rows[0][4:9] == ["AUC", "AUC_sd", "AUC_authors", "AUC_authors_sd", "AUC_paper"]
    with pytest.raises(SolidError, match="--compare protocols is Table 1's"):
        tables.run(2, "markdown", params, r, None, compare="protocols", authors_root=other)
    with pytest.raises(SolidError, match="no authors'-protocol metrics"):
        tables.run(1, "markdown", params, r, None, compare="protocols",
                  authors_root=tmp_path / "none")
    text, _, _ = claims_report.run(params, r, tmp_path / "out", authors_root=other)
    verdicts = {(row["metrics"], row["id"], row["metric"]): row["verdict"] for row in
                csv.DictReader((tmp_path / "out" / "claims.csv").read_text().splitlines())}
    key = "T1.scientific.sasrec.ours-duet>duet"
    assert verdicts[("sampled", key, "UAUC")] == "supported"
    assert verdicts[("authors", key, "UAUC")] == "inconclusive"
    assert verdicts[("authors", "T1.scientific.bert4rec.ours-duet>duet", "UAUC")] == "not run"
    assert "| **supported** | " in text and "| inconclusive |" in text


def test_the_ce_trained_grid_beside_ours(evaluated, tmp_path: Path) -> None:
    """Issue 12: Table 1's reference rows `<SR> (CE)`, `--compare losses` and claims section C
    read the same runs trained under `train.loss: ce` (here: SASRec's DUET trained under ce
    as high as Ours (DUET), BERT4Rec not trained under ce)."""
    params, r = evaluated
    ce = tmp_path / "ce"
    write_evaluated(ce, _run("sasrec", "none", "base"), 0.62, salt=7)
    write_evaluated(ce, _run("sasrec", "duet", "base"), 0.70, salt=8)
    write_evaluated(ce, _run("sasrec", "duet", "scl"), 0.64, salt=9)
    md, _, _ = tables.run(1, "markdown", params, r, None, ce=_grid(ce))
    lines = md.splitlines()
    ref = next(i for i, x in enumerate(lines) if x.startswith("| SASRec (CE) | DUET"))
    assert lines[ref - 1].startswith("| SASRec (CE) | - |")  # after SASRec's own rows
    assert lines[ref - 2].startswith("| SASRec | Ours (DUET)")
    assert re.search(r"\| \*\*0\.69\d\d\*\* ± 0\.\d{4} \|", lines[ref]), lines[ref]  # bold: best
    assert "Ours (DUET) | 0.65" in lines[ref - 2]  # no longer the block's best
    assert "BERT4Rec (CE)" not in md and "(CE): the baselines trained with softmax" in md
    assert "standard encoder" not in md  # no protocols/ce-standard runs given
    standard = tmp_path / "standard"  # SASRec alone under ce with the standard encoder
    write_evaluated(standard, _run("sasrec", "none", "base"), 0.66, salt=10)
    md, _, _ = tables.run(1, "markdown", params, r, None, ce=_grid(ce),
                         standard=_standard(standard))
    lines = md.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("| SASRec (CE, standard encoder)"))
    assert lines[at].startswith("| SASRec (CE, standard encoder) | - |")
    assert lines[at - 1].startswith("| SASRec (CE) | DUET")  # after the (CE) rows
    assert len([x for x in lines if "standard encoder) |" in x]) == 1
    assert "(CE, standard encoder): SASRec's baselines so trained, with the standard encoder" in md
    md, _, _ = tables.run(1, "markdown", params, r, None, compare="losses", ce=_grid(ce))
    line = next(x for x in md.splitlines() if x.startswith("| SASRec | Ours (DUET)"))
    # bce (bold, above DUET) / ce: below the ce-trained DUET (‡), not bold there
    assert re.search(r"\| \*\*0\.65\d\d\*\* ± 0\.\d{4}† / 0\.63\d\d ± 0\.\d{4}‡ \|", line), line
    assert "(CE)" not in md and "| BERT4Rec | DUET |" in md and "/ not run |" in md
    rows = list(csv.reader(tables.run(1, "csv", params, r, None, compare="losses",
                                     ce=_grid(ce))[0].splitlines()))
    assert rows[0][4:9] == ["AUC", "AUC_sd", "AUC_ce", "AUC_ce_sd", "AUC_ce_sig"]
    assert "BCE & CE & $\\Delta$" in tables.run(1, "latex", params, r, None, compare="losses",
                                               ce=_grid(ce))[0]
    with pytest.raises(SolidError, match="--compare losses is Table 1's"):
        tables.run(2, "markdown", params, r, None, compare="losses", ce=_grid(ce))
    with pytest.raises(SolidError, match="make repro-ce"):
        tables.run(1, "markdown", params, r, None, compare="losses",
                  ce=_grid(tmp_path / "none"))
    text, _, _ = claims_report.run(params, r, tmp_path / "out", authors_root=tmp_path / "no",
                            references=_grid(ce))
    section = text[text.index("## C: SOLID beats the best baseline"):]
    # SASRec: the best baseline on valid is DUET under ce (0.70) > Ours (DUET) under bce (0.66,
    # the better of SOLID's two objectives on valid): contradicted; BERT4Rec: no ce runs
    assert "SASRec Ours (DUET) [bce] vs SASRec DUET [ce] | UAUC" in section
    assert "BERT4Rec" not in section
    verdicts = {(row["id"], row["metric"]): row["verdict"] for row in
                csv.DictReader((tmp_path / "out" / "claims.csv").read_text().splitlines())}
    assert verdicts[("C.scientific.sasrec.ours-duet>best", "UAUC")] == "contradicted"
    text, _, _ = claims_report.run(params, r, None, authors_root=tmp_path / "no",
                            references=_grid(tmp_path / "none"))
    assert "Not run: no ce-trained Table 1" in text


def test_the_ce_grid_read_in_two_parts(evaluated, tmp_path: Path) -> None:
    """Issue 12: the ce-trained grid trained in two projects (protocols/ce; DIN's sampled-ce
    in protocols/ce-din, here BERT4Rec's runs) reads as one: each part's reference rows under
    its own suffix, `--compare losses` and section C naming each part's objective, and a run
    that both parts hold read from the first."""
    from solidcli.results import read_results

    params, r = evaluated
    ce, part = tmp_path / "ce", tmp_path / "ce-din"
    write_evaluated(ce, _run("sasrec", "none", "base"), 0.62, salt=7)
    write_evaluated(ce, _run("sasrec", "duet", "base"), 0.64, salt=8)
    write_evaluated(ce, _run("sasrec", "duet", "scl"), 0.70, salt=9)
    write_evaluated(part, _run("bert4rec", "none", "base"), 0.58, salt=11)
    write_evaluated(part, _run("bert4rec", "duet", "base"), 0.59, salt=12)
    write_evaluated(part, _run("bert4rec", "duet", "scl"), 0.61, salt=13)
    write_evaluated(part, _run("sasrec", "duet", "scl"), 0.20, salt=14)  # shadowed by ce's
    found, missing = read_results([ce, part, tmp_path / "absent"],
                                  [_run("sasrec", "duet", "scl")], list(SEEDS))
    assert not missing and all(x.path.is_relative_to(ce) for x in found[_run(
        "sasrec", "duet", "scl")])
    with pytest.raises(SolidError, match="no metrics folder .*absent or .*gone"):
        read_results([tmp_path / "absent", tmp_path / "gone"], [], [0])
    md, _, _ = tables.run(1, "markdown", params, r, None, ce=_grid(ce, part))
    assert "| BERT4Rec (sampled CE) | - |" in md and "| SASRec (CE) | - |" in md
    assert "| BERT4Rec (CE) |" not in md and "| SASRec (sampled CE) |" not in md
    assert ("(sampled CE): the baselines trained with softmax cross-entropy over the positive "
            "and 100 sampled negatives (train.loss: sampled-ce, protocols/ce-din)") in md
    md, _, _ = tables.run(1, "markdown", params, r, None, compare="losses", ce=_grid(ce, part))
    line = next(x for x in md.splitlines() if x.startswith("| BERT4Rec | Ours (DUET)"))
    # bce: far below DUET (‡) / sampled-ce: above the sampled-ce DUET (†), bold there
    assert re.search(r"\| 0\.5[34]\d\d ± 0\.\d{4}‡ / \*\*0\.6[01]\d\d\*\* ± 0\.\d{4}† \|",
                     line), line
    assert "not run" not in md.split("\n\n", 1)[1]
    assert ("softmax cross-entropy over every item (train.loss: ce, protocols/ce: SASRec) or "
            "softmax cross-entropy over the positive and 100 sampled negatives (train.loss: "
            "sampled-ce, protocols/ce-din: BERT4Rec)") in md
    text, _, _ = claims_report.run(params, r, None, authors_root=tmp_path / "no",
                            references=_grid(ce, part))
    section = text[text.index("## C: SOLID beats the best baseline"):]
    # BERT4Rec: SOLID is best under sampled-ce on valid, the best baseline DUET under bce
    assert "BERT4Rec Ours (DUET) [sampled-ce] vs BERT4Rec DUET [bce] | UAUC" in section
    assert "SASRec Ours (DUET) [ce] vs SASRec DUET [ce] | UAUC" in section
    assert "[sampled-ce]: softmax cross-entropy over the positive and 100 sampled" in section
    # a third way of training SASRec (the standard encoder) joins both sides' choices
    std = tmp_path / "standard"
    write_evaluated(std, _run("sasrec", "none", "base"), 0.66, salt=15)
    write_evaluated(std, _run("sasrec", "duet", "scl"), 0.75, salt=16)
    text, _, _ = claims_report.run(params, r, None, authors_root=tmp_path / "no",
                            references=(*_grid(ce, part), _standard(std)))
    section = text[text.index("## C: SOLID beats the best baseline"):]
    assert ("SASRec Ours (DUET) [ce, standard encoder] vs SASRec - [ce, standard encoder] | "
            "UAUC") in section
    assert "[ce, standard encoder]: softmax cross-entropy over every item (protocols/ce-standard)" \
        in section
