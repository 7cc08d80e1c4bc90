"""Jobs: one (sequence, reference, codec, rate point) encode + decode + measurements.

A job is plain, picklable data; :func:`execute_job` is a pure function of it (apart from the
bitstream it writes) so it can run in this process, in a worker process or on a cluster.

Measurement (:func:`measure`) reads each frame of the decoded video and of each anchor once,
and hands it to every metric that streams (the pixel metrics; see
:meth:`vqabench.metrics.Metric.accumulator`); metrics of one pass group are computed
together (:meth:`vqabench.metrics.Metric.compute_shared`: all VMAF variants against one
anchor are one libvmaf pass); the other metrics get the videos (``compute(reference,
distorted)``). Before any number is kept, the frame counts and a temporal alignment probe
(:mod:`vqabench.metrics.functional.alignment`) are checked. A metric that fails costs only
its own measurement: the encode and the other metrics' values are kept, and the failure is
reported for ``--retry-failed``. A job that fails for a reason of the machine (a full disk,
memory, a tool killed by a signal) is marked transient (:mod:`vqabench.io.faults`): the next
plain run retries it.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from vqabench.io import video as video_io
from vqabench.io.faults import disk_full_text, failure_kind, is_disk_full, written_path
from vqabench.io.video import Video

__all__ = [
    "MetricTask",
    "Job",
    "JobOutcome",
    "execute_job",
    "measure",
    "encode_key",
    "measurement_key",
]


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
    metric_errors: tuple[tuple[str, str], ...] = ()  # (metric key, error) of failed metrics
    error_kind: str = "permanent"  # of ``error``: "transient" (retried by a plain run) or not


def _describe(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _failure_text(exc: BaseException, job: Job) -> str:
    """The recorded error of a failed job; a full disk names the path and the free bytes
    there (measured on the machine that ran the job)."""
    if not is_disk_full(exc):
        return _describe(exc)
    where = written_path(exc) or job.decode_dir or job.bitstream.parent
    return f"DiskFullError: {disk_full_text(where)}; {_describe(exc)}"


def _stream(
    decoded: Video, anchors: dict[str, Video], streams: dict[str, list], errors: dict[str, str]
) -> dict[str, object]:
    """One pass over the frames: each frame of ``decoded`` and of every anchor read once,
    the alignment probe and every accumulator fed. Returns ``{task key: MetricResult}``."""
    from vqabench.metrics.base import FrameFormat, FramePair
    from vqabench.metrics.functional.alignment import AlignmentProbe

    names = list(anchors)
    fmt = FrameFormat.of(decoded)
    probes = {a: AlignmentProbe(decoded.frames, fmt.bit_depth) for a in names}
    last_probe = max((max(p.indices, default=0) for p in probes.values()), default=0)
    readers = [video_io.read_frames(decoded), *(video_io.read_frames(anchors[a]) for a in names)]
    for index, (dis, *refs) in enumerate(zip(*readers, strict=True)):
        for name, ref in zip(names, refs, strict=True):
            probes[name].update(index, ref.y, dis.y)
            pair = FramePair.of_videos(index, ref, dis, anchors[name], decoded)
            alive = []
            for key, acc in streams.get(name, []):
                try:
                    acc.update(pair)
                    alive.append((key, acc))
                except Exception as exc:  # this metric alone fails
                    errors[key] = _describe(exc)
            streams[name] = alive
        if index == last_probe:  # every probe seen: stop here when misaligned
            for name in names:
                probes[name].check(f"decoded video {decoded.path.name} against {name}")
            if not any(streams.values()):
                break  # nothing streams: the probe needed only these frames
    for name in names:
        probes[name].check(f"decoded video {decoded.path.name} against {name}")
    results = {}
    for key, acc in (item for name in names for item in streams.get(name, [])):
        try:
            results[key] = acc.compute()
        except Exception as exc:
            errors[key] = _describe(exc)
    return results


def measure(
    tasks: tuple[MetricTask, ...], anchors: dict[str, Video], decoded: Video, *, threads: int = 1
) -> tuple[list[tuple[str, float, tuple[float, ...]]], dict[str, str]]:
    """Every metric task of a job on its decoded video.

    Args:
        tasks: the job's metrics (each names its anchor).
        anchors: anchor name -> video ("source", optionally "reference").
        decoded: the decoded video.
        threads: threads the job may use (its share of the machine), handed to the metrics
            that share a pass (:meth:`vqabench.metrics.Metric.compute_shared`).

    Returns:
        ``(values, errors)``: ``(task key, value, per-frame values)`` of the metrics that
        worked, in task order, and ``{task key: error text}`` of those that failed.

    Raises:
        MetricError: a frame count or size that differs from an anchor's, or
            AlignmentError: frames that do not line up (a job-level failure: every number
            would be wrong).
    """
    from vqabench import metrics
    from vqabench.metrics.base import FrameFormat, check_pair

    used = {a: anchors[a] for a in dict.fromkeys(t.anchor for t in tasks)}
    for video in used.values():
        check_pair(video, decoded)
    errors: dict[str, str] = {}
    made = {}
    for task in tasks:
        try:
            made[task.key] = metrics.create(task.name, **dict(task.options))
        except Exception as exc:
            errors[task.key] = _describe(exc)
    fmt = FrameFormat.of(decoded)
    streams: dict[str, list] = {}
    whole: list[MetricTask] = []
    shared: dict[tuple[str, str], list[MetricTask]] = {}  # (anchor, pass group) -> tasks
    for task in (t for t in tasks if t.key in made):
        metric = made[task.key]
        if metric.pass_group:
            shared.setdefault((task.anchor, metric.pass_group), []).append(task)
            continue
        try:
            acc = metric.accumulator(fmt, decoded.width, decoded.height)
        except Exception as exc:
            errors[task.key] = _describe(exc)
            continue
        if acc is None:
            whole.append(task)
        else:
            streams.setdefault(task.anchor, []).append((task.key, acc))
    results = _stream(decoded, used, streams, errors) if used else {}
    for (anchor, _), group in shared.items():
        metrics_of = [made[t.key] for t in group]
        try:
            computed = type(metrics_of[0]).compute_shared(
                metrics_of, used[anchor], decoded, threads=threads
            )
            for task, r in zip(group, computed, strict=True):
                results[task.key] = r
        except Exception as exc:
            errors.update((t.key, _describe(exc)) for t in group)
    for task in whole:
        try:
            results[task.key] = made[task.key].compute(used[task.anchor], decoded)
        except Exception as exc:
            errors[task.key] = _describe(exc)
    values = [
        (t.key, float(results[t.key].value), tuple(float(v) for v in results[t.key].per_frame))
        for t in tasks
        if t.key in results
    ]
    return values, errors


def execute_job(job: Job, *, threads: int = 1) -> JobOutcome:
    """Encode (unless reusing the bitstream), decode, measure, remove the decoded video.

    ``threads`` is what the job's metrics may use (the executor's slot, see
    :func:`vqabench.runner.executors.thread_budget`). Never raises for a failing job: the
    error comes back in ``JobOutcome.error`` so that one failure does not stop a run.
    """
    from vqabench import codecs

    start = time.perf_counter()
    decoded: Video | None = None
    try:
        codec = codecs.create(job.codec_name, **dict(job.codec_options))
        rate = codecs.RatePoint(job.rate_param, job.rate_value)
        result = codecs.run_codec(
            codec,
            job.input,
            rate,
            job.bitstream,
            decode_dir=job.decode_dir,
            encode=not job.reuse_bitstream,
        )
        decoded = result.decoded
        _record_frame_sizes(codec, job)
        values, errors = measure(job.metrics, dict(job.anchors), decoded, threads=threads)
        if job.keep_decoded is not None:
            codecs.keep_decoded(decoded, job.keep_decoded)
            decoded = None
        return JobOutcome(
            job.key,
            result.bits,
            result.enc_s,
            result.dec_s,
            tuple(values),
            wall_s=time.perf_counter() - start,
            metric_errors=tuple(errors.items()),
        )
    except Exception as exc:  # recorded; transient ones retried by the next run
        return JobOutcome(
            job.key,
            error=_failure_text(exc, job),
            error_kind=failure_kind(exc),
            wall_s=time.perf_counter() - start,
        )
    finally:
        if decoded is not None:
            decoded.path.unlink(missing_ok=True)


def _record_frame_sizes(codec: object, job: Job) -> None:
    """Per-frame sizes, types and QPs of the bitstream, kept next to it (see
    :mod:`vqabench.codecs.framesizes`); nothing for codecs whose format it does not read."""
    from vqabench.codecs.framesizes import bitstream_format, cached_frames, record_frames

    fmt = bitstream_format(codec)
    if fmt is None:
        return
    if job.reuse_bitstream:
        cached_frames(job.bitstream, fmt)
    else:
        record_frames(job.bitstream, fmt, frames=job.input.frames)


def options_json(options: tuple[tuple[str, object], ...]) -> str:
    """Canonical JSON of an options tuple."""
    return json.dumps(dict(options), sort_keys=True, default=str)
