"""`solid recommend` and the Python API (`solidcli.api`): exact top-k, the seeds' ensemble,
the CLI and the API agreeing, the README's example, and bad input in one line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, snapshot
from test_cli import assert_one_line_error, invoke

from solidcli import api, layout
from solidcli.layout import RunId

SCL = ["--dsr", "duet", "--variant", "scl"]


def _all_items_scores(seeds: list[int], histories: list[np.ndarray]) -> np.ndarray:
    """The mean over `seeds` of each trained model's all-items logits, items 1..N, computed
    straight from the models (no api code)."""
    import torch

    from solidcli.data.batching import pad_histories
    from solidcli.runs import load_trained

    per_seed = []
    for seed in seeds:
        model, _ = load_trained(RunId("tiny", "sasrec", "duet", "scl", seed=seed))
        model.eval()
        hist, lengths = pad_histories(histories, model.spec.max_len)
        with torch.no_grad():
            per_seed.append(model.score_items(torch.from_numpy(hist),
                                              torch.from_numpy(lengths))[0, :, 1:].numpy())
    return np.mean(per_seed, axis=0)


def test_top_k_is_the_stable_argsort_of_every_items_score_without_the_history(project):
    model = api.load(dsr="duet", variant="scl")
    users = model.user_tokens[:12]
    histories = [model.user_history(u) for u in users]
    want = _all_items_scores([0, 1], histories)
    np.testing.assert_allclose(model.scores(histories), want, rtol=1e-6, atol=1e-6)
    got = model.recommend_users(users, k=5)
    for row, history, lists in zip(want, histories, got, strict=True):
        row = row.copy()
        row[history - 1] = -np.inf
        order = np.argsort(-row, kind="stable")[:5]
        assert [t for t, _ in lists] == [model.item_tokens[i] for i in order]
        assert not {t for t, _ in lists} & {model.item_tokens[i - 1] for i in history}
    kept = model.recommend_users(users[:1], k=model.n_items, keep_seen=True)[0]
    assert len(kept) == model.n_items  # every item, the history's own included
    left = model.recommend_users(users[:1], k=model.n_items)[0]
    assert len(left) == model.n_items - len(set(histories[0].tolist()))


def test_the_ensemble_is_the_mean_of_the_seeds_scores(project):
    ensemble = api.load(dsr="duet", variant="scl")
    alone = [api.load(dsr="duet", variant="scl", seed=s) for s in (0, 1)]
    histories = [ensemble.item_ids(["ITEM001", "ITEM002", "ITEM005"]),
                 ensemble.item_ids(["ITEM007"])]
    mean = np.mean([m.scores(histories) for m in alone], axis=0)
    np.testing.assert_allclose(ensemble.scores(histories), mean, rtol=1e-6, atol=1e-6)
    assert ensemble.seeds == [0, 1] and alone[1].seeds == [1]
    tokens, table = alone[1].item_embeddings()
    assert len(tokens) == table.shape[0] == 20 and table.shape[1] == 8
    row = ensemble.scores([ensemble.item_ids(["ITEM001"])])[0]
    assert ensemble.score(["ITEM001"], ["ITEM003", "ITEM004"]) == pytest.approx(
        [float(row[i - 1]) for i in ensemble.item_ids(["ITEM003", "ITEM004"])])


def test_the_cli_and_the_api_give_the_same_lists(project):
    model = api.load(dsr="duet", variant="scl")
    result = invoke("recommend", *SCL, "--user", "USER003", "--user", "USER010", "-k", "4",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    for user, lists in zip(("USER003", "USER010"), model.recommend_users(
            ["USER003", "USER010"], k=4), strict=True):
        assert [(r["item"], r["rank"]) for r in rows if r["query"] == user] == [
            (t, n) for n, (t, _) in enumerate(lists, start=1)]
    result = invoke("recommend", *SCL, "--history", "ITEM001 ITEM002", "--seed", "1",
                    "--format", "csv", "-k", "3")
    assert result.exit_code == 0, result.output
    want = api.load(dsr="duet", variant="scl", seed=1).recommend([["ITEM001", "ITEM002"]],
                                                                 k=3)[0]
    lines = result.stdout.splitlines()
    assert lines[0] == "query,rank,item,score"
    assert [ln.split(",")[2] for ln in lines[1:]] == [t for t, _ in want]
    table = invoke("recommend", *SCL, "--user", "USER003", "-k", "2")
    assert table.exit_code == 0 and "USER003" in table.stdout and "score" in table.stdout
    result = invoke("recommend", *SCL, "--all", "--out", "recs.parquet", "-k", "5",
                    "--split", "test")
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet("recs.parquet")
    assert list(frame.columns) == ["user", "rank", "item", "score"]
    assert frame["user"].nunique() == 30 and (frame.groupby("user").size() == 5).all()
    every = model.recommend_users(model.user_tokens, k=5, split="test")
    assert [t for lists in every for t, _ in lists] == frame["item"].tolist()


def test_the_readme_example_runs(project):
    """The README's Python example, as written, in a trained project."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert block, "README: the API example (marked <!-- api-example -->) is missing"
    scope: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["recs"] and len(scope["recs"][0]) == 5


def _no_model() -> None:
    (layout.model_dir(RunId("tiny", "sasrec", "duet", "scl", seed=1)) / "model.pt").unlink()


