"""Paired significance of one model against another on the same candidates (issue 10).

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
RULES = ("both", "seeds", "users")
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

    def significant(self, alpha: float, rule: str = "both") -> int:
        """+1 when a is significantly above b, -1 when below, 0 otherwise (module docstring:
        every test `rule` requires must exist and agree)."""
        if rule not in RULES:
            raise ValueError(f"unknown rule '{rule}' (choose from {', '.join(RULES)})")
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
    return Paired(metric, len(np.atleast_1d(a_seeds)), diff, ci, p_seeds, n_users, user_diff,
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
    return [replace(c, p_seeds=s, p_users=u) for c, s, u in zip(family, seeds, users,
                                                                strict=True)]


def verdict(signs: list[int], direction: int) -> str:
    """A claim's verdict from the signs of its comparisons (`Paired.significant`): contradicted
    if any goes significantly the other way, supported if all go the claimed way, else
    inconclusive."""
    if any(x == -direction for x in signs):
        return "contradicted"
    if signs and all(x == direction for x in signs):
        return "supported"
    return "inconclusive"
