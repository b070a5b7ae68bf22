"""Choosing where units run (`solidcli.executors`), without a cluster: the flag, env and
cluster-file order, unknown names, a missing extra in one line, `local` unchanged. The real
engines run in tests/test_executors_ray.py and tests/test_executors_slurm.py."""

from __future__ import annotations

import sys

import pytest

from solidcli import executors, workers
from solidcli.errors import SolidError


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    monkeypatch.delenv(executors.ENV, raising=False)
    monkeypatch.delenv(executors.CLUSTER_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    executors.choose(None)


def test_local_is_the_default_and_the_flag_beats_env_beats_file(tmp_path, monkeypatch):
    assert executors.chosen() == "local"
    (tmp_path / "cluster.yaml").write_text("executor: slurm\nray:\n  address: 10.0.0.1:6379\n"
                                           "slurm:\n  partition: gpu\n  mem_gb: 8\n")
    conf = executors.settings()
    assert conf.ray.address == "10.0.0.1:6379" and conf.slurm.partition == "gpu"
    assert executors.chosen() == "slurm"
    monkeypatch.setenv(executors.ENV, "ray")
    assert executors.chosen() == "ray"
    with executors.using("local"):
        assert executors.chosen() == "local"
    assert executors.chosen() == "ray"


def test_bad_names_and_keys_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(executors.ENV, "dask")
    with pytest.raises(SolidError, match="unknown executor 'dask' \\(choose from local, ray, "):
        executors.chosen()
    (tmp_path / "cluster.yaml").write_text("slurm:\n  partitoin: gpu\n")
    with pytest.raises(SolidError, match="slurm: unknown key 'partitoin'"):
        executors.settings()
    monkeypatch.setenv(executors.CLUSTER_ENV, str(tmp_path / "nope.yaml"))
    with pytest.raises(SolidError, match="no such file"):
        executors.settings()


@pytest.mark.parametrize(("engine", "module", "extra"), [("ray", "ray", "ray"),
                                                         ("slurm", "submitit", "slurm")])
def test_an_engine_not_installed_says_how_to_install_it(monkeypatch, engine, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.setenv(executors.ENV, engine)
    with pytest.raises(SolidError) as caught:
        workers.run_units(pow, [(2, 2)], workers.Plan(1, 1))
    assert str(caught.value).endswith(f"pip install 'solid-rec[{extra}]'")
    assert "\n" not in str(caught.value)


def test_local_runs_in_process_as_before():
    assert workers.run_units(pow, [(2, 3), (3, 2)], workers.Plan(1, 1)) == [8, 9]


def test_the_flag_is_checked_and_not_a_param(tmp_path):
    from typer.testing import CliRunner

    from solidcli.cli import app

    result = CliRunner().invoke(app, ["train-base", "--all", "--executor", "dask"])
    assert result.exit_code == 2 and "choose from local, ray, slurm" in result.output
    assert executors.chosen() == "local"  # nothing left behind


def test_units_are_named_by_their_run():
    from solidcli.layout import RunId

    run = RunId("tiny", "sasrec", "duet", "base", None)
    assert executors.describe(({}, "tiny", run), 3) == f"unit 3 ({run})"
    assert executors.describe((1, 2), 0) == "unit 0"


def test_fanout_trains_a_family_for_every_dataset_in_one_set_of_units(tmp_path, monkeypatch):
    """`python -m solidcli.fanout`: both datasets' configurations handed over together (one
    run_units call per family), each dataset's stage record written as its stage would."""
    from conftest import tiny_params, write_params, write_tiny_dataset
    from typer.testing import CliRunner

    from solidcli import fanout
    from solidcli.cli import app
    from solidcli.layout import stage_record

    write_tiny_dataset(tmp_path / "raw" / "tiny")
    data = tiny_params(tmp_path / "raw" / "tiny")
    data["datasets"] = ["tiny", "tiny2"]
    for section in ("data", "embed", "semantics"):
        data[section]["tiny2"] = dict(data[section]["tiny"])
    write_params(tmp_path / "params.yaml", data)
    for name in ("tiny", "tiny2"):
        for cmd in (["download"], ["embed"], ["assign-semantics"]):
            result = CliRunner().invoke(app, [*cmd, "--dataset", name])
            assert result.exit_code == 0, (cmd, result.output)
    calls = []
    real = workers.run_units

    def counting(fn, units, how, label="units"):
        calls.append((label, [u[1].run.dataset for u in units]))
        return real(fn, units, how, label)

    monkeypatch.setattr(workers, "run_units", counting)
    assert fanout.main(["--families", "base", "--executor", "local"]) == 0
    assert len(calls) == 1 and sorted(set(calls[0][1])) == ["tiny", "tiny2"]
    for name in ("tiny", "tiny2"):
        record = stage_record(name, "base")
        assert record.exists() and f'"fanout_units": {len(calls[0][1])}' in record.read_text()
        assert list((record.parent).rglob("model.pt"))
    assert fanout.main(["--families", "nope"]) == 1
