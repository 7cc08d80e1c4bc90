"""Planning: the jobs of a run from its config and dataset, and what the store still lacks.

A job is one (sequence, reference, codec, rate point) encode + decode + measurements
(:class:`vqabench.runner.jobs.Job`); its key hashes its inputs' content, the codec spec and
the rate point, so a re-run finds its results in the store. The reference stage (S -> R)
is planned first; the codec stage on S, or on every usable R; the ``kbps=from`` codecs last,
on the rates their source configuration reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from vqabench import codecs, metrics
from vqabench.config import CodecSpec, RunConfig, targets_source
from vqabench.datasets import Sequence, content_hash
from vqabench.datasets import available as available_datasets
from vqabench.datasets import load as load_dataset
from vqabench.io.names import safe_name as _safe
from vqabench.io.store import Store
from vqabench.io.video import Video, open_video
from vqabench.runner.jobs import Job, MetricTask, encode_key, measurement_key
from vqabench.runner.progress import point_work

__all__ = [
    "Targets",
    "load_sequences",
    "plan_references",
    "plan_jobs",
    "rate_targets",
    "anchored",
    "targeted_jobs",
    "ladder_len",
    "resolved_config",
    "pending_part",
    "usable_references",
    "main_jobs",
    "estimated_work",
]


def _dataset_spec(dataset: str) -> str:
    """A built-in dataset's name as is; a folder (or file) that exists, as its absolute path."""
    if dataset not in available_datasets() and Path(dataset).expanduser().exists():
        return str(Path(dataset).expanduser().absolute())
    return dataset


def anchored(cfg: RunConfig, out_dir: Path) -> RunConfig:
    """``cfg`` with absolute paths (a folder dataset, ``root``) and ``out=out_dir``
    (absolute): the config.toml of a run re-runs it from any folder."""
    return replace(
        cfg,
        dataset=_dataset_spec(cfg.dataset),
        out=str(Path(out_dir).absolute()),
        root=str(Path(cfg.root).absolute()) if cfg.root else None,
    )


def load_sequences(cfg: RunConfig, out_dir: Path) -> list[Sequence]:
    """The dataset's sequences, with absolute source paths.

    A folder dataset is opened by its absolute path, so that no file name (``-i.y4m``,
    ``concat:x.y4m``) can reach ffmpeg as an option or a protocol, and so that the paths in
    jobs are valid on every worker of a cluster that mounts the same file system.

    Raises:
        DatasetError / VideoFormatError: unknown dataset, unreadable video.
    """
    sequences = load_dataset(
        _dataset_spec(cfg.dataset),
        frames=cfg.frames,
        size=cfg.size,
        work_dir=Path(out_dir).absolute(),
        root=Path(cfg.root).absolute() if cfg.root else None,
        sequences=cfg.sequences,
        fps=cfg.fps,
        interlaced=cfg.interlaced,
    )
    return [replace(s, source=replace(s.source, path=s.source.path.absolute())) for s in sequences]


def _metric_tasks(cfg: RunConfig, enc_key: str, anchors: dict[str, str]) -> tuple[MetricTask, ...]:
    tasks = []
    for spec in cfg.metrics:
        metric = metrics.create(spec.name, **dict(spec.options))
        for anchor, anchor_hash in anchors.items():
            tasks.append(
                MetricTask(
                    measurement_key(enc_key, metric.spec, anchor_hash),
                    spec.name,
                    spec.options,
                    metric.spec,
                    anchor,
                )
            )
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


def _plan(
    cfg: RunConfig,
    seq: Sequence,
    inp: _Input,
    specs: Iterable[CodecSpec],
    out_dir: Path,
    subdir: str,
    keep: bool = False,
    targets: Targets | None = None,
) -> list[Job]:
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
            key = encode_key(
                input_hash, f"{codec_spec}|coded={coded}|native={native.label}", rate.label
            )
            stem = f"{_safe(spec.rate_param)}{_safe(str(value))}"
            rel = Path(subdir) / _safe(seq.name) / _safe(spec.display) / (stem + codec.extension)
            keep_path = None
            if keep:
                keep_path = (
                    out_dir / "references" / _safe(seq.name) / f"{_safe(spec.display)}_{stem}.y4m"
                ).resolve()
            jobs.append(
                Job(
                    key=key,
                    sequence=seq.name,
                    reference=inp.label,
                    codec=spec.display,
                    codec_name=spec.name,
                    codec_options=spec.options,
                    codec_spec=codec_spec,
                    rate_param=spec.rate_param,
                    rate_value=value,
                    input=inp.video,
                    anchors=tuple(inp.anchors.items()),
                    bitstream=(out_dir / rel).resolve(),
                    bitstream_rel=str(rel),
                    metrics=_metric_tasks(cfg, key, anchor_hashes),
                    group=inp.group,
                    keep_decoded=keep_path,
                )
            )
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
        jobs += _plan(
            replace(cfg, anchors=("source",)),
            seq,
            inp,
            [cfg.reference.codec],
            out_dir,
            "references",
            keep=True,
        )
    groups = dict(zip(cfg.reference.codec.values, cfg.reference.groups, strict=True))
    return [replace(j, group=groups[j.rate_value]) for j in jobs]


