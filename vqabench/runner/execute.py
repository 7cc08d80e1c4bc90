"""Execution: planned jobs through the one executor, each outcome recorded in the store."""

from __future__ import annotations

import math
from collections.abc import Callable

from vqabench.errors import DiskFullError
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.runner.jobs import Job, JobOutcome

__all__ = ["Executor"]


Executor = Callable[[list[Job], Callable[[Job, JobOutcome], None], int], None]


def _not_finite(outcome: JobOutcome, job: Job) -> str | None:
    """Error text when a metric gave NaN (overall or on a frame); inf (PSNR of identical
    frames) is a value, NaN is not: stored NaNs would silently turn BD-rates into NaN."""
    names = {t.key: f"{t.name} against {t.anchor}" for t in job.metrics}
    bad = [names[k] for k, value, frames in outcome.values
           if math.isnan(value) or any(math.isnan(v) for v in frames)]
    if not bad:
        return None
    return (f"MetricError: {', '.join(bad)} gave NaN; not stored (the other measurements "
            "are kept; fix the metric and re-run with --retry-failed)")


def _record(job: Job, outcome: JobOutcome, store: Store) -> None:
    if outcome.error is not None:
        store.record_failure(job.key, job.sequence, job.codec, job.rate_label, outcome.error,
                             kind="transient" if outcome.error_kind == "transient"
                             else "permanent")
        if outcome.error.startswith("DiskFullError: "):  # every next job would fail the same
            raise DiskFullError("disk full: " + outcome.error.split(": ", 1)[1].split("; ")[0])
        return
    names = {t.key: f"{t.name} against {t.anchor}" for t in job.metrics}
    errors = [f"{names[k]} failed: {e}" for k, e in outcome.metric_errors]
    if errors:
        errors[-1] += (" (the job's encode and other measurements are kept; re-run with "
                       "--retry-failed to measure only what failed)")
    nan_error = "; ".join(filter(None, [*errors, _not_finite(outcome, job)])) or None
    old = store.encode(job.key) if job.reuse_bitstream else None
    src = job.input
    encode = EncodeRecord(
        job.key, job.sequence, job.reference, job.codec, job.rate_label, job.bitstream_rel,
        outcome.bits, old.enc_s if old else outcome.enc_s, old.dec_s if old else outcome.dec_s,
        src.frames, src.width, src.height, f"{src.fps.numerator}/{src.fps.denominator}",
        job.codec_spec)
    tasks = {t.key: t for t in job.metrics}
    measurements = [MeasurementRecord(k, job.key, tasks[k].name, tasks[k].anchor, value, frames,
                                      tasks[k].spec) for k, value, frames in outcome.values
                    if not (math.isnan(value) or any(math.isnan(v) for v in frames))]
    failure = None if nan_error is None else (job.sequence, job.codec, job.rate_label, nan_error)
    store.commit_job(encode, measurements, failure)
