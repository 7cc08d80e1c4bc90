"""Shared set-up of the model tests.

The tests run tiny tensors (32x32x4 patches), where intra-op threads cost more than they
save (8x slower with 2 threads on a busy 2-core machine), so each test runs single-threaded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
