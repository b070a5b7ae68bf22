"""Provenance that is checked: every artifact names, by content hash, what it was made from.

What each producer records, and what its readers verify before they use it:

    data/prepared/<d>/manifest.json   the source (a registry dataset, or a folder), the data
                                      seed, each file's SHA-256; `digest`, the hash of the
                                      four tables' hashes, is the dataset's identity (its
                                      content, not its folder's name)
    data/features/<d>/meta.json       inputs: the prepared data's digest
    data/semantics*/.../<stem>.json   inputs: the data digest, each feature file, the model
                                      lending its item table (the `id` modality)
    models/.../seed<s>/run.json       inputs: the data digest, the semantics file, the model
                                      the metacode came from; model_sha256: its own model.pt;
                                      spec_sha256: its spec (checked before a model is built)
    reports/metrics/.../metrics.json  inputs: the data digest, the model; per_user_sha256

A reader compares each recorded hash with the file now at that path and refuses a mismatch
with one line naming the stale artifact and the command that rebuilds it, so a model is never
scored on other data, a swapped model.pt is never scored under its run's name, and a table
never pairs a per-user file its metrics were not computed with. Hashes are computed once per
process per (path, size, mtime). Metrics written before provenance existed (the committed
results of earlier releases) carry no `inputs` and are read as they are; a run, features or
prepared data without it must be rebuilt, which the error says.

SHA-256 through hashlib, file by file: DVC's own hashes (MD5 of outputs it caches) exist only
inside a DVC project and only after `dvc commit`, while `solid` runs alone as well.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from solidcli.errors import SolidError
from solidcli.layout import prepared_dir

MANIFEST = "manifest.json"
DATA_FILES = ("items.parquet", "users.parquet", "sequences.parquet", "candidates.parquet",
              "stats.json")  # what the digest covers: the prepared-data contract


def sha256_file(path: Path | str) -> str:
    """The SHA-256 of a file's bytes (cached by path, size and modification time)."""
    path = Path(path)
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (no cache)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry(path: Path | str) -> dict[str, str]:
    """How an artifact names one file it read: its project-relative path and SHA-256."""
    return {"path": Path(path).as_posix(), "sha256": sha256_file(path)}


# ---- prepared data -------------------------------------------------------------------------

ATOMIC_SUFFIXES = ("item2index", "user2index", "train.inter", "valid.inter", "test.inter",
                   "text", "item")  # the atomic files `download` reads


def source_of(folder: Path | None, stem: str | None, registry_name: str | None) -> dict:
    """Where a dataset came from, as its manifest records it: a registry dataset by name; a
    folder by its path (relative to the project when inside it) and the SHA-256 of the
    atomic files `download` reads from it (its content)."""
    if folder is None:
        return {"registry": registry_name}
    resolved = Path(folder).resolve()
    try:
        shown = resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = resolved.as_posix()
    files = {suffix: sha256_file(resolved / f"{stem}.{suffix}") for suffix in ATOMIC_SUFFIXES
             if (resolved / f"{stem}.{suffix}").is_file()}
    return {"folder": shown, "stem": stem, "content": _digest(files)}


def _source_text(source: dict) -> str:
    if "registry" in source:
        return f"the registry's '{source['registry']}'"
    return f"the folder {source.get('folder')}"


def check_target(dataset: str, source: dict) -> None:
    """Refuse to write `data/prepared/<dataset>` over a dataset of the same name that came
    from another source with other content (two folders with one basename): its models would
    be scored on the new data under the old name. The same folder (its files edited) or a
    folder with the same files (a copied project) may prepare it again."""
    path = prepared_dir(dataset) / MANIFEST
    if not path.is_file():
        if prepared_dir(dataset).is_dir() and any(prepared_dir(dataset).iterdir()):
            raise SolidError(f"{prepared_dir(dataset)} holds a dataset prepared by an older "
                             "solid (no manifest.json), so its source is unknown; remove that "
                             f"folder, then rerun `solid download --dataset {dataset}`")
        return
    old = _read_manifest(dataset).get("source")
    same_place = isinstance(old, dict) and all(old.get(k) == source.get(k)
                                               for k in ("registry", "folder", "stem"))
    same_content = "content" in source and isinstance(old, dict) and old.get(
        "content") == source["content"]
    if not (same_place or same_content):  # the user's folder, edited; or a copied project
        raise SolidError(f"dataset name '{dataset}' is taken: {prepared_dir(dataset)} holds "
                         f"{_source_text(old or {})}, not {_source_text(source)}; rename the "
                         f"new folder, or remove {prepared_dir(dataset)} (and the models "
                         "trained on it) first")


def write_manifest(folder: Path, dataset: str, source: dict, seed: int) -> dict:
    """Write `manifest.json` into `folder` (a staging folder holding DATA_FILES)."""
    files = {name: sha256_file(folder / name) for name in DATA_FILES}
    manifest = {"dataset": dataset, "source": source, "seed": seed, "files": files,
                "digest": _digest(_identity_files(files))}
    from solidcli._io import write_json

    write_json(folder / MANIFEST, manifest)
    return manifest


