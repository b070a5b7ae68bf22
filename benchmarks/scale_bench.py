"""How each stage grows with the data: wall time and peak RSS per stage on synthetic datasets
of the paper's sizes (`solid synth`), relative to Scientific, printed (not asserted).

    python benchmarks/scale_bench.py                          # scientific x1 and x10
    python benchmarks/scale_bench.py --sizes scientific:1 office-full:1 douban-book:1
    python benchmarks/bench.py --scale ...                    # the same

Each size is `<registered dataset>:<scale>`: `solid synth --like <dataset> --scale <scale>`
writes it into a temporary project (the repository's params.yaml, `--seeds` seeds trained
together, one by default, `--epochs` epochs), then every stage runs as a user runs it, one
`solid` process each, one torch thread: download, embed, assign-semantics, train-base,
train-sml and train-scl (SASRec + DUET: the study model), train-base of each other backbone
with DUET (`--others`), evaluate (SCL: sampled and full ranking). For each stage the table
gives the wall time (process start and loading included, as a user pays them), the time per
interaction relative to the first size (for evaluate: per user x item, full ranking's unit of
work), and the process's peak RSS (`os.wait4`). The first size is the reference and should
be `scientific:1` (the default).

The last lines of each size extrapolate the single-thread CPU time of the whole default grid
(69 configurations x 5 seeds), backbone by backbone: each backbone's share of the grid on
Scientific (the `seconds` of its configurations in the committed `reports/curves`, 8,478 s
in all: SASRec 4,152, DIN 2,334, BERT4Rec 1,500, GRU4Rec 492) times the ratio of its
measured training at this size to the first size's under `prefix` (SASRec: train-base +
train-sml + train-scl; the others: train-base, with DUET). Per backbone because DIN and
BERT4Rec train on prefixes under either encoding, so their cost per row grows with the
history length while SASRec's and GRU4Rec's under `sequence` does not. It assumes the same
number of epochs at every size, which no one can know before training.

The last column is the figure measured before the scale work (`BEFORE`: two epochs, except
Douban's one, on the same machine under load; so compare per epoch).

Targets (issue 27): time per interaction at Office size <= 1.5x Scientific's for every
training stage; full ranking's time per user x item <= 1.5x; peak RSS of every stage of a
Douban-Book-sized dataset <= 8 GiB. Office size takes about 10 minutes for every stage under
`--encoding sequence` on a 2-core CPU, Douban size over an hour (docs/scale.md); a GPU:
`--device cuda`.
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
RUN = ["--backbone", "sasrec", "--dsr", "duet"]
TRAINING = ("train-base", "train-sml", "train-scl")
OTHERS = ("gru4rec", "bert4rec", "din")  # trained base with DUET at every size
# the figures measured before the scale work (same machine, 2 epochs unless noted, one seed,
# SASRec + DUET; the machine was shared, so upper bounds): (seconds, peak RSS GiB) by size/stage
BEFORE = {
    "scientific:1": {"train-base": (5.2, 0.55), "train-scl": (5.9, 0.57),
                     "evaluate": (4.8, 0.42), "assign-semantics": (2.8, 0.27)},
    "scientific:10": {"train-base": (19.0, 1.0), "train-scl": (35.0, 1.0),
                      "evaluate": (14.5, 0.85), "assign-semantics": (38.0, 0.6)},
    "office-full:1": {"download": (19.0, 1.0), "train-base": (85.0, 1.8),
                      "train-sml": (124.0, 1.8), "train-scl": (346.0, 3.5),
                      "evaluate": (75.0, 1.8)},
    "douban-book:1": {"download": (46.0, 5.5), "assign-semantics": (595.0, 0.6),
                      "train-base": (831.0, 4.8)},  # SASRec alone, 1 epoch; k-means K=2,000
}


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


def measure(like: str, scale: float, epochs: int, device: str,
            encodings: tuple[str, ...] = ("prefix",), others: tuple[str, ...] = OTHERS,
            seeds: int = 1) -> dict:
    """Every stage's figures on one synthetic size."""
    with tempfile.TemporaryDirectory(prefix="solid-scale-") as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "params.yaml", root / "params.yaml")
        folder = f"./{like.replace('-', '_')}_x{scale:g}"
        _stage(["synth", "--like", like, "--scale", str(scale), "--out", folder], root)
        sets = ["-S", f"seeds={list(range(seeds))}", "-S", f"train.epochs={epochs}", "-S",
                f"train.min_epochs={epochs}", "-S", f"device={device}"]
        figures = {}
        download = _stage(["download", "--dataset", folder], root)
        name = json.loads(next((root / "data/prepared").glob("*/stats.json")).read_text())[
            "dataset"]
        stats = json.loads((root / "data/prepared" / name / "stats.json").read_text())
        figures["download"] = download
        figures["embed"] = _stage(["embed", "--dataset", name], root)
        if not stats.get("with_text") and not stats.get("with_image"):
            # ID only (Douban): the semantic ids cluster a trained baseline's item table
            # (params.yaml id_semantics), so that run trains first
            from solidcli.config import load_params

            ids = load_params(root / "params.yaml").id_semantics
            figures["train-base (id semantics)"] = _stage(
                ["train-base", "--dataset", name, "--backbone", ids.backbone, "--dsr", ids.dsr,
                 *sets, "-S", f"train.encoding={encodings[-1]}"], root)
        figures["assign-semantics"] = _stage(["assign-semantics", "--dataset", name], root)
        for encoding in encodings:  # the last one's models are evaluated
            for stage in TRAINING:
                figures[_key(stage, encoding)] = _stage(
                    [stage, "--dataset", name, *RUN, *sets, "-S", f"train.encoding={encoding}"],
                    root)
            for backbone in others:  # DIN and BERT4Rec run prefixes under either encoding
                figures[_key(f"train-base, {backbone}", encoding)] = _stage(
                    ["train-base", "--dataset", name, "--backbone", backbone, "--dsr", "duet",
                     *sets, "-S", f"train.encoding={encoding}"], root)
        figures["evaluate"] = _stage(["evaluate", "--dataset", name, *RUN, "--variant", "scl",
                                      *sets], root)
    return {"size": f"{like}:{scale:g}", "encodings": encodings, "others": others, "seeds": seeds,
            "users": stats["users"], "items": stats["items"],
            "interactions": stats["interactions"], "stages": figures}


