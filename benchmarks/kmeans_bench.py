"""Wall time, peak RSS and quality of the k-means behind semantic ids (issue 27), exact Lloyd
beside mini-batch k-means (`solidcli.features.semantics.kmeans_semantics`, algorithm `lloyd`
and `minibatch`), printed (not asserted).

    python benchmarks/kmeans_bench.py            # every size; lloyd skipped at 26k x K 8,600
    python benchmarks/kmeans_bench.py --quick    # lloyd only at Scientific's size
    python benchmarks/kmeans_bench.py --all      # lloyd everywhere (26k: about 25 min alone)
    python benchmarks/kmeans_bench.py --sizes 26000x512:8600 --methods minibatch
    python benchmarks/bench.py --kmeans ...      # the same

Inputs are random float32 rows (seeded normal, L2-normalised as `item_matrix` makes them) of
the paper's shapes: Scientific (1,585 x 512, K = 32), Office (15,000 x 512, K = 5,000), Office
full (26,000 x 512, K = 8,600) and 213,000 x 64 items with K = 2,000. Each size and method runs
in a fresh subprocess that reports the fit's wall time, its peak RSS (resource.getrusage,
ru_maxrss) and the inputs' RSS before the fit, the inertia (sum of squared distances of the
items to their cluster's mean, float64) and the number of clusters. `gap` is minibatch's
inertia relative to lloyd's at the same size, where both ran. `auto` in the last column is
the algorithm `semantics.<name>.algorithm: auto` picks at that size. Random rows have no
cluster structure, so the gap here says little about real features: `--real` adds the
bundled Scientific features (text + image, 1,585 x 1,024) at K = 32 and the authors' K = 550.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SIZES = [(1_585, 512, 32), (15_000, 512, 5_000), (26_000, 512, 8_600), (213_000, 64, 2_000)]
SLOW_LLOYD = {(26_000, 512, 8_600)}  # lloyd there takes about 25 min: only with --all
QUICK_LLOYD = {(1_585, 512, 32)}  # --quick: lloyd only where it takes seconds
REAL = [("scientific", 32), ("scientific", 550)]

CHILD = r"""
import json, resource, sys, time
import numpy as np
from solidcli.features.semantics import choose_algorithm, item_matrix, kmeans_semantics

spec, method = json.loads(sys.argv[1])
if spec[0] == "real":
    from pathlib import Path
    import solidcli
    root = Path(solidcli.__file__).parent / "bundled" / spec[1]
    tables = []
    for suffix in ("feat1CLS", "feat3CLS"):
        rows = np.fromfile(root / f"Scientific.{suffix}", dtype=np.float32).reshape(-1, 512)
        tables.append(np.vstack([np.zeros((1, 512), np.float32), rows]))
    x, k = item_matrix(tables), spec[2]
else:
    n, d, k = spec
    x = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
semantic, centroids = kmeans_semantics(x, k, seed=0, algorithm=method)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
x = x.astype(np.float64)
sums = np.zeros((k + 1, x.shape[1]))
np.add.at(sums, semantic, x)
sizes = np.bincount(semantic, minlength=k + 1)
means = sums / np.maximum(sizes, 1)[:, None]
inertia = sum(float(((x[i:i + 8192] - means[semantic[i:i + 8192]]) ** 2).sum())
              for i in range(0, len(x), 8192))
print(json.dumps({"inputs_kb": inputs, "peak_kb": peak, "seconds": seconds,
                  "inertia": inertia, "clusters": int((sizes[1:] > 0).sum()),
                  "auto": choose_algorithm(len(x), k)}))
"""


def _size(text: str) -> tuple[int, int, int]:
    shape, _, k = text.partition(":")
    n, _, d = shape.partition("x")
    return int(n), int(d), int(k)


def _run(spec: list, method: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([spec, method])],
                         check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{spec} {method} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="lloyd only at Scientific's size")
    ap.add_argument("--all", action="store_true", help="lloyd at 26k x K 8,600 too (~25 min)")
    ap.add_argument("--real", action="store_true", help="also the bundled Scientific features")
    ap.add_argument("--sizes", nargs="+", type=_size, metavar="NxD:K", help="instead of the "
                    "paper's shapes, e.g. 26000x512:8600")
    ap.add_argument("--methods", nargs="+", choices=("lloyd", "minibatch"),
                    default=["lloyd", "minibatch"])
    args = ap.parse_args(argv)
    cases: list[tuple[str, list, bool]] = []  # (label, spec, lloyd allowed)
    for n, d, k in args.sizes or SIZES:
        lloyd = args.all or ((n, d, k) in QUICK_LLOYD if args.quick
                             else (n, d, k) not in SLOW_LLOYD)
        cases.append((f"{n:,} x {d}, K={k:,}", [n, d, k], lloyd))
    if args.real:
        cases += [(f"{name} real, K={k:,}", ["real", name, k], True) for name, k in REAL]
    print(f"{'items x dim, K':<26}{'method':<11}{'time':>9}{'peak RSS':>10}{'inputs':>8}"
          f"{'inertia':>13}{'gap':>8}{'clusters':>9}  auto")
    gb = 1024 / 2**30  # ru_maxrss is in KiB on Linux
    for label, spec, lloyd_ok in cases:
        base = None
        for method in args.methods:
            if method == "lloyd" and not lloyd_ok:
                why = ("about 25 min at this size; --all runs it" if tuple(spec) in SLOW_LLOYD
                       else "--quick; minutes at this size")
                print(f"{label:<26}{method:<11}skipped ({why})", flush=True)
                continue
            r = _run(spec, method)
            if method == "lloyd":
                base = r["inertia"]
            gap = f"{r['inertia'] / base - 1:+.1%}" if base and method != "lloyd" else ""
            print(f"{label:<26}{method:<11}{r['seconds']:>8.1f}s{r['peak_kb'] * gb:>8.2f}GiB"
                  f"{r['inputs_kb'] * gb:>6.2f}GiB{r['inertia']:>13.1f}{gap:>8}"
                  f"{r['clusters']:>9,}  {r['auto']}", flush=True)


if __name__ == "__main__":
    main()