def plan_jobs(
    cfg: RunConfig,
    sequences: list[Sequence],
    out_dir: Path,
    references: list[Job] | None = None,
    targets: Targets | None = None,
) -> list[Job]:
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
                inputs.append(_Input(label, ref.group, video, {a: anchors[a] for a in cfg.anchors}))
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
            None if kbps is None else round(kbps, 3)
        )
    return {
        k: tuple(v)
        for k, v in by_input.items()  # type: ignore[misc]
        if all(x is not None for x in v)
    }


def targeted_jobs(
    cfg: RunConfig,
    sequences: list[Sequence],
    out_dir: Path,
    usable: list[Job],
    planned: list[Job],
    store: Store,
) -> list[Job]:
    """Jobs of the ``kbps=from`` codecs, on targets from the already run ``planned`` jobs."""
    source = targets_source(cfg)
    if source is None:
        return []
    targets = rate_targets((j for j in planned if j.codec == source.display), store)
    rc_cfg = replace(cfg, codecs=tuple(c for c in cfg.codecs if c.targets_from_run))
    if cfg.reference is None:
        return plan_jobs(rc_cfg, sequences, out_dir, targets=targets)
    sequences = [s for s in sequences if any(j.sequence == s.name for j in usable)]
    return (
        plan_jobs(rc_cfg, sequences, out_dir, references=usable, targets=targets) if usable else []
    )


def ladder_len(cfg: RunConfig) -> int:
    """Rate points per input over all codecs (``kbps=from`` ones take their source's)."""
    source = targets_source(cfg)
    return sum(
        len(source.values) if c.targets_from_run and source else len(c.values) for c in cfg.codecs
    )


def resolved_config(cfg: RunConfig, sequences: list[Sequence]) -> RunConfig:
    """``cfg`` with the frame count and size the dataset actually gave, when uniform."""
    sizes = {(s.source.width, s.source.height) for s in sequences}
    counts = {s.source.frames for s in sequences}
    return replace(
        cfg,
        size=cfg.size or (sizes.pop() if len(sizes) == 1 else None),
        frames=cfg.frames or (counts.pop() if len(counts) == 1 else None),
    )


def pending_part(job: Job, store: Store, retry_failed: bool) -> Job | None:
    """The part of ``job`` still to do, or None when the store has all of it."""
    record = store.encode(job.key)
    have_bitstream = (
        record is not None
        and job.bitstream.is_file()
        and 8 * job.bitstream.stat().st_size == record.bits
    )
    missing = tuple(t for t in job.metrics if store.measurement(t.key) is None)
    kept = job.keep_decoded is None or job.keep_decoded.is_file()
    if have_bitstream and not missing and kept:
        return None
    if not retry_failed and store.failure_kind(job.key) == "permanent":
        return None  # transient failures (disk full, a killed worker) are retried
    if have_bitstream:
        return replace(job, metrics=missing if kept else job.metrics, reuse_bitstream=True)
    return job


def usable_references(ref_jobs: list[Job], store: Store) -> list[Job]:
    """Reference-stage jobs that did not fail and whose decoded R exists."""
    return [
        j
        for j in ref_jobs
        if store.failure(j.key) is None and j.keep_decoded is not None and j.keep_decoded.is_file()
    ]


def main_jobs(
    cfg: RunConfig, sequences: list[Sequence], out_dir: Path, usable: list[Job]
) -> list[Job]:
    """The codec stage: on S, or on every usable reference R when a stage is configured."""
    if cfg.reference is None:
        return plan_jobs(cfg, sequences, out_dir)
    sequences = [s for s in sequences if any(j.sequence == s.name for j in usable)]
    return plan_jobs(cfg, sequences, out_dir, references=usable)


def estimated_work(cfg: RunConfig, sequences: list[Sequence]) -> float:
    """Work units of the codec stage before it can be planned (it needs the references)."""
    n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
    names = [m.name for m in cfg.metrics for _ in cfg.anchors]
    return sum(
        n_refs
        * len(c.values)
        * point_work(s.source.frames * s.source.width * s.source.height, c.name, names)
        for s in sequences
        for c in cfg.codecs
    )
