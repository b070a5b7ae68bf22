"""Your own data with the defaults: `solid download --dataset <folder>` writes the folder's
data / embed / semantics sections into params.yaml (derived from its files), and every later
command, and the DVC grid, runs with no dataset-specific `-S`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from ruamel.yaml import YAML
from test_cli import assert_one_line_error, invoke

from solidcli.data.own import semantic_k

HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"


def write_shop(folder: Path, n_items: int, n_users: int, *, text: bool, longest: int = 12,
               seed: int = 0) -> Path:
    """A shop's atomic files: users with 5-`longest` distinct items (user 1 has `longest`), each
    leaning towards one of 4 item groups; item texts in `.text` when `text`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder.name
    (folder / f"{stem}.item2index").write_text("".join(f"SKU{i:04d}\t{i}\n"
                                                       for i in range(n_items)))
    (folder / f"{stem}.user2index").write_text("".join(f"C{u:03d}\t{u}\n"
                                                       for u in range(n_users)))
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for u in range(n_users):
        length = longest if u == 1 else int(rng.integers(5, longest + 1))
        weights = np.where(np.arange(n_items) % 4 == u % 4, 4.0, 1.0)
        seq = rng.choice(n_items, size=length, replace=False, p=weights / weights.sum())
        for n in range(1, length - 2):
            rows["train"].append(f"{u}\t{' '.join(map(str, seq[:n]))}\t{seq[n]}\n")
        rows["valid"].append(f"{u}\t{' '.join(map(str, seq[:-2]))}\t{seq[-2]}\n")
        rows["test"].append(f"{u}\t{' '.join(map(str, seq[:-1]))}\t{seq[-1]}\n")
    for split, lines in rows.items():
        (folder / f"{stem}.{split}.inter").write_text(HEADER + "".join(lines))
    if text:
        kinds = ["garden hose", "desk lamp", "tea kettle", "running shoe"]
        (folder / f"{stem}.text").write_text("item_id:token\ttext:token_seq\n" + "".join(
            f"SKU{i:04d}\tA {kinds[i % 4]}, model {i}. Home. Brand{i % 5}.\n"
            for i in range(n_items)))
    return folder


def fast_project(root: Path) -> Path:
    """`root` with the repository's params.yaml, its `train` section made fast, one seed:
    nothing dataset-specific (round-trip edited, so comments and anchors stay)."""
    yaml = YAML()
    doc = yaml.load((REPO / "params.yaml").read_text())
    doc["seeds"] = [0]
    doc["device"] = "cpu"
    doc["train"].update(epochs=1, min_epochs=1, batch_size=32, eval_batch_size=64, dim=8,
                        max_len=10)
    with (root / "params.yaml").open("w") as fh:
        yaml.dump(doc, fh)
    return root / "params.yaml"


def sections(params: Path, name: str) -> dict:
    raw = YAML(typ="safe", pure=True).load(params.read_text())
    return {s: raw[s].get(name) for s in ("data", "embed", "semantics")}


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, (args, result.output)
    return result


def chain(name: str, user: str) -> None:
    """Every command after download, with only the dataset named."""
    ok("assign-semantics", "--dataset", name)
    for dsr in ("none", "duet"):
        ok("train-base", "--dataset", name, "--dsr", dsr)
    for stage in ("train-spg", "train-sml", "train-scl"):
        ok(stage, "--dataset", name, "--dsr", "duet")
    ok("evaluate", "--dataset", name, "--variant", "scl", "--dsr", "duet")
    rec = ok("recommend", "--dataset", name, "--dsr", "duet", "--user", user, "-k", "3",
             "--format", "csv")
    assert rec.stdout.count("SKU") == 3


