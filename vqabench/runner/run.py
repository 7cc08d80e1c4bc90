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
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from vqabench import codecs, metrics
from vqabench.config import CodecSpec, RunConfig, write_config
from vqabench.datasets import Sequence, content_hash
from vqabench.datasets import load as load_dataset
from vqabench.io.video import Video, open_video
from vqabench.runner.jobs import (
    Job,
    JobOutcome,
    MetricTask,
    encode_key,
    execute_job,
    measurement_key,
)
from vqabench.runner.store import EncodeRecord, MeasurementRecord, Store

__all__ = ["RESULT_COLUMNS", "PER_FRAME_COLUMNS", "RunSummary", "plan_jobs", "run",
           "default_out_dir", "write_results"]

RESULT_COLUMNS = ("sequence", "reference", "codec", "rate_point", "bits", "bpp", "kbps",
                  "enc_s", "dec_s", "metric", "value", "anchor", "bitstream", "group")
PER_FRAME_COLUMNS = ("sequence", "reference", "codec", "rate_point", "metric", "anchor",
                     "frame", "value")


@dataclass
class RunSummary:
    """What a run did."""

    out_dir: Path
    jobs_total: int
    jobs_reused: int
    jobs_run: int
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    rows: int = 0

    @property
    def complete(self) -> bool:
        """True when every planned job has its results."""
        return not self.failures


def default_out_dir(cfg: RunConfig) -> Path:
    """``runs/<dataset>-<first 8 hex of the config identity>``: the same command reuses it."""
    stem = Path(cfg.dataset).name or "dataset"
    return Path("runs") / f"{stem}-{cfg.identity()[:8]}"


def _metric_tasks(cfg: RunConfig, enc_key: str, anchors: dict[str, str]) -> tuple[MetricTask, ...]:
    tasks = []
    for spec in cfg.metrics:
        metric = metrics.create(spec.name, **dict(spec.options))
        for anchor, anchor_hash in anchors.items():
            tasks.append(MetricTask(measurement_key(enc_key, metric.spec, anchor_hash),
                                    spec.name, spec.options, metric.spec, anchor))
    return tuple(tasks)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


@dataclass(frozen=True)
class _Input:
    """What a codec encodes for one sequence: S itself or one reference R made from it."""

    label: str  # "source" or the reference's label, e.g. "x264:qp=37"
    group: str
    video: Video
    anchors: dict[str, Video]  # anchor name -> video


def _group_of(seq: Sequence) -> str:
    return str(seq.metadata.get("group") or seq.metadata.get("class") or "")


