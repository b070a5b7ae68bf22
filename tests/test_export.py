"""`solid export`: the ONNX graph gives torch's scores for every backbone x dsr x variant (random
weights, two members averaged, batches and widths other than the traced ones), DIN's item
chunks survive other batch sizes, and the command end to end on a trained run (files,
vocabulary, the seeds' ensemble, one seed), with bad input as one line and nothing written."""

import hashlib
import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import snapshot
from test_cli import assert_one_line_error, invoke
from test_models import N_ITEMS, D, K, mapping, spec

from solidcli.models import din
from solidcli.models.ensemble import GRU
from solidcli.models.recommender import Recommender
from solidcli.pipeline import export

BACKBONES = ("din", "gru4rec", "sasrec", "bert4rec")
MODELS = [("none", "base")] + [(dsr, variant) for dsr in ("apg", "duet")
                               for variant in ("base", "spg", "sml", "scl", "scl_only")]
TOL = 1e-5


def group(dsr: str, variant: str, backbone: str, members: int = 2) -> Recommender:
    """`members` randomly initialised models of one spec, grouped (their scores' mean)."""
    models = []
    for seed in range(members):
        torch.manual_seed(seed)
        models.append(Recommender(spec(dsr, variant, backbone), item_to_semantic=mapping(),
                                  codebook_init=torch.randn(K, D) * 0.05))
    model = models[0] if members == 1 else Recommender.group(models)
    return model.eval()


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """Histories of mixed lengths in one batch, at batch sizes and widths the trace (8 x 10)
    did not have."""
    rng = np.random.default_rng(1)
    out = []
    for b, width in ((5, 7), (1, 3), (13, 10)):
        lengths = rng.integers(1, width + 1, b)
        lengths[0] = width
        hist = rng.integers(1, N_ITEMS + 1, (b, width))
        hist[np.arange(width)[None, :] >= lengths[:, None]] = 0
        out.append((hist.astype(np.int64), lengths.astype(np.int64)))
    return out


def assert_matches(path, model) -> None:
    sess = export.session(path)
    for hist, lengths in batches():
        (got,) = sess.run(None, {"hist": hist, "lengths": lengths})
        want = export.torch_scores(model, hist, lengths)
        assert got.shape == (len(hist), N_ITEMS)
        np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize(("dsr", "variant"), MODELS)
def test_onnx_scores_match_torch(backbone, dsr, variant, tmp_path):
    model = group(dsr, variant, backbone)
    path = tmp_path / "m.onnx"
    export.write_onnx(model, path, trace_batch=8)
    assert_matches(path, model)


def test_din_item_chunks_are_fixed_when_traced(tmp_path, monkeypatch):
    """Chunks of 3 items at the traced batch: a request of another size runs the same chunks
    (a slice's end would have been recomputed from its batch size)."""
    monkeypatch.setattr(din, "ITEM_CHUNK_ELEMENTS", 2 * 8 * 10 * 6 * 3)  # S B L H x 3 items
    model = group("duet", "scl", "din")
    path = tmp_path / "din.onnx"
    export.write_onnx(model, path, trace_batch=8)
    assert_matches(path, model)


def test_fused_gru_is_the_loop():
    torch.manual_seed(0)
    gru = GRU(2, 6, 5, layers=2).eval()
    seq = torch.randn(2, 3, 7, 6)
    torch.testing.assert_close(gru._fused(seq), gru(seq), rtol=1e-5, atol=1e-6)


# ---- the command, on the trained tiny project (SASRec-DUET, seeds 0 and 1) -------------------

def trained_scores(seeds, hist, lengths):
    from solidcli.config import load_params
    from solidcli.grid import find_tagged
    from solidcli.layout import RunId
    from solidcli.runs import load_trained

    config = find_tagged(load_params("params.yaml"), RunId("tiny", "sasrec", "duet", "scl"))
    models = [load_trained(config.with_seed(s))[0] for s in seeds]
    model = models[0] if len(models) == 1 else Recommender.group(models)
    return export.torch_scores(model, hist, lengths)


def test_export_command(project):
    from solidcli.data.prepared import PreparedDataset

    result = invoke("export", "--dsr", "duet", "--variant", "scl", "--out", "x.onnx")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["x.onnx", "x.items.json", "x.json"]
    data = PreparedDataset.load("tiny")
    tokens = json.loads((project / "x.items.json").read_text())
    items = pd.read_parquet(project / "data/prepared/tiny/items.parquet").sort_values("item")
    assert tokens == items["token"].tolist() and len(tokens) == data.n_items
    meta = json.loads((project / "x.json").read_text())
    assert meta["seeds"] == [0, 1] and "mean of the logits of seeds 0, 1" in meta["scores"]
    assert (meta["max_len"], meta["n_items"], meta["padding_id"]) == (10, data.n_items, 0)
    for entry in meta["models"]:
        record = json.loads((project / entry["path"]).with_name("run.json").read_text())
        assert entry["sha256"] == record["model_sha256"]
    assert meta["check"]["max_abs_diff"] <= TOL
    digest = hashlib.sha256((project / "x.onnx").read_bytes()).hexdigest()
    assert meta["sha256"] == {"x.onnx": digest, "x.items.json": hashlib.sha256(
        (project / "x.items.json").read_bytes()).hexdigest()}
    again = invoke("export", "--dsr", "duet", "--out", "again/x.onnx")  # folders made
    assert again.exit_code == 0, again.output
    assert hashlib.sha256((project / "again/x.onnx").read_bytes()).hexdigest() == digest

    from solidcli.data.batching import pad_histories

    hist, lengths = pad_histories(data.splits["test"].histories, 10)
    hist = hist[:, :lengths.max()]
    (got,) = export.session(project / "x.onnx").run(None, {"hist": hist, "lengths": lengths})
    both = trained_scores([0, 1], hist, lengths)
    np.testing.assert_allclose(got, both, rtol=TOL, atol=TOL)

    one = invoke("export", "--dsr", "duet", "--variant", "scl", "--seed", "1")
    assert one.exit_code == 0, one.output
    path = project / "exports/tiny/sasrec-duet-scl-seed1.onnx"  # the default
    assert one.stdout.split()[0] == str(path.relative_to(project))
    (got,) = export.session(path).run(None, {"hist": hist, "lengths": lengths})
    np.testing.assert_allclose(got, trained_scores([1], hist, lengths), rtol=TOL, atol=TOL)
    assert not np.allclose(got, both, rtol=TOL, atol=TOL)
    assert json.loads(path.with_suffix(".json").read_text())["seeds"] == [1]


def test_export_bad_input(project, monkeypatch):
    (project / "afile").write_text("x")
    (project / "adir").mkdir()
    before = snapshot(project)
    cases = [
        (("--dsr", "apg"), "is not trained"),
        (("--dsr", "apg"), "solid train-scl"),
        (("--backbone", "nope"), "unknown backbone 'nope'"),
        (("--variant", "nope"), "unknown variant 'nope'"),
        (("--seed", "7"), "--seed 7"),
        (("--seed", "-1"), "--seed must be a whole number >= 0"),
        (("--out", "afile/x.onnx"), "afile is a file, not a folder"),
        (("--out", "adir"), "is a folder"),
        (("--out", "x.txt"), "must end in .onnx"),
    ]
    for args, text in cases:
        assert_one_line_error(invoke("export", *args), text)
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # a graph that disagrees with torch
    assert_one_line_error(invoke("export", "--out", "x.onnx"), "nothing was written")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed
    assert_one_line_error(invoke("export"), "pip install")
    assert snapshot(project) == before
