"""Issue 30: the one test over seeds and users (`solidcli.stats.mixed_test`), checked by
simulation (coverage, false-positive rate), the claim-level verdict on hand-made families,
the magnitude reading on hand-made intervals, and the power computations against the t-test's
closed form and against simulation. Vectorised, fixed seeds: a few seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from solidcli.stats import (
    Paired,
    claim_verdict,
    compare,
    holm,
    magnitude,
    min_detectable,
    mixed_test,
    mixed_tests,
    power,
    seeds_needed,
    standard_error,
    verdict,
)

ALPHA = 0.05
S, U, R = 5, 300, 4000  # seeds, users, simulated experiments
# the Monte-Carlo error allowed on a rate of alpha over R experiments (two standard errors)
SLACK = 2 * math.sqrt(ALPHA * (1 - ALPHA) / R)
# per-user differences d = effect + seed + user + residual: standard deviations of each
SCENARIOS = {
    "seeds only": (0.02, 0.0, 0.01),  # retraining noise only: the seed t-test's case
    # like Table 1's sampled metrics: var(seed) / S, var(user) / U and var(e) / (SU) alike
    "like Table 1": (0.0058, 0.045, 0.1),
    "seeds dominate": (0.0116, 0.045, 0.1),  # where uncapped Satterthwaite df ran liberal
    "seeds and users": (0.01, 0.05, 0.1),
    "users dominate": (0.004, 0.08, 0.1),
    "no seed variance": (0.0, 0.05, 0.1),
}


def _simulate(rng: np.random.Generator, effect: float, sds: tuple[float, float, float],
              n: int = R, seeds: int = S, users: int = U) -> np.ndarray:
    s_sd, u_sd, e_sd = sds
    return (effect + s_sd * rng.normal(size=(n, seeds, 1)) + u_sd * rng.normal(size=(n, 1, users))
            + e_sd * rng.normal(size=(n, seeds, users)))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mixed_interval_covers_and_holds_its_level(name: str) -> None:
    """The 95% interval covers a known effect 93-97% of the time, and with no effect the test
    rejects at most alpha of the time (up to Monte-Carlo error)."""
    rng = np.random.default_rng(30)
    sds = SCENARIOS[name]
    effect = 0.01
    got = mixed_tests(_simulate(rng, effect, sds))
    coverage = np.mean((got["low"] <= effect) & (effect <= got["high"]))
    assert 0.93 <= coverage <= 0.97, (name, coverage)
    null = mixed_tests(_simulate(rng, 0.0, sds))
    false_positive = np.mean(null["p"] < ALPHA)
    assert false_positive <= ALPHA + SLACK, (name, false_positive)


def test_the_seed_test_alone_ignores_the_users_sampled() -> None:
    """Why one test for both: every seed scores the same users, so the seed means share the
    users' draw and a t-test over them rejects far more than alpha when users vary; the one
    test does not."""
    rng = np.random.default_rng(31)
    d = _simulate(rng, 0.0, SCENARIOS["users dominate"])
    seed_only = sps.ttest_1samp(d.mean(axis=-1), 0.0, axis=-1).pvalue
    assert np.mean(seed_only < ALPHA) > 3 * ALPHA
    assert np.mean(mixed_tests(d)["p"] < ALPHA) <= ALPHA + SLACK


def test_a_two_level_bootstrap_is_too_narrow_with_five_seeds() -> None:
    """The alternative the module docstring turns down: resampling seeds (and users) gives a
    percentile interval that covers well below 95% when retraining noise dominates, with 5
    seeds (about 87%); the one test's t interval covers 95%."""
    rng = np.random.default_rng(32)
    n, users, draws = 400, 40, 400
    d = _simulate(rng, 0.0, SCENARIOS["seeds only"], n=n, users=users)
    seed_w = rng.multinomial(S, [1 / S] * S, size=(n, draws)).astype(np.float64)
    user_w = rng.multinomial(users, [1 / users] * users, size=(n, draws)).astype(np.float64)
    boot = np.einsum("rbs,rsu,rbu->rb", seed_w, d, user_w) / (S * users)
    lo, hi = np.quantile(boot, [0.025, 0.975], axis=1)
    assert np.mean((lo <= 0) & (hi >= 0)) < 0.90
    got = mixed_tests(d)
    assert 0.93 <= np.mean((got["low"] <= 0) & (got["high"] >= 0)) <= 0.97