def _plan(cfg: RunConfig, seq: Sequence, inp: _Input, specs: Iterable[CodecSpec], out_dir: Path,
          subdir: str, keep: bool = False) -> list[Job]:
    jobs = []
    input_hash = content_hash(inp.video.path)
    anchor_hashes = {name: content_hash(v.path) for name, v in inp.anchors.items()}
    for spec in specs:
        codec = codecs.create(spec.name, **dict(spec.options))
        codec_spec = codec.spec
        for value in spec.values:
            rate = codecs.RatePoint(spec.rate_param, value)
            key = encode_key(input_hash, codec_spec, rate.label)
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
              references: list[Job] | None = None) -> list[Job]:
    """One job per (sequence, reference, codec, rate point), in a stable order.

    Args:
        references: finished reference-stage jobs (their ``keep_decoded`` videos exist); when
            given, codecs encode each R and quality is measured against ``cfg.anchors``.
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
            jobs += _plan(cfg, seq, inp, cfg.codecs, out_dir, sub)
    return jobs


def _resolved(cfg: RunConfig, sequences: list[Sequence]) -> RunConfig:
    """``cfg`` with the frame count and size the dataset actually gave, when uniform."""
    sizes = {(s.source.width, s.source.height) for s in sequences}
    counts = {s.source.frames for s in sequences}
    return replace(cfg, size=cfg.size or (sizes.pop() if len(sizes) == 1 else None),
                   frames=cfg.frames or (counts.pop() if len(counts) == 1 else None))


def _provenance(out_dir: Path) -> str:
    import datetime

    from vqabench import __version__
    from vqabench.io.ffmpeg import ffmpeg_info

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return (f"resolved by vqabench {__version__} with ffmpeg {ffmpeg_info().version} on {now}\n"
            f"re-run with: vqabench run {out_dir / 'config.toml'}")


def _pending(job: Job, store: Store, retry_failed: bool) -> Job | None:
    """The part of ``job`` still to do, or None when the store has all of it."""
    record = store.encode(job.key)
    have_bitstream = (record is not None and job.bitstream.is_file()
                      and 8 * job.bitstream.stat().st_size == record.bits)
    missing = tuple(t for t in job.metrics if store.measurement(t.key) is None)
    kept = job.keep_decoded is None or job.keep_decoded.is_file()
    if have_bitstream and not missing and kept:
        return None
    if not retry_failed and store.failure(job.key) is not None:
        return None
    if have_bitstream:
        return replace(job, metrics=missing if kept else job.metrics, reuse_bitstream=True)
    return job


def _record(job: Job, outcome: JobOutcome, store: Store) -> None:
    if outcome.error is not None:
        store.record_failure(job.key, job.sequence, job.codec, job.rate_label, outcome.error)
        return
    old = store.encode(job.key) if job.reuse_bitstream else None
    src = job.input
    encode = EncodeRecord(
        job.key, job.sequence, job.reference, job.codec, job.rate_label, job.bitstream_rel,
        outcome.bits, old.enc_s if old else outcome.enc_s, old.dec_s if old else outcome.dec_s,
        src.frames, src.width, src.height, f"{src.fps.numerator}/{src.fps.denominator}",
        job.codec_spec)
    tasks = {t.key: t for t in job.metrics}
    measurements = [MeasurementRecord(k, job.key, tasks[k].name, tasks[k].anchor, value, frames,
                                      tasks[k].spec) for k, value, frames in outcome.values]
    store.commit_job(encode, measurements)


def _atomic_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
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
    for job in jobs:
        enc = store.encode(job.key)
        if enc is None:
            continue
        fps = Fraction(enc.fps)
        pixels = enc.frames * enc.width * enc.height
        bpp = enc.bits / pixels
        kbps = enc.bits * float(fps) / enc.frames / 1000.0
        for task in job.metrics:
            m = store.measurement(task.key)
            if m is None:
                continue
            rows.append((job.sequence, job.reference, job.codec, job.rate_label, enc.bits,
                         _fmt(bpp), _fmt(kbps), _fmt(enc.enc_s), _fmt(enc.dec_s), task.name,
                         _fmt(m.value), task.anchor, enc.bitstream, job.group))
            frame_rows.extend((job.sequence, job.reference, job.codec, job.rate_label, task.name,
                               task.anchor, i, _fmt(v)) for i, v in enumerate(m.per_frame))
    frames_name = "per_frame.csv" if name == "results" else f"{name}_per_frame.csv"
    _atomic_csv(out_dir / frames_name, PER_FRAME_COLUMNS, frame_rows)
    return _atomic_csv(out_dir / f"{name}.csv", RESULT_COLUMNS, rows)


Executor = Callable[[list[Job], Callable[[Job, JobOutcome], None], int], None]


def run(cfg: RunConfig, *, out_dir: Path | None = None, retry_failed: bool = False,
        executor: Executor | None = None,
        progress: Callable[[int, int], None] | None = None) -> RunSummary:
    """Run (or resume) a benchmark.

    Args:
        cfg: validated configuration (:func:`vqabench.config.load_config`).
        out_dir: run directory; default ``cfg.out`` or :func:`default_out_dir`.
        retry_failed: run again the jobs that failed before (otherwise they are reported).
        executor: ``executor(jobs, on_done, n_workers)``; default local processes.
        progress: called as ``progress(done, total)`` after each job.

    Returns:
        RunSummary; ``complete`` is False when some jobs failed.
    """
    from vqabench.runner.executors import local_executor

    out_dir = Path(out_dir or cfg.out or default_out_dir(cfg))
    out_dir.mkdir(parents=True, exist_ok=True)
    sequences = load_dataset(cfg.dataset, frames=cfg.frames, size=cfg.size, work_dir=out_dir,
                             root=Path(cfg.root) if cfg.root else None)
    ref_jobs = plan_references(cfg, sequences, out_dir)
    write_config(_resolved(cfg, sequences), out_dir / "config.toml",
                 comment=_provenance(out_dir))
    decode_dir = out_dir / ".tmp"
    decode_dir.mkdir(exist_ok=True)
    for stale in decode_dir.glob("vqabench-dec-*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    execute = executor or local_executor
    with Store(out_dir / "store.sqlite") as store:
        state = {"done": 0, "total": 0}

        def on_done(job: Job, outcome: JobOutcome) -> None:
            _record(job, outcome, store)
            state["done"] += 1
            if progress:
                progress(state["done"], state["total"])

        def stage(planned: list[Job]) -> list[Job]:
            todo = [p for j in planned if (p := _pending(j, store, retry_failed)) is not None]
            todo = [replace(j, decode_dir=decode_dir.resolve()) for j in todo]
            state["done"] += len(planned) - len(todo)
            if progress:
                progress(state["done"], state["total"])
            execute(todo, on_done, cfg.jobs)
            return todo

        n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
        per_input = sum(len(c.values) for c in cfg.codecs)
        state["total"] = len(ref_jobs) + len(sequences) * n_refs * per_input
        ran = stage(ref_jobs)
        failed_refs = {(j.sequence, j.rate_value) for j in ref_jobs if store.failure(j.key)}
        usable = [j for j in ref_jobs if (j.sequence, j.rate_value) not in failed_refs]
        if ref_jobs:
            write_results(ref_jobs, store, out_dir, name="references")
        if cfg.reference is not None:
            sequences = [s for s in sequences if any(j.sequence == s.name for j in usable)]
            jobs = plan_jobs(cfg, sequences, out_dir, references=usable)
        else:
            jobs = plan_jobs(cfg, sequences, out_dir)
        state["total"] = len(ref_jobs) + len(jobs) + len(failed_refs) * per_input
        ran += stage(jobs)
        rows = write_results(jobs, store, out_dir)
        failures = [(j.sequence, j.codec, j.rate_label, err) for j in [*ref_jobs, *jobs]
                    if (err := store.failure(j.key))]
    try:
        decode_dir.rmdir()
    except OSError:
        pass
    total = len(ref_jobs) + len(jobs)
    return RunSummary(out_dir, total, total - len(ran), len(ran), failures, rows)


__all__ += ["execute_job"]
