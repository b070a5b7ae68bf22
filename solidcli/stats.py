"""Paired significance of one model against another on the same candidates.

Two runs compared on one metric are paired twice over, and each pairing gets its own test:

* **across seeds** - the per-seed test metric of both runs for the training seeds they share
  (seed s of one with seed s of the other: same data, same candidates, same seed): the mean
  difference, its 95% confidence interval and a paired t-test (`scipy.stats.ttest_rel`, n =
  seeds, n - 1 degrees of freedom). This is the spread that carries across machines (README).
* **across users** - each user's metric averaged over the shared seeds, paired user by user (the
  per-user files `solid evaluate` writes beside metrics.json): by default a paired t-test over
  the users (`ttest`), because what the tables report is the mean over users, n is in the
  thousands (the mean of a bounded per-user metric is close to normal), and Smucker, Allan &
  Carterette (CIKM 2007) found the t-test and the randomisation test agree on retrieval metrics
  while the Wilcoxon and sign tests, which test a median shift, do not. `wilcoxon`
  (`scipy.stats.wilcoxon`, zeros split by Pratt) and `permutation` (a sign-flip randomisation
  test of the mean, `scipy.stats.permutation_test`, fixed generator; slower) are options.
  The pooled AUC is not a mean over users, so it has no user test (its per-user counterpart is
  UAUC).

**One test for both sources of noise** (rule `mixed`, the claims report's default):
the per-user differences d[s, u] = a - b of every shared seed s and user u form a balanced
two-way table with seeds and users crossed (every seed scores the same users), modelled as
d = mu + seed_s + user_u + e with random seed, user and residual effects. The mean difference
has variance var(seed)/S + var(user)/U + var(e)/(SU), estimated from the two-way ANOVA mean
squares as (MS_seed + MS_user - MS_resid) / (SU), a component estimated below zero set to
zero, with Satterthwaite's (1946) degrees of freedom: Clark's (1973) quasi-F for crossed random
effects ("The language-as-fixed-effect fallacy": subjects x items there, seeds x users here;
Baayen, Davidson & Bates 2008), the ANOVA (= REML, when no component is negative) estimator of
the balanced crossed model (Searle, Casella & McCulloch 1992, ch. 4). Estimated from the same
mean squares, Satterthwaite's degrees of freedom run high exactly when MS_seed came out low
where the seed term dominates without standing alone (5.5% false positives at alpha 0.05 in
simulation), so they are capped at (S - 1) / w, w the seed term's share of the variance
estimate (S - 1 when it is all of it; no cap without a seed term). tests/test_claim_stats.py
simulates six regimes (seeds only, Table 1's observed mix, seeds or users dominant, no seed
variance): the 95% interval covers 94-97% and the false-positive rate stays at or below alpha
up to Monte-Carlo error. One seed cannot estimate the retraining variance: no test (NaN, never
significant); nor can a mean over users without per-user files; the pooled AUC, which is no
mean over users, keeps its seed test. The seed t-test alone ignores the users sampled: every
seed scores the same users, so its false-positive rate reaches several times alpha when users
vary (tested).
Written out rather than fitted because it is closed-form on a balanced table (O(SU): a few
hundred comparisons per report in milliseconds) with small-sample degrees of freedom:
statsmodels (not a dependency) fits crossed effects only as variance components of one
all-encompassing group, iteratively, with Wald z intervals, too narrow with 5 seeds; a
two-level bootstrap (resample seeds, then users; Saravanan et al. 2020, Bouthillier et al.
2021) is too narrow with 5 seeds as well (its percentile interval acts like a z interval with
the seed variance shrunk by (S - 1) / S: about 87% coverage in the test). `power`,
`min_detectable` and `seeds_needed` use the same variance components with the noncentral t
(`scipy.stats.nct`), the t-test's closed form. `claim_verdict` combines a claim's comparisons
(intersection-union test for "every", Berger 1982) and `magnitude` reads an interval against
the paper's difference. Today's rule (the seed test and the user test must both agree) stays
as rule `both` (`seed-and-user` in the claims report).

A difference is significant at level alpha when every test the rule requires has p < alpha and
their mean differences agree in sign: `both` (default) requires the seed test (with two seeds
or more) and the user test; `seeds` / `users` only that one. The pooled AUC is always judged by
its seed test alone. A required test that could not run (one seed under `seeds`, no per-user
files) makes the difference not significant, never significant by default. `holm` adjusts a family of p-values (Holm 1979); it is
written out here because scipy has no Holm correction (`scipy.stats.false_discovery_control`
is Benjamini-Hochberg / -Yekutieli) and statsmodels is not a dependency of this project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from solidcli.errors import SolidError

USER_TESTS = ("ttest", "wilcoxon", "permutation")
RULES = ("both", "seeds", "users", "mixed")  # mixed: the one test over seeds and users
CORRECTIONS = ("none", "holm")
PERMUTATIONS = 9999


@dataclass(frozen=True)
class Paired:
    """One comparison a - b on one metric: the seed-level effect and both p-values (NaN where
    a test does not apply), and the user-level mean difference."""

    metric: str
    n_seeds: int
    diff: float  # mean over shared seeds of (a - b)
    ci: tuple[float, float]  # 95% CI of that mean (t interval; NaN with one seed)
    p_seeds: float
    n_users: int
    user_diff: float  # mean over users of the seed-averaged (a - b); NaN without users
    p_users: float
    # the one test over seeds and users (`mixed_test`; the pooled AUC: the seed test)
    mixed_ci: tuple[float, float] = (math.nan, math.nan)
    p_mixed: float = math.nan
    mixed_df: float = math.nan
    # variance components of a per-user difference: seed, user, residual (`mixed_test`)
    components: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    def significant(self, alpha: float, rule: str = "both") -> int:
        """+1 when a is significantly above b, -1 when below, 0 otherwise (module docstring:
        every test `rule` requires must exist and agree)."""
        if rule not in RULES:
            raise ValueError(f"unknown rule '{rule}' (choose from {', '.join(RULES)})")
        if rule == "mixed":
            if math.isnan(self.p_mixed) or self.p_mixed >= alpha or self.diff == 0:
                return 0
            return int(np.sign(self.diff))
        tests = []
        if (rule != "users" or not self.has_user_test) and self.n_seeds >= 2:
            tests.append((self.p_seeds, self.diff))
        if rule != "seeds" and self.has_user_test:
            tests.append((self.p_users, self.user_diff))
        if not tests or any(math.isnan(p) or p >= alpha for p, _ in tests):
            return 0
        signs = {int(np.sign(d)) for _, d in tests}
        return signs.pop() if len(signs) == 1 and 0 not in signs else 0

    @property
    def has_user_test(self) -> bool:
        """Whether the metric is a mean over users (every one but the pooled AUC)."""
        return self.metric != "AUC"


def _no_spread(d: np.ndarray) -> bool:
    """Whether the differences are all equal up to rounding (metrics read back from JSON
    differ in the last bits), where a t statistic is 0/0 or infinite."""
    return bool(np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())))


def seed_test(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple[float, float], float]:
    """Mean of a - b over paired seeds, its 95% t confidence interval and the paired t-test's
    two-sided p-value (NaN with fewer than two seeds; 1.0 when every difference is zero)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = a - b
    diff = float(d.mean()) if len(d) else math.nan
    if len(d) < 2:
        return diff, (math.nan, math.nan), math.nan
    if _no_spread(d):  # the t statistic is undefined (0/0) or infinite
        return diff, (diff, diff), 1.0 if _no_spread(np.r_[d, 0.0]) else 0.0
    res = stats.ttest_rel(a, b)
    ci = res.confidence_interval(0.95)
    return diff, (float(ci.low), float(ci.high)), float(res.pvalue)


