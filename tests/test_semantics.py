"""Semantic assignment: k-means and the category-centroid rule (paper Eq. 7-10)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from solidcli.cli import app
from solidcli.errors import SolidError
from solidcli.features.semantics import category_semantics, item_matrix, kmeans_semantics


def test_primary_category_is_the_nearest_centroid():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0], [10.0, 10.0], [10.0, 11.0], [0.2, 0.4],
                  [9.0, 10.0]])
    labels = pd.array(["A", "A", "A", "B", "B", None, pd.NA], dtype="string").tolist()
    semantic, centroids, names = category_semantics(x, labels)
    assert names == ["A", "B"]  # A has more labelled items
    assert np.allclose(centroids[1], [3.0, 10.0 / 3]) and np.allclose(centroids[2], [10, 10.5])
    # the third item is labelled A but B's centroid is nearer; unlabelled items still get one
    assert semantic.tolist() == [1, 1, 2, 2, 2, 1, 2]
    assert np.all(centroids[0] == 0)


def test_category_method_needs_categories():
    with pytest.raises(SolidError, match="needs item categories"):
        category_semantics(np.zeros((3, 2)), [None, None, None])


def test_kmeans_ids_are_1_to_k_and_seeded():
    rng = np.random.default_rng(0)
    x = item_matrix([np.vstack([np.zeros(4), rng.normal(size=(30, 4))])])
    a, ca = kmeans_semantics(x, 5, seed=3)
    b, _ = kmeans_semantics(x, 5, seed=3)
    assert sorted(set(a.tolist())) == [1, 2, 3, 4, 5] and np.array_equal(a, b)
    assert ca.shape == (6, 4) and np.all(ca[0] == 0)
    with pytest.raises(SolidError, match="must be between 1 and the number of items"):
        kmeans_semantics(x, 31, seed=0)


def test_category_semantics_through_the_pipeline(tiny_project):
    runner = CliRunner()
    method = ["--set", "semantics.tiny.method=category"]
    for cmd in (["download"], ["embed"], ["assign-semantics", *method],
                ["train-spg", *method]):
        result = runner.invoke(app, cmd)
        assert result.exit_code == 0, (cmd, result.output)
    folder = tiny_project / "data/semantics/tiny"
    frame = pd.read_parquet(folder / "category-text+image.parquet")
    summary = json.loads((folder / "category-text+image.json").read_text())
    assert summary["k"] == 4 and summary["method"] == "category"
    assert sorted(summary["categories"]) == [f"Tiny Things Group {g}" for g in range(4)]
    assert set(frame["semantic"]) <= {1, 2, 3, 4}
    run = json.loads((tiny_project / "models/tiny/spg/sasrec-duet/seed0/run.json").read_text())
    assert run["vocab"]["semantics"] == 4


# ---- k-means algorithm (issue 27: lloyd at small items x K, mini-batch above) ----------------


def _old_kmeans_semantics(x, k, seed):
    """kmeans_semantics before issue 27, verbatim but for the checks: what lloyd must equal."""
    from sklearn.cluster import KMeans

    n = x.shape[0]
    km = KMeans(n_clusters=k, n_init=3, random_state=seed)
    labels = km.fit_predict(x)
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    order = np.lexsort((first, -sizes))
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(1, k + 1)
    centroids = np.zeros((k + 1, x.shape[1]), dtype=np.float32)
    centroids[1:] = km.cluster_centers_[order]
    return new_id[labels], centroids


def test_auto_threshold_keeps_lloyd_for_the_bundled_data():
    from solidcli.features.semantics import LLOYD_MAX_WORK, choose_algorithm

    assert choose_algorithm(1_585, 32) == "lloyd"  # Scientific, the K study's choice
    assert choose_algorithm(1_585, 550) == "lloyd"  # Scientific, the authors' K
    assert choose_algorithm(4_385, 1_500) == "lloyd"  # scientific-full
    assert choose_algorithm(15_000, 5_000) == "minibatch"  # Office
    assert choose_algorithm(213_000, 2_000) == "minibatch"
    assert choose_algorithm(LLOYD_MAX_WORK // 10, 10) == "lloyd"  # the threshold is inclusive
    assert choose_algorithm(LLOYD_MAX_WORK // 10 + 1, 10) == "minibatch"
    assert choose_algorithm(15_000, 5_000, "lloyd") == "lloyd"  # an explicit choice wins
    assert choose_algorithm(100, 2, "minibatch") == "minibatch"
    with pytest.raises(SolidError, match=r"unknown k-means algorithm 'elkan' \(choose from "
                                         r"auto, lloyd, minibatch\)"):
        choose_algorithm(100, 2, "elkan")


def test_auto_and_lloyd_give_the_old_bytes():
    rng = np.random.default_rng(1)
    x = item_matrix([np.vstack([np.zeros(16), rng.normal(size=(300, 16))])])
    old, old_c = _old_kmeans_semantics(x, 12, seed=5)
    for algorithm in ("auto", "lloyd"):
        new, new_c = kmeans_semantics(x, 12, seed=5, algorithm=algorithm)
        assert new.tobytes() == old.tobytes() and new_c.tobytes() == old_c.tobytes()


def test_minibatch_is_seeded_and_fills_every_cluster():
    rng = np.random.default_rng(2)
    x = item_matrix([np.vstack([np.zeros(8), rng.normal(size=(600, 8))])])
    k = 200  # a third of the items, as the authors' rule
    a, ca = kmeans_semantics(x, k, seed=3, algorithm="minibatch")
    b, cb = kmeans_semantics(x, k, seed=3, algorithm="minibatch")
    assert a.tobytes() == b.tobytes() and ca.tobytes() == cb.tobytes()
    assert a.dtype == np.int64 and a.shape == (600,)
    assert np.array_equal(np.unique(a), np.arange(1, k + 1))  # exactly K non-empty clusters
    assert ca.shape == (k + 1, 8) and ca.dtype == np.float32 and np.all(ca[0] == 0)
    sizes = np.bincount(a, minlength=k + 1)[1:]
    assert np.all(np.diff(sizes) <= 0)  # numbered by size, largest first
    for s in (1, 7):  # each centroid is the mean of its members
        assert np.allclose(ca[s], x[a == s].mean(0), atol=1e-5)


def test_an_empty_cluster_takes_the_farthest_item_of_a_shared_cluster():
    from solidcli.features.semantics import _fill_empty

    x = np.array([[0.0], [0.1], [5.0], [10.0], [20.0]], dtype=np.float32)
    centers = np.array([[0.0], [30.0], [7.0], [1.0]], dtype=np.float32)
    labels = np.array([0, 0, 2, 2, 1])  # cluster 3 empty; item 4 is alone in cluster 1
    _fill_empty(x, labels, centers, 4)
    # item 4 is the farthest from its centre (10) but alone: item 3 (3 from 7) moves
    assert labels.tolist() == [0, 0, 2, 3, 1]


def test_the_semantics_record_names_the_algorithm_that_ran(tiny_project):
    runner = CliRunner()
    for cmd in (["download"], ["embed"], ["assign-semantics"]):
        result = runner.invoke(app, cmd)
        assert result.exit_code == 0, (cmd, result.output)
    summary = json.loads((tiny_project / "data/semantics/tiny/text+image.json").read_text())
    assert summary["method"] == "kmeans" and summary["algorithm"] == "lloyd"


def _params_have_algorithm() -> bool:
    import dataclasses

    from solidcli.config import SemanticsCfg

    return "algorithm" in {f.name for f in dataclasses.fields(SemanticsCfg)}


@pytest.mark.skipif(not _params_have_algorithm(), reason="semantics.<d>.algorithm is not in "
                    "SemanticsCfg yet (it needs solidcli.schema to honour field defaults)")
def test_params_take_the_algorithm_and_default_to_auto(tmp_path):
    from conftest import tiny_params, write_params

    from solidcli.config import ConfigError, load_params

    data = tiny_params(tmp_path)  # no `algorithm` key, as the repository's params.yaml
    write_params(tmp_path / "params.yaml", data)
    assert load_params(tmp_path / "params.yaml").semantics_cfg("tiny").algorithm == "auto"
    p = load_params(tmp_path / "params.yaml", ["semantics.tiny.algorithm=minibatch"])
    assert p.semantics_cfg("tiny").algorithm == "minibatch"
    data["semantics"]["tiny"]["algorithm"] = "elkan"
    write_params(tmp_path / "params.yaml", data)
    with pytest.raises(ConfigError, match=r"'semantics.tiny.algorithm' must be one of auto, "
                                          r"lloyd, minibatch, got 'elkan'"):
        load_params(tmp_path / "params.yaml")
