"""``vqabench run``: plan jobs from a config, execute what the store lacks, write the tables.

Run directory layout::

    config.toml     the resolved configuration (re-runnable: vqabench run config.toml)
    store.sqlite    every finished encode and measurement, keyed by content hash
    bitstreams/     SEQUENCE/CODEC/RATE.ext
    results.csv     tidy rows (DESIGN.md columns + bitstream), written atomically
    per_frame.csv   per-frame values of every measurement
    references.csv  rows of the reference stage (R made from S), when one is configured
    references/     the decoded references R (the codecs' input in UGC transcoding)
    sources/        sources converted from a folder dataset (if any)
    .tmp/           decoded videos and metric scratch files of running jobs
    .lock           held (flock) by the one ``vqabench run`` working in the directory

Faults of the machine (:mod:`vqabench.runner.faults`): a full disk stops the run with one line
naming the path and the free space (the job that hit it is a transient failure, retried by
the next plain run, as are jobs of a killed worker); a read-only run directory and a corrupt
store are one line each; Ctrl-C removes the temporaries and says what was kept.

Crash safety: a finished job is one SQLite transaction; bitstreams, decoded references and
the CSV tables are written under temporary names and renamed. A killed run leaves at most
temporary files (``.tmp-*``, ``.tmp/``), which the next run in the directory removes before
it starts; then it redoes only the jobs the store lacks.
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import io
import math
import os
import shutil
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from vqabench import codecs, metrics
from vqabench.config import (
    CodecSpec,
    ConfigChange,
    RunConfig,
    compare_configs,
    targets_source,
    write_config,
)
from vqabench.datasets import Sequence, content_hash
from vqabench.datasets import available as available_datasets
from vqabench.datasets import load as load_dataset
from vqabench.errors import CodecError, ConfigError, DiskFullError, VqabenchError, invalid
from vqabench.experiment import load_config
from vqabench.io.atomic import atomic_write_text
from vqabench.io.names import safe_name as _safe
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.io.video import Video, open_video
from vqabench.runner.jobs import (
    Job,
    JobOutcome,
    MetricTask,
    encode_key,
    measurement_key,
)
from vqabench.runner.progress import job_work, point_work, schedule_key

__all__ = ["RESULT_COLUMNS", "PER_FRAME_COLUMNS", "RunSummary", "RunStatus", "plan_jobs",
           "plan_references", "rate_targets", "load_sequences", "check_formats", "check_size",
           "run", "run_status", "default_out_dir", "write_results"]

RESULT_COLUMNS = ("sequence", "reference", "codec", "rate_point", "bits", "bpp", "kbps",
                  "enc_s", "dec_s", "metric", "value", "anchor", "bitstream", "group",
                  "coded_pix_fmt", "native_rate_point", "target_kbps")
PER_FRAME_COLUMNS = ("sequence", "reference", "codec", "rate_point", "metric", "anchor",
                     "frame", "value", "frame_bits", "frame_type", "frame_qp")


@dataclass
class RunSummary:
    """What a run did."""

    out_dir: Path
    jobs_total: int
    jobs_reused: int
    jobs_run: int
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    rows: int = 0
    change: ConfigChange = ConfigChange("same")
    retry: int = 0  # failures that are transient: the next plain run retries them

    @property
    def complete(self) -> bool:
        """True when every planned job has its results."""
        return not self.failures


def default_out_dir(cfg: RunConfig) -> Path:
    """``runs/<dataset>-<first 8 hex of the config identity>``: the same command reuses it."""
    stem = Path(cfg.dataset).name or "dataset"
    return Path("runs") / f"{stem}-{cfg.identity()[:8]}"


def _dataset_spec(dataset: str) -> str:
    """A built-in dataset's name as is; a folder (or file) that exists, as its absolute path."""
    if dataset not in available_datasets() and Path(dataset).expanduser().exists():
        return str(Path(dataset).expanduser().absolute())
    return dataset


def _anchored(cfg: RunConfig, out_dir: Path) -> RunConfig:
    """``cfg`` with absolute paths (a folder dataset, ``root``) and ``out=out_dir``
    (absolute): the config.toml of a run re-runs it from any folder."""
    return replace(cfg, dataset=_dataset_spec(cfg.dataset), out=str(Path(out_dir).absolute()),
                   root=str(Path(cfg.root).absolute()) if cfg.root else None)


