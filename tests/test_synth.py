"""`solid synth`: atomic files with a registered dataset's statistics, deterministic, usable as a
bring-your-own folder all the way to training, and one-line errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, invoke
from test_own_data import fast_project, ok, sections

from solidcli.data import synth
from solidcli.data.atomic import read_atomic


def sequences(folder: Path, stem: str) -> tuple[object, list[list[int]]]:
    """The dataset and each user's whole sequence, rebuilt from the three `.inter` files while
    checking the leave-one-out layout: n - 3 train rows per user, newest target first, each
    history the prefix before its target cut to its last 50 items."""
    data = read_atomic(folder, stem)
    rows: dict[int, list[tuple[list[int], int]]] = {}
    for u, h, t in zip(*data.splits["train"].lists(), strict=True):
        rows.setdefault(u, []).append((h, t))
    (vu, vh, vt), (tu, th, tt) = data.splits["valid"].lists(), data.splits["test"].lists()
    assert vu == tu == list(range(1, len(data.user_tokens) + 1))
    seqs = []
    for u in vu:
        train = rows.get(u, [])[::-1]  # oldest first
        assert len(train[0][0]) == 1
        seq = train[0][0] + [t for _, t in train] + [vt[u - 1], tt[u - 1]]
        assert len(train) == len(seq) - 3
        for end, (h, t) in enumerate(train, start=1):
            assert h == seq[max(0, end - 50):end] and t == seq[end]
        assert vh[u - 1] == seq[:-2][-50:] and th[u - 1] == seq[:-1][-50:]
        seqs.append(seq)
    return data, seqs


@pytest.mark.parametrize(("like", "scale"), [("scientific", 0.2), ("office-full", 0.03)])
def test_statistics_follow_the_target(tmp_path, like, scale):
    target = synth.TARGETS[like]
    stats = synth.run(like, scale, 3, tmp_path / "out")
    data, seqs = sequences(tmp_path / "out", target.stem)
    users, items = round(target.users * scale), round(target.items * scale)
    assert len(data.user_tokens) == len(seqs) == users == stats["users"]
    assert len(data.item_tokens) == items == stats["items"]
    expected = target.interactions * users / target.users
    assert sum(map(len, seqs)) == stats["interactions"]
    assert abs(stats["interactions"] - expected) <= 0.1 * expected
    assert min(map(len, seqs)) >= 5
    assert all(len(set(s)) == len(s) for s in seqs)
    counts = np.bincount(np.concatenate(seqs), minlength=items + 1)[1:]
    assert counts.min() >= 5  # 5-core where the counts allow (they do here)
    first = list(dict.fromkeys(i for s in seqs for i in s))
    assert first == list(range(1, items + 1))  # indices in order of first appearance
    assert 0.25 < stats["popularity_gini"] < 0.65 and 0.03 < stats["top1pct_share"] < 0.25
    assert data.texts is not None and all(data.texts)
    for suffix in ("feat1CLS", "feat3CLS"):
        feats = np.fromfile(tmp_path / "out" / f"{target.stem}.{suffix}", dtype=np.float32)
        assert feats.shape == (items * 512,)


def test_id_only_target_writes_no_text_or_features(tmp_path):
    synth.run("douban-music", 0.002, 0, tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        f"DoubanMusic.{s}" for s in ("item2index", "test.inter", "train.inter", "user2index",
                                     "valid.inter")]
    _, seqs = sequences(tmp_path / "d", "DoubanMusic")
    assert max(map(len, seqs)) > 50  # long histories: cut to 50 in the files, checked above


def test_same_arguments_same_bytes(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        synth.run("scientific", 0.05, seed, tmp_path / name)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert ((tmp_path / "a/Scientific.train.inter").read_bytes()
            != (tmp_path / "c/Scientific.train.inter").read_bytes())


@pytest.mark.parametrize(("like", "scale", "encoding"), [
    ("scientific", 0.05, "prefix"),  # text and image features
    ("douban-book", 0.002, "sequence"),  # ID only, long histories, 4.6x the items
])
def test_every_stage_runs_on_synthetic_data_of_two_sizes(tmp_path, monkeypatch, like, scale,
                                                         encoding):
    """What the scale benchmark runs, on two small sizes: every stage through the CLI, and
    what each writes checked (not its time)."""
    import json
    import math

    params = fast_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    made = ok("synth", "--like", like, "--scale", str(scale), "--seed", "0", "--out", "Synth")
    target = synth.TARGETS[like]
    users, items = round(target.users * scale), round(target.items * scale)
    assert f"{users} users, {items} items" in made.stdout
    ok("download", "--dataset", "./Synth")
    stats = json.loads((tmp_path / "data/prepared/synth/stats.json").read_text())
    assert (stats["users"], stats["items"]) == (users, items)
    derived = sections(params, "synth")
    ok("embed", "--dataset", "synth")
    if target.text:
        assert derived["semantics"]["modalities"] == ["text", "image"]
    else:  # the semantic ids cluster the id baseline's item table: it trains first
        assert derived["semantics"]["modalities"] == ["id"]
        assert derived["embed"] == {"text": None, "image": None, "dim": None, "batch_size": 64}
        ok("train-base", "--dataset", "synth", "--backbone", "sasrec", "--dsr", "none")
    ok("assign-semantics", "--dataset", "synth")
    run = ["--dataset", "synth", "--backbone", "sasrec", "--dsr", "duet"]
    for stage in ("train-base", "train-sml", "train-scl"):
        ok(stage, *run, "-S", f"train.encoding={encoding}")
    ok("evaluate", *run, "--variant", "scl")
    out = tmp_path / "reports/metrics/synth/sasrec-duet-scl/seed0"
    metrics = json.loads((out / "metrics.json").read_text())
    record = json.loads((tmp_path / "models/synth/scl/sasrec-duet/seed0/run.json").read_text())
    assert record["encoding"] == encoding
    assert metrics["test"]["users"] == metrics["test_full"]["users"] == users
    assert metrics["protocol_full"] == f"full ranking: all {items} items but the user's history"
    for split in ("valid", "test", "test_full"):
        assert all(math.isfinite(v) and 0 <= v <= 1 for k, v in metrics[split].items()
                   if k != "users"), metrics[split]
    assert (out / "run.json").exists()


def test_bad_input_is_one_line(tmp_path):
    out = str(tmp_path / "x")
    assert_one_line_error(invoke("synth", "--like", "nope", "--out", out),
                          "--like 'nope': no statistics for it (known: arts-2018, arts-full")
    assert_one_line_error(invoke("synth", "--like", "office", "--out", out),
                          "no published statistics for arts, cds, electronic, instruments, office")
    for scale in ("0", "-1", "nan"):
        assert_one_line_error(invoke("synth", "--like", "scientific", "--scale", scale,
                                     "--out", out), "--scale must be a positive number")
    assert_one_line_error(invoke("synth", "--like", "scientific", "--scale", "0.001",
                                 "--out", out), "3 users and 2 items, fewer than 10")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mine.txt").write_text("keep")
    assert_one_line_error(invoke("synth", "--like", "scientific", "--scale", "0.01",
                                 "--out", out), "exists and is not empty; pass --force")
    assert (tmp_path / "x" / "mine.txt").read_text() == "keep"
    (tmp_path / "f").write_text("")
    assert_one_line_error(invoke("synth", "--like", "scientific", "--out",
                                 str(tmp_path / "f")), "is a file, not a folder")
    ok("synth", "--like", "scientific", "--scale", "0.01", "--out", out, "--force")
    assert not (tmp_path / "x" / "mine.txt").exists()
    assert (tmp_path / "x" / "Scientific.train.inter").is_file()