def test_mixed_test_by_hand() -> None:
    """The ANOVA mean squares and Satterthwaite's degrees of freedom written out on a small
    table, and the edge cases."""
    d = np.array([[0.3, 0.1, 0.5, 0.2], [0.6, 0.2, 0.4, 0.5], [0.1, 0.0, 0.3, 0.2]])
    n_s, n_u = d.shape
    m = d.mean()
    ms_s = n_u * sum((d[i].mean() - m) ** 2 for i in range(n_s)) / (n_s - 1)
    ms_u = n_s * sum((d[:, j].mean() - m) ** 2 for j in range(n_u)) / (n_u - 1)
    ms_e = sum((d[i, j] - d[i].mean() - d[:, j].mean() + m) ** 2
               for i in range(n_s) for j in range(n_u)) / ((n_s - 1) * (n_u - 1))
    assert ms_s > ms_e and ms_u > ms_e  # both components positive here
    combo = ms_s + ms_u - ms_e
    df = combo ** 2 / (ms_s ** 2 / (n_s - 1) + ms_u ** 2 / (n_u - 1)
                       + ms_e ** 2 / ((n_s - 1) * (n_u - 1)))
    df = min(df, (n_s - 1) / (ms_s / combo))  # the cap: seeds' df over the seed share
    se = math.sqrt(combo / (n_s * n_u))
    mean, (lo, hi), p, got_df, comps = mixed_test(d)
    assert mean == pytest.approx(m) and got_df == pytest.approx(df)
    assert (lo, hi) == pytest.approx((m - sps.t.ppf(0.975, df) * se, m + sps.t.ppf(0.975, df) * se))
    assert p == pytest.approx(2 * sps.t.sf(m / se, df))
    assert comps == pytest.approx(((ms_s - ms_e) / n_u, (ms_u - ms_e) / n_s, ms_e))
    # no user variance at all (every user the same within a seed): the seed t-test exactly
    flat = np.repeat(np.array([[0.02], [0.03], [0.01], [0.025], [0.015]]), 50, axis=1)
    flat = flat + 1e-9 * np.arange(50)  # a trace of user spread, far below the seeds'
    t = sps.ttest_1samp(flat.mean(axis=1), 0.0)
    assert mixed_test(flat)[2] == pytest.approx(t.pvalue, rel=1e-4)
    assert math.isnan(mixed_test(d[:1])[2])  # one seed: retraining noise unknown, no test
    assert mixed_test(np.zeros((3, 4)))[2] == 1.0 and mixed_test(np.ones((3, 4)))[2] == 0.0
    with pytest.raises(ValueError, match="finite seeds x users"):
        mixed_test(np.array([[0.1, np.nan], [0.2, 0.3]]))


def test_compare_carries_the_one_test() -> None:
    rng = np.random.default_rng(33)
    a = rng.random((S, 200))
    b = np.clip(a - 0.05 + 0.01 * rng.normal(size=(S, 200)), 0, 1)
    p = compare("UAUC", a.mean(1), b.mean(1), a, b)
    assert p.p_mixed < ALPHA and p.mixed_ci[0] > 0 and p.significant(ALPHA, "mixed") == 1
    assert p.components[2] > 0 and p.mixed_df > 0
    auc = compare("AUC", a.mean(1), b.mean(1), a, b)  # pooled: no user test, the seed test
    auc = compare("AUC", a.mean(1), b.mean(1))
    assert auc.p_mixed == auc.p_seeds and auc.mixed_ci == auc.ci
    none = compare("UAUC", a.mean(1), b.mean(1))  # no per-user files: no one test
    assert math.isnan(none.p_mixed) and none.significant(ALPHA, "mixed") == 0


# ---- the claim's verdict ----------------------------------------------------------------

def _pair(p: float, diff: float) -> Paired:
    return Paired("UAUC", S, diff, (diff - 0.01, diff + 0.01), math.nan, U, diff, math.nan,
                  (diff - 0.01, diff + 0.01), p, 10.0, (1e-4, 1e-3, 1e-2))


def test_intersection_union_verdict_on_hand_made_families() -> None:
    """An 'every' claim: each comparison judged at alpha (no correction), supported only if
    all are significant the claimed way, contradicted if any is significantly against."""
    all_sig = [_pair(0.01, 0.02) for _ in range(48)]
    rows = [verdict([p.significant(ALPHA, "mixed")], 1) for p in all_sig]
    assert claim_verdict(rows, "all") == "supported"
    # Holm over the 48 would have lost every one: p 0.01 x 48 > alpha
    assert all(x > ALPHA for x in holm([p.p_mixed for p in all_sig]))
    one_failing = all_sig[:-1] + [_pair(0.2, 0.005)]
    rows = [verdict([p.significant(ALPHA, "mixed")], 1) for p in one_failing]
    assert rows[-1] == "inconclusive" and claim_verdict(rows, "all") == "inconclusive"
    one_against = all_sig[:-1] + [_pair(0.01, -0.02)]
    rows = [verdict([p.significant(ALPHA, "mixed")], 1) for p in one_against]
    assert rows[-1] == "contradicted" and claim_verdict(rows, "all") == "contradicted"
    # a direction -1 claim ("T = 1 collapses"): significantly below is what it claims
    assert verdict([_pair(0.01, -0.02).significant(ALPHA, "mixed")], -1) == "supported"
    # a comparison not run keeps an 'every' claim from support, never makes it contradicted
    assert claim_verdict(["supported", "not run"], "all") == "inconclusive"
    assert claim_verdict(["not run", "not run"], "all") == "not run"
    assert claim_verdict(["supported", "supported"], "best") == "supported"
    assert claim_verdict(["supported", "contradicted"], "best") == "contradicted"