@pytest.mark.parametrize(("breaker", "args", "text"), [
    (None, ["--variant", "scl_only", "--dsr", "duet", "-u", "USER001"],
     "tiny/sasrec/duet/scl_only seed 0 is not trained"),
    (None, [*SCL, "--history", "ITEM001 B00NOPE"], "unknown item token 'B00NOPE' in the history"),
    (None, [*SCL, "-u", "NOBODY"], "unknown user token 'NOBODY'"),
    (None, [*SCL, "-u", "USER001", "-k", "0"], "-k must be a whole number >= 1, got 0"),
    (None, [*SCL, "-u", "USER001", "--format", "xml"], "unknown --format 'xml'"),
    (None, [*SCL, "--history", "  "], "--history is empty"),
    (None, [*SCL, "-u", "USER001", "--history", "ITEM001"], "(got --user and --history)"),
    (None, [*SCL, "--all"], "--all writes a Parquet file: give --out"),
    (None, [*SCL, "-u", "USER001", "--split", "train"], "unknown split 'train'"),
    (None, [*SCL, "-u", "USER001", "--seed", "9"],
     "run `solid train-scl --dataset tiny --backbone sasrec --dsr duet --seed 9` first"),
    (_no_model, [*SCL, "-u", "USER001"], "missing checkpoint models/tiny/scl/sasrec-duet/seed1"),
    (lambda: Path("out.parquet").mkdir(), [*SCL, "--all", "--out", "out.parquet"],
     "--out out.parquet is a folder"),
], ids=["untrained-run", "unknown-item", "unknown-user", "k-0", "format", "empty-history",
        "two-requests", "all-without-out", "split", "seed-not-trained", "no-model-pt",
        "out-is-a-folder"])
def test_bad_input_to_recommend_is_one_line(project, breaker, args, text):
    if breaker is not None:
        breaker()
    before = snapshot(project)
    assert_one_line_error(invoke("recommend", *args), text)
    assert snapshot(project) == before


def test_the_api_refuses_bad_input_with_a_solid_error(project):
    from solidcli.errors import SolidError

    model = api.load(dsr="duet", variant="scl")
    for call, text in ((lambda: model.recommend([[]]), "an empty history"),
                       (lambda: model.recommend(["ITEM001"]), "not one string"),
                       (lambda: model.recommend([["ITEM001"]], k=-1), "k must be"),
                       (lambda: model.item_embeddings(seed=4), "seed 4 is not loaded"),
                       (lambda: api.load(project="nowhere"), "project folder not found")):
        with pytest.raises(SolidError, match=text):
            call()
    shutil.rmtree(layout.prepared_dir("tiny"))
    with pytest.raises(SolidError, match="manifest.json missing|incomplete"):
        api.load(dsr="duet", variant="scl")


def test_evaluate_takes_one_seed_and_its_hint_works_as_written(project):
    """Only seed 1 of a run trained: evaluate names the trained seed's command, which works."""
    import shlex

    assert invoke("train-base", "--dsr", "duet", "--tag", "one", "--seed", "1").exit_code == 0
    result = invoke("evaluate", "--dsr", "duet", "--tag", "one")
    assert_one_line_error(result, "seed 0 is not trained")
    hint = result.stderr.split("evaluate a trained seed alone: `")[1].split("`")[0]
    assert hint.endswith("--seed 1")
    done = invoke(*shlex.split(hint)[1:])
    assert done.exit_code == 0, done.output
    assert (project / "reports/metrics/tiny/sasrec-duet-base-one/seed1/metrics.json").is_file()
    assert not (project / "reports/metrics/tiny/sasrec-duet-base-one/seed0").exists()


def test_the_onnx_engine_gives_the_same_lists_without_torch_and_refuses_a_stale_export(project):
    """`--engine onnx` scores with the run's `solid export` file: the lists torch gives, no
    torch imported; a model retrained since the export, or no export, is one line whose
    command works as written."""
    import shlex
    import subprocess
    import sys

    missing = invoke("recommend", *SCL, "-u", "USER003", "--engine", "onnx")
    assert_one_line_error(missing, "no export exports/tiny/sasrec-duet-scl.onnx; make it with")
    make = missing.stderr.split("make it with `")[1].split("`")[0]
    assert invoke(*shlex.split(make)[1:]).exit_code == 0
    users = ["USER003", "USER010", "USER021"]
    for args in (["-u", u] for u in users):
        got = invoke("recommend", *SCL, *args, "--engine", "onnx", "--format", "json", "-k", "5")
        want = invoke("recommend", *SCL, *args, "--format", "json", "-k", "5")
        assert got.exit_code == want.exit_code == 0, got.output
        assert [r["item"] for r in json.loads(got.stdout)] == [
            r["item"] for r in json.loads(want.stdout)]
    onnx = api.load(dsr="duet", variant="scl", engine="onnx")
    histories = [onnx.user_history(u) for u in users]
    np.testing.assert_allclose(onnx.scores(histories),
                               api.load(dsr="duet", variant="scl").scores(histories),
                               rtol=1e-4, atol=1e-4)
    code = ("import sys; from solidcli import api\n"
            "m = api.load(dsr='duet', variant='scl', engine='onnx')\n"
            "m.recommend_users(['USER003'])\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
    assert invoke("train-scl", "--dsr", "duet", "--seed", "0", "-S",
                  "train.lr=0.01").exit_code == 0
    before = snapshot(project)
    assert_one_line_error(invoke("recommend", *SCL, "-u", "USER003", "--engine", "onnx"),
                          "exports/tiny/sasrec-duet-scl.onnx is stale: "
                          "models/tiny/scl/sasrec-duet/seed0/model.pt was retrained after it "
                          "was exported; remake it with `solid export --dataset tiny")
    assert_one_line_error(invoke("recommend", *SCL, "-u", "USER003", "--engine", "jax"),
                          "unknown engine 'jax'")
    assert snapshot(project) == before
