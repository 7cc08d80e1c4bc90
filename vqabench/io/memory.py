"""Handing freed heap memory back to the operating system.

Networks evaluated band by band (:mod:`vqabench.metrics.functional.perceptual`) allocate and
free the same large temporaries over and over. glibc's allocator keeps freed chunks that
sit below a live one, so the process's resident memory grows with fragmentation even though
the live data stays bounded. ``malloc_trim(0)`` returns those free pages (``MADV_DONTNEED``)
without moving live data; it changes no value.

The opposite case: a network scored batch after batch on the CPU (the learned metrics) frees
all of a batch's activations at its end and allocates them again for the next. glibc hands
the top of its heap back to the OS as soon as more than its trim threshold (at most 64 MiB,
set dynamically) is free there, and every page it hands back is faulted in and zeroed again
by the next batch: RankDVQA-UGC's metric phase on 32 1080p frames took 0.9-1.3 million
page faults, 3-21 thousand with :func:`keep_freed_heap` and 6-10 % less CPU time
(``benchmarks/bench_learned_ab.py``, reports/performance.md). :func:`keep_freed_heap`
raises that threshold for the process; the peak resident memory does not change (the same pages are
reused instead of returned and refaulted), only what a process holds between jobs.

Example:
    >>> release_free_heap()   # True on glibc, False where there is no malloc_trim
    >>> keep_freed_heap()     # True on glibc: freed heap memory is kept for reuse
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

__all__ = ["keep_freed_heap", "release_free_heap"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD_MAX_BYTES = 32 * 1024 * 1024  # glibc's largest on 64-bit (its dynamic maximum)
KEEP_FREED_BYTES = 1024 * 1024 * 1024


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc; absent on musl, macOS, Windows
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


@functools.cache
def keep_freed_heap() -> bool:
    """Keep up to :data:`KEEP_FREED_BYTES` of freed heap memory for reuse instead of handing
    it back to the OS after each batch (glibc ``mallopt``; once per process).

    Sets the mmap threshold to glibc's dynamic maximum (32 MiB: setting the trim threshold
    alone would freeze the dynamic mmap threshold wherever it stands, as low as 128 KiB) and
    the trim threshold to :data:`KEEP_FREED_BYTES`. :func:`release_free_heap` still returns
    free pages when called. Changes no value.

    Returns:
        True when both options were set (glibc), False otherwise (a no-op).
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX_BYTES)
        and mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
    )


def release_free_heap() -> bool:
    """Return the allocator's free heap pages to the OS (glibc ``malloc_trim(0)``).

    Returns:
        True when the C library has ``malloc_trim`` (it was called), False otherwise (a no-op).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
