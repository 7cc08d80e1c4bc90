"""vqabench.io.memory: freed heap pages go back to the OS (glibc's malloc_trim)."""

from __future__ import annotations

import os
import platform

import pytest

from vqabench.io.memory import release_free_heap


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_trim_returns_the_free_pages_below_a_live_chunk():
    # 1,600 chunks of 64 KiB (below glibc's mmap threshold: on the heap) = 100 MiB; freeing
    # all but the last leaves them below a live chunk, where glibc keeps them resident
    chunks = [bytearray(64 * 1024) for _ in range(1600)]
    for c in chunks:
        c[::4096] = b"\x01" * len(c[::4096])  # touch every page
    last = chunks.pop()
    chunks.clear()
    before = _rss_bytes()
    assert release_free_heap() is True
    freed = before - _rss_bytes()
    assert freed > 80 * 2**20, f"only {freed / 2**20:.1f} MiB returned"
    del last
