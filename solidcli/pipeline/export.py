"""`solid export`: a trained run as one ONNX file that scores every item, to serve without solid.

Writes three files, all or none (`_io.staged_files`), for `--out <name>.onnx`:
* `<name>.onnx`: inputs `hist` (B, L) int64, each history's last L <= max_len item ids, oldest
  first, right-padded with 0, and `lengths` (B,) int64 in 1..L (an empty history is length 1
  over a row of zeros, as `data.batching.pad_histories` makes it); output `scores` (B, N)
  float32, the logit of every item, column i = item id i + 1 (the padding id 0 is left out).
  With several seeds the output is their ensemble: the mean of the seeds' logits.
* `<name>.items.json`: the vocabulary, a JSON list whose entry i is the dataset's own token of
  item id i + 1, so of output column i (an item's input id is its index + 1).
* `<name>.json`: what the two are: the inputs and output, max_len, the run and its seeds, the
  SHA-256 of each model.pt it was exported from and of the data it was trained on, exporter,
  opset, the check below, and the SHA-256 of the two other files.

Nothing is written unless onnxruntime, run on the dataset's test histories in two batches of
other sizes and widths than the traced one, gives the in-process scores
(`Recommender.item_logits`) to `TOLERANCE`; the largest difference is recorded.

Design:
* Exporter: `torch.onnx.export(dynamo=False)`, the TorchScript tracer. It exports each of the
  tests' 44 backbone x dsr x variant models in about a second, needs nothing beyond `onnx`,
  and writes the same graph every time; the torch.export-based exporter (torch's default since
  2.9) gave the same scores but took about ten times as long per model and needs `onnxscript`.
  The tracer is deprecated but present in the torch this project pins (2.13); its warnings
  (that deprecation, and TracerWarnings on sizes that are constants of the model: its width,
  DIN's chunk sizes) are silenced, and the check above is what vouches for the graph.
* Opset 17: LayerNormalization is one node; ONNX Runtime has run it since 1.11.
* Dynamic axes: batch and length. Sizes are traced as shape computations, and the recurrent
  layers (GRU4Rec, and the condition encoders of DUET, APG and SOLID) are exported as ONNX GRU
  nodes (`ensemble.GRU._fused`), not as a loop unrolled at the traced length, so a request
  costs what its longest history needs. The generated per-user weights are ordinary nodes of
  the graph (hypernetwork, codebook lookup, clip), computed from the history in each request.
* Ensemble: the seeds are the members of one grouped model (`Recommender.group`), run side by
  side in the graph as in evaluation; the graph averages them, so there is one output.
* DIN: its state depends on the target, so every item is pooled against the history in chunks
  of items (`DIN.pool_items`). A chunk's size is fixed when traced, here for
  `train.eval_batch_size` histories of max_len (about 32 MB of floats a chunk); a larger batch
  takes proportionally more memory per chunk, a smaller one runs the same chunks.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from solidcli import __version__, provenance
from solidcli._io import console, git_revision, staged_files
from solidcli.config import Params, check_backbone, check_dsr
from solidcli.data.batching import pad_histories
from solidcli.data.prepared import PreparedDataset
from solidcli.errors import SolidError
from solidcli.grid import find_tagged
from solidcli.layout import RunId, export_file, model_dir
from solidcli.models.recommender import Recommender
from solidcli.runs import load_seeds
from solidcli.serving import runtime, session, sidecars

OPSET = 17
TOLERANCE = 1e-4  # |onnxruntime - torch| <= TOLERANCE * (1 + |torch|), every score checked
PROBE_USERS = 64  # test histories in the check's larger batch
FORMAT = "solid-export/1"


class Scores(nn.Module):
    """(hist (B, L), lengths (B,)) -> scores (B, N): the logits of items 1..N, averaged over
    the model's members (a solo model is one member)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, hist: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        logits, _ = self.model.item_logits(hist, lengths, first=1)  # (S, B, N)
        return logits.mean(dim=0)


