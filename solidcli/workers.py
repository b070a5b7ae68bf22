"""Units of work, handed to worker processes: both cores busy, never oversubscribed.

A unit is one configuration with all its training seeds (a seed group, trained as one batched
model by `engine.fit`); a training stage turns its planned configurations into units and runs
them here. The grouping is fixed by params alone (every seed of a configuration, together), so
the numbers never depend on how many workers ran them. Each worker is a fresh process (spawn)
with `threads` torch threads; `workers x threads` never exceeds the cores. Defaults: one
thread per worker (on this project's models one thread trains as fast as two), and as many
workers as cores and units allow. `--workers` / `--threads` or SOLID_WORKERS / SOLID_THREADS
set them; a different thread count may change the last digits of the results.

The same units could go to a cluster scheduler unchanged: a unit is a picklable function and
its arguments, and writes only its own run folders.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from solidcli._io import WORKER_ENV, console, progress
from solidcli.errors import SolidError


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise SolidError(f"{name}={value!r} must be a positive whole number")
    return int(value)


@dataclass(frozen=True)
class Plan:
    workers: int
    threads: int


def plan(units: int, workers: int | None = None, threads: int | None = None) -> Plan:
    """Workers and threads per worker for `units` units: workers x threads <= cores."""
    n_cores = cores()
    threads = threads or _env_int("SOLID_THREADS") or 1
    if threads > n_cores:
        raise SolidError(f"{threads} threads per worker, but this machine has {n_cores} "
                         "cores")
    most = max(1, n_cores // threads)
    asked = workers or _env_int("SOLID_WORKERS")
    if asked is not None and asked * threads > n_cores:
        raise SolidError(f"{asked} workers x {threads} threads would oversubscribe the "
                         f"{n_cores} cores (at most {most} workers of {threads} threads)")
    return Plan(workers=max(1, min(asked or most, units)), threads=threads)


def _start_worker(threads: int) -> None:
    """Set a worker (or the main process, for one worker) up for training."""
    import torch

    from solidcli.device import keep_freed_memory

    torch.set_num_threads(threads)
    keep_freed_memory()


def _in_worker(threads: int, parent: int) -> None:
    os.environ[WORKER_ENV] = "1"
    _start_worker(threads)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int, every: float = 1.0) -> None:
    """End this worker once its parent is gone (killed, say, by a stopped `dvc repro`), so
    no orphan goes on training and writing run folders the next run restores or rewrites."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def run_units(fn: Callable[..., Any], units: Sequence[tuple], how: Plan,
              label: str = "units") -> list[Any]:
    """fn(*unit) for every unit, in `how.workers` processes; results in unit order. The
    first failure stops the rest and is raised (a SolidError keeps its message)."""
    if how.workers == 1:
        _start_worker(how.threads)
        return [fn(*unit) for unit in units]
    console.log(f"{label}: {len(units)} units on {how.workers} workers x {how.threads} "
                "thread(s)")
    with ProcessPoolExecutor(max_workers=how.workers, mp_context=get_context("spawn"),
                             initializer=_in_worker, initargs=(how.threads, os.getpid())
                             ) as pool, progress() as bar:
        task = bar.add_task(label, total=len(units))  # the workers' own bars are off
        futures = [pool.submit(fn, *unit) for unit in units]
        for done in as_completed(futures):
            if done.exception() is not None:
                for f in futures:
                    f.cancel()
                raise done.exception()
            bar.advance(task)
        return [f.result() for f in futures]
