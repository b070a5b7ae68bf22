"""How each stage grows with the data: wall time and peak RSS per stage on synthetic datasets
of the paper's sizes (`solid synth`), relative to Scientific, printed (not asserted).

    python benchmarks/scale_bench.py                          # scientific x1 and x10
    python benchmarks/scale_bench.py --sizes scientific:1 office-full:1 douban-book:1
    python benchmarks/bench.py --scale ...                    # the same

Each size is `<registered dataset>:<scale>`: `solid synth --like <dataset> --scale <scale>`
writes it into a temporary project (the repository's params.yaml, one seed, `--epochs`
epochs), then every stage runs as a user runs it, one `solid` process each, one torch
thread: download, embed, assign-semantics, train-base, train-sml and train-scl (SASRec +
DUET: the study model), evaluate (SCL: sampled and full ranking). For each stage the table
gives the wall time (process start and loading included, as a user pays them), the time per
interaction relative to the first size (for evaluate: per user x item, full ranking's unit of
work), and the process's peak RSS (`os.wait4`). The first size is the reference and should
be `scientific:1` (the default): the last line of each size extrapolates the single-thread
CPU time of the whole default grid (69 configurations x 5 seeds) from its measured time on
Scientific (`GRID_SCIENTIFIC_S`, the committed stage records) by the ratio of the training
stages' time to the first size's.

Targets (issue 27): time per interaction at Office size <= 1.5x Scientific's for every
training stage; full ranking's time per user x item <= 1.5x; peak RSS of every stage of a
Douban-Book-sized dataset <= 8 GiB. Douban size takes hours per epoch on a 2-core CPU: run it
on a bigger machine or a GPU (`--device cuda`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRID_SCIENTIFIC_S = 8806.0  # single-thread training of the default grid on Scientific, 5 seeds
RUN = ["--backbone", "sasrec", "--dsr", "duet"]
TRAINING = ("train-base", "train-sml", "train-scl")


def _stage(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one `solid` command, a process of its own."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SOLID_THREADS": "1", "SOLID_WORKERS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "solidcli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"solid {' '.join(args)} failed:\n{err[-2000:]}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return seconds, usage.ru_maxrss * scale / 2**30


def measure(like: str, scale: float, epochs: int, device: str) -> dict:
    """Every stage's figures on one synthetic size."""
    with tempfile.TemporaryDirectory(prefix="solid-scale-") as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "params.yaml", root / "params.yaml")
        folder = f"./{like.replace('-', '_')}_x{scale:g}"
        _stage(["synth", "--like", like, "--scale", str(scale), "--out", folder], root)
        sets = ["-S", "seeds=[0]", "-S", f"train.epochs={epochs}", "-S",
                f"train.min_epochs={epochs}", "-S", f"device={device}"]
        figures = {}
        download = _stage(["download", "--dataset", folder], root)
        name = json.loads(next((root / "data/prepared").glob("*/stats.json")).read_text())[
            "dataset"]
        stats = json.loads((root / "data/prepared" / name / "stats.json").read_text())
        figures["download"] = download
        figures["embed"] = _stage(["embed", "--dataset", name], root)
        figures["assign-semantics"] = _stage(["assign-semantics", "--dataset", name], root)
        for stage in TRAINING:
            figures[stage] = _stage([stage, "--dataset", name, *RUN, *sets], root)
        figures["evaluate"] = _stage(["evaluate", "--dataset", name, *RUN, "--variant", "scl",
                                      *sets], root)
    return {"size": f"{like}:{scale:g}", "users": stats["users"], "items": stats["items"],
            "interactions": stats["interactions"], "stages": figures}


def report(rows: list[dict], epochs: int) -> str:
    base = rows[0]
    lines = [(f"one seed, {epochs} epoch(s), one thread; relative = time per interaction "
             "(evaluate: per user x item) / the first size's"),
             f"{'size':24} {'stage':18} {'wall':>9} {'relative':>9} {'peak RSS':>9}"]
    for row in rows:
        for stage, (seconds, rss) in row["stages"].items():
            unit = (row["users"] * row["items"] if stage == "evaluate" else row["interactions"])
            base_unit = (base["users"] * base["items"] if stage == "evaluate"
                         else base["interactions"])
            relative = (seconds / unit) / (base["stages"][stage][0] / base_unit)
            lines.append(f"{row['size']:24} {stage:18} {seconds:>8.1f}s {relative:>8.2f}x "
                         f"{rss:>8.2f}G")
        train = sum(row["stages"][s][0] for s in TRAINING)
        base_train = sum(base["stages"][s][0] for s in TRAINING)
        grid = GRID_SCIENTIFIC_S * train / base_train
        lines.append(f"{row['size']:24} {'grid (extrap.)':18} {grid / 3600:>8.1f}h "
                     f"({row['users']:,} users, {row['items']:,} items, "
                     f"{row['interactions']:,} interactions)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["scientific:1", "scientific:10"],
                    help="<registered dataset>:<scale>, the first is the reference")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    rows = []
    for size in args.sizes:
        like, _, scale = size.partition(":")
        print(f"measuring {like} x{scale or 1} ...", flush=True)
        rows.append(measure(like, float(scale or 1), args.epochs, args.device))
    print(report(rows, args.epochs))
    print(f"(peak RSS of this script's children: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20:.2f} GiB)")


if __name__ == "__main__":
    main()
