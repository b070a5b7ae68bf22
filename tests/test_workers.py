"""Units of work on worker processes: never more threads than cores, results in order,
and a failure in a worker is the command's one-line error."""

import pytest

from solidcli import workers
from solidcli.errors import SolidError


def _square(x: int) -> int:
    import torch

    return x * x + torch.get_num_threads() * 1000  # the worker's thread count shows


def _fail(x: int) -> int:
    raise SolidError(f"unit {x} failed")


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(workers, "cores", lambda: 2)
    for name in ("SOLID_WORKERS", "SOLID_THREADS"):
        monkeypatch.delenv(name, raising=False)


def test_plan_fills_the_cores_and_never_oversubscribes(two_cores, monkeypatch):
    assert workers.plan(12) == workers.Plan(workers=2, threads=1)
    assert workers.plan(1) == workers.Plan(workers=1, threads=1)  # one unit: one worker
    assert workers.plan(5, threads=2) == workers.Plan(workers=1, threads=2)
    with pytest.raises(SolidError, match="would oversubscribe the 2 cores"):
        workers.plan(5, workers=2, threads=2)
    with pytest.raises(SolidError, match="3 threads per worker, but this machine has 2"):
        workers.plan(5, threads=3)
    monkeypatch.setenv("SOLID_WORKERS", "1")
    assert workers.plan(12).workers == 1
    monkeypatch.setenv("SOLID_WORKERS", "two")
    with pytest.raises(SolidError, match="SOLID_WORKERS='two' must be a positive whole number"):
        workers.plan(12)


def test_units_run_in_order_on_workers_with_their_thread_count(two_cores):
    how = workers.Plan(workers=2, threads=1)
    assert workers.run_units(_square, [(1,), (2,), (3,)], how) == [1001, 1004, 1009]


def test_a_failing_unit_raises_its_error(two_cores):
    with pytest.raises(SolidError, match="unit 2 failed"):
        workers.run_units(_fail, [(2,), (3,)], workers.Plan(workers=2, threads=1))
