"""Where a stage's units run: `local` (worker processes on this machine, `solidcli.workers`),
`ray` (one Ray task per unit, on an existing cluster or a local one) or `slurm` (one task of a
submitit job array per unit). docs/cluster.md tells how to use each.

The engine is chosen by `--executor` (the training and evaluate commands), else the env
SOLID_EXECUTOR, else `executor:` in the cluster file, else `local`. The cluster file
(`cluster.yaml` in the working directory, or the file SOLID_CLUSTER names) holds the engines'
settings, `ray:` and `slurm:` (`Settings`); it is not params.yaml and no DVC stage depends on
it, so switching engine retrains nothing. Both engines are optional extras
(`pip install 'solid-rec[ray]'`, `'solid-rec[slurm]'`); choosing one that is not installed is
one line saying so.

Every engine runs the same units: a picklable function and its arguments that writes only its
own output folders, each under a staging name renamed into place at its end (`_io.staged_dir`),
so a retried unit (its node killed) writes the same bytes again and a half-written one never
reaches a table. Results come back in unit order; a unit that failed for good fails the stage
with one line naming the unit, the node it ran on and its log. A unit runs in the submitting
process's working directory (a shared file system, for a cluster) with `plan.threads` torch
threads, as a local worker does, so the numbers do not depend on the engine.

This module imports neither Ray nor submitit until an engine is used: `solid --help` stays
instant.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solidcli.errors import SolidError

EXECUTORS = ("local", "ray", "slurm")
ENV = "SOLID_EXECUTOR"
CLUSTER_ENV = "SOLID_CLUSTER"
BUSY_WAIT_S = 120.0  # how long a retried unit waits for a dying attempt's lock on its folder
LOST_AFTER_S = 10.0  # a SLURM task gone from the queue this long with no result: it failed

_chosen: str | None = None  # --executor, for the command running now (`choose`)


@dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # None: RAY_ADDRESS, a cluster `ray start` began here, or a new one
    max_retries: int = 3  # a unit whose worker or node died runs again, this many times
    gpus_per_unit: float | None = None  # None: 1 when the stage's device is a GPU, else 0


@dataclass(frozen=True)
class SlurmSettings:
    partition: str | None = None
    gpus_per_task: int | None = None  # None: 1 when the stage's device is a GPU, else 0
    cpus_per_task: int | None = None  # None: the plan's threads per unit
    mem_gb: float | None = None
    time_min: int = 60
    account: str | None = None
    max_parallel: int = 256  # array tasks running at once
    retries: int = 1  # a task that ended with no result (killed: node lost, OOM) is resubmitted
    folder: str = ".solid-slurm"  # submitit's job files and logs (on the shared file system)
    poll_s: float = 1.0


@dataclass(frozen=True)
class Settings:
    executor: str | None = None
    ray: RaySettings = field(default_factory=RaySettings)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)


def _section(cls, raw: Any, where: str):
    """A cluster file's section, checked as params.yaml's sections are (`schema.build`:
    unknown keys, types, ranges); left-out keys keep their defaults."""
    from solidcli.schema import ConfigError, build

    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise SolidError(f"{where} must be a mapping")
    try:
        return build(cls, raw, "")
    except ConfigError as exc:
        raise SolidError(f"{where}: {exc}") from None


def settings() -> Settings:
    """The cluster file's settings (all defaults without one)."""
    named = os.environ.get(CLUSTER_ENV)
    path = Path(named or "cluster.yaml")
    if not path.exists():
        if named:
            raise SolidError(f"{CLUSTER_ENV}={named}: no such file")
        return Settings()
    from ruamel.yaml import YAML

    raw = YAML(typ="safe", pure=True).load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise SolidError(f"{path} must be a mapping (executor:, ray:, slurm:)")
    unknown = sorted(set(raw) - {"executor", "ray", "slurm"})
    if unknown:
        raise SolidError(f"{path}: unknown section '{unknown[0]}' (executor, ray, slurm)")
    return Settings(executor=raw.get("executor"),
                    ray=_section(RaySettings, raw.get("ray"), f"{path} ray"),
                    slurm=_section(SlurmSettings, raw.get("slurm"), f"{path} slurm"))


def check(name: str) -> str:
    if name not in EXECUTORS:
        raise SolidError(f"unknown executor '{name}' (choose from {', '.join(EXECUTORS)})")
    return name


