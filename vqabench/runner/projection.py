"""Projected wall time of a run from per-job costs (pure functions; no jobs are run).

The runner hands jobs to its workers longest first, one job to each worker that becomes
free (:mod:`vqabench.runner.run`, :mod:`vqabench.runner.executors`). With every job's cost
known, the wall time of that schedule is the classic longest-processing-time (LPT) list
schedule: each job, in order of decreasing cost, goes to the worker that is free first.

Example:
    >>> project_wall_s([4.0, 3.0, 3.0, 2.0], workers=2)
    6.0
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from vqabench.errors import invalid

__all__ = ["project_wall_s"]


def project_wall_s(
    job_costs_s: Sequence[float],
    workers: int,
    *,
    per_job_overhead_s: float = 0.0,
    startup_s: float = 0.0,
    slowdown: float = 1.0,
) -> float:
    """Wall time of ``job_costs_s`` on ``workers`` workers, scheduled longest first.

    Args:
        job_costs_s: each job's own time in seconds when it runs alone.
        workers: workers that run one job at a time each (``--jobs``, or a Dask cluster's
            worker threads).
        per_job_overhead_s: time a worker loses per job outside the job (scheduling,
            sending the job and its outcome), added to each job's cost.
        startup_s: time before the first job starts (interpreter, imports, planning,
            starting the workers or the cluster).
        slowdown: factor on every job's cost when jobs run side by side (shared caches
            and memory bandwidth; 1.0 = none).

    Returns:
        ``startup_s`` plus the time the last worker finishes.

    Raises:
        ConfigError: no workers, or a negative cost, overhead, start-up or a slowdown
            below 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise invalid("workers", workers, "an integer >= 1")
    if any(c < 0 for c in job_costs_s):
        raise invalid("job_costs_s", min(job_costs_s), "costs >= 0 seconds")
    for name, value in (("per_job_overhead_s", per_job_overhead_s), ("startup_s", startup_s)):
        if value < 0:
            raise invalid(name, value, "a number >= 0")
    if slowdown < 1:
        raise invalid("slowdown", slowdown, "a factor >= 1")
    free_at = [0.0] * min(workers, max(1, len(job_costs_s)))
    for cost in sorted(job_costs_s, reverse=True):
        start = heapq.heappop(free_at)
        heapq.heappush(free_at, start + cost * slowdown + per_job_overhead_s)
    return startup_s + max(free_at)
