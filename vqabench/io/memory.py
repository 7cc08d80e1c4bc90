"""Handing freed heap memory back to the operating system.

Networks evaluated band by band (:mod:`vqabench.metrics.functional.perceptual`) allocate and
free the same large temporaries over and over. glibc's allocator keeps freed chunks that
sit below a live one, so the process's resident memory grows with fragmentation even though
the live data stays bounded. ``malloc_trim(0)`` returns those free pages (``MADV_DONTNEED``)
without moving live data; it changes no value.

Example:
    >>> release_free_heap()   # True on glibc, False where there is no malloc_trim
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

__all__ = ["release_free_heap"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc; absent on musl, macOS, Windows
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


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
