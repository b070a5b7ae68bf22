"""The datasets `solid` knows by name, and where each one's raw files come from.

Only the bundled Scientific subset is registered so far: the paper's "Scientific" dataset as
MISSRec released it (2,928 users, 1,585 items, CLIP text and image features), copied unchanged
from the MISSRec release into `solidcli/bundled/scientific/` so a fresh clone runs offline.
Its SHA-256 sums (from the project's dataset reference) catch a truncated or edited copy.
Any other folder of UniSRec/MISSRec atomic files can be used by setting `data.<name>.path`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from solidcli.errors import SolidError

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
}


def resolve_source(name: str, path: str | None) -> DatasetSource:
    """The raw source of dataset `name`: a registered one, or a folder given in params."""
    if path is not None:
        folder = Path(path)
        if not folder.is_dir():
            raise SolidError(f"dataset '{name}': folder not found: {folder}")
        return DatasetSource(name=name, folder=folder, stem=_find_stem(folder))
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise SolidError(
            f"unknown dataset '{name}' (known: {known}; or set data.{name}.path to a folder "
            "of atomic files)"
        )
    return REGISTRY[name]


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
            raise SolidError(f"bundled file missing: {fpath} (reinstall solid or restore it)")
        digest = hashlib.sha256()
        with fpath.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise SolidError(
                f"bundled file is truncated or altered (SHA-256 mismatch): {fpath}"
            )