def choose(name: str | None) -> None:
    """Set (a name) or clear (None) the engine of the command running now (`--executor`)."""
    global _chosen
    _chosen = None if name is None else check(name)


@contextlib.contextmanager
def using(name: str | None) -> Iterator[None]:
    before = _chosen
    choose(name)
    try:
        yield
    finally:
        choose(before)


def chosen(conf: Settings | None = None) -> str:
    """--executor, else SOLID_EXECUTOR, else the cluster file's `executor:`, else local."""
    if _chosen is not None:
        return _chosen
    name = os.environ.get(ENV) or None
    if name is not None:
        return check(name)
    conf = conf if conf is not None else settings()
    return check(conf.executor or "local")


def describe(unit: Sequence[Any], index: int) -> str:
    """A unit's name for messages: its run (a training configuration, an evaluated run)."""
    for arg in unit:
        run = getattr(arg, "run", None)
        if run is not None:
            return f"unit {index} ({run})"
        if type(arg).__name__ == "RunId":
            return f"unit {index} ({arg})"
    return f"unit {index}"


def _missing(engine: str, module: str) -> SolidError:
    return SolidError(f"executor '{engine}' needs {module}, which is not installed: "
                      f"pip install 'solid-rec[{engine}]'")


def _busy(exc: BaseException) -> bool:
    """A retried unit found its folder still locked by its own earlier attempt (a killed
    node's worker not yet gone)."""
    return isinstance(exc, SolidError) and str(exc).startswith("another process is")


def _call(cwd: str, threads: int, fn: Callable[..., Any], unit: Sequence[Any]) -> Any:
    """fn(*unit) in a cluster worker, set up as a local worker is: the submitting directory,
    `threads` torch threads, no progress bars."""
    from solidcli._io import WORKER_ENV
    from solidcli.device import start_worker

    os.chdir(cwd)
    os.environ[WORKER_ENV] = "1"
    os.environ[ENV] = "local"  # a unit that hands out units itself keeps them here
    start_worker(threads)
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        try:
            return fn(*unit)
        except SolidError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


# ----------------------------------------------------------------------------------- Ray


class UnitFailed(SolidError):
    """A unit's own error, raised in a cluster worker: the one line names unit, node and log."""


def _ray_log() -> str:
    """This Ray worker's log file."""
    pid = os.getpid()
    try:
        import ray._private.worker as rw

        logs = Path(rw._global_node.get_logs_dir_path())
    except Exception:  # noqa: BLE001 - private API moved: the usual place
        logs = Path("/tmp/ray/session_latest/logs")
    found = sorted(logs.glob(f"worker-*-{pid}.err")) or sorted(logs.glob(f"*{pid}*"))
    return str(found[0] if found else logs)


def _ray_node() -> str:
    import ray

    return f"{socket.gethostname()} ({ray.get_runtime_context().get_node_id()[:12]})"


def _ray_unit(cwd: str, threads: int, fn: Callable[..., Any], unit: Sequence[Any],
              name: str, where: str | None = None) -> Any:
    if where is not None:  # this attempt's node and log, for a unit whose worker dies
        with contextlib.suppress(OSError):
            Path(where).write_text(f"node {_ray_node()}, log {_ray_log()}")
    try:
        return _call(cwd, threads, fn, unit)
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line naming the node
        node = _ray_node()
        first = (str(exc).splitlines() or [""])[0]
        raise UnitFailed(f"{name} failed on node {node}, log {_ray_log()}: "
                         f"{type(exc).__name__ + ': ' if not isinstance(exc, SolidError) else ''}"
                         f"{first}") from None


def _ray_init(conf: RaySettings):
    try:
        import ray
    except ImportError:
        raise _missing("ray", "Ray") from None
    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = conf.address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address in (None, "local"):
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SolidError(f"executor 'ray': cannot reach a Ray cluster at "
                         f"{address or 'a new local one'}: {str(exc).splitlines()[0]}") from None
    return ray, True