def load_sequences(cfg: RunConfig, out_dir: Path) -> list[Sequence]:
    """The dataset's sequences, with absolute source paths.

    A folder dataset is opened by its absolute path, so that no file name (``-i.y4m``,
    ``concat:x.y4m``) can reach ffmpeg as an option or a protocol, and so that the paths in
    jobs are valid on every worker of a cluster that mounts the same file system.

    Raises:
        DatasetError / VideoFormatError: unknown dataset, unreadable video.
    """
    sequences = load_dataset(_dataset_spec(cfg.dataset), frames=cfg.frames, size=cfg.size,
                             work_dir=Path(out_dir).absolute(),
                             root=Path(cfg.root).absolute() if cfg.root else None,
                             sequences=cfg.sequences, fps=cfg.fps, interlaced=cfg.interlaced)
    return [replace(s, source=replace(s.source, path=s.source.path.absolute()))
            for s in sequences]


@dataclass
class RunStatus:
    """Where a run directory stands (:func:`run_status`); counts are jobs.

    Attributes:
        done: jobs whose encode and every measurement are in the store.
        pending: jobs still to run (including those waiting on a reference not made yet).
        failed: jobs with a recorded permanent failure (re-run them with ``--retry-failed``).
        blocked: jobs that cannot run because their reference-stage job failed.
        failures: ``(sequence, codec, rate_point, error)`` of the failed jobs.
        retry: the same of the pending jobs whose last try failed for a transient reason
            (disk full, a killed worker): the next plain run retries them.
    """

    out_dir: Path
    done: int
    pending: int
    failed: int
    blocked: int = 0
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    retry: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every planned job."""
        return self.done + self.pending + self.failed + self.blocked


def _metric_tasks(cfg: RunConfig, enc_key: str, anchors: dict[str, str]) -> tuple[MetricTask, ...]:
    tasks = []
    for spec in cfg.metrics:
        metric = metrics.create(spec.name, **dict(spec.options))
        for anchor, anchor_hash in anchors.items():
            tasks.append(MetricTask(measurement_key(enc_key, metric.spec, anchor_hash),
                                    spec.name, spec.options, metric.spec, anchor))
    return tuple(tasks)


@dataclass(frozen=True)
class _Input:
    """What a codec encodes for one sequence: S itself or one reference R made from it."""

    label: str  # "source" or the reference's label, e.g. "x264:qp=37"
    group: str
    video: Video
    anchors: dict[str, Video]  # anchor name -> video


def _group_of(seq: Sequence) -> str:
    return str(seq.metadata.get("group") or seq.metadata.get("class") or "")


Targets = dict[tuple[str, str], tuple[float, ...]]


def _plan(cfg: RunConfig, seq: Sequence, inp: _Input, specs: Iterable[CodecSpec], out_dir: Path,
          subdir: str, keep: bool = False, targets: Targets | None = None) -> list[Job]:
    jobs = []
    input_hash = content_hash(inp.video.path)
    anchor_hashes = {name: content_hash(v.path) for name, v in inp.anchors.items()}
    for spec in specs:
        codec = codecs.create(spec.name, **dict(spec.options))
        codec_spec = codec.spec
        coded = codec.coded_pix_fmt(inp.video.pix_fmt)
        values = spec.values
        if spec.targets_from_run:  # kbps=from: this input's targets (none planned yet: skip)
            values = (targets or {}).get((seq.name, inp.label), ())
        for value in values:
            rate = codecs.RatePoint(spec.rate_param, value)
            native = codec.native_rate(rate, coded)
            key = encode_key(input_hash, f"{codec_spec}|coded={coded}|native={native.label}",
                             rate.label)
            stem = f"{_safe(spec.rate_param)}{_safe(str(value))}"
            rel = Path(subdir) / _safe(seq.name) / _safe(spec.display) / (stem + codec.extension)
            keep_path = None
            if keep:
                keep_path = (out_dir / "references" / _safe(seq.name) /
                             f"{_safe(spec.display)}_{stem}.y4m").resolve()
            jobs.append(Job(
                key=key, sequence=seq.name, reference=inp.label, codec=spec.display,
                codec_name=spec.name, codec_options=spec.options, codec_spec=codec_spec,
                rate_param=spec.rate_param, rate_value=value, input=inp.video,
                anchors=tuple(inp.anchors.items()), bitstream=(out_dir / rel).resolve(),
                bitstream_rel=str(rel), metrics=_metric_tasks(cfg, key, anchor_hashes),
                group=inp.group, keep_decoded=keep_path,
            ))
    return jobs


def plan_references(cfg: RunConfig, sequences: list[Sequence], out_dir: Path) -> list[Job]:
    """Jobs of the reference stage: S -> R for every sequence and reference rate point.

    Their decoded videos are kept under ``references/`` as the codecs' inputs; their
    measurements (R against S) go to references.csv.
    """
    if cfg.reference is None:
        return []
    jobs = []
    for seq in sequences:
        inp = _Input("source", _group_of(seq), seq.source, {"source": seq.source})
        jobs += _plan(replace(cfg, anchors=("source",)), seq, inp, [cfg.reference.codec],
                      out_dir, "references", keep=True)
    groups = dict(zip(cfg.reference.codec.values, cfg.reference.groups, strict=True))
    return [replace(j, group=groups[j.rate_value]) for j in jobs]


def plan_jobs(cfg: RunConfig, sequences: list[Sequence], out_dir: Path,
              references: list[Job] | None = None, targets: Targets | None = None) -> list[Job]:
    """One job per (sequence, reference, codec, rate point), in a stable order.

    Args:
        references: finished reference-stage jobs (their ``keep_decoded`` videos exist); when
            given, codecs encode each R and quality is measured against ``cfg.anchors``.
        targets: ``(sequence, reference label) -> target kbps`` of the ``kbps=from`` codecs
            (:func:`rate_targets`); without it those codecs get no jobs.
    """
    jobs = []
    for seq in sequences:
        inputs = [_Input("source", _group_of(seq), seq.source, {"source": seq.source})]
        if references:
            inputs = []
            for ref in (r for r in references if r.sequence == seq.name):
                video = open_video(ref.keep_decoded)
                anchors = {"source": seq.source, "reference": video}
                label = f"{ref.codec}:{ref.rate_label}"
                inputs.append(_Input(label, ref.group, video,
                                     {a: anchors[a] for a in cfg.anchors}))
        for inp in inputs:
            sub = "bitstreams" if inp.label == "source" else f"bitstreams/{_safe(inp.label)}"
            jobs += _plan(cfg, seq, inp, cfg.codecs, out_dir, sub, targets=targets)
    return jobs


def rate_targets(source_jobs: Iterable[Job], store: Store) -> Targets:
    """Per (sequence, reference label), the actual rates (kbps, rounded to 1 bit/s) of the
    finished jobs of the ``targets_from`` configuration, in its ladder order. An input with a
    missing or failed point gets no targets (its rate-controlled jobs are not planned)."""
    by_input: dict[tuple[str, str], list[float | None]] = {}
    for job in source_jobs:
        enc = store.encode(job.key)
        kbps = None if enc is None else enc.bits * float(Fraction(enc.fps)) / enc.frames / 1000
        by_input.setdefault((job.sequence, job.reference), []).append(
            None if kbps is None else round(kbps, 3))
    return {k: tuple(v) for k, v in by_input.items()  # type: ignore[misc]
            if all(x is not None for x in v)}


def _targeted_jobs(cfg: RunConfig, sequences: list[Sequence], out_dir: Path, usable: list[Job],
                   planned: list[Job], store: Store) -> list[Job]:
    """Jobs of the ``kbps=from`` codecs, on targets from the already run ``planned`` jobs."""
    source = targets_source(cfg)
    if source is None:
        return []
    targets = rate_targets((j for j in planned if j.codec == source.display), store)
    rc_cfg = replace(cfg, codecs=tuple(c for c in cfg.codecs if c.targets_from_run))
    if cfg.reference is None:
        return plan_jobs(rc_cfg, sequences, out_dir, targets=targets)
    sequences = [s for s in sequences if any(j.sequence == s.name for j in usable)]
    return plan_jobs(rc_cfg, sequences, out_dir, references=usable, targets=targets) if usable \
        else []


def _ladder_len(cfg: RunConfig) -> int:
    """Rate points per input over all codecs (``kbps=from`` ones take their source's)."""
    source = targets_source(cfg)
    return sum(len(source.values) if c.targets_from_run and source else len(c.values)
               for c in cfg.codecs)


def _resolved(cfg: RunConfig, sequences: list[Sequence]) -> RunConfig:
    """``cfg`` with the frame count and size the dataset actually gave, when uniform."""
    sizes = {(s.source.width, s.source.height) for s in sequences}
    counts = {s.source.frames for s in sequences}
    return replace(cfg, size=cfg.size or (sizes.pop() if len(sizes) == 1 else None),
                   frames=cfg.frames or (counts.pop() if len(counts) == 1 else None))


def _check_metrics_fit(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Refuse, once and before any job, a metric whose patch (``WxHxT``) exceeds a sequence."""
    for spec in cfg.metrics:
        patch = getattr(metrics.create(spec.name, **dict(spec.options)), "patch", None)
        if patch is None:
            continue
        for seq in sequences:
            src = seq.source
            if src.width < patch.width or src.height < patch.height or src.frames < patch.frames:
                raise ConfigError(
                    f"metric {spec.name!r}: patch={patch.label!r} is larger than sequence "
                    f"{seq.name!r} ({src.width}x{src.height}, {src.frames} frames); expected a "
                    f"patch that fits every sequence, e.g. {spec.name}:patch="
                    f"{min(patch.width, src.width)}x{min(patch.height, src.height)}x"
                    f"{min(patch.frames, src.frames)}")


#: Smallest clip (pixels x frames) at which the ``inr`` defaults were characterised
#: (128x72, 8 frames; reports/performance.md, "INR baseline").
INR_MIN_PIXELS = 128 * 72 * 8


def _warn_small_inr(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Warn, before any job, when ``inr`` meets a clip too small for meaningful RD points."""
    if not any(c.name == "inr" for c in cfg.codecs) or not sequences:
        return
    small = min(sequences, key=lambda s: s.source.frames * s.source.width * s.source.height)
    src = small.source
    if src.frames * src.width * src.height < INR_MIN_PIXELS:
        warnings.warn(f"codec 'inr' on {small.name} ({src.width}x{src.height}, {src.frames} "
                      "frames): its defaults were characterised at 128x72 x 8 frames; on a "
                      "smaller clip the header and training noise dominate and its RD points "
                      "may be meaningless (check that bpp and quality rise together)",
                      UserWarning, stacklevel=3)


def _provenance(out_dir: Path, sequences: Iterable[Sequence] = (),
                cfg: RunConfig | None = None) -> str:
    import datetime

    from vqabench.io.ffmpeg import ffmpeg_info
    from vqabench.provenance import package_line

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    assumed = [f"{s.name}: " + ", ".join(f"{k} {v}" for k, v in s.source.assumptions().items())
               for s in sequences]
    conventions = "".join(
        f"\n{spec.name}: {text}" for spec in (cfg.metrics if cfg else ())
        if (text := metrics.create(spec.name, **dict(spec.options)).provenance_line()))
    return (f"resolved by {package_line()} with ffmpeg {ffmpeg_info().version} on {now}\n"
            f"re-run with: vqabench run {Path(out_dir).absolute() / 'config.toml'}"
            + "".join(f"\nassumed {line}" for line in assumed) + conventions)


def _refuse(refusals: list[str]) -> None:
    """Raise CodecError listing ``refusals`` (one line when there is one), if any."""
    if len(refusals) == 1:
        raise CodecError(f"nothing was run: {refusals[0]}")
    if refusals:
        raise CodecError(f"{len(refusals)} refusal(s), nothing was run:\n" + "\n".join(refusals))


def check_formats(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Refuse, before any job, every (sequence, codec) whose format or picture size the codec
    cannot code.

    Raises:
        CodecError: one line per refusal, naming the file, the codec and the reason.
    """
    specs = [*cfg.codecs, *([cfg.reference.codec] if cfg.reference else [])]
    refusals = []
    for seq in sequences:
        for spec in specs:
            try:
                codec = codecs.create(spec.name, **dict(spec.options))
                src = seq.source
                codec.check_size(src.width, src.height, codec.coded_pix_fmt(src.pix_fmt))
            except CodecError as exc:
                file = seq.metadata.get("file") or seq.source.path.name
                refusals.append(f"{file}: {spec.display}: {exc}")
    _refuse(refusals)


def check_size(cfg: RunConfig) -> None:
    """Refuse, before any source is converted, a ``size`` that a configured codec cannot
    code (a folder scaled to 100000x100000 would fill the disk before the first encode).

    Raises:
        CodecError: one line per codec that refuses the size, naming it and the rule.
    """
    if cfg.size is None:
        return
    refusals = []
    for spec in [*cfg.codecs, *([cfg.reference.codec] if cfg.reference else [])]:
        try:
            codecs.create(spec.name, **dict(spec.options)).check_size(*cfg.size)
        except CodecError as exc:
            refusals.append(str(exc))
    _refuse(list(dict.fromkeys(refusals)))


def _pending(job: Job, store: Store, retry_failed: bool) -> Job | None:
    """The part of ``job`` still to do, or None when the store has all of it."""
    record = store.encode(job.key)
    have_bitstream = (record is not None and job.bitstream.is_file()
                      and 8 * job.bitstream.stat().st_size == record.bits)
    missing = tuple(t for t in job.metrics if store.measurement(t.key) is None)
    kept = job.keep_decoded is None or job.keep_decoded.is_file()
    if have_bitstream and not missing and kept:
        return None
    if not retry_failed and store.failure_kind(job.key) == "permanent":
        return None  # transient failures (disk full, a killed worker) are retried
    if have_bitstream:
        return replace(job, metrics=missing if kept else job.metrics, reuse_bitstream=True)
    return job


def _usable_references(ref_jobs: list[Job], store: Store) -> list[Job]:
    """Reference-stage jobs that did not fail and whose decoded R exists."""
    return [j for j in ref_jobs if store.failure(j.key) is None
            and j.keep_decoded is not None and j.keep_decoded.is_file()]


def _main_jobs(cfg: RunConfig, sequences: list[Sequence], out_dir: Path,
               usable: list[Job]) -> list[Job]:
    """The codec stage: on S, or on every usable reference R when a stage is configured."""
    if cfg.reference is None:
        return plan_jobs(cfg, sequences, out_dir)
    sequences = [s for s in sequences if any(j.sequence == s.name for j in usable)]
    return plan_jobs(cfg, sequences, out_dir, references=usable)


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


def _atomic_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    atomic_write_text(path, buf.getvalue())
    return count


def _fmt(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else str(value)


def write_results(jobs: list[Job], store: Store, out_dir: Path, *, name: str = "results",
                  ) -> int:
    """Write ``<name>.csv`` and its per-frame table from the store, atomically.

    ``results`` writes results.csv and per_frame.csv; ``references`` writes references.csv
    and references_per_frame.csv.

    Returns:
        The number of rows in results.csv.
    """
    rows, frame_rows = [], []
    made: dict[tuple, codecs.Codec] = {}
    for job in jobs:
        enc = store.encode(job.key)
        if enc is None:
            continue
        if (job.codec_name, job.codec_options) not in made:
            made[job.codec_name, job.codec_options] = codecs.create(job.codec_name,
                                                                    **dict(job.codec_options))
        codec = made[job.codec_name, job.codec_options]
        coded = codec.coded_pix_fmt(job.input.pix_fmt)
        native = codec.native_rate(codecs.RatePoint(job.rate_param, job.rate_value), coded)
        fps = Fraction(enc.fps)
        pixels = enc.frames * enc.width * enc.height
        bpp = enc.bits / pixels
        kbps = enc.bits * float(fps) / enc.frames / 1000.0
        frames_info: list[tuple[object, object, object]] | None = None
        for task in job.metrics:
            m = store.measurement(task.key)
            if m is None:
                continue
            rows.append((job.sequence, job.reference, job.codec, job.rate_label, enc.bits,
                         _fmt(bpp), _fmt(kbps), _fmt(enc.enc_s), _fmt(enc.dec_s), task.name,
                         _fmt(m.value), task.anchor, enc.bitstream, job.group, coded,
                         native.label, _fmt(job.rate_value) if job.rate_param == "kbps" else ""))
            if frames_info is None or len(frames_info) != len(m.per_frame):
                frames_info = _coded_frames(job, len(m.per_frame))
            frame_rows.extend((job.sequence, job.reference, job.codec, job.rate_label, task.name,
                               task.anchor, i, _fmt(v), *frames_info[i])
                              for i, v in enumerate(m.per_frame))
    frames_name = "per_frame.csv" if name == "results" else f"{name}_per_frame.csv"
    _atomic_csv(out_dir / frames_name, PER_FRAME_COLUMNS, frame_rows)
    return _atomic_csv(out_dir / f"{name}.csv", RESULT_COLUMNS, rows)


def _coded_frames(job: Job, n: int) -> list[tuple[object, object, object]]:
    """(bits, type, qp) of each of ``n`` frames in display order; empty cells where the
    bitstream's format has no frame reader or the frame counts differ."""
    from vqabench.codecs.framesizes import bitstream_format, cached_frames

    fmt = bitstream_format(codecs.get_class(job.codec_name))
    blank = [("", "", "")] * n
    if fmt is None or not job.bitstream.is_file():
        return blank
    try:
        coded = cached_frames(job.bitstream, fmt)
    except (VqabenchError, OSError):
        return blank
    if len(coded) != n:
        return blank
    return [(f.bits, f.type, "" if f.qp is None else f.qp) for f in coded]


Executor = Callable[[list[Job], Callable[[Job, JobOutcome], None], int], None]


_TEMP_TREES = ("bitstreams", "references", "sources")


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir/.lock`` (released by the OS even on ``kill -9``).

    Raises:
        ConfigError: another process is running in ``out_dir``.
    """
    import fcntl

    lock = out_dir / ".lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(f"out={str(out_dir)!r} is in use by another vqabench run (pid "
                              f"{holder}); wait for it to finish or choose another --out"
                              ) from None
        try:  # the holder before us removes the file on exit: lock the file that is there
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        lock.unlink(missing_ok=True)  # still held: nobody else can be inside
        os.close(fd)


def _remove_stale_temporaries(out_dir: Path) -> int:
    """Remove what killed runs left: ``.tmp-*`` files of the run directory (CSV, config) and
    of the trees vqabench writes (bitstreams, references, sources), and everything in
    ``.tmp/``. Nothing else is touched, even when ``--out`` is a directory with other files.
    Call it only while holding the directory's lock. Returns the number of entries removed."""
    stale = list(out_dir.glob(".tmp-*"))
    for sub in _TEMP_TREES:
        if (out_dir / sub).is_dir():
            stale += (out_dir / sub).rglob(".tmp-*")
    scratch = out_dir / ".tmp"
    if scratch.is_dir():
        stale += list(scratch.iterdir())
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)


def run_status(cfg: RunConfig, *, out_dir: Path) -> RunStatus:
    """Count done, pending and failed jobs of a run directory without running any job.

    Plans exactly as :func:`run` does (loading the dataset, which reuses the sources the run
    converted) and looks every job up in the store, read-only. Jobs on a reference R that
    does not exist yet are counted as pending (their keys need R's content).

    Raises:
        DatasetError / VideoFormatError: the dataset cannot be loaded.
    """
    out_dir = Path(out_dir).absolute()
    sequences = load_sequences(cfg, out_dir)
    ref_jobs = plan_references(cfg, sequences, out_dir)
    per_input = _ladder_len(cfg)
    path = out_dir / "store.sqlite"
    if not path.exists():  # a folder in its place is an error (Store says so)
        n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
        return RunStatus(out_dir, 0, len(ref_jobs) + len(sequences) * n_refs * per_input, 0)
    with Store(path, readonly=True) as store:
        usable = _usable_references(ref_jobs, store)
        jobs = _main_jobs(cfg, sequences, out_dir, usable)
        jobs += _targeted_jobs(cfg, sequences, out_dir, usable, jobs, store)
        counts = {"done": 0, "pending": 0, "failed": 0}
        failures, retry = [], []
        for job in [*ref_jobs, *jobs]:
            if _pending(job, store, retry_failed=True) is None:
                counts["done"] += 1
            elif (err := store.failure(job.key)) is not None:
                transient = store.failure_kind(job.key) == "transient"
                counts["pending" if transient else "failed"] += 1
                (retry if transient else failures).append(
                    (job.sequence, job.codec, job.rate_label, err))
            else:
                counts["pending"] += 1
        failed_refs = sum(1 for j in ref_jobs if store.failure_kind(j.key) == "permanent")
        waiting = len(ref_jobs) - len(usable) - failed_refs
    return RunStatus(out_dir, counts["done"], counts["pending"] + waiting * per_input,
                     counts["failed"], failed_refs * per_input, failures, retry)


def run(cfg: RunConfig, *, out_dir: Path | None = None, retry_failed: bool = False,
        executor: Executor | None = None,
        progress: Callable[[int, int], None] | None = None, force: bool = False,
        work_progress: Callable[[float, float], None] | None = None) -> RunSummary:
    """Run (or resume) a benchmark.

    Args:
        cfg: validated configuration (:func:`vqabench.experiment.load_config`).
        out_dir: run directory; default ``cfg.out`` or :func:`default_out_dir`.
        retry_failed: run again the jobs that failed before (otherwise they are reported).
        executor: ``executor(jobs, on_done, n_workers)``; default local processes.
        progress: called as ``progress(done, total)`` after each job.
        work_progress: called as ``work_progress(done, total)`` in work units of the jobs
            still to run (:mod:`vqabench.runner.progress`), for an ETA that holds on mixed
            jobs; jobs reused from the store count for nothing.
        force: run a config that differs from the one ``out_dir`` holds (replacing its
            config.toml and tables); without it such a run is refused. A config that only
            adds codecs or metrics extends the run (``RunSummary.change``).

    Returns:
        RunSummary; ``complete`` is False when some jobs failed.

    Raises:
        ConfigError: ``out_dir`` holds a run of a different config and ``force`` is False,
            or it is a file.
        DiskFullError / ReadOnlyError / StoreCorruptError: the machine stopped the run
            (:mod:`vqabench.runner.faults`); the message says what was kept.
        Interrupted: Ctrl-C; the message says how many jobs were kept.
    """
    from vqabench.runner.executors import local_executor, prestart, release_prestarted
    from vqabench.runner.faults import run_faults

    out_dir = Path(out_dir or cfg.out or default_out_dir(cfg)).absolute()
    seen = [0, 0]  # jobs finished and planned, for the line of a run stopped by a fault

    def counted(done: int, total: int) -> None:
        seen[:] = [done, total]
        if progress:
            progress(done, total)

    with run_faults(out_dir, seen):
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise invalid("out", str(out_dir), "a directory, existing or new (this path or "
                          "a parent of it is a file)") from None
        # local worker processes start while the run is planned, unless the run directory
        # looks finished (results.csv written): then a re-run stays a fast no-op
        warm = (inspect.unwrap(executor or local_executor) is local_executor and cfg.jobs > 1
                and not (out_dir / "results.csv").is_file())
        with _exclusive(out_dir):
            if warm:
                prestart(cfg.jobs)
            try:
                _remove_stale_temporaries(out_dir)  # left by a killed run
                summary = _run_locked(cfg, out_dir, retry_failed, executor, counted, force,
                                      work_progress)
            except BaseException:  # Ctrl-C, a full disk: no temporaries stay behind
                _remove_stale_temporaries(out_dir)
                shutil.rmtree(out_dir / ".tmp", ignore_errors=True)
                raise
            finally:
                if warm:
                    release_prestarted()
            shutil.rmtree(out_dir / ".tmp", ignore_errors=True)  # clean exit: no leftovers
            return summary


def _change(resolved: RunConfig, out_dir: Path, force: bool) -> ConfigChange:
    """How ``resolved`` relates to the config ``out_dir`` already holds (see :func:`run`)."""
    old_path = out_dir / "config.toml"
    if not (old_path.is_file() and (out_dir / "store.sqlite").is_file()):
        return ConfigChange("same")
    try:
        # a config.toml written before paths were stored absolute: read from here, as then
        change = compare_configs(_anchored(load_config(old_path), out_dir), resolved)
    except ConfigError as exc:
        change = ConfigChange("differs", (f"its config.toml no longer loads ({exc})",))
    if change.kind == "differs" and not force:
        raise ConfigError(f"out={str(out_dir)!r} holds a run of a different config ("
                          f"{'; '.join(change.details)}); re-run its own config with `vqabench "
                          f"run {old_path}`, choose another --out, or pass --force to replace "
                          "its config.toml and tables")
    return change


def _estimated_work(cfg: RunConfig, sequences: list[Sequence]) -> float:
    """Work units of the codec stage before it can be planned (it needs the references)."""
    n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
    names = [m.name for m in cfg.metrics for _ in cfg.anchors]
    return sum(n_refs * len(c.values) * point_work(
        s.source.frames * s.source.width * s.source.height, c.name, names)
        for s in sequences for c in cfg.codecs)


def _run_locked(cfg: RunConfig, out_dir: Path, retry_failed: bool, executor: Executor | None,
                progress: Callable[[int, int], None] | None, force: bool = False,
                work_progress: Callable[[float, float], None] | None = None) -> RunSummary:
    from vqabench.runner.executors import local_executor
    from vqabench.runner.faults import warn_lost_store

    check_size(cfg)
    sequences = load_sequences(cfg, out_dir)
    check_formats(cfg, sequences)
    _check_metrics_fit(cfg, sequences)
    _warn_small_inr(cfg, sequences)
    ref_jobs = plan_references(cfg, sequences, out_dir)
    # the written config names its run directory, so that re-running it reuses this one
    resolved = _anchored(_resolved(cfg, sequences), out_dir)
    change = _change(resolved, out_dir, force)
    write_config(resolved, out_dir / "config.toml", comment=_provenance(out_dir, sequences, cfg))
    decode_dir = out_dir / ".tmp"
    decode_dir.mkdir(exist_ok=True)
    execute = executor or local_executor
    warn_lost_store(out_dir)
    with Store(out_dir / "store.sqlite") as store:
        state = {"done": 0, "total": 0}
        work = {"done": 0.0, "total": _estimated_work(cfg, sequences)}

        def on_done(job: Job, outcome: JobOutcome) -> None:
            _record(job, outcome, store)
            state["done"] += 1
            work["done"] += job_work(job)
            if progress:
                progress(state["done"], state["total"])
            if work_progress:
                work_progress(work["done"], work["total"])

        def stage(planned: list[Job], estimate: float = 0.0) -> list[Job]:
            todo = [p for j in planned if (p := _pending(j, store, retry_failed)) is not None]
            todo = [replace(j, decode_dir=decode_dir.resolve()) for j in todo]
            # longest first (estimated work, then the costlier rate point), so that
            # side-by-side workers do not end with one long job running alone; results do
            # not depend on the order
            todo.sort(key=schedule_key, reverse=True)
            state["done"] += len(planned) - len(todo)
            work["total"] += sum(job_work(j) for j in todo) - estimate
            if progress:
                progress(state["done"], state["total"])
            if work_progress:
                work_progress(work["done"], work["total"])
            execute(todo, on_done, cfg.jobs)
            return todo

        n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
        per_input = _ladder_len(cfg)
        state["total"] = len(ref_jobs) + len(sequences) * n_refs * per_input
        ran = stage(ref_jobs)
        usable = _usable_references(ref_jobs, store)
        if ref_jobs:
            write_results(ref_jobs, store, out_dir, name="references")
        jobs = _main_jobs(cfg, sequences, out_dir, usable)
        rc_points = per_input - sum(len(c.values) for c in cfg.codecs if not c.targets_from_run)
        rc_todo = (len(usable) if cfg.reference else len(sequences)) * rc_points
        state["total"] = (len(ref_jobs) + len(jobs) + rc_todo
                          + (len(ref_jobs) - len(usable)) * per_input)
        ran += stage(jobs, estimate=_estimated_work(cfg, sequences))
        # rate-controlled codecs with targets from the run: after their source's jobs
        jobs += (targeted := _targeted_jobs(cfg, sequences, out_dir, usable, jobs, store))
        if targeted:
            state["total"] += len(targeted) - rc_todo
            ran += stage(targeted)
        rows = write_results(jobs, store, out_dir)
        failed = [(j, err) for j in [*ref_jobs, *jobs] if (err := store.failure(j.key))]
        failures = [(j.sequence, j.codec, j.rate_label, err) for j, err in failed]
        retry = sum(store.failure_kind(j.key) == "transient" for j, _ in failed)
    try:
        decode_dir.rmdir()
    except OSError:
        pass
    total = len(ref_jobs) + len(jobs)
    return RunSummary(out_dir, total, total - len(ran), len(ran), failures, rows, change,
                      retry)

