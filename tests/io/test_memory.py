"""vqabench.io.memory: freed heap pages go back to the OS (glibc's malloc_trim), or are kept
for reuse (mallopt)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

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


_REFAULTS = """
import resource, sys
from vqabench.io.memory import keep_freed_heap
if sys.argv[1] == "keep":
    assert keep_freed_heap() is True
chunks = [bytearray(64 * 1024) for _ in range(1600)]  # 100 MiB on the heap, every page touched
chunks.clear()  # all free, at the top of the heap
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
chunks = [bytearray(64 * 1024) for _ in range(1600)]  # the same again, as the next batch
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _refaults(mode: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", _REFAULTS, mode], capture_output=True, text=True, check=True
    )
    return int(proc.stdout)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt's thresholds are glibc's",
)
def test_kept_heap_is_reused_without_page_faults():
    # glibc's default trims the 100 MiB free top and faults its 25,600 pages in again;
    # with keep_freed_heap the next allocation reuses them
    assert _refaults("default") > 20_000
    assert _refaults("keep") < 1_000
