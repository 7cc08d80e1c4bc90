"""Executors run jobs and hand each outcome to a callback in the main process.

The local executor runs jobs in this process (``n_workers == 1``) or in a pool of worker
processes; the callback (which commits to the store) always runs in the main process, so the
store has one writer.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from vqabench.runner.jobs import Job, JobOutcome, execute_job

__all__ = ["local_executor"]


def _init_worker() -> None:
    # One job per core: keep numerical libraries from spawning a thread per core each.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def local_executor(jobs: list[Job], on_done: Callable[[Job, JobOutcome], None],
                   n_workers: int) -> None:
    """Run ``jobs`` on this machine with ``n_workers`` processes (1 = in this process)."""
    if not jobs:
        return
    if n_workers <= 1 or len(jobs) == 1:
        for job in jobs:
            on_done(job, execute_job(job))
        return
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n_workers, len(jobs)), mp_context=ctx,
                             initializer=_init_worker) as pool:
        pending = {}
        queue = list(reversed(jobs))
        # keep at most 2 jobs per worker in flight so a kill loses little queued work
        while queue or pending:
            while queue and len(pending) < 2 * n_workers:
                job = queue.pop()
                pending[pool.submit(execute_job, job)] = job
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = pending.pop(fut)
                on_done(job, fut.result())