def test_text_only_folder_runs_with_the_defaults(tmp_path, monkeypatch):
    params = fast_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_shop(tmp_path / "shops" / "MyShop", 100, 48, text=True)
    before = params.read_text()
    result = ok("download", "--dataset", "shops/MyShop")
    assert without(params.read_text(), "myshop") == before
    assert "params.yaml: added data.myshop, embed.myshop, semantics.myshop" in result.stderr
    assert "myshop: only 100 items, so eval_negatives = 88 instead of 99" in result.stderr
    assert sections(params, "myshop") == {
        "data": {"path": "shops/MyShop", "eval_negatives": 88, "category_prefix": None},
        "embed": {"text": "minilm", "image": None, "dim": None, "batch_size": 64},
        "semantics": {"method": "kmeans", "k": 33, "modalities": ["text"]},
    }
    cands = pd.read_parquet(tmp_path / "data/prepared/myshop/candidates.parquet")
    assert {len(c) for c in cands["items"]} == {89}
    ok("embed", "--dataset", "myshop")
    chain("myshop", "C007")


def test_id_only_folder_trains_its_id_baseline_first(tmp_path, monkeypatch):
    params = fast_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_shop(tmp_path / "MyShop", 90, 40, text=False)
    before = params.read_text()
    result = ok("download", "--dataset", str(tmp_path / "MyShop"))  # absolute, inside: relative
    assert without(params.read_text(), "myshop") == before
    assert "myshop: only 90 items, so eval_negatives = 78 instead of 99" in result.stderr
    hint = re.search(r"train that baseline first, `solid ([^`]+)`", result.stderr)
    assert hint, result.stderr
    assert sections(params, "myshop") == {
        "data": {"path": "MyShop", "eval_negatives": 78, "category_prefix": None},
        "embed": {"text": None, "image": None, "dim": None, "batch_size": 64},
        "semantics": {"method": "kmeans", "k": 30, "modalities": ["id"]},
    }
    ok("embed", "--dataset", "myshop")
    assert_one_line_error(invoke("assign-semantics", "--dataset", "myshop"),
                          f"run `solid {hint.group(1)}` first")
    ok(*hint.group(1).split())  # the command the hint names, as written
    chain("myshop", "C011")


def repo_copy(root: Path) -> tuple[Path, str]:
    """The repository's params.yaml copied into `root`, and its text."""
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    return root / "params.yaml", (root / "params.yaml").read_text()


