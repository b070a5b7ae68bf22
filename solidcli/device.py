"""Torch run-time set-up shared by training, scoring and the encoders: device, allocator and
whether a model fits in memory.

The device is chosen once per command (`device: auto | cpu | cuda | mps`) and every module and
batch is moved there with `.to()`; nothing calls `.cuda()`. `check_fits` sizes a model before
any of it is allocated (built on torch's `meta` device, which allocates nothing), so a size that
cannot fit is one clear error instead of an allocation traceback or the kernel's OOM killer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import sys

import torch

from solidcli.errors import SolidError


def start_worker(threads: int) -> None:
    """Set a process that trains or scores units up: `threads` torch threads, freed memory
    kept (a local worker, the main process running units itself, a cluster task)."""
    torch.set_num_threads(threads)
    keep_freed_memory()


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the system (Linux only).

    Training allocates and frees tensors of a few MB every step; by default glibc gives such
    blocks back to the kernel and every new one page-faults in again, which cost up to 2.7x
    the arithmetic on the benchmark machine. Thresholds of 1 GB keep them in the process.
    A no-op where glibc is not the allocator."""
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        return


def pick_device(name: str) -> torch.device:
    """`auto` takes CUDA, then MPS, then the CPU; asking for a missing device is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SolidError("device 'cuda' was asked for but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise SolidError("device 'mps' was asked for but this machine has no MPS device")
    return torch.device(name)


GIB = 1 << 30


def available_memory() -> int | None:
    """Bytes the system can still give this process (Linux: MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(spec, members: int = 1, batch: int = 0, what: str = "this model") -> None:
    """Refuse a model whose weights alone (x4 when `batch` > 0: gradients and Adam's two
    moments, plus a lower bound on one batch's activations) exceed the memory available.
    Every count is exact or a lower bound, so a model that fits is never refused."""
    weights = _parameters(json.dumps(spec.to_dict(), sort_keys=True)) * 4 * members
    need = weights * (4 if batch else 1) + 4 * members * batch * spec.max_len * spec.dim
    have = available_memory()
    if have is not None and need > have:
        raise SolidError(f"{what} would need at least {need / GIB:,.1f} GiB ({weights / GIB:,.1f} "
                         f"GiB of weights for {members} seed(s)); {have / GIB:,.1f} GiB is "
                         "available: lower train.dim, train.max_len, the layers or the batch "
                         "size")


@functools.lru_cache(maxsize=256)
def _parameters(spec_json: str) -> int:
    """The parameter count of the model a spec (as JSON) builds, counted on the meta device
    (once per spec: the seeds of a configuration share one)."""
    from solidcli.models.recommender import Recommender
    from solidcli.models.spec import ModelSpec

    with torch.device("meta"):
        model = Recommender(ModelSpec(**json.loads(spec_json)))
    return sum(p.numel() for p in model.parameters())
