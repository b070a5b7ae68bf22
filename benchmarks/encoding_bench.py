"""Training cost of `train.encoding: prefix` (every row encoded on its own, the paper's) against
`sequence` (each user's sequence encoded once), per epoch, in one process.

    python benchmarks/encoding_bench.py                                  # scientific x1
    python benchmarks/encoding_bench.py --like office-full --scale 1 --seeds 1 5
    python benchmarks/bench.py --encoding ...                            # the same

For each size (`solid synth --like <dataset> --scale <s>`, prepared with `solid download` in a
temporary folder) and each model (SASRec / GRU4Rec with DUET: base and SCL, whose semantic ids
and metacode are random here: the cost does not depend on them) it trains one epoch of a seed
group under each encoding with one torch thread and prints the epoch's training seconds
(validation excluded), the history positions it encoded, microseconds per training row, and
the ratio. The rows, negatives and rows per step are the same under both; only the encoding
differs (`engine`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # scale_bench


def _prepare(like: str, scale: float, root: Path) -> str:
    """Synthesise and prepare a dataset in `root` (each a `solid` process, as
    `scale_bench` runs its stages); its prepared name."""
    from scale_bench import _stage

    (root / "params.yaml").write_bytes((REPO / "params.yaml").read_bytes())
    folder = f"./{like.replace('-', '_')}_x{scale:g}"
    _stage(["synth", "--like", like, "--scale", str(scale), "--out", folder], root)
    _stage(["download", "--dataset", folder], root)
    return folder[2:].lower()


def _epoch(params, data, backbone: str, variant: str, seeds: int, encoding: str) -> dict:
    import numpy as np
    import torch

    from solidcli.engine import fit
    from solidcli.models.recommender import Recommender
    from solidcli.runs import build_spec

    k = 64 if variant != "base" else 0
    spec = build_spec(params, data.n_items, backbone, "duet", variant, k)
    rng = np.random.default_rng(0)
    mapping = torch.from_numpy(np.r_[0, rng.integers(1, k + 1, data.n_items)]) if k else None
    members = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        members.append(Recommender(spec, item_to_semantic=mapping,
                                   codebook_init=torch.randn(k, spec.dim) * 0.1 if k else None))
    model = members[0] if seeds == 1 else Recommender.group(members)
    cfg = dataclasses.replace(params.train, epochs=1, min_epochs=1, encoding=encoding)
    (first, *_) = fit(model, data, cfg, lam=spec.lam, seeds=list(range(seeds)), data_seed=0,
                      device=torch.device("cpu"), ties="conservative", label="bench")
    return {"seconds": first.curves[0]["train_seconds"], "encoding": first.encoding}


def _positions(data, max_len: int) -> dict[str, int]:
    from solidcli.data.batching import Windows

    train = data.splits["train"]
    windows = Windows.from_rows(train.users, train.histories, train.targets, max_len)
    return {"prefix": sum(min(len(h), max_len) for h in train.histories),
            "sequence": int(windows.lengths.sum()), "rows": len(train.users)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--like", default="scientific")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--backbones", nargs="+", default=["sasrec", "gru4rec"])
    ap.add_argument("--variants", nargs="+", default=["base", "scl"])
    args = ap.parse_args(argv)

    import torch

    from solidcli.config import load_params
    from solidcli.data.prepared import PreparedDataset

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="solid-encoding-") as tmp:
        root = Path(tmp)
        name = _prepare(args.like, args.scale, root)
        os.chdir(root)
        params = load_params("params.yaml")
        data = PreparedDataset.load(name)
        pos = _positions(data, params.train.max_len)
        print(f"{args.like} x{args.scale:g}: {data.n_users:,} users, {data.n_items:,} items, "
              f"{pos['rows']:,} training rows; positions encoded per epoch: prefix "
              f"{pos['prefix']:,}, sequence {pos['sequence']:,} "
              f"({pos['prefix'] / pos['sequence']:.1f}x fewer); one thread")
        print(f"{'model':22} {'seeds':>5} {'prefix':>9} {'sequence':>9} {'us/row p':>9} "
              f"{'us/row s':>9} {'speed-up':>9}")
        for backbone in args.backbones:
            for variant in args.variants:
                for seeds in args.seeds:
                    p = _epoch(params, data, backbone, variant, seeds, "prefix")["seconds"]
                    s = _epoch(params, data, backbone, variant, seeds, "sequence")["seconds"]
                    per = 1e6 / pos["rows"]
                    print(f"{backbone + '-duet-' + variant:22} {seeds:>5} {p:>8.1f}s {s:>8.1f}s "
                          f"{p * per:>9.1f} {s * per:>9.1f} {p / s:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
