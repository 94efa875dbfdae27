"""Large CPU tensors served from the reused heap during a call, instead of fresh pages from the OS each time.

Why: glibc's malloc gives every block over its mmap threshold (at most 32 MiB) fresh zeroed pages and unmaps them
on free, so each activation of a full-size upsampler (75 MiB q/k/v, 25 MiB per sublayer output) is page-faulted in
anew at every use: ~250,000 minor faults and ~0.85 s of system time per colour-upsampler image on a 6.5 s call
(getrusage, one thread, AMD EPYC). Inside :func:`reused_heap` such blocks come from the heap and are reused by the
next allocation; on exit the free memory is given back (``malloc_trim``), so the process holds no more afterwards
than before. The thresholds are process-wide: on exit they are set to the values glibc's own dynamic threshold
settles at for large blocks (mmap above 32 MiB, trim above 64 MiB), since glibc cannot report or restore its
previous dynamic state. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
IN_CALL_MMAP_THRESHOLD = 1 << 30  # older glibc refuses more than 32 MiB (then that is used: blocks up to it reused)
IN_CALL_TRIM_THRESHOLD = (1 << 31) - 1  # int-sized: never trim inside the call
AFTER_MMAP_THRESHOLD = 32 << 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: where the dynamic threshold ends up
AFTER_TRIM_THRESHOLD = 2 * AFTER_MMAP_THRESHOLD  # glibc moves the trim threshold with it, to twice the mmap one


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    return libc


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc >= 2.33): ``uordblks`` bytes in use in the heap, ``fordblks`` free there,
    ``hblkhd`` in use in blocks of their own (mmap)."""

    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                       "fsmblks", "uordblks", "fordblks", "keepcost")]


def mallinfo2() -> MallInfo2 | None:
    """glibc's allocator statistics now, or None without glibc >= 2.33."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2()


def live_bytes() -> int | None:
    """Bytes malloc has handed out and not yet had back (heap + mmap): the live allocations, without the freed
    blocks glibc keeps, so it means the same with and without :func:`reused_heap`; None without glibc >= 2.33."""
    info = mallinfo2()
    return None if info is None else info.uordblks + info.hblkhd


@contextmanager
def reused_heap() -> Iterator[None]:
    """Inside: large blocks from the heap, nothing trimmed; after: free memory returned (see the module doc)."""
    libc = _glibc()
    if libc is None:
        yield
        return
    if not libc.mallopt(M_MMAP_THRESHOLD, IN_CALL_MMAP_THRESHOLD):
        libc.mallopt(M_MMAP_THRESHOLD, AFTER_MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, IN_CALL_TRIM_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, AFTER_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, AFTER_TRIM_THRESHOLD)
        libc.malloc_trim(0)
