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
