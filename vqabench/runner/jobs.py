"""Jobs: one (sequence, reference, codec, rate point) encode + decode + measurements.

A job is plain, picklable data; :func:`execute_job` is a pure function of it (apart from the
bitstream it writes) so it can run in this process, in a worker process or on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from vqabench.io.video import Video

__all__ = ["MetricTask", "Job", "JobOutcome", "execute_job", "encode_key", "measurement_key"]


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def encode_key(input_hash: str, codec_spec: str, rate_label: str) -> str:
    """Key of an encode: input content, codec name/version/options and rate point."""
    return _sha("encode", input_hash, codec_spec, rate_label)


def measurement_key(enc_key: str, metric_spec: str, anchor_hash: str) -> str:
    """Key of a measurement: the encode, the metric spec and the anchor video's content."""
    return _sha("measure", enc_key, metric_spec, anchor_hash)


@dataclass(frozen=True)
class MetricTask:
    """One metric to compute on a job's decoded video against one anchor."""

    key: str
    name: str
    options: tuple[tuple[str, object], ...]
    spec: str
    anchor: str  # "source" or "reference"


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to produce one encode and its measurements."""

    key: str
    sequence: str
    reference: str  # label of the codec input ("source" when it is S)
    codec: str  # display label
    codec_name: str
    codec_options: tuple[tuple[str, object], ...]
    codec_spec: str
    rate_param: str
    rate_value: int | float
    input: Video  # what the codec encodes
    anchors: tuple[tuple[str, Video], ...]  # ("source", S), optionally ("reference", R)
    bitstream: Path  # absolute path
    bitstream_rel: str  # relative to the run directory
    metrics: tuple[MetricTask, ...]
    reuse_bitstream: bool = False
    decode_dir: Path | None = None
    group: str = ""
    keep_decoded: Path | None = None  # keep the decoded video here (reference stage: R)

    @property
    def rate_label(self) -> str:
        """``param=value`` text of the rate point."""
        return f"{self.rate_param}={self.rate_value}"


@dataclass(frozen=True)
class JobOutcome:
    """What a worker returns: the encode facts and metric values, or an error."""

    key: str
    bits: int = 0
    enc_s: float = 0.0
    dec_s: float = 0.0
    values: tuple[tuple[str, float, tuple[float, ...]], ...] = ()  # (metric key, value, frames)
    error: str | None = None
    wall_s: float = 0.0


def execute_job(job: Job) -> JobOutcome:
    """Encode (unless reusing the bitstream), decode, measure, remove the decoded video.

    Never raises for a failing job: the error comes back in ``JobOutcome.error`` so that one
    failure does not stop a run.
    """
    from vqabench import codecs, metrics

    start = time.perf_counter()
    decoded: Video | None = None
    try:
        codec = codecs.create(job.codec_name, **dict(job.codec_options))
        rate = codecs.RatePoint(job.rate_param, job.rate_value)
        result = codecs.run_codec(codec, job.input, rate, job.bitstream,
                                  decode_dir=job.decode_dir, encode=not job.reuse_bitstream)
        decoded = result.decoded
        anchors = dict(job.anchors)
        values = []
        for task in job.metrics:
            metric = metrics.create(task.name, **dict(task.options))
            m = metric.compute(anchors[task.anchor], decoded)
            values.append((task.key, float(m.value), tuple(float(v) for v in m.per_frame)))
        if job.keep_decoded is not None:
            job.keep_decoded.parent.mkdir(parents=True, exist_ok=True)
            os.replace(decoded.path, job.keep_decoded)
            decoded = None
        return JobOutcome(job.key, result.bits, result.enc_s, result.dec_s, tuple(values),
                          wall_s=time.perf_counter() - start)
    except Exception as exc:  # recorded, reported, retried with --retry-failed
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        return JobOutcome(job.key, error=f"{type(exc).__name__}: {exc}{where}",
                          wall_s=time.perf_counter() - start)
    finally:
        if decoded is not None:
            decoded.path.unlink(missing_ok=True)


def options_json(options: tuple[tuple[str, object], ...]) -> str:
    """Canonical JSON of an options tuple."""
    return json.dumps(dict(options), sort_keys=True, default=str)
