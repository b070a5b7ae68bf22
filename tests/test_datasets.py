"""Bring-your-own folders, shipped feature files of any dimension, text encoded offline by the
packaged MiniLM, and semantics from the id modality (a trained model's item table)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import N_ITEMS, REPO, write_params, write_tiny_dataset
from ruamel.yaml import YAML
from test_cli import assert_one_line_error, invoke


@pytest.fixture
def repo_params_project(tmp_path, monkeypatch) -> Path:
    """A project with the repository's own params.yaml (with its `default` sections), made
    fast, and a tiny text-only atomic folder that has no section of its own (download writes
    them: text by MiniLM, as no features are shipped)."""
    data = YAML(typ="safe", pure=True).load((REPO / "params.yaml").read_text())
    data["device"] = "cpu"
    data["train"].update(epochs=2, batch_size=16, eval_batch_size=64, dim=8, max_len=10,
                         patience=2, min_epochs=1)
    data["models"]["sasrec"].update(heads=2)
    data["semantics"]["default"].update(k=4, modalities=["text"])
    data["data"]["default"]["eval_negatives"] = 9
    write_params(tmp_path / "params.yaml", data)
    folder = write_tiny_dataset(tmp_path / "incoming" / "My Shop")
    for shipped in folder.glob("*.feat*CLS"):
        shipped.unlink()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_bring_your_own_folder_with_offline_text_encoder(repo_params_project):
    folder = "incoming/My Shop"
    for cmd in (["download"], ["embed"], ["assign-semantics"], ["train-spg", "--dsr", "duet",
                                                                "--backbone", "sasrec"]):
        result = invoke(*cmd, "--dataset", folder)
        assert result.exit_code == 0, (cmd, result.output)
    stats = json.loads(Path("data/prepared/my-shop/stats.json").read_text())
    assert stats["items"] == N_ITEMS and stats["with_text"] == N_ITEMS
    meta = json.loads(Path("data/features/my-shop/meta.json").read_text())
    assert list(meta["modalities"]) == ["text"] and meta["modalities"]["text"]["dim"] == 384
    text = np.load("data/features/my-shop/text.npy")
    assert text.shape == (N_ITEMS + 1, 384) and not text[0].any()
    assert np.allclose(np.linalg.norm(text[1:], axis=1), 1.0, atol=1e-5)  # MiniLM normalises
    for seed in range(5):  # the repository's seeds: 0-4
        assert Path(f"models/my-shop/spg/sasrec-duet/seed{seed}/model.pt").is_file()


def test_unknown_dataset_and_missing_folder(repo_params_project):
    assert_one_line_error(invoke("download", "--dataset", "nope"), "unknown dataset 'nope'")
    assert_one_line_error(invoke("download", "--dataset", "./not/here"),
                          "dataset folder not found")


def test_feature_file_of_any_dimension(tiny_project):
    folder = tiny_project / "raw/tiny"
    np.ones((N_ITEMS, 5), dtype=np.float32).tofile(folder / "Tiny.feat2CLS")
    assert invoke("download").exit_code == 0
    result = invoke("embed", "--set", "embed.tiny.dim=null",
                    "--set", "embed.tiny.text=file:feat2CLS")
    assert result.exit_code == 0, result.output
    assert np.load(tiny_project / "data/features/tiny/text.npy").shape == (N_ITEMS + 1, 5)
    np.ones(N_ITEMS * 5 + 3, dtype=np.float32).tofile(folder / "Tiny.feat2CLS")
    result = invoke("embed", "--set", "embed.tiny.dim=null",
                    "--set", "embed.tiny.text=file:feat2CLS")
    assert_one_line_error(result, f"is not {N_ITEMS} rows (one per item)")


def test_item_metadata_file_gives_categories_and_images(tiny_project):
    folder = tiny_project / "raw/tiny"
    rows = "".join(f"ITEM{i:03d}\tShop > Group {i % 2}\t{'' if i % 5 else f'img/{i}.jpg'}\n"
                   for i in range(N_ITEMS))
    (folder / "Tiny.item").write_text("item_id:token\tcategory:token\timage:token\n" + rows)
    assert invoke("download").exit_code == 0
    items = pd.read_parquet(tiny_project / "data/prepared/tiny/items.parquet")
    assert items["category"].tolist()[:2] == ["Shop > Group 0", "Shop > Group 1"]
    assert items["image"].notna().sum() == 4 and items["image"][0] == "img/0.jpg"
    (folder / "Tiny.item").write_text("item_id:token\tcategory:token\nITEM000\ta\tb\n")
    assert_one_line_error(invoke("download"), "Tiny.item line 2: 3 fields")


def test_id_semantics_and_a_modality_set(tiny_project):
    assert invoke("download").exit_code == 0 and invoke("embed").exit_code == 0
    assert_one_line_error(invoke("assign-semantics", "--modalities", "id+text"),
                          "tiny/sasrec/none/base seed 0 is not trained (models/tiny/base/"
                          "sasrec-none/seed0/run.json missing); run `solid train-base --dataset "
                          "tiny --backbone sasrec --dsr none` first")
    assert_one_line_error(invoke("assign-semantics", "--modalities", "id+audio"),
                          "unknown modality 'audio'")
    assert invoke("train-base", "--dsr", "none").exit_code == 0
    result = invoke("assign-semantics", "--modalities", "text+id")
    assert result.exit_code == 0, result.output
    out = tiny_project / "data/semantics-by-modality/tiny/text+id"
    summary = json.loads((out / "id+text.json").read_text())
    assert summary["modalities"] == "id+text" and summary["k"] == 4
    assert summary["sources"]["id"] == "models/tiny/base/sasrec-none/seed0"  # the first seed
    assert not (tiny_project / "data/semantics/tiny").exists()  # the default set is apart
    for cmd in (["train-sml", "--modalities", "text+id", "--tag", "mod-id+text"],
                ["train-scl", "--modalities", "text+id", "--tag", "mod-id+text",
                 "--metacode-tag", "mod-id+text"]):
        result = invoke(*cmd)
        assert result.exit_code == 0, (cmd, result.output)
    run = json.loads((tiny_project / "models/tiny/scl/sasrec-duet-mod-id+text/seed1/run.json")
                     .read_text())
    assert run["semantics"] == str(out / "id+text.parquet").replace(str(tiny_project) + "/", "")
    assert run["params"]["semantics"]["modalities"] == ["id", "text"]
    result = invoke("assign-semantics", "--modalities", "id",
                    "--set", "semantics.tiny.method=category")  # Eq. 8-10 on id embeddings
    assert result.exit_code == 0, result.output
    summary = json.loads((tiny_project / "data/semantics-by-modality/tiny/id/category-id.json")
                         .read_text())
    assert summary["method"] == "category" and summary["k"] == 4
    assert_one_line_error(invoke("train-sml", "--modalities", "image"),
                          "run `solid assign-semantics --dataset tiny --modalities image`")