def _key(stage: str, encoding: str) -> str:
    return stage if encoding == "prefix" else f"{stage} ({encoding})"


def report(rows: list[dict], epochs: int) -> str:
    base = rows[0]
    share = shares(default_grid())
    lines = [(f"{rows[0]['seeds']} seed(s), {epochs} epoch(s), one thread; relative = time per "
              "interaction (evaluate: per user x item) / the first size's"),
             (f"{'size':20} {'stage':32} {'wall':>9} {'relative':>9} {'peak RSS':>9} "
              f"{'before (wall, RSS)':>20}")]
    for row in rows:
        for stage, (seconds, rss) in row["stages"].items():
            unit = (row["users"] * row["items"] if stage == "evaluate" else row["interactions"])
            base_unit = (base["users"] * base["items"] if stage == "evaluate"
                         else base["interactions"])
            ref = base["stages"].get(stage)
            relative = (seconds / unit) / (ref[0] / base_unit) if ref else None
            before = BEFORE.get(row["size"], {}).get(stage)
            was = f"{before[0]:>8.1f}s {before[1]:>6.2f}G" if before else ""
            rel = "-" if relative is None else f"{relative:.2f}x"  # None: no reference
            lines.append(f"{row['size']:20} {stage:32} {seconds:>8.1f}s {rel:>9} "
                         f"{rss:>8.2f}G {was:>20}")
        for encoding in row["encodings"]:
            grid = extrapolate(base["stages"], row["stages"], encoding, share)
            lines.append(f"{row['size']:20} {'grid, ' + encoding:32} {grid / 3600:>8.1f}h "
                         f"({row['users']:,} users, {row['items']:,} items, "
                         f"{row['interactions']:,} interactions)")
    return "\n".join(lines)


def default_grid(dataset: str = "scientific") -> list:
    """The default grid's runs of `dataset` as the repository's params.yaml plans them (the
    first seed of each configuration: a group's seeds share its timings)."""
    from solidcli.config import load_params
    from solidcli.grid import dataset_runs

    params = load_params(REPO / "params.yaml")
    return [p.run.with_seed(params.seeds[0]) for p in dataset_runs(params, dataset)]


def shares(runs: list, root: Path = REPO) -> dict[str, float]:
    """Seconds of the default grid per backbone (5 seeds trained together, validation
    included): the sum of every epoch's `seconds` in each run's committed curves."""
    import csv

    from solidcli.layout import curves_file

    out: dict[str, float] = {}
    for run in runs:
        path = root / curves_file(run)
        if not path.is_file():
            raise SystemExit(f"no committed curves at {path}: run `dvc repro` first")
        with open(path, newline="") as f:
            seconds = sum(float(r["seconds"]) for r in csv.DictReader(f))
        out[run.backbone] = out.get(run.backbone, 0.0) + seconds
    return out


def extrapolate(base: dict, stages: dict, encoding: str, share: dict[str, float]) -> float:
    """The default grid's single-thread seconds at a size: each backbone's Scientific share
    times its measured training at this size (under `encoding`) over the reference size's
    (under `prefix`, what the committed curves were trained with). A backbone not measured
    takes SASRec's ratio."""
    def trained(figures: dict, backbone: str, enc: str) -> float | None:
        keys = TRAINING if backbone == "sasrec" else (f"train-base, {backbone}",)
        found = [figures.get(_key(k, enc)) for k in keys]
        return None if None in found else sum(f[0] for f in found)

    def ratio(backbone: str) -> float | None:
        at, ref = trained(stages, backbone, encoding), trained(base, backbone, "prefix")
        return None if at is None or ref is None else at / ref

    sasrec = ratio("sasrec")
    return sum(seconds * (r if (r := ratio(b)) is not None else sasrec)
               for b, seconds in share.items())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["scientific:1", "scientific:10"],
                    help="<registered dataset>:<scale>, the first is the reference")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", type=int, default=1, help="seeds trained together per run, at "
                    "every size (5 on a GPU: a seed group's cost against one seed's)")
    ap.add_argument("--encoding", nargs="+", default=["prefix", "sequence"],
                    choices=["prefix", "sequence"],
                    help="train.encoding of the training stages after the first size's "
                    "(prefix: the paper's; the first size runs both)")
    ap.add_argument("--others", nargs="*", default=list(OTHERS), choices=list(OTHERS),
                    help="backbones trained base (with DUET) at every size besides SASRec's "
                    "three stages, for the grid's extrapolation (none: SASRec's ratio for all)")
    args = ap.parse_args(argv)
    rows = []
    for i, size in enumerate(args.sizes):
        like, _, scale = size.partition(":")
        print(f"measuring {like} x{scale or 1} ...", flush=True)
        # the reference size runs both (the relative times and the grid's extrapolation are
        # taken from it); the others the encodings asked for
        encodings = ("prefix", "sequence") if i == 0 else tuple(args.encoding)
        rows.append(measure(like, float(scale or 1), args.epochs, args.device, encodings,
                            tuple(args.others), args.seeds))
    print(report(rows, args.epochs))
    print(f"(peak RSS of this script's children: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20:.2f} GiB)")


if __name__ == "__main__":
    main()
