"""The thread policy of the local executor: jobs x threads never exceeds the cores."""

from __future__ import annotations

import os

import pytest

from vqabench.runner.executors import _limit_threads, thread_budget


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(1, 16, 16), (2, 16, 8), (3, 16, 5), (16, 16, 1), (32, 16, 1), (1, 2, 2), (2, 2, 1)],
)
def test_thread_budget_never_oversubscribes(workers, cores, threads):
    assert thread_budget(workers, cores) == threads
    assert workers * thread_budget(workers, cores) <= max(cores, workers)


def test_a_slot_limits_every_library(monkeypatch):
    import cv2
    import torch

    from vqabench.runner import executors

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(executors, "_SLOT_THREADS", 1)
    before = torch.get_num_threads(), cv2.getNumThreads()
    try:
        _limit_threads(2)
        assert os.environ["OMP_NUM_THREADS"] == "2" and executors._SLOT_THREADS == 2
        assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


def test_an_in_process_run_gives_back_the_thread_settings(monkeypatch):
    import torch

    from vqabench.runner import executors

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads(), executors._SLOT_THREADS
    with executors._thread_slot(3):
        assert os.environ["OMP_NUM_THREADS"] == "3" and torch.get_num_threads() == 3
        assert executors._SLOT_THREADS == 3
    assert "OMP_NUM_THREADS" not in os.environ
    assert (torch.get_num_threads(), executors._SLOT_THREADS) == before


def _pid(job: int) -> tuple[int, int]:
    return job, os.getpid()


@pytest.mark.slow
def test_prestarted_workers_run_the_next_jobs_and_unused_ones_are_released():
    """prestart(2) spawns two workers at once; the next local_executor call with two workers
    runs its jobs on exactly those processes; a prestarted pool nobody used is shut down by
    release_prestarted (its processes exit)."""
    from vqabench.runner import executors

    executors.prestart(2)
    pool = executors._PRESTARTED[2]
    assert len(pool._processes) == 2
    started = set(pool._processes)
    done: list[tuple[int, int]] = []
    executors.local_executor(list(range(6)), lambda job, out: done.append(out), 2, fn=_pid)
    assert sorted(j for j, _ in done) == list(range(6))
    assert {pid for _, pid in done} <= started and executors._PRESTARTED == {}
    executors.prestart(2)
    unused = list(executors._PRESTARTED[2]._processes.values())
    executors.release_prestarted()
    assert executors._PRESTARTED == {} and not any(p.is_alive() for p in unused)


def _slot_threads(job: int) -> tuple[int, int]:
    from vqabench.runner import executors

    return job, executors._SLOT_THREADS


def test_the_local_executor_gives_a_job_in_this_process_its_threads(monkeypatch):
    """--threads reaches the job as an argument of the executor, not through OMP_NUM_THREADS:
    make_executor("local", threads=3) runs an in-process job in a slot of 3 threads."""
    from vqabench.runner import executors

    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    done: list[tuple[int, int]] = []
    with executors.make_executor("local", threads=3) as execute:
        execute([7], lambda job, out: done.append(out), 1, fn=_slot_threads)
    assert done == [(7, 3)]
    executors.local_executor([8], lambda job, out: done.append(out), 1, fn=_slot_threads)
    assert done[-1] == (8, 1)
