"""Reading what `solid export` wrote, without torch: the onnxruntime session and the files
beside the .onnx, checked against the project before they score anything.

`solid recommend --engine onnx` (and `api.load(engine="onnx")`) score with the exported
graph: no torch to import, so a one-user request costs what onnxruntime and the data cost.
An export is used only while it is the run's: its description names the seeds, each model.pt's
SHA-256 and the data's digest, and each must still be what the project holds (a retrained
model, re-prepared data or another seed list is one line naming the export and the `solid
export` command that remakes it); its .onnx and vocabulary files must have the hashes it
recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from solidcli import provenance
from solidcli.errors import SolidError

EXTRA = "solid export needs the export extra: pip install 'solid-rec[export]'"


def runtime():
    """onnx and onnxruntime, or the one-line error naming the extra that installs them."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise SolidError(EXTRA) from None
    return onnx, onnxruntime


def session(path: Path, threads: int = 1):
    """An onnxruntime CPU session of the file at `path`, `threads` threads."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SolidError(EXTRA.replace("solid export", "scoring with onnx")) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def sidecars(out: Path) -> tuple[Path, Path]:
    """(vocabulary, description) beside the .onnx file: <name>.items.json, <name>.json."""
    return out.with_suffix(".items.json"), out.with_suffix(".json")


def read_export(path: Path, key: str, seeds: list[int], remake: str) -> dict[str, Any]:
    """The description of the export at `path`, after checking that it is run `key` under
    `seeds` as the project holds it now; its vocabulary as `description["tokens"]`."""
    items, meta_path = sidecars(path)
    if not path.is_file():
        raise SolidError(f"no export {path}; make it with `{remake}`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        tokens = json.loads(items.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise SolidError(f"{meta_path} or {items} is missing or damaged; remake the export "
                         f"with `{remake}`") from None
    stale = f"{path} is stale"
    sums = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(sums, dict) or any(
            sums.get(p.name) != provenance.sha256_file(p) for p in (path, items)):
        raise SolidError(f"{path} or {items} is not the file its description records; remake "
                         f"the export with `{remake}`")
    if meta.get("run", {}).get("key") != key or meta.get("seeds") != seeds:
        raise SolidError(f"{stale}: it holds {meta.get('run', {}).get('key')} seeds "
                         f"{meta.get('seeds')}, not {key} seeds {seeds}; remake it with "
                         f"`{remake}`")
    for model in meta.get("models", []):
        weights = Path(model.get("path", ""))
        if weights.is_file() and provenance.sha256_file(weights) != model.get("sha256"):
            raise SolidError(f"{stale}: {weights} was retrained after it was exported; remake "
                             f"it with `{remake}`")
    data = meta.get("data") or {}
    dataset = Path(str(data.get("path", ""))).name
    if provenance.dataset_identity(dataset)["digest"] != data.get("digest"):
        raise SolidError(f"{stale}: {data.get('path')} was prepared again after it was "
                         f"exported; remake it with `{remake}`")
    if not isinstance(tokens, list) or len(tokens) != meta.get("n_items"):
        raise SolidError(f"{items} does not list {meta.get('n_items')} items; remake the "
                         f"export with `{remake}`")
    return {**meta, "tokens": tokens}