def without(text: str, name: str) -> str:
    """`text` with the `  <name>:` blocks (the key line and the lines indented under it) cut."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"  {name}:"):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


def test_round_trip_keeps_the_file_and_only_adds_the_sections(tmp_path, monkeypatch):
    params, before = repo_copy(tmp_path)
    elsewhere = tmp_path / "conf" / "mine.yaml"  # --params somewhere else: written there
    elsewhere.parent.mkdir()
    shutil.copy(params, elsewhere)
    monkeypatch.chdir(tmp_path)
    folder = write_shop(tmp_path.parent / f"{tmp_path.name}-big" / "BigShop", 130, 30,
                        text=True)
    result = ok("download", "--dataset", str(folder), "--params", str(elsewhere))
    assert "eval_negatives =" not in result.stderr  # 130 items: 99 fit every user
    after = elsewhere.read_text()
    assert params.read_text() == before
    assert without(after, "bigshop") == before
    assert after.count("  bigshop:  # by `solid download` from ") == 3
    assert sections(elsewhere, "bigshop") == {
        "data": {"path": folder.resolve().as_posix(), "eval_negatives": 99,
                 "category_prefix": None},
        "embed": {"text": "minilm", "image": None, "dim": None, "batch_size": 64},
        "semantics": {"method": "kmeans", "k": 43, "modalities": ["text"]},
    }
    ok("check-params", "--params", str(elsewhere))


def test_existing_sections_are_never_overwritten(tmp_path, monkeypatch):
    params, before = repo_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_shop(tmp_path / "MyShop", 90, 30, text=True)
    mine = before.replace("  douban-music: {<<: *data}\n", "  douban-music: {<<: *data}\n"
                          "  myshop: {<<: *data, eval_negatives: 5}  # mine\n")
    params.write_text(mine.replace("eval_negatives: 5", "eval_negatives: 99"))
    assert_one_line_error(invoke("download", "--dataset", "./MyShop"),  # the user's 99
                          "user 'C001' has only 78 items they never interacted with, fewer "
                          "than eval_negatives = 99; set data.myshop.eval_negatives to at "
                          "most 78")
    params.write_text(mine)
    ok("download", "--dataset", "./MyShop")
    assert params.read_text() == mine  # data.myshop present: nothing written
    cands = pd.read_parquet(tmp_path / "data/prepared/myshop/candidates.parquet")
    assert {len(c) for c in cands["items"]} == {6}
    # embed / semantics only: the missing data section is added, semantics.myshop kept
    shutil.rmtree(tmp_path / "data")
    mine = before.replace("  douban-music: {<<: *semantics, k: 2000, modalities: [id]}\n",
                          "  douban-music: {<<: *semantics, k: 2000, modalities: [id]}\n"
                          "  myshop: {<<: *semantics, k: 7}\n")
    params.write_text(mine)
    result = ok("download", "--dataset", "./MyShop")
    assert "added data.myshop, embed.myshop (derived" in result.stderr
    assert sections(params, "myshop")["semantics"] == {"method": "kmeans", "k": 7,
                                                       "modalities": ["text", "image"]}


def test_shipped_features_categories_and_images(tmp_path, monkeypatch):
    params, _ = repo_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    folder = write_shop(tmp_path / "Feats", 150, 30, text=True)
    for suffix, dim in (("feat1CLS", 4), ("feat2CLS", 3), ("feat3CLS", 6)):
        np.ones((150, dim), dtype=np.float32).tofile(folder / f"Feats.{suffix}")
    (folder / "Feats.item").write_text("item_id:token\tcategory:token\timage:token\n" + "".join(
        f"SKU{i:04d}\t{'Home > Garden' if i % 3 else ''}\timg/{i}.jpg\n" for i in range(150)))
    result = ok("download", "--dataset", "./Feats")
    assert "Feats.feat2CLS left unused" in result.stderr
    assert sections(params, "feats")["embed"] == {"text": "file:feat1CLS",
                                                  "image": "file:feat3CLS", "dim": None,
                                                  "batch_size": 64}
    assert sections(params, "feats")["semantics"] == {"method": "category", "k": 50,
                                                      "modalities": ["text", "image"]}
    for shipped in folder.glob("*CLS"):  # item images, no features: not switched on
        shipped.unlink()
    shutil.move(folder, tmp_path / "Pics")
    result = ok("download", "--dataset", "./Pics")
    assert "pics: Feats.item names item images; to use them set embed.pics.image to clip" \
        in result.stderr
    assert sections(params, "pics")["embed"]["image"] is None


def test_too_small_a_catalogue_is_one_line(tmp_path, monkeypatch):
    params, before = repo_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_shop(tmp_path / "Tiny", 8, 6, text=False, longest=8)
    assert_one_line_error(invoke("download", "--dataset", "./Tiny"),
                          "tiny: a valid/test user interacted with every one of the 8 items")
    assert params.read_text() == before


def test_negatives_that_take_every_free_item_are_drawn_exactly():
    """eval_negatives = the fewest free items: rejection sampling alone rarely finishes such
    rows (250 items, 200 taken, 50 to draw), so they are completed from what is left."""
    from solidcli.data.sampling import InteractionIndex, sample_negatives

    rng = np.random.default_rng(0)
    taken = [rng.choice(np.arange(1, 251), 200, replace=False) for _ in range(20)]
    index = InteractionIndex(np.repeat(np.arange(1, 21), 200), np.concatenate(taken), 250)
    negs = sample_negatives(np.random.default_rng(1), np.arange(1, 21), 50, index, max_rounds=5)
    for row, seen in zip(negs, taken, strict=True):
        assert sorted(row.tolist()) == sorted(set(range(1, 251)) - set(seen.tolist()))


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 2), (5, 2), (9, 3), (100, 33), (1585, 528),
                                      (25_800, 8600), (212_995, 8600)])
def test_k_is_a_third_of_the_items_up_to_the_largest_registered_k(n, k):
    assert semantic_k(n) == k


def test_the_k_cap_is_the_largest_k_of_the_shipped_params():
    from solidcli.config import load_params
    from solidcli.data.own import K_MAX

    params = load_params(REPO / "solidcli" / "project" / "params.yaml")
    assert max(section.k for section in params.semantics.values()) == K_MAX
