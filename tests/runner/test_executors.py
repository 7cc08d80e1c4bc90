"""The thread policy of the local executor: jobs x threads never exceeds the cores."""

from __future__ import annotations

import os

import pytest

from vqabench.runner.executors import _limit_threads, thread_budget


@pytest.mark.parametrize(("workers", "cores", "threads"),
                         [(1, 16, 16), (2, 16, 8), (3, 16, 5), (16, 16, 1), (32, 16, 1),
                          (1, 2, 2), (2, 2, 1)])
def test_thread_budget_never_oversubscribes(workers, cores, threads):
    assert thread_budget(workers, cores) == threads
    assert workers * thread_budget(workers, cores) <= max(cores, workers)


def test_a_slot_limits_every_library(monkeypatch):
    import cv2
    import torch

    for var in ("OMP_NUM_THREADS", "VQABENCH_THREADS"):
        monkeypatch.setenv(var, "1")
    before = torch.get_num_threads(), cv2.getNumThreads()
    try:
        _limit_threads(2)
        assert os.environ["OMP_NUM_THREADS"] == os.environ["VQABENCH_THREADS"] == "2"
        assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


def test_an_in_process_run_gives_back_the_thread_settings(monkeypatch):
    import torch

    from vqabench.runner.executors import _thread_slot

    monkeypatch.delenv("VQABENCH_THREADS", raising=False)
    before = torch.get_num_threads()
    with _thread_slot(1):
        assert os.environ["VQABENCH_THREADS"] == "1" and torch.get_num_threads() == 1
    assert "VQABENCH_THREADS" not in os.environ and torch.get_num_threads() == before
