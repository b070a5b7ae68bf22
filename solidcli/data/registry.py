"""The datasets `solid` knows by name, and where each one's files come from.

Two are bundled in `solidcli/bundled/` so a fresh clone runs offline, each checked against its
SHA-256 sums (from the project's dataset reference, datasets.md):

* `scientific`: the paper's "Scientific" dataset as MISSRec released it (`Scientific_mm_subset`:
  2,928 users, 1,585 items, CLIP text and image features);
* `scientific-full`: its parent, UniSRec/MISSRec Scientific full (8,442 users, 4,385 items,
  text only), copied from ysh-1998/CoWPiRec `dataset/Scientific`.

The others are downloaded from their public sources and built into atomic files by the recipes
of `solidcli.data.recipes` (Amazon 2018 rebuilt with the UniSRec recipe, the MISSRec archive,
Amazon 2014, Douban): `materialize(name)` caches the raw files under `data/raw/<name>/`
(archives that several datasets share under `data/raw/shared/`) and writes
`data/raw/<name>/atomic/` once. A raw file can also be placed there by hand; the next run then
proceeds offline. Any other folder of UniSRec/MISSRec atomic files can be used through
`data.<name>.path`.

Mirrors: set `SOLID_MIRROR` to a base URL and every remote file is fetched from
`$SOLID_MIRROR/<the file's path under its host>` instead of its official hosts, e.g.
`categoryFilesSmall/Arts_Crafts_and_Sewing.csv`, `metaFiles2/meta_Office_Products.json.gz`,
`ratings_CDs_and_Vinyl.csv`, `Douban.tar.gz`, `MISSRec-datasets.archive` (the MISSRec Google
Drive archive; zip or tar). Several base URLs separated by spaces are tried in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from solidcli.data.fetch import sha256_of
from solidcli.data.recipes import RECIPES, Recipe
from solidcli.errors import SolidError
from solidcli.layout import RAW_ROOT

BUNDLED_ROOT = Path(__file__).resolve().parent.parent / "bundled"


@dataclass(frozen=True)
class DatasetSource:
    name: str
    folder: Path
    stem: str  # atomic-file prefix, e.g. "Scientific" for Scientific.train.inter
    sha256: dict[str, str] = field(default_factory=dict)
    citation: str = ""


REGISTRY: dict[str, DatasetSource] = {
    "scientific": DatasetSource(
        name="scientific",
        folder=BUNDLED_ROOT / "scientific",
        stem="Scientific",
        citation="MISSRec (MM'23) Scientific subset, built from Amazon Review Data 2018",
        sha256={
            "Scientific.feat1CLS": "45fc2f23e1cd621f67ffc8584aa0cc30adae6eb5d7a354f79a2f93e6b94f8ae2",
            "Scientific.feat3CLS": "20cb8a751cbc1a84c785bc4acdd13a3f1003d4be0c3c8d4034cd1de834b43389",
            "Scientific.item2index": "e689059637092e6dfaf6161ab71c5a3e54d96dc6a401a285c534cfc41516c022",
            "Scientific.test.inter": "46077666a7e26f6f3a0b8929c15b66af83b4a21859fb0a6c25692403fd703611",
            "Scientific.text": "2989b83daab4624c7adc289d17baea0d09f85c20545e1635f7614926ae489167",
            "Scientific.train.inter": "ad7a8cc23499cdbc3a0ba3650a438f946da433131e786b4ce4dfeae1c5590c5f",
            "Scientific.user2index": "417271f5886f37761b9e7e0da8e80e189aac034922491ade408101bc31270642",
            "Scientific.valid.inter": "46b3f988b4f12ed05de4ba518e48744d7680eda42146138ffb416445d191cafb",
        },
    ),
    "scientific-full": DatasetSource(
        name="scientific-full",
        folder=BUNDLED_ROOT / "scientific-full",
        stem="Scientific",
        citation="UniSRec/MISSRec Scientific full (Amazon 2018 Industrial_and_Scientific, "
                 "5-core), text only, copied from ysh-1998/CoWPiRec dataset/Scientific",
        sha256={
            "Scientific.item2index": "896ab1017508cf20834d3d0537da9f8f624324223a835af272a98ba16f8c087a",
            "Scientific.test.inter": "546da7e5f44002b4518d7fd58066684bc09613f76c240914e16976d57cfe7083",
            "Scientific.text": "95887e6bda76e54f59b71b566320520d5da74e21d3b6ff8f20bfb6e8e84aa831",
            "Scientific.train.inter": "7284f6489d956fa20c9b64ffc84569264320edba5c3bc2fcb22db2ea083a1163",
            "Scientific.user2index": "f0162b1a3a0c6b7e816f86208e7b36f65d6787923126f9558fbc6d368e4c4974",
            "Scientific.valid.inter": "5f37c84d3b54617cdc46638c89dfe8741c7efc4987acd5eb64de2cbd4311f46c",
        },
    ),
}


def known_datasets() -> list[str]:
    """Every registered name: bundled and downloadable."""
    return sorted({*REGISTRY, *RECIPES})


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise SolidError(
            f"unknown dataset '{name}' (known: {', '.join(known_datasets())}; or set "
            f"data.{name}.path to a folder of atomic files)"
        )
    return RECIPES[name]


def _source(recipe: Recipe, raw_root: Path) -> DatasetSource:
    return DatasetSource(name=recipe.name, folder=recipe.folder(raw_root), stem=recipe.stem,
                         citation=recipe.citation)


def materialize(name: str, raw_root: Path = RAW_ROOT, *, quiet: bool = False) -> DatasetSource:
    """The atomic-file source of a registered dataset, downloading and building it if needed.

    Bundled: checked against its SHA-256 sums. Remote: raw files cached under
    `raw_root/<name>/` (fetched from the first mirror that has them), atomic files built once
    into `raw_root/<name>/atomic/`; a second call does no network and no work.
    """
    if name in REGISTRY:
        verify_checksums(REGISTRY[name])
        return REGISTRY[name]
    recipe = _recipe(name)
    recipe.materialize(Path(raw_root), quiet=quiet)
    return _source(recipe, Path(raw_root))


def resolve_source(name: str, path: str | None) -> DatasetSource:
    """The atomic-file source of dataset `name`: a folder given in params, a bundled dataset, or
    a downloadable one already built by `solid download` (no network here)."""
    if path is not None:
        folder = Path(path)
        if not folder.is_dir():
            raise SolidError(f"dataset '{name}': folder not found: {folder}")
        return DatasetSource(name=name, folder=folder, stem=_find_stem(folder))
    if name in REGISTRY:
        return REGISTRY[name]
    recipe = _recipe(name)
    if not recipe.is_built(RAW_ROOT):
        raise SolidError(f"dataset '{name}' is not downloaded yet: run "
                         f"`solid download --dataset {name}` first")
    return _source(recipe, RAW_ROOT)


def _find_stem(folder: Path) -> str:
    stems = sorted(p.name[: -len(".train.inter")] for p in folder.glob("*.train.inter"))
    if len(stems) != 1:
        found = "none" if not stems else ", ".join(stems)
        raise SolidError(f"{folder}: expected exactly one *.train.inter file, found {found}")
    return stems[0]


def verify_checksums(source: DatasetSource) -> None:
    """Check every file with a known SHA-256; a missing or altered file is an error."""
    for fname, expected in source.sha256.items():
        fpath = source.folder / fname
        if not fpath.is_file():
            raise SolidError(f"bundled file missing: {fpath} (reinstall solid-rec or restore it)")
        if sha256_of(fpath) != expected:
            raise SolidError(
                f"bundled file is truncated or altered (SHA-256 mismatch): {fpath}"
            )