def _identity_files(files: dict[str, str]) -> dict[str, str]:
    """The files whose content is the dataset (stats.json, a summary naming the source
    folder, is checked but is not part of its identity: the same data from a copied folder
    is the same dataset)."""
    return {name: sha for name, sha in files.items() if name.endswith(".parquet")}


def _digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _redo_data(dataset: str) -> str:
    return f"rebuild it with `solid download --dataset {dataset}`"


def _read_manifest(dataset: str) -> dict[str, Any]:
    path = prepared_dir(dataset) / MANIFEST
    if not path.is_file():
        raise SolidError(f"{path} missing (prepared by an older solid, or damaged); "
                         f"{_redo_data(dataset)}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if (not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict)
            or not isinstance(manifest.get("digest"), str)
            or not isinstance(manifest.get("seed"), int)):
        raise SolidError(f"corrupt {path}; {_redo_data(dataset)}")
    return manifest


def dataset_identity(dataset: str) -> dict[str, Any]:
    """The prepared data's manifest, after checking every file against it (once per
    process while the files are unchanged): {"digest", "seed", "source", ...}."""
    folder = prepared_dir(dataset)
    stamps = tuple(_stamp(folder / name) for name in (MANIFEST, *DATA_FILES))
    return _identity(dataset, str(folder.resolve()), stamps)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _identity(dataset: str, _folder: str, _stamps: tuple) -> dict[str, Any]:
    manifest = _read_manifest(dataset)
    folder = prepared_dir(dataset)
    for name in DATA_FILES:
        path = folder / name
        if not path.is_file():
            raise SolidError(f"prepared dataset '{dataset}' is incomplete ({path} missing); "
                             f"{_redo_data(dataset)}")
        if manifest["files"].get(name) != sha256_file(path):
            raise SolidError(f"{path} was changed after `solid download` wrote it (its "
                             f"SHA-256 is not the manifest's); {_redo_data(dataset)}")
    if manifest["digest"] != _digest(_identity_files(manifest["files"])):
        raise SolidError(f"corrupt {folder / MANIFEST}; {_redo_data(dataset)}")
    return manifest


def data_input(dataset: str) -> dict[str, str]:
    """How an artifact names the prepared data it read."""
    return {"path": prepared_dir(dataset).as_posix(), "digest": dataset_identity(dataset)[
        "digest"]}


def check_seed(dataset: str, seed: int) -> None:
    """The data seed of params must be the one the prepared data (its candidates, the batch
    order of training) was made with, or metrics would name a seed that drew nothing."""
    made = dataset_identity(dataset)["seed"]
    if made != seed:
        raise SolidError(f"params say data seed {seed}, but {prepared_dir(dataset)} was "
                         f"prepared with seed {made}; use seed {made}, or rerun `solid "
                         f"download --dataset {dataset} --data-seed {seed}`")


# ---- verifying what an artifact read ----------------------------------------------------------

def verify_inputs(record: dict[str, Any], owner: Path, rebuild: str) -> None:
    """Every input `record["inputs"]` names is still what `owner` was made from: the data by
    its digest, each file by its SHA-256; else the owner is stale (one line, naming it and
    `rebuild`)."""
    inputs = record.get("inputs")
    if not isinstance(inputs, dict):
        raise SolidError(f"{owner} records no inputs (made by an older solid, or damaged), so "
                         f"what it was made from cannot be checked; rebuild it with "
                         f"`{rebuild}`")
    for name, item in inputs.items():
        if item is None:
            continue
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise SolidError(f"{owner}: corrupt input record '{name}'; rebuild it with "
                             f"`{rebuild}`")
        if "digest" in item:
            dataset = Path(item["path"]).name
            now = dataset_identity(dataset)["digest"]
            if now != item["digest"]:
                raise SolidError(f"{owner} is stale: it was made from other data than "
                                 f"{item['path']} holds now; rebuild it with `{rebuild}`")
            continue
        path = Path(item["path"])
        if not path.is_file():
            raise SolidError(f"{owner} was made from {path}, which is missing; rebuild it "
                             f"with `{rebuild}`")
        if sha256_file(path) != item.get("sha256"):
            raise SolidError(f"{owner} is stale: {path} changed after it was made; rebuild "
                             f"it with `{rebuild}`")


def spec_digest(spec: dict[str, Any]) -> str:
    """The SHA-256 of a model spec (canonical JSON): run.json records it, so a spec changed
    after training (a damaged run.json) is refused before any model is built from it."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def verify_file(path: Path, recorded: Any, owner: Path, rebuild: str) -> None:
    """`path` is the file whose SHA-256 `owner` recorded (a model.pt and its run.json)."""
    if not isinstance(recorded, str):
        raise SolidError(f"{owner} records no SHA-256 of {path.name} (made by an older solid, "
                         f"or damaged); rebuild it with `{rebuild}`")
    if sha256_file(path) != recorded:
        raise SolidError(f"{path} is not the file {owner} describes (its SHA-256 differs: "
                         f"replaced or damaged); rebuild it with `{rebuild}`")

