"""Negative sampling and the fixed valid/test candidates."""

import numpy as np
import pytest

from solidcli.data.prepared import PreparedDataset
from solidcli.data.sampling import InteractionIndex, sample_negatives
from solidcli.errors import SolidError


def small_index():
    users = np.array([1, 1, 1, 2, 2])
    items = np.array([1, 2, 3, 4, 5])
    return InteractionIndex(users, items, n_items=10)


def test_negatives_avoid_interacted_items_and_are_distinct():
    index = small_index()
    rng = np.random.default_rng(0)
    users = np.array([1, 2] * 50)
    negs = sample_negatives(rng, users, 6, index)
    assert negs.shape == (100, 6)
    assert negs.min() >= 1 and negs.max() <= 10
    for u, row in zip(users, negs, strict=True):
        assert len(set(row.tolist())) == 6
        seen = {1, 2, 3} if u == 1 else {4, 5}
        assert not seen & set(row.tolist())


def test_same_seed_same_negatives_other_seed_differs():
    index = small_index()
    users = np.array([1, 2, 1, 2])
    a = sample_negatives(np.random.default_rng([3, 1]), users, 4, index)
    b = sample_negatives(np.random.default_rng([3, 1]), users, 4, index)
    c = sample_negatives(np.random.default_rng([4, 1]), users, 4, index)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_too_few_free_items_is_a_clear_error():
    with pytest.raises(SolidError, match="cannot sample 8 distinct negatives"):
        sample_negatives(np.random.default_rng(0), np.array([1]), 8, small_index())


def test_prepared_candidates_exclude_history_and_are_fixed_by_seed(tiny_project):
    from solidcli.config import load_params
    from solidcli.pipeline import download

    download.run(load_params(), "tiny")
    first = PreparedDataset.load("tiny")
    for split in ("valid", "test"):
        part = first.splits[split]
        cands = first.candidates[split]
        assert cands.shape == (len(part.users), 10)
        assert np.array_equal(cands[:, 0], part.targets)  # the positive comes first
        test_hist = dict(zip(first.splits["test"].users, first.splits["test"].histories,
                             strict=True))
        test_target = dict(zip(first.splits["test"].users, first.splits["test"].targets,
                               strict=True))
        for u, row in zip(part.users, cands, strict=True):
            seen = set(test_hist[u].tolist()) | {int(test_target[u])}
            assert not seen & set(row[1:].tolist())
            assert len(set(row.tolist())) == len(row)
    download.run(load_params(), "tiny")
    again = PreparedDataset.load("tiny")
    for split in ("valid", "test"):
        assert np.array_equal(first.candidates[split], again.candidates[split])
    download.run(load_params(overrides=["seed=1"]), "tiny")
    other = PreparedDataset.load("tiny")
    assert not np.array_equal(first.candidates["test"], other.candidates["test"])
