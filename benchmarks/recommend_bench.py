"""Speed of `solid recommend` on Scientific (SASRec + DUET + SCL), printed (not asserted).

    python benchmarks/recommend_bench.py              # in a temporary project
    python benchmarks/recommend_bench.py --project .  # a project whose run is trained

Targets (issue 26) on this project's 2-core CPU: `solid recommend --user X` end to end
(process start, load every seed, score) <= 1.5 s; `--all` for the 2,928 users <= 5 s. Each
command's figure is printed beside the in-process figure (the API, `solidcli.api`, already
loaded) measured in the same run, so the process start and the loading show apart; both
engines: torch (the trained models) and onnx (the run's `solid export`, which the script
makes first: no torch to import).

Without --project, the bundled Scientific data is prepared in a temporary folder and the run
is trained there for one epoch under every seed of params.yaml (the speed of recommending
does not depend on how well the model was trained). Commands run with one torch thread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN = ["--dataset", "scientific", "--backbone", "sasrec", "--dsr", "duet"]
TARGETS = {"user": 1.5, "all": 5.0}


def _solid(*args: str, cwd: Path) -> float:
    """Seconds one `solid` command takes, as a user runs it (a new process)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SOLID_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "solidcli", *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _train(project: Path) -> None:
    shutil.copy(REPO / "params.yaml", project / "params.yaml")
    one = ["-S", "train.epochs=1", "-S", "train.min_epochs=1"]
    for command in (["download"], ["embed"], ["assign-semantics"],
                    ["train-base", *RUN, *one], ["train-sml", *RUN, *one],
                    ["train-scl", *RUN, *one]):
        print(f"  solid {' '.join(command)}", flush=True)
        _solid(*command, cwd=project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a project with the run trained")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = None
    project = args.project
    if project is None:
        tmp = tempfile.TemporaryDirectory(prefix="solid-recommend-bench-")
        project = Path(tmp.name)
        print("training the run for one epoch in", project)
        _train(project)
    project = project.resolve()
    os.chdir(project)
    import torch

    torch.set_num_threads(1)
    from solidcli import api

    start = time.perf_counter()
    model = api.load(dataset="scientific", backbone="sasrec", dsr="duet", variant="scl")
    load_s = time.perf_counter() - start
    user = model.user_tokens[0]
    one = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        model.recommend_users([user], k=10)
        one.append(time.perf_counter() - start)
    every = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for lo in range(0, len(model.user_tokens), 256):
            model.recommend_users(model.user_tokens[lo:lo + 256], k=10)
        every.append(time.perf_counter() - start)
    cli_user = [_solid("recommend", *RUN, "--user", user, cwd=project)
                for _ in range(args.repeat)]
    cli_all = [_solid("recommend", *RUN, "--all", "--out", "recs.parquet", cwd=project)
               for _ in range(args.repeat)]
    _solid("export", *RUN, cwd=project)
    onnx = ["--engine", "onnx"]
    onnx_user = [_solid("recommend", *RUN, *onnx, "--user", user, cwd=project)
                 for _ in range(args.repeat)]
    onnx_all = [_solid("recommend", *RUN, *onnx, "--all", "--out", "recs.parquet", cwd=project)
                for _ in range(args.repeat)]
    n = len(model.user_tokens)
    print(f"\nScientific, SASRec + DUET + SCL, ensemble of {len(model.seeds)} seeds, one "
          f"thread; medians of {args.repeat}")
    print(f"{'':38} {'solid (new process)':>20} {'in-process API':>16} {'target':>8}")
    print(f"{'recommend --user X (top 10)':38} {statistics.median(cli_user):>19.2f}s "
          f"{statistics.median(one) * 1000:>14.1f}ms {TARGETS['user']:>7.1f}s")
    print(f"{f'recommend --all ({n} users)':38} {statistics.median(cli_all):>19.2f}s "
          f"{statistics.median(every):>15.2f}s {TARGETS['all']:>7.1f}s")
    print(f"{'recommend --user X --engine onnx':38} {statistics.median(onnx_user):>19.2f}s "
          f"{'':>16} {TARGETS['user']:>7.1f}s")
    print(f"{'recommend --all --engine onnx':38} {statistics.median(onnx_all):>19.2f}s "
          f"{'':>16} {TARGETS['all']:>7.1f}s")
    print(f"{'api.load (every seed, checked)':38} {'':>20} {load_s:>15.2f}s")
    if tmp is not None:
        os.chdir(REPO)
        tmp.cleanup()


if __name__ == "__main__":
    main()
