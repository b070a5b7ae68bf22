"""The benchmarks' arithmetic: the per-stage timer of a streamed `dvc repro`
(benchmarks/bench.py) and the scale benchmark's grid extrapolation (scale_bench.py)."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("bench")


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


def _curve(root: Path, run: str, seconds: list[float]):
    """A committed curves file of `run` ("backbone-dsr-variant", seed 0) under `root`."""
    from solidcli.layout import RunId, curves_file

    backbone, dsr, variant = run.split("-")
    run_id = RunId("scientific", backbone, dsr, variant, seed=0)
    path = root / curves_file(run_id)
    path.parent.mkdir(parents=True)
    path.write_text("epoch,loss,seconds\n" + "".join(
        f"{i + 1},0.5,{s}\n" for i, s in enumerate(seconds)))
    return run_id


def test_the_grid_is_extrapolated_backbone_by_backbone(tmp_path):
    scale = _load("scale_bench")
    runs = [_curve(tmp_path, "sasrec-duet-scl", [10.0, 20.0]),
            _curve(tmp_path, "sasrec-none-base", [5.0]),
            _curve(tmp_path, "din-duet-base", [40.0]),
            _curve(tmp_path, "gru4rec-none-base", [8.0])]
    share = scale.shares(runs, tmp_path)
    assert share == {"din": 40.0, "gru4rec": 8.0, "sasrec": 35.0}
    # the reference under prefix; at the size SASRec's three stages under sequence cost 3x,
    # DIN's base 10x (it trains on prefixes either way); GRU4Rec was not measured
    ref = {"train-base": (1.0, 0), "train-sml": (2.0, 0), "train-scl": (3.0, 0),
           "train-base, din": (4.0, 0)}
    size = {"train-base (sequence)": (3.0, 0), "train-sml (sequence)": (6.0, 0),
            "train-scl (sequence)": (9.0, 0), "train-base, din (sequence)": (40.0, 0)}
    assert scale.extrapolate(ref, size, "sequence", share) == 35.0 * 3 + 40.0 * 10 + 8.0 * 3
    with pytest.raises(SystemExit, match="no committed curves"):
        scale.shares(runs, tmp_path / "empty")
    # the repository's own: the default grid's 69 configurations, every one committed
    assert len(scale.default_grid()) == 69
    assert set(scale.shares(scale.default_grid())) == {"sasrec", "din", "bert4rec", "gru4rec"}
