"""Where the files of each dataset `solid` knows by name (`solidcli.data.datasets`) come from.

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

from solidcli.data.datasets import DATASETS, Bundled
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


# the bundled datasets of the registry (`solidcli.data.datasets`)
REGISTRY: dict[str, DatasetSource] = {
    name: DatasetSource(name=name, folder=BUNDLED_ROOT / name, stem=d.source.stem,
                        sha256=dict(d.source.sha256), citation=d.source.citation)
    for name, d in DATASETS.items() if isinstance(d.source, Bundled)}


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
