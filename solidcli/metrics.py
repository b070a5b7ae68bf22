"""Sampled-ranking and CTR metrics over a [users x candidates] score matrix (paper Eq. 14-17).

* AUC  - pooled over every (user, candidate) row; ties count 1/2 (Eq. 14).
* UAUC - per-user AUC, averaged over users that have both a positive and a negative
  candidate (Eq. 15; the paper's global denominator is a typo, as in the authors' code).
* NDCG@K, Recall@K - each positive's rank among its user's candidates; Recall@K is the
  fraction of a user's positives in the top K (with one positive: the hit rate).

Ties in ranking follow an explicit rule (`ties`): `conservative` counts every candidate with an
equal score as ranked above the positive, `optimistic` counts none, `average` counts half.
The authors' stable sort is optimistic whenever the positive comes first in the file, so
constant scores looked perfect there; here they look worst under the default rule.
All metrics above are "sampled" (1 positive + 99 negatives per user in the paper's protocol);
`full_ranking_metrics` ranks the target among every item instead.
A score that is NaN or infinite is an error, never a metric: NaN compares false with
everything, so it would rank a positive first and report a perfect model.
"""

from __future__ import annotations

import numpy as np

from solidcli.errors import SolidError

TIE_WEIGHT = {"conservative": 1.0, "average": 0.5, "optimistic": 0.0}
METRIC_NAMES = ("AUC", "UAUC", "NDCG@10", "Recall@10", "NDCG@20", "Recall@20")
# `per_user_metrics`' keys: a user's AUC (their mean is UAUC), NDCG and Recall
PER_USER_NAMES = ("AUC", "NDCG@10", "Recall@10", "NDCG@20", "Recall@20")


def pooled_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC over all rows pooled (ties count 1/2); NaN if only one class is present."""
    y = np.asarray(labels, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # average ranks (1-based) with ties sharing their mean rank
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError("scores and labels must be two matrices of the same shape")
    finite = np.isfinite(scores)
    if not finite.all():
        users = int((~finite).any(axis=1).sum())
        raise SolidError(f"the model gave NaN or infinite scores for {users} of "
                         f"{scores.shape[0]} users; its weights are broken (retrain it)")
    if not (labels.any(axis=1) & (~labels).any(axis=1)).any():
        raise SolidError("no user has both a positive and a negative candidate; the "
                         "candidates file is broken (rerun `solid download`)")
    return scores, labels


def _per_user(scores: np.ndarray, labels: np.ndarray, ks, ties: str
              ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each user's AUC, NDCG@k and Recall@k (full-length arrays, undefined entries are not
    meaningful), the users with an AUC (a positive and a negative) and those with a rank (a
    positive). Only the positives' ranks matter, so each positive is compared with its own
    user's C candidates (P x C work, not U x C x C)."""
    n_pos, n_neg = labels.sum(1), (~labels).sum(1)
    # one row per positive candidate: its user's scores against its own score
    rows, cols = np.nonzero(labels)
    own = scores[rows, cols][:, None]
    user = scores[rows]  # (P, C)
    rank = _rank(user, own, ties)
    neg = ~labels[rows]
    below = ((user < own) & neg).sum(1) + 0.5 * ((user == own) & neg).sum(1)
    ok = (n_pos > 0) & (n_neg > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"AUC": np.bincount(rows, weights=below, minlength=len(labels)) / (n_pos * n_neg)}
    has = n_pos > 0
    gain = 1.0 / np.log2(rank + 1.0)
    discount_cum = np.cumsum(1.0 / np.log2(np.arange(2, scores.shape[1] + 2)))
    for k in ks:
        hit = rank <= k
        dcg = np.bincount(rows, weights=gain * hit, minlength=len(labels))
        hits = np.bincount(rows, weights=hit, minlength=len(labels))
        ideal = discount_cum[np.clip(np.minimum(n_pos, k) - 1, 0, None)]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"NDCG@{k}"] = dcg / ideal
            out[f"Recall@{k}"] = hits / n_pos
    return out, ok, has


def _rank(scores: np.ndarray, own: np.ndarray, ties: str) -> np.ndarray:
    """The rank of each row's `own` score (R, 1) among that row's `scores` (R, C), which hold
    it once: 1 + the candidates above + `ties`' weight times the other candidates tied."""
    greater = (scores > own).sum(1)
    equal = (scores == own).sum(1) - 1
    return 1.0 + greater + TIE_WEIGHT[ties] * equal


def score_users(scores: np.ndarray, labels: np.ndarray, ks=(10, 20),
                ties: str = "conservative") -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """`evaluate_scores` and `per_user_metrics` of one score matrix, from one pass."""
    scores, labels = _check(scores, labels)
    parts, ok, has = _per_user(scores, labels, ks, ties)
    per_user = {m: np.where(ok if m == "AUC" else has, v, np.nan) for m, v in parts.items()}
    return _summary(scores, labels, parts, ok, has, ks), per_user


