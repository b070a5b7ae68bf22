"""Units of work, handed to worker processes: both cores busy, never oversubscribed.

A unit is one configuration with all its training seeds (a seed group, trained as one batched
model by `engine.fit`); a training stage turns its planned configurations into units and runs
them here. The grouping is fixed by params alone (every seed of a configuration, together), so
the numbers never depend on how many workers ran them. Each worker is a fresh process (spawn)
with `threads` torch threads; `workers x threads` never exceeds the cores. Defaults: one
thread per worker (on this project's models one thread trains as fast as two), and as many
workers as cores and units allow. `--workers` / `--threads` or SOLID_WORKERS / SOLID_THREADS
set them; a different thread count may change the last digits of the results.

On a GPU (the stage's device CUDA, or `auto` finding one; MPS) there is one worker per GPU,
each pinned to its own (CUDA_VISIBLE_DEVICES, set in the worker before CUDA starts), with
`cores // workers` threads: a dozen processes sharing one GPU, each loading the data, would
only queue on it.

The same units go to a cluster scheduler unchanged (`--executor ray | slurm`,
`solidcli.executors`): a unit is a picklable function and its arguments, and writes only its
own run folders.

Stopping (Ctrl-C, SIGTERM, a failed unit) never waits for the running units: the parent
SIGTERMs its workers, whose unit unwinds at once (its staging folders removed, nothing
renamed into place, unless its renames had begun: those finish first, see
`_io.signals_held`), and SIGKILLs any still alive `GRACE_S` seconds later. Workers ignore
SIGINT, from birth: a terminal's Ctrl-C reaches the whole process group, and stopping them is
the parent's job (a worker acting on it would print a traceback).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from solidcli._io import WORKER_ENV, console, progress, signals_held
from solidcli.errors import SolidError, Terminated

GRACE_S = 3.0  # how long a stopped worker may take to unwind before it is killed


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
    gpus: int = 0  # GPUs the workers share out, one each (0: the CPU)


def gpu_count(device: str | None) -> int:
    """The GPUs a stage of `device` (auto, cpu, cuda, mps) trains on: CUDA's device count,
    1 for MPS, 0 for the CPU."""
    if device in (None, "cpu"):
        return 0
    import torch

    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.cuda.device_count()
    mps = getattr(torch.backends, "mps", None)
    if device in ("auto", "mps") and mps is not None and mps.is_available():
        return 1
    return 0  # cuda or mps asked for but missing: the unit says so when it picks its device


def plan(units: int, workers: int | None = None, threads: int | None = None,
         device: str | None = None) -> Plan:
    """Workers and threads per worker for `units` units: workers x threads <= cores; on a
    GPU device, one worker per GPU (at most) and the cores shared among them."""
    n_cores = cores()
    for what, value in (("workers", workers), ("threads per worker", threads)):
        if value is not None and value < 1:  # the CLI says so first, naming its flag
            raise SolidError(f"{what} must be a whole number >= 1, got {value}")
    gpus = gpu_count(device)
    if gpus:
        asked = workers or _env_int("SOLID_WORKERS")
        if asked is not None and asked > gpus:
            raise SolidError(f"{asked} workers on {gpus} GPU(s): one worker per GPU at most "
                             "(each would load the data and queue on the same GPU)")
        n = max(1, min(asked or gpus, units))
        threads = threads or _env_int("SOLID_THREADS") or max(1, n_cores // n)
        if n * threads > n_cores:
            raise SolidError(f"{n} workers x {threads} threads would oversubscribe the "
                             f"{n_cores} cores")
        return Plan(workers=n, threads=threads, gpus=gpus)
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
    from solidcli.device import start_worker

    start_worker(threads)


_in_unit = threading.Event()  # in a worker: a unit is running


def _in_worker(threads: int, parent: int, gpu_ids: Any = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # already so since its start (`_spawning`)
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ[WORKER_ENV] = "1"
    if gpu_ids is not None:  # this worker's own GPU, before anything starts CUDA
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu_ids.get(timeout=10)
    _start_worker(threads)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int, every: float = 1.0) -> None:
    """End this worker once its parent is gone (killed, say, by a stopped `dvc repro`), so
    no orphan goes on training and writing run folders the next run restores or rewrites."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM in a worker (its parent stopping it): a running unit unwinds, removing its
    staging folders and releasing its locks, and `_run_unit` then exits; an idle worker
    exits at once."""
    if _in_unit.is_set():
        raise Terminated()
    os._exit(128 + signum)


def _run_unit(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a worker; stopped by SIGTERM, the worker exits quietly (its parent is the
    one that reports)."""
    _in_unit.set()
    try:
        return fn(*args)
    except Terminated:
        os._exit(128 + signal.SIGTERM)
    finally:
        _in_unit.clear()


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """While the pool starts its workers (about 15 ms): SIGINT ignored, which they inherit,
    so none acts on a Ctrl-C, even one that comes while it is still importing; a Ctrl-C
    in these milliseconds is lost. A SIGTERM waits until every worker is in the pool's
    books, where `_stop` finds it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with signals_held((signal.SIGTERM,)):
        before = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, before)


def _stop(pool: ProcessPoolExecutor, futures: list[Future], grace: float = GRACE_S) -> None:
    """Stop `pool` now: cancel the units not started, SIGTERM the workers (see the module
    docstring) and SIGKILL those still alive after `grace` seconds. Only a killed one can
    leave a staging folder (`.seed0.tmp-*`), which every reader ignores and the next save of
    that run removes."""
    for future in futures:
        future.cancel()
    procs = list(dict(pool._processes or {}).values())  # public only from Python 3.14 on
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.exitcode is None:
            proc.kill()
            proc.join(1.0)
    pool.shutdown(wait=True, cancel_futures=True)


def _visible_gpus(n: int) -> list[str]:
    """The ids of the first `n` GPUs this process sees, as CUDA_VISIBLE_DEVICES names them."""
    seen = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [x.strip() for x in seen.split(",") if x.strip()] if seen else []
    return (ids or [str(i) for i in range(n)])[:n]


def run_units(fn: Callable[..., Any], units: Sequence[tuple], how: Plan,
              label: str = "units") -> list[Any]:
    """fn(*unit) for every unit, in `how.workers` processes (or on the cluster engine
    `--executor` / SOLID_EXECUTOR chose: `solidcli.executors`); results in unit order. The
    first failure stops the rest and is raised (a SolidError keeps its message), and so does
    an interrupt: the workers are stopped at once, never waited for (`_stop`)."""
    from solidcli import executors

    elsewhere = executors.run(fn, units, how, label)
    if elsewhere is not None:
        return elsewhere
    if how.workers == 1:
        _start_worker(how.threads)
        return [fn(*unit) for unit in units]
    console.log(f"{label}: {len(units)} units on {how.workers} workers x {how.threads} "
                f"thread(s){', one GPU each' if how.gpus else ''}")
    context = get_context("spawn")
    gpu_ids = None
    if how.gpus:
        gpu_ids = context.Queue()
        for gpu in _visible_gpus(how.workers):
            gpu_ids.put(gpu)
    pool = ProcessPoolExecutor(max_workers=how.workers, mp_context=context,
                               initializer=_in_worker,
                               initargs=(how.threads, os.getpid(), gpu_ids))
    futures: list[Future] = []
    try:
        with _spawning():
            futures = [pool.submit(_run_unit, fn, *unit) for unit in units]
        with progress() as bar:
            task = bar.add_task(label, total=len(units))  # the workers' own bars are off
            for done in as_completed(futures):
                failure = done.exception()
                if isinstance(failure, BrokenProcessPool):
                    raise SolidError(f"{label}: a worker process died (killed, or out of "
                                     "memory?); run the command again") from None
                if failure is not None:
                    raise failure
                bar.advance(task)
    except BaseException:
        with signals_held():  # a second Ctrl-C does not cut the stopping short
            _stop(pool, futures)
        raise
    pool.shutdown()
    return [f.result() for f in futures]
