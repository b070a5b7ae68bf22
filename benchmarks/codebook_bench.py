"""Peak memory and time of one nearest-code search of SCL's codebook (paper Eq. 13,
`models.codebook.nearest_code`), the whole distance table (the formula before issue 27)
beside the chunked search, printed (not asserted).

    python benchmarks/codebook_bench.py
    python benchmarks/codebook_bench.py --threads 2 --limit-gb 10

Each configuration and method runs in a fresh subprocess, which reports its peak RSS
(resource.getrusage, ru_maxrss) after building the inputs and after the search, and the
search's wall time. Configurations: 5 seeds x 26k items x 8.6k codes (Office) and 5 seeds x
213k items x 2k codes, dim 64, float32. The whole table is skipped where it would need more
than `--limit-gb` (two tables of S x rows x N_c floats, held at once by its `a + b`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CONFIGS = [(5, 26_000, 8_600, 64), (5, 213_000, 2_000, 64)]

CHILD = r"""
import json, resource, sys, time
import torch
from solidcli.models import codebook as cb

s, n, k, d, method, threads = json.loads(sys.argv[1])
torch.set_num_threads(threads)
gen = torch.Generator().manual_seed(0)
x, codes = torch.randn(s, n, d, generator=gen), torch.randn(s, k, d, generator=gen)

def whole(x, codes):
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    dist = torch.baddbmm(codes.pow(2).sum(-1).unsqueeze(1), flat, codes.transpose(1, 2),
                         alpha=-2.0) + flat.pow(2).sum(-1, keepdim=True)
    return dist.argmin(dim=-1).view(x.shape[:-1])

search = whole if method == "whole" else cb.nearest_code
inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with torch.no_grad():
    index = search(x, codes)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"inputs_kb": inputs, "peak_kb": peak, "seconds": seconds,
                  "checksum": int(index.sum())}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-gb", type=float, default=10.0)
    args = ap.parse_args()
    print(f"{'S x rows x codes x dim':<26}{'method':<9}{'peak RSS':>10}{'inputs':>9}"
          f"{'search':>10}{'time':>9}  argmin sum")
    for s, n, k, d in CONFIGS:
        name = f"{s} x {n} x {k} x {d}"
        need_gb = 2 * s * n * k * 4 / 1e9
        for method in ("whole", "chunked"):
            if method == "whole" and need_gb > args.limit_gb:
                print(f"{name:<26}{method:<9}skipped (would need {need_gb:.1f} GB)")
                continue
            out = subprocess.run([sys.executable, "-c", CHILD,
                                  json.dumps([s, n, k, d, method, args.threads])],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            gb = 1024 / 1e9  # ru_maxrss is in KiB on Linux
            print(f"{name:<26}{method:<9}{r['peak_kb'] * gb:>8.2f}GB{r['inputs_kb'] * gb:>7.2f}GB"
                  f"{(r['peak_kb'] - r['inputs_kb']) * gb:>8.2f}GB{r['seconds']:>8.2f}s"
                  f"  {r['checksum']}")


if __name__ == "__main__":
    main()