def test_at_least_one_verdict() -> None:
    assert claim_verdict(["inconclusive", "supported"], "any") == "supported"
    assert claim_verdict(["inconclusive", "contradicted"], "any") == "inconclusive"
    assert claim_verdict(["contradicted", "contradicted"], "any") == "contradicted"
    assert claim_verdict(["contradicted", "not run"], "any") == "inconclusive"
    with pytest.raises(ValueError, match="unknown claim kind"):
        claim_verdict(["supported"], "most")


# ---- the effect against the paper's -----------------------------------------------------

@pytest.mark.parametrize(("ci", "paper", "direction", "reading"), [
    ((0.01, 0.03), 0.02, 1, "as large as claimed"),  # the CI contains the paper's
    ((0.03, 0.05), 0.02, 1, "as large as claimed"),  # above it
    ((0.01, 0.02), 0.02, 1, "as large as claimed"),  # reaches it
    ((0.005, 0.015), 0.02, 1, "smaller than claimed"),  # entirely below it, above 0
    ((-0.01, 0.03), 0.02, 1, "no evidence of an effect"),  # contains 0 (and the paper's)
    ((-0.03, -0.01), 0.02, 1, "reversed"),  # entirely below 0
    ((-0.03, -0.01), -0.02, -1, "as large as claimed"),  # a "below" claim, read its way
    ((-0.01, -0.005), -0.02, -1, "smaller than claimed"),
    ((0.01, 0.03), None, 1, "an effect (the paper printed none)"),
    ((math.nan, math.nan), 0.02, 1, ""),
])
def test_magnitude_reading(ci: tuple[float, float], paper: float | None, direction: int,
                           reading: str) -> None:
    assert magnitude(ci, paper, direction) == reading


# ---- power ------------------------------------------------------------------------------

def test_power_is_the_t_tests_closed_form() -> None:
    """With retraining noise alone the one test is the paired t-test over seeds: its power is
    the noncentral t's closed form (scipy.stats.nct), and agrees with a simulation of
    scipy.stats.ttest_1samp."""
    sd, n = 0.01, S
    se, df = standard_error((sd ** 2, 0.0, 0.0), n, 0)
    assert (se, df) == pytest.approx((sd / math.sqrt(n), n - 1))
    for effect in (0.005, 0.01, 0.02):
        ncp, crit = effect / se, sps.t.ppf(1 - ALPHA / 2, n - 1)
        closed = sps.nct.sf(crit, n - 1, ncp) + sps.nct.cdf(-crit, n - 1, ncp)
        assert power(effect, se, df, ALPHA) == pytest.approx(closed, rel=1e-9)
        rng = np.random.default_rng(34)
        x = effect + sd * rng.normal(size=(20000, n))
        simulated = np.mean(sps.ttest_1samp(x, 0.0, axis=1).pvalue < ALPHA)
        assert power(effect, se, df, ALPHA) == pytest.approx(simulated, abs=0.015)
    mde = min_detectable(se, df, ALPHA, 0.8)
    assert power(mde, se, df, ALPHA) == pytest.approx(0.8, abs=1e-9)
    # Cohen's d at n = 5, 80% power, two-sided 0.05: about 1.68 (G*Power's one-sample t)
    assert mde / sd == pytest.approx(1.68, abs=0.02)
    assert power(0.0, se, df, ALPHA) == pytest.approx(ALPHA)


def test_minimum_detectable_effect_by_simulation() -> None:
    """With seed, user and residual variances, an effect of min_detectable is found about
    80% of the time by the one test on simulated experiments."""
    sds = SCENARIOS["seeds and users"]
    se, df = standard_error(tuple(x ** 2 for x in sds), S, U)
    mde = min_detectable(se, df, ALPHA, 0.8)
    rng = np.random.default_rng(35)
    hits = np.mean(mixed_tests(_simulate(rng, mde, sds))["p"] < ALPHA)
    assert hits == pytest.approx(0.8, abs=0.03)


def test_seeds_needed() -> None:
    comps = (0.01 ** 2, 0.05 ** 2, 0.1 ** 2)
    n = seeds_needed(0.01, comps, U, ALPHA)
    assert n is not None and n > 2
    assert power(0.01, *standard_error(comps, n, U), ALPHA) >= 0.8
    assert power(0.01, *standard_error(comps, n - 1, U), ALPHA) < 0.8
    # the users' variance sets a floor no number of seeds goes under
    assert seeds_needed(0.001, comps, U, ALPHA) is None
    assert seeds_needed(-0.01, comps, U, ALPHA) is None  # not in the claimed direction
    assert seeds_needed(0.5, comps, U, ALPHA) == 2