def user_test(a: np.ndarray, b: np.ndarray, test: str = "ttest", seed: int = 0
              ) -> tuple[float, float]:
    """Mean of a - b over paired users and the two-sided p-value of `test` (see the module
    docstring); 1.0 when every difference is zero. Every value must be finite: each test user
    has a metric, so a NaN is a corrupt input (`pairing.PerUser` refuses the file), never a
    user to drop unseen."""
    from scipy import stats

    if test not in USER_TESTS:
        raise ValueError(f"unknown user test '{test}' (choose from {', '.join(USER_TESTS)})")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("per-user metrics must be finite; a NaN or infinite one means a "
                         "corrupt per-user file")
    d = a - b
    if len(d) < 2:
        return (float(d.mean()) if len(d) else math.nan), math.nan
    diff = float(d.mean())
    if _no_spread(np.r_[d, 0.0]):
        return diff, 1.0
    if test == "ttest":
        if _no_spread(d):
            return diff, 0.0
        return diff, float(stats.ttest_rel(a, b).pvalue)
    if test == "wilcoxon":
        return diff, float(stats.wilcoxon(d, zero_method="pratt").pvalue)
    res = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis),
                                 permutation_type="samples", vectorized=True,
                                 n_resamples=PERMUTATIONS, rng=np.random.default_rng(seed))
    return diff, float(res.pvalue)


