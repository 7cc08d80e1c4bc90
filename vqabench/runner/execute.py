"""Execution: planned jobs through the one executor, each outcome recorded in the store.

A stage (:class:`Stages`) keeps of its planned jobs the part the store lacks
(:func:`~vqabench.runner.plan.pending_part`), runs it longest first and commits each outcome
as it comes back (:func:`record_outcome`), in the main process: the store has one writer.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from vqabench.errors import DiskFullError
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.runner.jobs import Job, JobOutcome
from vqabench.runner.plan import pending_part
from vqabench.runner.progress import RunProgress, schedule_key

__all__ = ["Executor", "Stages", "record_outcome", "local_workers"]


Executor = Callable[[list[Job], Callable[[Job, JobOutcome], None], int], None]


class Stages:
    """Runs the stages of one run (references, codecs, rate-controlled codecs) through one
    executor.

    Args:
        store: the run's store (outcomes are committed to it as they arrive).
        execute: ``execute(jobs, on_done, n_workers)``.
        n_workers: the run's ``jobs``.
        decode_dir: scratch folder of the jobs (the run directory's ``.tmp/``).
        retry_failed: run again the jobs whose last try failed for good.
        progress: counts reported as jobs finish.
    """

    def __init__(
        self,
        store: Store,
        execute: Executor,
        n_workers: int,
        decode_dir: Path,
        retry_failed: bool,
        progress: RunProgress,
    ):
        self.store, self.execute, self.n_workers = store, execute, n_workers
        self.decode_dir, self.retry_failed, self.progress = decode_dir, retry_failed, progress

    def _on_done(self, job: Job, outcome: JobOutcome) -> None:
        record_outcome(job, outcome, self.store)
        self.progress.finished(job)

    def run(self, planned: list[Job], estimate: float = 0.0) -> list[Job]:
        """Run what the store lacks of ``planned``; returns the jobs that ran.

        Args:
            estimate: work units counted for these jobs before they could be planned.
        """
        todo = [
            p for j in planned if (p := pending_part(j, self.store, self.retry_failed)) is not None
        ]
        todo = [replace(j, decode_dir=self.decode_dir.resolve()) for j in todo]
        # longest first (estimated work, then the costlier rate point), so that
        # side-by-side workers do not end with one long job running alone; results do
        # not depend on the order
        todo.sort(key=schedule_key, reverse=True)
        self.progress.planned(len(planned) - len(todo), todo, estimate)
        self.execute(todo, self._on_done, self.n_workers)
        return todo


@contextlib.contextmanager
def local_workers(n_workers: int, start: bool) -> Iterator[None]:
    """Start the local executor's ``n_workers`` worker processes now, when ``start``, so that
    their start-up overlaps the planning; those no job used end on exit."""
    from vqabench.runner.executors import prestart, release_prestarted

    if not start:
        yield
        return
    prestart(n_workers)
    try:
        yield
    finally:
        release_prestarted()


def _not_finite(outcome: JobOutcome, job: Job) -> str | None:
    """Error text when a metric gave NaN (overall or on a frame); inf (PSNR of identical
    frames) is a value, NaN is not: stored NaNs would silently turn BD-rates into NaN."""
    names = {t.key: f"{t.name} against {t.anchor}" for t in job.metrics}
    bad = [
        names[k]
        for k, value, frames in outcome.values
        if math.isnan(value) or any(math.isnan(v) for v in frames)
    ]
    if not bad:
        return None
    return (
        f"MetricError: {', '.join(bad)} gave NaN; not stored (the other measurements "
        "are kept; fix the metric and re-run with --retry-failed)"
    )


def record_outcome(job: Job, outcome: JobOutcome, store: Store) -> None:
    """Commit ``outcome`` of ``job`` to ``store`` in one transaction: the encode and the
    finite measurements, or the failure (transient or permanent).

    Raises:
        DiskFullError: the job failed on a full disk (every next job would too).
    """
    if outcome.error is not None:
        store.record_failure(
            job.key,
            job.sequence,
            job.codec,
            job.rate_label,
            outcome.error,
            kind="transient" if outcome.error_kind == "transient" else "permanent",
        )
        if outcome.error.startswith("DiskFullError: "):  # every next job would fail the same
            raise DiskFullError("disk full: " + outcome.error.split(": ", 1)[1].split("; ")[0])
        return
    names = {t.key: f"{t.name} against {t.anchor}" for t in job.metrics}
    errors = [f"{names[k]} failed: {e}" for k, e in outcome.metric_errors]
    if errors:
        errors[-1] += (
            " (the job's encode and other measurements are kept; re-run with "
            "--retry-failed to measure only what failed)"
        )
    nan_error = "; ".join(filter(None, [*errors, _not_finite(outcome, job)])) or None
    old = store.encode(job.key) if job.reuse_bitstream else None
    src = job.input
    encode = EncodeRecord(
        job.key,
        job.sequence,
        job.reference,
        job.codec,
        job.rate_label,
        job.bitstream_rel,
        outcome.bits,
        old.enc_s if old else outcome.enc_s,
        old.dec_s if old else outcome.dec_s,
        src.frames,
        src.width,
        src.height,
        f"{src.fps.numerator}/{src.fps.denominator}",
        job.codec_spec,
    )
    tasks = {t.key: t for t in job.metrics}
    measurements = [
        MeasurementRecord(k, job.key, tasks[k].name, tasks[k].anchor, value, frames, tasks[k].spec)
        for k, value, frames in outcome.values
        if not (math.isnan(value) or any(math.isnan(v) for v in frames))
    ]
    failure = None if nan_error is None else (job.sequence, job.codec, job.rate_label, nan_error)
    store.commit_job(encode, measurements, failure)
