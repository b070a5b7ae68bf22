"""Metrics against values computed by hand (ties explicit)."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from solidcli.metrics import evaluate_scores, pooled_auc


def one_user(scores, positive=0, **kw):
    s = np.array([scores], dtype=float)
    y = np.zeros_like(s, dtype=bool)
    y[0, positive] = True
    return evaluate_scores(s, y, **kw)


def test_positive_ranked_second():
    m = one_user([0.9, 0.8, 0.95, 0.1])
    assert m["NDCG@10"] == pytest.approx(1 / math.log2(3))
    assert m["Recall@10"] == 1.0
    assert m["UAUC"] == pytest.approx(2 / 3)  # above 2 of 3 negatives
    assert m["AUC"] == pytest.approx(2 / 3)


def test_positive_at_rank_three_gives_half():
    m = one_user([0.5, 0.9, 0.8, 0.1])
    assert m["NDCG@10"] == pytest.approx(0.5)


def test_rank_eleven_misses_top10_hits_top20():
    scores = [0.0] + [1.0 + i for i in range(10)] + [-1.0] * 9
    m = one_user(scores)
    assert m["Recall@10"] == 0.0 and m["NDCG@10"] == 0.0
    assert m["Recall@20"] == 1.0
    assert m["NDCG@20"] == pytest.approx(1 / math.log2(12))


@pytest.mark.parametrize(("ties", "rank"), [("conservative", 4), ("average", 2.5),
                                            ("optimistic", 1)])
def test_all_equal_scores_follow_the_tie_rule(ties, rank):
    m = one_user([0.3, 0.3, 0.3, 0.3], ties=ties)
    assert m["NDCG@10"] == pytest.approx(1 / math.log2(rank + 1))
    assert m["UAUC"] == pytest.approx(0.5)  # ties count 1/2 in AUC whatever the rule


def test_partial_tie_conservative():
    # positive ties with one negative, beats two: rank 2 conservatively, AUC 2.5/3
    m = one_user([0.5, 0.5, 0.1, 0.2])
    assert m["NDCG@10"] == pytest.approx(1 / math.log2(3))
    assert m["UAUC"] == pytest.approx(2.5 / 3)


def test_uauc_skips_users_with_one_class_and_averages_per_user():
    s = np.array([[0.9, 0.1, 0.2], [0.1, 0.9, 0.8], [0.3, 0.2, 0.1]])
    y = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 1]], dtype=bool)
    m = evaluate_scores(s, y)
    assert m["UAUC"] == pytest.approx((1.0 + 0.0) / 2)
    # the all-positive user still counts for ranking: both its positives are in the top 10
    assert m["users"] == 3
    assert m["Recall@10"] == pytest.approx((1 + 1 + 1) / 3)


def test_two_positives_ndcg():
    # positives at ranks 1 and 3 of 4: DCG = 1 + 1/2, IDCG = 1 + 1/log2(3)
    s = np.array([[0.9, 0.1, 0.5, 0.7]])
    y = np.array([[True, False, True, False]])
    m = evaluate_scores(s, y)
    assert m["NDCG@10"] == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert m["UAUC"] == pytest.approx((2 + 1) / 4)


def test_pooled_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=(50, 20)), 1)
    y = rng.random((50, 20)) < 0.2
    assert pooled_auc(s, y) == pytest.approx(roc_auc_score(y.ravel(), s.ravel()))


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError):
        evaluate_scores(np.zeros((2, 3)), np.zeros((3, 2), dtype=bool))
