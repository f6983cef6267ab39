"""The C allocator's handling of large freed blocks, which decides how often big tensors page-fault.

glibc serves a block above its mmap threshold with a fresh ``mmap`` and returns it to the system on ``free``;
every new tensor of that size then page-faults its memory in again. A CNN minibatch (256 stacked 84x84
frames in float32 is 29 MB) is allocated and freed several times per gradient step, so on CPU a good share
of training goes to page faults. ``retain``, the default of ``train/run.py --allocator``, raises the mmap
threshold to glibc's maximum (32 MB) and keeps up to 1 GB of freed memory for reuse; the numbers computed
are the same. ``system`` leaves the C library's defaults (and is what any non-glibc platform gets).
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["ALLOCATORS", "configure_allocator"]

#: ``--allocator`` values.
ALLOCATORS = ("retain", "system")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 1024 * 1024 * 1024


def configure_allocator(mode: str) -> bool:
    """Apply ``mode`` (``ALLOCATORS``) to this process; True when the C library took the setting."""
    if mode not in ALLOCATORS:
        raise ValueError(f"--allocator {mode!r}: expected one of {', '.join(ALLOCATORS)}")
    if mode == "system":
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
