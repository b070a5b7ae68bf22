"""Speed of a `solid export` ONNX file under onnxruntime, beside torch in process, printed (not
asserted).

    python benchmarks/export_bench.py                  # Scientific SASRec + DUET + SCL
    python benchmarks/export_bench.py --project DIR --backbone din --threads 2

The run is the first seed of `seeds` of the project's trained run (`solid export --seed`,
checked as the command checks it), with requests from its test histories; where the run is
not trained, a randomly initialised model of its shape (Scientific's 1,585 items; dim,
max_len and K from params.yaml) on the bundled Scientific test histories: the speed does not
depend on the weights.

Targets (issue 26) on this project's 2-core CPU: one user's request (one history, all items
scored) <= 2 ms, the median of `--requests` requests; batched scoring >= 5,000 users/s
(`--batch` histories, padded to their longest). onnxruntime runs with `--threads` intra-op
threads (default 1: one serving worker per core), torch with as many, in the same process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "solidcli" / "bundled" / "scientific"
TARGETS = {"single_ms": 2.0, "users_per_s": 5000.0}


def _bundled_histories() -> tuple[int, list]:
    """(items, test histories as ids 1..N) of the bundled Scientific release (its files
    number items from 0; `solid download` shifts them by one)."""
    import numpy as np

    n_items = sum(1 for _ in (BUNDLED / "Scientific.item2index").open())
    lines = (BUNDLED / "Scientific.test.inter").read_text().splitlines()[1:]
    return n_items, [np.array([int(i) + 1 for i in line.split("\t")[1].split()])
                     for line in lines]


def _trained(params, dataset: str, backbone: str, dsr: str, variant: str, out: Path):
    """(model, histories, description) of the run's first seed, exported to `out` by the
    command's own code; None if it is not trained here."""
    from solidcli.data.prepared import PreparedDataset
    from solidcli.grid import find_tagged
    from solidcli.layout import RunId, model_dir
    from solidcli.pipeline import export
    from solidcli.runs import load_trained

    seed = params.seeds[0]
    run = find_tagged(params, RunId(dataset, backbone, dsr, variant)).with_seed(seed)
    if not (model_dir(run) / "run.json").is_file():
        return None
    export.run(params, dataset, backbone, dsr, variant, seed=seed, out=out)
    model, _ = load_trained(run)
    return model.eval(), PreparedDataset.load(dataset).splits["test"].histories, \
        f"{run} (trained)"


def _random(params, dataset: str, backbone: str, dsr: str, variant: str, out: Path):
    """(model, histories, description): random weights of the run's shape, exported."""
    import torch

    from solidcli.models.recommender import Recommender
    from solidcli.pipeline import export
    from solidcli.runs import build_spec

    n_items, histories = _bundled_histories()
    k = params.semantics_cfg(dataset).k
    spec = build_spec(params, n_items, backbone, dsr, variant, 0 if variant == "base" else k)
    torch.manual_seed(0)
    mapping = torch.cat([torch.zeros(1, dtype=torch.long), torch.randint(1, k + 1, (n_items,))])
    model = Recommender(spec, item_to_semantic=mapping).eval()
    export.write_onnx(model, out, params.train.eval_batch_size)
    what = (f"random weights of {dataset}/{backbone}/{dsr}/{variant}'s shape: {n_items:,} "
            f"items, dim {spec.dim}, max_len {spec.max_len}"
            + (f", K {k}" if variant != "base" else ""))
    return model, histories, what


def _median_seconds(fn, calls: list, warmup: int = 3) -> float:
    for args in calls[:warmup]:
        fn(*args)
    times = []
    for args in calls:
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=REPO, help="project folder (params.yaml, "
                    "models/); default: this checkout")
    ap.add_argument("--dataset", default="scientific")
    ap.add_argument("--backbone", default="sasrec")
    ap.add_argument("--dsr", default="duet")
    ap.add_argument("--variant", default="scl")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime and torch threads")
    ap.add_argument("--requests", type=int, default=200, help="single-user requests timed")
    ap.add_argument("--batch", type=int, default=1024, help="users per batched request")
    args = ap.parse_args()
    import numpy as np
    import onnxruntime
    import torch

    from solidcli.config import load_params
    from solidcli.data.batching import pad_histories
    from solidcli.pipeline import export

    torch.set_num_threads(args.threads)
    os.chdir(args.project)
    params, dataset = load_params("params.yaml").for_dataset(args.dataset)
    config = (dataset, args.backbone, args.dsr, args.variant)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.onnx"
        start = time.perf_counter()
        found = _trained(params, *config, out) or _random(params, *config, out)
        export_s = time.perf_counter() - start
        model, histories, what = found
        max_len = model.spec.max_len
        hist, lengths = pad_histories(histories, max_len)
        export.check(out, model, export.probes(histories, max_len))  # as the command does
        sess = export.session(out, args.threads)
        size_mb = out.stat().st_size / 1e6

        def ort(h, n):
            return sess.run(None, {"hist": h, "lengths": n})[0]

        def tch(h, n):
            return export.torch_scores(model, h, n)

        rng = np.random.default_rng(0)
        picks = rng.choice(len(lengths), args.requests, replace=len(lengths) < args.requests)
        singles = [(np.ascontiguousarray(hist[i:i + 1, :lengths[i]]), lengths[i:i + 1].copy())
                   for i in picks]
        rows = {}
        for batch in sorted({256, args.batch}):
            idx = np.resize(np.arange(len(lengths)), batch)  # the first users, wrapped round
            width = int(lengths[idx].max())
            calls = [(np.ascontiguousarray(hist[idx, :width]), lengths[idx].copy())] * 5
            rows[batch] = (width, *(batch / _median_seconds(f, calls, 1) for f in (ort, tch)))
        single = {name: 1e3 * _median_seconds(f, singles) for name, f in (("ort", ort),
                                                                          ("torch", tch))}
    mean_len = float(np.mean(lengths[picks]))
    print(f"model: {what}")
    print(f"export: {export_s:.1f} s, {size_mb:.1f} MB; onnxruntime {onnxruntime.__version__} "
          f"and torch {torch.__version__}, {args.threads} thread(s) each, CPU")
    print(f"single-user request (median of {args.requests}, one history each, mean length "
          f"{mean_len:.1f}): onnxruntime {single['ort']:.2f} ms | torch {single['torch']:.2f} "
          f"ms   [target <= {TARGETS['single_ms']:g} ms]")
    for batch, (width, ort_rate, torch_rate) in rows.items():
        print(f"batch of {batch} users (padded to {width}): onnxruntime {ort_rate:,.0f} "
              f"users/s | torch {torch_rate:,.0f} users/s   [target >= "
              f"{TARGETS['users_per_s']:,.0f} users/s]")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