def run_ray(fn: Callable[..., Any], units: Sequence[tuple], how, label: str,
            conf: RaySettings) -> list[Any]:
    """Each unit one Ray task of `how.threads` CPUs (and a GPU where the stage's device is
    one), retried `conf.max_retries` times if its worker or node dies; results in order."""
    from solidcli._io import console, progress

    ray, started = _ray_init(conf)
    gpus = conf.gpus_per_unit if conf.gpus_per_unit is not None else (1 if how.gpus else 0)
    task = ray.remote(_ray_unit).options(num_cpus=how.threads, num_gpus=gpus,
                                         max_retries=conf.max_retries, retry_exceptions=False)
    names = [describe(unit, i) for i, unit in enumerate(units)]
    cwd = os.getcwd()
    # where each unit's last attempt ran (the shared file system): named if its worker dies
    wheres = Path(cwd) / ".solid-ray" / uuid.uuid4().hex[:12]
    refs: list[Any] = []
    try:
        wheres.mkdir(parents=True, exist_ok=True)
        console.log(f"{label}: {len(units)} units as Ray tasks of {how.threads} CPU(s)"
                    f"{f' and {gpus} GPU(s)' if gpus else ''}")
        refs = [task.remote(cwd, how.threads, fn, unit, name, str(wheres / str(i)))
                for i, (unit, name) in enumerate(zip(units, names, strict=True))]
        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        with progress() as bar:
            shown = bar.add_task(label, total=len(units))
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
                for ref in done:
                    _ray_check(ray, ref, names[index[ref]], conf, wheres / str(index[ref]))
                    bar.advance(shown)
        return ray.get(refs)
    except BaseException:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)  # not forced: the unit unwinds, removing its staging folders
        raise
    finally:
        shutil.rmtree(wheres, ignore_errors=True)
        with contextlib.suppress(OSError):
            wheres.parent.rmdir()  # unless another stage is using it
        if started:
            ray.shutdown()


def _ray_check(ray, ref, name: str, conf: RaySettings, where: Path) -> None:
    try:
        ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause()
        inner = getattr(exc, "cause", None)
        if isinstance(inner, SolidError):
            raise SolidError(str(inner)) from None
        raise SolidError(f"{name} failed: {str(cause).splitlines()[-1]}") from None
    except ray.exceptions.RayError as exc:  # its worker or node died, every retry
        try:
            last = f"last attempt on {where.read_text()}"
        except OSError:
            last = "node unknown; logs in /tmp/ray/session_latest/logs on each node"
        raise SolidError(f"{name} failed for good after {conf.max_retries} retries, {last} "
                         f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]})"
                         ) from None


# --------------------------------------------------------------------------------- SLURM


@dataclass
class _Failed:
    """A unit's own error, as an array task returns it (so submitit's job ends well and the
    stage reads this line, not a traceback)."""
    line: str


def _slurm_unit(cwd: str, threads: int, fn: Callable[..., Any], unit: Sequence[Any],
                name: str) -> Any:
    try:
        return _call(cwd, threads, fn, unit)
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line naming the node
        first = (str(exc).splitlines() or [""])[0]
        kind = "" if isinstance(exc, SolidError) else f"{type(exc).__name__}: "
        node = os.environ.get("SLURMD_NODENAME") or socket.gethostname()
        return _Failed(f"{name} failed on node {node}: {kind}{first}")


def _in_queue(job_ids: list[str]) -> dict[str, str] | None:
    """The array tasks squeue still lists (pending or running), as 'jobid_task', and the
    node each runs on ('' while pending); None if squeue did not answer."""
    arrays = sorted({j.split("_")[0] for j in job_ids})
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %N", "-j", ",".join(arrays)],
                             check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        if "Invalid job id" in out.stderr:  # every one of them has left the queue
            return {}
        return None
    return {parts[0]: parts[1] if len(parts) > 1 else "" for line in out.stdout.splitlines()
            if (parts := line.split())}