def example_batch(n_items: int, batch: int, width: int, seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded random histories of every length 1..width (a fixed draw): what the graph
    is traced on."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.arange(batch) % width + 1
    hist = torch.randint(1, n_items + 1, (batch, width), generator=g)
    hist[torch.arange(width)[None, :] >= lengths[:, None]] = 0
    return hist, lengths


def write_onnx(model: nn.Module, path: Path, trace_batch: int) -> None:
    """Trace `model` (a Recommender, in eval mode) on `trace_batch` histories of max_len and
    write its all-items scorer to `path`."""
    model.eval()
    spec = model.spec
    example = example_batch(spec.n_items, trace_batch, spec.max_len)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's deprecation and TracerWarnings (above)
        torch.onnx.export(
            Scores(model).eval(), example, str(path), dynamo=False, opset_version=OPSET,
            input_names=["hist", "lengths"], output_names=["scores"],
            dynamic_axes={"hist": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                          "scores": {0: "batch"}})


def torch_scores(model: nn.Module, hist: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The in-process scores (B, N) the ONNX graph must give: the members' mean logits."""
    model.eval()
    with torch.no_grad():
        logits = model.score_items(torch.from_numpy(hist), torch.from_numpy(lengths))
    return logits[:, :, 1:].mean(dim=0).numpy()


def check(path: Path, model: nn.Module, batches: list[tuple[np.ndarray, np.ndarray]]
          ) -> float:
    """Run the ONNX file on each (hist, lengths) batch and compare with torch; the largest
    absolute difference, or a SolidError if any score is off by more than TOLERANCE."""
    sess = session(path)
    worst = 0.0
    for hist, lengths in batches:
        want = torch_scores(model, hist, lengths)
        (got,) = sess.run(None, {"hist": hist, "lengths": lengths})
        if got.shape != want.shape:
            raise SolidError(f"the exported graph gives scores of shape {got.shape}, torch "
                             f"{want.shape}; nothing was written")
        diff = np.abs(got - want)
        if not np.all(diff <= TOLERANCE * (1.0 + np.abs(want))):
            raise SolidError(f"the exported graph's scores differ from torch's by up to "
                             f"{float(diff.max()):.3g}; nothing was written (SOLID_DEBUG=1 "
                             "shows where)")
        worst = max(worst, float(diff.max()))
    return worst


def probes(histories: list[np.ndarray], max_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The check's batches: the first PROBE_USERS histories (as wide as their longest), and
    the shortest of them alone (one row, its own width)."""
    hist, lengths = pad_histories(histories[:PROBE_USERS], max_len)
    one = int(np.argmin(lengths))
    return [(np.ascontiguousarray(hist[:, :int(lengths.max())]), lengths),
            (np.ascontiguousarray(hist[one:one + 1, :int(lengths[one])]),
             lengths[one:one + 1].copy())]


def _check_out(out: Path) -> None:
    """An .onnx file whose folder exists or can be made (before any work)."""
    if out.is_dir():
        raise SolidError(f"--out {out} is a folder; name the .onnx file to write")
    if out.suffix != ".onnx":
        raise SolidError(f"--out {out}: the file to write must end in .onnx")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise SolidError(f"cannot write {out}: {parent} is a file, not a folder")


def run(params: Params, dataset: str, backbone: str, dsr: str, variant: str,
        tag: str | None = None, seed: int | None = None, out: Path | None = None
        ) -> list[Path]:
    """Export one trained configuration (its seeds' ensemble, or `seed` alone) to `out`
    (default `layout.export_file`); returns the three paths written."""
    check_backbone(backbone)
    check_dsr(dsr, solid=variant != "base")
    if seed is not None and seed < 0:
        raise SolidError(f"--seed must be a whole number >= 0, got {seed}")
    config = find_tagged(params, RunId(dataset, backbone, dsr, variant, tag))
    out = Path(out) if out is not None else export_file(
        config if seed is None else config.with_seed(seed))
    _check_out(out)
    onnx, ort = runtime()
    seeds = list(params.seeds) if seed is None else [seed]
    data = PreparedDataset.load(dataset)
    loaded = load_seeds(params, config, seeds, data.n_items, one_seed=seed is not None)
    members = [model for model, _ in loaded]
    model = (members[0] if len(members) == 1 else Recommender.group(members)).eval()
    records = [record for _, record in loaded]
    spec = model.spec
    tokens = [str(t) for t in data.items.sort_values("item")["token"]]
    items_path, meta_path = sidecars(out)
    with staged_files([out, items_path, meta_path]) as (tmp_onnx, tmp_items, tmp_meta):
        write_onnx(model, tmp_onnx, params.train.eval_batch_size)
        onnx.checker.check_model(str(tmp_onnx))
        batches = probes(data.splits["test"].histories, spec.max_len)
        worst = check(tmp_onnx, model, batches)
        tmp_items.write_text(json.dumps(tokens, ensure_ascii=False) + "\n", encoding="utf-8")
        meta = describe(config, seeds, seed is not None, records, spec, out, items_path)
        meta["check"] = {"onnxruntime": ort.__version__,
                         "histories": int(sum(len(lengths) for _, lengths in batches)),
                         "max_abs_diff": worst, "tolerance": f"{TOLERANCE} * (1 + |score|)"}
        meta["sha256"] = {out.name: provenance.sha256_of(tmp_onnx),
                          items_path.name: provenance.sha256_of(tmp_items)}
        tmp_meta.write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n",
                            encoding="utf-8")
    what = f"seed {seed}" if seed is not None else f"the ensemble of seeds {_listed(seeds)}"
    console.log(f"[bold]{config}[/] ({what}) -> {out}: onnxruntime gives torch's scores "
                f"(largest difference {worst:.1e})")
    return [out, items_path, meta_path]


def _listed(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds))


def describe(config: RunId, seeds: list[int], one_seed: bool, records: list[dict], spec,
             out: Path, items_path: Path) -> dict:
    """The description file's content (the check and the files' hashes are added after)."""
    n, max_len = spec.n_items, spec.max_len
    scores = (f"seed {seeds[0]}'s logits" if one_seed else
              f"the ensemble: the mean of the logits of seeds {_listed(seeds)}")
    return {
        "format": FORMAT,
        "onnx": out.name,
        "items": items_path.name,
        "inputs": {
            "hist": {"dtype": "int64", "shape": ["batch", "length"],
                     "meaning": f"each history's last length <= {max_len} item ids, oldest "
                                "first, right-padded with 0; an item's id is its index in "
                                f"{items_path.name} + 1"},
            "lengths": {"dtype": "int64", "shape": ["batch"],
                        "meaning": "each history's number of items, 1..length (an empty "
                                   "history: 1, over a row of zeros)"},
        },
        "outputs": {
            "scores": {"dtype": "float32", "shape": ["batch", n],
                       "meaning": f"{scores} of items 1..{n}: column i is item id i + 1, "
                                  f"the token at index i of {items_path.name}; higher is "
                                  "more likely next (the history's own items are not "
                                  "removed)"},
        },
        "max_len": max_len, "padding_id": 0, "padding": "right", "n_items": n,
        "scores": scores,
        "run": {"dataset": config.dataset, "backbone": config.backbone, "dsr": config.dsr,
                "variant": config.variant, "tag": config.tag, "family": config.stage_family,
                "key": config.key},
        "seeds": seeds,
        "models": [{"seed": s, "path": (model_dir(config.with_seed(s)) / "model.pt")
                    .as_posix(), "sha256": record["model_sha256"]}
                   for s, record in zip(seeds, records, strict=True)],
        "data": provenance.data_input(config.dataset),
        "exporter": {"method": "torch.onnx.export(dynamo=False), the TorchScript tracer",
                     "opset": OPSET, "torch": torch.__version__, "solid": __version__,
                     "git_revision": git_revision()},
    }