def _satterthwaite(ms: tuple, dfs: tuple) -> tuple:
    """(MS_seed + MS_user - MS_resid, its Satterthwaite degrees of freedom), a variance
    component the mean squares put below zero dropped (module docstring); elementwise."""
    ms_s, ms_u, ms_e = (np.asarray(m, dtype=np.float64) for m in ms)
    c_s, c_u = (ms_s > ms_e).astype(np.float64), (ms_u > ms_e).astype(np.float64)
    coef = (c_s, c_u, 1.0 - c_s - c_u)  # the residual's sign: +1, 0 or -1
    combo = sum(c * m for c, m in zip(coef, (ms_s, ms_u, ms_e), strict=True))
    denom = sum((c * m) ** 2 / f for c, m, f in zip(coef, (ms_s, ms_u, ms_e), dfs,
                                                      strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denom > 0, combo * combo / np.where(denom > 0, denom, 1.0), np.inf)
        # the cap (module docstring): at most the seeds' S - 1 over the seed term's share
        share = np.where(c_s > 0, c_s * ms_s / np.where(combo > 0, combo, 1.0), 0.0)
        cap = np.where(share > 0, dfs[0] / np.where(share > 0, share, 1.0), np.inf)
    return combo, np.minimum(df, cap)


def mixed_tests(d: np.ndarray) -> dict[str, np.ndarray]:
    """`mixed_test` of every seeds x users table in `d` (shape (..., S, U), S and U >= 2),
    vectorised: arrays mean, low, high, p, df, v_seed, v_user, v_resid."""
    from scipy import stats

    d = np.asarray(d, dtype=np.float64)
    S, U = d.shape[-2:]
    mean = d.mean(axis=(-2, -1))
    seed_means, user_means = d.mean(axis=-1), d.mean(axis=-2)
    ms_s = U * seed_means.var(axis=-1, ddof=1)
    ms_u = S * user_means.var(axis=-1, ddof=1)
    resid = d - seed_means[..., :, None] - user_means[..., None, :] + mean[..., None, None]
    ms_e = np.einsum("...ij,...ij->...", resid, resid) / ((S - 1) * (U - 1))
    combo, df = _satterthwaite((ms_s, ms_u, ms_e), (S - 1, U - 1, (S - 1) * (U - 1)))
    se = np.sqrt(np.maximum(combo, 0.0) / (S * U))
    flat = se <= 1e-12 * np.maximum(1.0, np.abs(mean))  # no spread: t is 0/0 or infinite
    safe = np.where(flat, 1.0, se)
    half = np.where(flat, 0.0, stats.t.ppf(0.975, df) * safe)
    p = np.where(flat, np.where(np.abs(mean) <= 1e-12, 1.0, 0.0),
                 2 * stats.t.sf(np.abs(mean) / safe, df))
    return {"mean": mean, "low": mean - half, "high": mean + half, "p": p, "df": df,
            "v_seed": np.maximum(0.0, (ms_s - ms_e) / U),
            "v_user": np.maximum(0.0, (ms_u - ms_e) / S), "v_resid": ms_e}


def mixed_test(d: np.ndarray) -> tuple[float, tuple[float, float], float, float,
                                         tuple[float, float, float]]:
    """The one test over seeds and users of per-user differences `d` (seeds x users, module
    docstring): the mean, its 95% CI, the two-sided p-value, the degrees of freedom and the
    variance components (seed, user, residual). NaN p and CI with fewer than two seeds or
    users; p 1.0 when every difference is zero, 0.0 when all are equal and nonzero."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2 or not np.isfinite(d).all():
        raise ValueError("the per-user differences must be a finite seeds x users table")
    S, U = d.shape
    if S < 2 or U < 2:
        mean = float(d.mean()) if d.size else math.nan
        return mean, (math.nan, math.nan), math.nan, math.nan, (math.nan,) * 3
    r = {k: float(v) for k, v in mixed_tests(d).items()}
    return (r["mean"], (r["low"], r["high"]), r["p"], r["df"],
            (r["v_seed"], r["v_user"], r["v_resid"]))


def standard_error(components: tuple[float, float, float], n_seeds: int, n_users: int
                   ) -> tuple[float, float]:
    """The standard error of a mean difference over `n_seeds` seeds and `n_users` users with
    these variance components, and its Satterthwaite degrees of freedom from the expected
    mean squares (`n_users` 0: the seed test's, n_seeds - 1)."""
    v_s, v_u, v_e = components
    if n_users <= 1:
        return math.sqrt(v_s / n_seeds), float(n_seeds - 1)
    S, U = n_seeds, n_users
    ms = (v_e + U * v_s, v_e + S * v_u, v_e)
    combo, df = _satterthwaite(ms, (S - 1, U - 1, (S - 1) * (U - 1)))
    return math.sqrt(max(float(combo), 0.0) / (S * U)), float(df)


def power(effect: float, se: float, df: float, alpha: float) -> float:
    """Power of the two-sided t-test at level `alpha` to detect `effect` when the estimate has
    standard error `se` and `df` degrees of freedom (noncentral t)."""
    from scipy import stats

    if se <= 0:
        return 1.0 if effect != 0 else alpha
    ncp = abs(effect) / se
    if not df < 1e5:  # the noncentral t is normal there (scipy's nct turns NaN)
        crit = float(stats.norm.ppf(1 - alpha / 2))
        return float(stats.norm.sf(crit - ncp) + stats.norm.cdf(-crit - ncp))
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    upper, lower = float(stats.nct.sf(crit, df, ncp)), float(stats.nct.cdf(-crit, df, ncp))
    if math.isnan(upper):  # scipy's nct fails far in a tail: the normal tail there
        upper = float(stats.norm.sf(crit - ncp))
    return upper + (0.0 if math.isnan(lower) else lower)


def min_detectable(se: float, df: float, alpha: float, target: float = 0.8) -> float:
    """The smallest effect the two-sided t-test at `alpha` detects with power `target`."""
    from scipy import optimize

    if not se > 0 or math.isnan(df):
        return math.nan if math.isnan(se) or math.isnan(df) else 0.0
    hi = se
    while power(hi, se, df, alpha) < target:
        hi *= 2
    return float(optimize.brentq(lambda x: power(x, se, df, alpha) - target, 0.0, hi,
                                 xtol=1e-12 * hi))


def seeds_needed(effect: float, components: tuple[float, float, float], n_users: int,
                 alpha: float, target: float = 0.8, most: int = 100) -> int | None:
    """The fewest seeds (2 or more) at which the test detects `effect` with power `target`,
    the users and variance components as observed; None if `most` do not (the users'
    variance alone can make an effect undetectable at any number of seeds)."""
    if not effect > 0 or any(math.isnan(c) for c in components):
        return None

    def enough(n: int) -> bool:
        return power(effect, *standard_error(components, n, n_users), alpha) >= target

    if not enough(most):
        return None
    lo, hi = 1, most  # power grows with the seeds: bisect for the first that is enough
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def compare(metric: str, a_seeds: np.ndarray, b_seeds: np.ndarray,
            a_users: np.ndarray | None = None, b_users: np.ndarray | None = None,
            test: str = "ttest") -> Paired:
    """`metric` of a against b: per-seed values (S,) for both, and optionally per-user values
    (S, U) for both (same seeds, same users, same order, every value finite: `user_test`)."""
    diff, ci, p_seeds = seed_test(a_seeds, b_seeds)
    if a_users is None or b_users is None:
        n_users, user_diff, p_users = 0, math.nan, math.nan
    else:
        a_u, b_u = np.asarray(a_users, np.float64), np.asarray(b_users, np.float64)
        if a_u.shape != b_u.shape:
            raise ValueError(f"per-user metrics of shapes {a_u.shape} and {b_u.shape} do "
                             "not pair")
        a_mean, b_mean = a_u.mean(axis=0), b_u.mean(axis=0)
        n_users = int(a_mean.size)
        user_diff, p_users = user_test(a_mean, b_mean, test)
    n_seeds = len(np.atleast_1d(a_seeds))
    if n_users:
        _, mixed_ci, p_mixed, df, comps = mixed_test(a_u - b_u)
    elif metric == "AUC":  # pooled over users: its seed test is the one test
        d = np.atleast_1d(np.asarray(a_seeds, np.float64) - np.asarray(b_seeds, np.float64))
        mixed_ci, p_mixed, df = ci, p_seeds, float(n_seeds - 1)
        comps = (float(d.var(ddof=1)) if n_seeds > 1 else math.nan, 0.0, 0.0)
    else:  # a mean over users without per-user files: the users' variance is unknown
        mixed_ci, p_mixed, df, comps = (math.nan, math.nan), math.nan, math.nan, (
            math.nan, math.nan, math.nan)
    return Paired(metric, n_seeds, diff, ci, p_seeds, n_users, user_diff, p_users,
                  mixed_ci, p_mixed, df, comps)


def gap_test(metric: str, low_seeds: np.ndarray, high_seeds: np.ndarray,
             low_users: np.ndarray, high_users: np.ndarray, test: str = "ttest") -> Paired:
    """One difference against another measured on different users (the breakdown's
    Δ(low bucket) - Δ(high bucket)): the per-seed differences (S,) of both paired over seeds
    (`seed_test`), and the per-user differences of both compared as two samples (Welch's
    t-test, or Mann-Whitney's U for `test` wilcoxon; NaN with fewer than two users a side)."""
    from scipy import stats

    diff, ci, p_seeds = seed_test(low_seeds, high_seeds)
    a, b = low_users, high_users
    if len(a) < 2 or len(b) < 2:
        user_diff, p_users = math.nan, math.nan
    else:
        user_diff = float(a.mean() - b.mean())
        res = (stats.mannwhitneyu(a, b) if test == "wilcoxon"
               else stats.ttest_ind(a, b, equal_var=False))
        p_users = float(res.pvalue)
    return Paired(metric, len(low_seeds), diff, ci, p_seeds, len(a) + len(b), user_diff,
                  p_users)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values of one family (NaN entries stay NaN and do not count
    towards the family size)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="mergesort")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out.tolist()


def check_correction(correction: str) -> str:
    """`correction` if it is one of CORRECTIONS, else a SolidError naming them."""
    if correction not in CORRECTIONS:
        raise SolidError(f"unknown correction '{correction}' (choose from "
                         f"{', '.join(CORRECTIONS)})")
    return correction


def correct(family: list[Paired], correction: str) -> list[Paired]:
    """`family` with both kinds of p-values adjusted by `correction` (each kind is its own
    family of tests)."""
    if check_correction(correction) == "none" or not family:
        return list(family)
    seeds = holm([c.p_seeds for c in family])
    users = holm([c.p_users for c in family])
    mixed = holm([c.p_mixed for c in family])
    return [replace(c, p_seeds=s, p_users=u, p_mixed=x)
            for c, s, u, x in zip(family, seeds, users, mixed, strict=True)]


def verdict(signs: list[int], direction: int) -> str:
    """A claim's verdict from the signs of its comparisons (`Paired.significant`): contradicted
    if any goes significantly the other way, supported if all go the claimed way, else
    inconclusive."""
    if any(x == -direction for x in signs):
        return "contradicted"
    if signs and all(x == direction for x in signs):
        return "supported"
    return "inconclusive"


# ---- claims: a claim's verdict from its comparisons, and an effect against the paper's ----

KINDS = ("all", "best", "any")  # how a claim combines its comparisons (`claim_verdict`)


def claim_verdict(verdicts: list[str], kind: str) -> str:
    """One claim's verdict from its comparisons' (supported / contradicted / inconclusive /
    not run). `all` (X beats Y for every model and metric: the intersection-union test, each
    comparison at alpha, no correction needed; Berger 1982) and `best` (X is best: each
    comparison Holm-corrected over the claim) are supported only if every comparison is, and
    contradicted if any is; `any` (at least one) is supported if one comparison is (Holm over
    the claim) and contradicted only if every one is; otherwise inconclusive. A claim with no
    comparison run is `not run`."""
    if kind not in KINDS:
        raise ValueError(f"unknown claim kind '{kind}' (choose from {', '.join(KINDS)})")
    tested = [v for v in verdicts if v != "not run"]
    if not tested:
        return "not run"
    if kind == "any":
        if "supported" in tested:
            return "supported"
        return ("contradicted" if len(tested) == len(verdicts)
                and all(v == "contradicted" for v in tested) else "inconclusive")
    if "contradicted" in tested:
        return "contradicted"
    return ("supported" if len(tested) == len(verdicts)
            and all(v == "supported" for v in tested) else "inconclusive")


MAGNITUDES = ("as large as claimed", "smaller than claimed", "no evidence of an effect",
              "reversed", "an effect (the paper printed none)")


def magnitude(ci: tuple[float, float], paper: float | None, direction: int = 1) -> str:
    """Our 95% CI of a - b against the paper's a - b, both read in the claimed `direction`:
    'no evidence of an effect' (the CI contains 0), 'reversed' (entirely on the other side of
    0), 'as large as claimed' (the CI reaches the paper's difference or lies above it),
    'smaller than claimed' (entirely between 0 and it); without the paper's difference, 'an
    effect (the paper printed none)'. '' without a CI."""
    lo, hi = sorted((direction * ci[0], direction * ci[1]))
    if math.isnan(lo) or math.isnan(hi):
        return ""
    if lo <= 0 <= hi:
        return "no evidence of an effect"
    if hi < 0:
        return "reversed"
    if paper is None or math.isnan(paper):
        return "an effect (the paper printed none)"
    return "as large as claimed" if hi >= direction * paper else "smaller than claimed"
