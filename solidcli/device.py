"""Torch run-time set-up shared by training, scoring and the encoders: device and allocator.

The device is chosen once per command (`device: auto | cpu | cuda | mps`) and every module and
batch is moved there with `.to()`; nothing calls `.cuda()`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

from solidcli.errors import SolidError


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