def run_slurm(fn: Callable[..., Any], units: Sequence[tuple], how, label: str,
              conf: SlurmSettings) -> list[Any]:
    """Every unit one task of a submitit job array; waits for the array with a progress bar.
    A task that ended with no result (killed: its node lost, out of memory) is submitted again,
    `conf.retries` times; a unit's own error, or a task lost once more, fails the stage with
    one line naming the unit, the node and the log."""
    try:
        import submitit
        from submitit.core.utils import pickle_load
    except ImportError:
        raise _missing("slurm", "submitit") from None
    from solidcli._io import console, progress

    folder = Path(conf.folder).resolve()
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
    gpus = conf.gpus_per_task if conf.gpus_per_task is not None else (1 if how.gpus else 0)
    extra: dict[str, Any] = {}
    if conf.partition:
        extra["slurm_partition"] = conf.partition
    if conf.account:
        extra["slurm_account"] = conf.account
    if conf.mem_gb is not None:
        extra["mem_gb"] = conf.mem_gb
    if gpus:
        extra["gpus_per_node"] = gpus
    executor.update_parameters(name=f"solid-{label}".replace(" ", "-"), timeout_min=conf.time_min,
                               cpus_per_task=conf.cpus_per_task or how.threads, nodes=1,
                               tasks_per_node=1, slurm_array_parallelism=conf.max_parallel,
                               **extra)
    names = [describe(unit, i) for i, unit in enumerate(units)]
    cwd = os.getcwd()
    n = len(units)
    try:
        jobs = executor.map_array(_slurm_unit, [cwd] * n, [how.threads] * n, [fn] * n,
                                  list(units), names)
    except Exception as exc:  # noqa: BLE001 - sbatch refused it (no such partition, daemons down, ...)
        raise SolidError(f"executor 'slurm': sbatch failed: "
                         f"{(str(exc).strip().splitlines() or [''])[-1]}") from None
    console.log(f"{label}: {n} units as SLURM array {jobs[0].job_id.split('_')[0]} "
                f"({conf.cpus_per_task or how.threads} CPU(s){f', {gpus} GPU(s)' if gpus else ''}"
                f" per task); logs in {folder}")
    results: dict[int, Any] = {}
    gone_since: dict[int, float] = {}
    nodes: dict[int, str] = {}  # where each task was last seen running
    retried: dict[int, int] = {}
    try:
        with progress() as bar:
            shown = bar.add_task(label, total=n)
            while len(results) < n:
                queued = None
                for i, job in enumerate(jobs):
                    if i in results:
                        continue
                    if job.paths.result_pickle.exists():
                        outcome, value = pickle_load(job.paths.result_pickle)
                        if outcome != "success":
                            raise SolidError(f"{names[i]} (SLURM task {job.job_id}) failed: "
                                             f"{_last_line(value)}; log {job.paths.stderr}")
                        if isinstance(value, _Failed):
                            raise SolidError(f"{value.line} (SLURM task {job.job_id}, log "
                                             f"{job.paths.stderr})")
                        results[i] = value
                        bar.advance(shown)
                        continue
                    if queued is None:
                        queued = _in_queue([j.job_id for j in jobs])
                    if queued and queued.get(job.job_id):
                        nodes[i] = queued[job.job_id]
                    if queued is not None and job.job_id not in queued:
                        # left the queue: its result is about to land, or it never will
                        first = gone_since.setdefault(i, time.monotonic())
                        if (time.monotonic() - first > LOST_AFTER_S
                                and retried.get(i, 0) < conf.retries):
                            retried[i] = retried.get(i, 0) + 1
                            jobs[i] = executor.submit(_slurm_unit, cwd, how.threads, fn,
                                                      units[i], names[i])
                            console.log(f"{names[i]}: SLURM task {job.job_id} ended without a "
                                        f"result (on node {nodes.pop(i, 'unknown')}, log "
                                        f"{job.paths.stderr}); submitted again as "
                                        f"{jobs[i].job_id} (retry {retried[i]} of "
                                        f"{conf.retries})")
                            gone_since.pop(i)
                            queued = None
                        elif time.monotonic() - first > LOST_AFTER_S:
                            raise SolidError(
                                f"{names[i]} (SLURM task {job.job_id}) ended without a "
                                f"result (killed, out of memory or time?"
                                f"{f'; after {retried[i]} retries' if retried.get(i) else ''}"
                                f"), on node "
                                f"{nodes.get(i, 'unknown')}; log "
                                f"{job.paths.stderr}")
                time.sleep(conf.poll_s)
    except BaseException:
        for job in jobs:
            with contextlib.suppress(Exception):
                job.cancel(check=False)
        raise
    return [results[i] for i in range(n)]


def _last_line(text: Any) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"


# ------------------------------------------------------------------------------ dispatch


def run(fn: Callable[..., Any], units: Sequence[tuple], how, label: str) -> list[Any] | None:
    """fn(*unit) for every unit on the chosen cluster engine; None for `local` (the caller,
    `workers.run_units`, runs them itself)."""
    conf = settings()
    name = chosen(conf)
    if name == "local" or not units:
        return None
    if name == "ray":
        return run_ray(fn, units, how, label, conf.ray)
    return run_slurm(fn, units, how, label, conf.slurm)
