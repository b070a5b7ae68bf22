"""The benchmark's per-stage timer of a streamed `dvc repro` (benchmarks/bench.py)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_stage_runs_from_its_line_to_the_next(bench, capsys):
    lines = ["Running stage 'download@scientific':\n", "> solid download\n",
             "Running stage 'train-base@scientific':\n", "epoch 1\n", "epoch 2\n",
             "Updating lock file 'dvc.lock'\n", "Running stage 'table':\n", "done\n"]
    ticks = iter([0.0, 2.0, 5.0, 65.0, 70.0])  # start, the three stage lines, the end
    walls, total = bench.stage_walls(lines, clock=lambda: next(ticks))
    assert walls == {"download@scientific": 3.0, "train-base@scientific": 60.0, "table": 5.0}
    assert total == 70.0
    assert capsys.readouterr().out == "".join(lines)  # the output still reaches the user


def test_no_stage_ran(bench):
    ticks = iter([0.0, 1.5])
    walls, total = bench.stage_walls(["Data and pipelines are up to date.\n"],
                                     clock=lambda: next(ticks))
    assert walls == {} and total == 1.5


def test_table1s_stages_under_either_naming(bench):
    walls = {"train-base@scientific": 60.0, "train-scl@scientific": 40.0,
             "sweep-scl": 500.0, "evaluate": 9.0}
    assert bench.table1_seconds(walls, prefix="train-") == 100.0
    assert bench.table1_seconds({"base@scientific": 7.0, "sml-T@scientific": 3.0}) == 7.0