def per_user_metrics(scores: np.ndarray, labels: np.ndarray, ks=(10, 20),
                     ties: str = "conservative") -> dict[str, np.ndarray]:
    """Each user's AUC (over its own candidates; its mean over users is UAUC), NDCG@k and
    Recall@k, as float arrays of length U; NaN where a user lacks a positive (or, for AUC, a
    negative). Their means over the defined users are `evaluate_scores`' UAUC, NDCG and
    Recall."""
    return score_users(scores, labels, ks, ties)[1]


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, ks=(10, 20),
                    ties: str = "conservative") -> dict[str, float]:
    """All metrics for scores/labels of shape (U, C): UAUC, NDCG and Recall are the means of
    `per_user_metrics` over the users that define them."""
    scores, labels = _check(scores, labels)
    parts, ok, has = _per_user(scores, labels, ks, ties)
    return _summary(scores, labels, parts, ok, has, ks)


def _summary(scores: np.ndarray, labels: np.ndarray, parts: dict[str, np.ndarray],
             ok: np.ndarray, has: np.ndarray, ks) -> dict[str, float]:
    """The table metrics: pooled AUC, and the means of the per-user ones over their users."""
    uauc_sum, uauc_n = float(parts["AUC"][ok].sum()), int(ok.sum())
    rank_n = int(has.sum())
    out = {"AUC": pooled_auc(scores, labels),
           "UAUC": uauc_sum / uauc_n if uauc_n else float("nan")}
    for k in ks:
        ndcg, recall = float(parts[f"NDCG@{k}"][has].sum()), float(parts[f"Recall@{k}"][has].sum())
        out[f"NDCG@{k}"] = ndcg / rank_n if rank_n else float("nan")
        out[f"Recall@{k}"] = recall / rank_n if rank_n else float("nan")
    out["users"] = int(rank_n)
    return out


FULL_METRIC_NAMES = ("NDCG@10", "Recall@10", "NDCG@20", "Recall@20", "MRR")


def full_ranking_metrics(scores: np.ndarray, targets: np.ndarray,
                         histories: list[np.ndarray], ks=(10, 20),
                         ties: str = "conservative") -> dict[str, np.ndarray]:
    """Each user's full-ranking NDCG@k, Recall@k and MRR (arrays of length U): the target's
    rank among every item (columns 1..N of `scores`, (U, N + 1); column 0 is the padding id)
    except the items of the user's own history (the target itself stays a candidate when the
    user had it before). One positive per user, so Recall@k is the hit rate and NDCG@k is
    1 / log2(1 + rank) within the top k (Krichene & Rendle, KDD 2020, on why this can rank
    models differently from the sampled metrics). Ties follow `ties`, as in the sampled
    metrics."""
    scores = np.array(scores, dtype=np.float64)  # a copy: the history is masked in place
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or len(targets) != len(scores) or len(histories) != len(scores):
        raise ValueError("scores (U, N + 1), targets (U,) and U histories are needed")
    finite = np.isfinite(scores[:, 1:])
    if not finite.all():
        users = int((~finite).any(axis=1).sum())
        raise SolidError(f"the model gave NaN or infinite scores for {users} of "
                         f"{scores.shape[0]} users; its weights are broken (retrain it)")
    scores[history_cells(targets, histories)] = -np.inf
    scores[:, 0] = -np.inf
    own = scores[np.arange(len(scores)), targets][:, None]
    return full_ranking_from_counts((scores > own).sum(1), (scores == own).sum(1) - 1, ks,
                                    ties)


def history_cells(targets: np.ndarray, histories: list[np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the (user, item) cells full ranking masks: every item of a user's
    history except the target itself, which stays a candidate."""
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = (np.concatenate(histories).astype(np.int64) if len(rows)
            else np.zeros(0, dtype=np.int64))
    keep = cols != np.asarray(targets, dtype=np.int64)[rows]
    return rows[keep], cols[keep]


def full_ranking_from_counts(greater: np.ndarray, equal: np.ndarray, ks=(10, 20),
                             ties: str = "conservative") -> dict[str, np.ndarray]:
    """`full_ranking_metrics` from each user's counts of the items left after the history
    is masked (padding too) that score strictly above the target (`greater`) and equally
    (`equal`, the target itself not counted): the two integers per user that
    `engine.score_full` reduces the all-items scores to on the device, so only they are
    copied to the host. The same arithmetic as `_rank`, so the same bits."""
    greater = np.asarray(greater, dtype=np.int64)
    equal = np.asarray(equal, dtype=np.int64)
    rank = 1.0 + greater + TIE_WEIGHT[ties] * equal
    out = {}
    for k in ks:
        hit = rank <= k
        out[f"NDCG@{k}"] = np.where(hit, 1.0 / np.log2(rank + 1.0), 0.0)
        out[f"Recall@{k}"] = hit.astype(np.float64)
    out["MRR"] = 1.0 / rank
    return out  # FULL_METRIC_NAMES' order for the default ks


def mean_ci(values: np.ndarray, level: float = 0.95) -> list[float]:
    """[low, high]: the Student-t confidence interval of the mean of `values` (a random
    sample of users' metrics), at `level`; the mean itself when fewer than 2 values."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if len(v) < 2:
        return [mean, mean]
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return [mean - half, mean + half]
