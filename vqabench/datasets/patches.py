"""Co-located (R, D) patch pairs labelled with VMAF(S, D): training data for the learned
UGC quality models (:mod:`vqabench.models.ranking` reads what this writes).

For every source S, reference rate point (stage 1, S -> R) and transcode rate point
(stage 2, R -> D; see :mod:`vqabench.datasets.ugc`) one *unit* draws ``patches_per_video``
random positions ``(x, y, t0)`` and cuts the same ``H x W x T`` clip out of S, R and D. Each
patch pair is labelled by vqabench's metrics run on the patch clips written as Y4M:

======================  ================================================================
column                  meaning
======================  ================================================================
file                    the ``.npz`` (relative to the output folder): arrays
                        ``reference`` (R) and ``distorted`` (D), uint8 (T, H, W, 3) RGB
                        (BT.709, limited range, :func:`~vqabench.io.video.yuv_to_rgb`)
source, dataset, group  the source sequence, its dataset, the reference's group
reference               the stage-1 label, e.g. ``x264:qp=30``
codec, qp, rate_point   the stage-2 codec and rate point (``qp`` empty for other controls)
x, y, t0                top-left pixel and first frame of the patch (same in S, R, D)
vmaf_sd, vmaf_rd        VMAF(S, D) (the training label) and VMAF(R, D) on the patch
psnr_sd, psnr_rd        PSNR-Y in dB of D against S and against R on the patch
video_*                 the same four measured on the whole videos
kbps, reference_kbps    rates of D and of R
======================  ================================================================

When a patch is the whole video (same size and length) its values are the video values
(same pixels, same numbers) and are not measured twice.

**Output folder**: ``manifest.csv``, ``patches/<source>/<reference>/*.npz``,
``units/<source>/<reference>/<transcode>.json`` (one record per finished unit, written
atomically after its patches), ``pairs.json`` (the options; a second run must use the same)
and, while running, ``work/`` (the references R and temporary D, removed when all units are
done). A run resumes: finished units are read back, not redone. Positions depend only on
``(seed, unit)``, so the manifest is byte-identical for the same options whatever
``jobs`` is. Only the main process writes the manifest.

Example:
    >>> seqs = datasets.load("mini", frames=12, size=(64, 64), work_dir=Path("w"))
    >>> result = make_pairs(seqs[:2], Path("pairs"), patch=PatchSize(64, 64, 12), jobs=2)
    >>> splits = split_by_source(Path("pairs"), fractions=(0.7, 0.15, 0.15), seed=0)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Sequence as Seq
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from vqabench.config import CodecSpec, ReferenceSpec
from vqabench.datasets.base import Sequence, content_hash
from vqabench.datasets.ugc import (
    create_codec,
    default_reference,
    default_transcodes,
    make_reference,
    transcode,
    video_quality,
)
from vqabench.errors import ConfigError, DatasetError, invalid
from vqabench.io.atomic import atomic_write_bytes
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, read_all, write_y4m, yuv_to_rgb

__all__ = [
    "MANIFEST_COLUMNS",
    "PatchSize",
    "PairsResult",
    "make_pairs",
    "sample_positions",
    "crop_clip",
    "clip_to_rgb",
    "read_manifest",
    "split_by_source",
]

MANIFEST_COLUMNS = (
    "file", "source", "reference", "codec", "qp", "x", "y", "t0",
    "vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd",
    "video_vmaf_sd", "video_vmaf_rd", "video_psnr_sd", "video_psnr_rd",
    "dataset", "group", "rate_point", "kbps", "reference_kbps",
    "patch_width", "patch_height", "patch_frames",
)
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class PatchSize:
    """Patch size: ``width`` x ``height`` pixels x ``frames``."""

    width: int
    height: int
    frames: int

    @classmethod
    def parse(cls, text: str) -> PatchSize:
        """Parse ``WIDTHxHEIGHTxFRAMES`` (``256x256x12``).

        Raises:
            ConfigError: not three positive integers separated by ``x``.
        """
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
        if not m or min(int(g) for g in m.groups()) < 1:
            raise invalid("patch", text, "WIDTHxHEIGHTxFRAMES with positive integers, "
                          "e.g. 256x256x12")
        return cls(*(int(g) for g in m.groups()))

    @property
    def label(self) -> str:
        """``WIDTHxHEIGHTxFRAMES``."""
        return f"{self.width}x{self.height}x{self.frames}"


@dataclass(frozen=True)
class PairsResult:
    """What :func:`make_pairs` did.

    Attributes:
        out_dir: the output folder; manifest: its ``manifest.csv``.
        pairs: patch pairs in the manifest.
        units: (source, reference, transcode) units planned.
        computed: units computed by this call; reused: units found finished on disk.
        references: references R encoded by this call.
        timings: seconds summed over this call's work: ``reference_s`` (stage 1),
            ``encode_s`` (stage 2 encode + decode), ``vmaf_s`` (video and patch metrics),
            ``crop_s`` (reading, cropping, RGB conversion, writing patches).
        wall_s: wall-clock seconds of the call.
    """

    out_dir: Path
    manifest: Path
    pairs: int
    units: int
    computed: int
    reused: int
    references: int
    timings: Mapping[str, float] = field(default_factory=dict)
    wall_s: float = 0.0


# --- pure helpers ----------------------------------------------------------------------

def _subsampling(video: Video) -> tuple[int, int]:
    return PIX_FMTS[video.pix_fmt][:2]


def _unit_seed(seed: int, uid: str) -> np.random.Generator:
    digest = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest])


def sample_positions(rng: np.random.Generator, video: Video, patch: PatchSize, count: int
                     ) -> list[tuple[int, int, int]]:
    """``count`` random top-left corners and first frames ``(x, y, t0)`` of ``patch``.

    ``x`` and ``y`` are multiples of the chroma subsampling (even for 4:2:0), so a crop cuts
    the chroma planes at the same place as luma.

    Raises:
        ConfigError: the patch does not fit in the video.
    """
    _check_fits(video, patch, video.path.name)
    sx, sy = _subsampling(video)
    out = []
    for _ in range(count):
        x = sx * int(rng.integers(0, (video.width - patch.width) // sx + 1))
        y = sy * int(rng.integers(0, (video.height - patch.height) // sy + 1))
        t0 = int(rng.integers(0, video.frames - patch.frames + 1))
        out.append((x, y, t0))
    return out


def _check_fits(video: Video, patch: PatchSize, name: str) -> None:
    if patch.width > video.width or patch.height > video.height or patch.frames > video.frames:
        raise invalid("patch", patch.label,
                      f"a patch no larger than the video {name!r} "
                      f"({video.width}x{video.height}x{video.frames}); pass a smaller --patch "
                      "(e.g. 64x64x12) or a larger --size/--frames")
    sx, sy = _subsampling(video)
    if patch.width % sx or patch.height % sy:
        raise invalid("patch", patch.label, f"width a multiple of {sx} and height a multiple "
                      f"of {sy} for {video.pix_fmt}")


def crop_clip(video: Video, x: int, y: int, t0: int, patch: PatchSize) -> YuvFrame:
    """Planes (T, h, w) of the patch at ``(x, y, t0)`` (chroma planes subsampled)."""
    clip = read_all(video, start=t0, count=patch.frames)
    sx, sy = _subsampling(video)
    return YuvFrame(
        clip.y[:, y:y + patch.height, x:x + patch.width],
        clip.u[:, y // sy:(y + patch.height) // sy, x // sx:(x + patch.width) // sx],
        clip.v[:, y // sy:(y + patch.height) // sy, x // sx:(x + patch.width) // sx],
    )


def _frames(clip: YuvFrame) -> Iterable[YuvFrame]:
    return (YuvFrame(clip.y[t], clip.u[t], clip.v[t]) for t in range(clip.y.shape[0]))


def clip_to_rgb(clip: YuvFrame, *, bit_depth: int = 8) -> np.ndarray:
    """uint8 RGB (T, H, W, 3) of a YUV clip (BT.709, limited range, nearest chroma)."""
    rgb = np.stack([yuv_to_rgb(f, bit_depth=bit_depth, matrix="bt709") for f in _frames(clip)])
    return np.rint(rgb * 255.0).astype(np.uint8)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_") or "x"


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def _kbps(bits: int, video: Video) -> float:
    return bits * float(video.fps) / video.frames / 1000.0


# --- units ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _RefTask:
    """Stage 1 for one (source, reference rate point)."""

    source: Video
    spec: CodecSpec
    value: int | float
    dst: Path


@dataclass(frozen=True)
class _Unit:
    """Stage 2 + patches for one (source, reference, transcode)."""

    uid: str
    source_name: str
    dataset: str
    group: str
    source: Video
    reference_label: str
    reference_path: Path
    spec: CodecSpec
    value: int | float
    patch: PatchSize
    count: int
    seed: int
    vmaf_model: str
    out_dir: Path
    keep_videos: bool = False

    @property
    def record(self) -> Path:
        return self.out_dir / "units" / f"{self.uid}.json"


def _run_reference(task: _RefTask) -> dict:
    """Make R (unless it and its facts are on disk) and record its size next to it."""
    facts = task.dst.with_suffix(".json")
    if task.dst.is_file() and facts.is_file():
        return {"made": False, "reference_s": 0.0}
    task.dst.unlink(missing_ok=True)
    start = time.perf_counter()
    result = make_reference(task.source, task.spec, task.value, task.dst)
    elapsed = time.perf_counter() - start
    atomic_write_bytes(facts, json.dumps({"bits": result.bits}).encode())
    return {"made": True, "reference_s": elapsed}


def _run_unit(unit: _Unit) -> dict:
    """Transcode R, measure, cut the patches, write them and the unit record."""
    from vqabench.io.video import open_video

    timings = {"encode_s": 0.0, "vmaf_s": 0.0, "crop_s": 0.0}
    reference = open_video(unit.reference_path)
    ref_bits = json.loads(unit.reference_path.with_suffix(".json").read_text())["bits"]
    source = unit.source
    work = unit.out_dir / "work" / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="unit-", dir=work) as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        enc = transcode(reference, unit.spec, unit.value, tmp)
        timings["encode_s"] += time.perf_counter() - t
        if enc.decoded is None:  # pragma: no cover - run_codec always decodes
            raise DatasetError(f"{unit.uid}: the transcode produced no decoded video")
        distorted = enc.decoded
        t = time.perf_counter()
        video_q = video_quality(source, reference, distorted, vmaf_model=unit.vmaf_model)
        timings["vmaf_s"] += time.perf_counter() - t
        whole = (unit.patch.width, unit.patch.height, unit.patch.frames) == (
            source.width, source.height, source.frames)
        rng = _unit_seed(unit.seed, unit.uid)
        rows = []
        for k, (x, y, t0) in enumerate(sample_positions(rng, source, unit.patch, unit.count)):
            t = time.perf_counter()
            clips = {name: crop_clip(video, x, y, t0, unit.patch)
                     for name, video in (("s", source), ("r", reference), ("d", distorted))}
            rel = Path("patches") / f"{unit.uid}_p{k}.npz"
            buf = io.BytesIO()
            np.savez(buf, reference=clip_to_rgb(clips["r"], bit_depth=reference.bit_depth),
                     distorted=clip_to_rgb(clips["d"], bit_depth=distorted.bit_depth))
            atomic_write_bytes(unit.out_dir / rel, buf.getvalue())
            timings["crop_s"] += time.perf_counter() - t
            t = time.perf_counter()
            patch_q = video_q if whole else _patch_quality(clips, source, tmp, unit.vmaf_model)
            timings["vmaf_s"] += time.perf_counter() - t
            rows.append(_row(unit, rel, (x, y, t0), patch_q, video_q, enc.bits, ref_bits,
                             distorted))
        if unit.keep_videos:
            kept = unit.out_dir / "videos" / f"{unit.uid}.y4m"
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(distorted.path, kept)
    record = {"uid": unit.uid, "rows": rows, "timings": timings}
    atomic_write_bytes(unit.record, json.dumps(record, indent=1).encode())
    return record


def _patch_quality(clips: Mapping[str, YuvFrame], source: Video, tmp: Path,
                   vmaf_model: str) -> dict[str, float]:
    """The four metrics on the patch clips, written as Y4M so vqabench's metrics read them."""
    videos = {}
    for name, clip in clips.items():
        videos[name] = write_y4m(tmp / f"patch_{name}.y4m", _frames(clip),
                                 width=clip.y.shape[2], height=clip.y.shape[1],
                                 fps=source.fps, pix_fmt=source.pix_fmt)
    return video_quality(videos["s"], videos["r"], videos["d"], vmaf_model=vmaf_model)


def _row(unit: _Unit, rel: Path, pos: tuple[int, int, int], patch_q: Mapping[str, float],
         video_q: Mapping[str, float], bits: int, ref_bits: int, distorted: Video
         ) -> dict[str, str]:
    x, y, t0 = pos
    return {
        "file": rel.as_posix(), "source": unit.source_name, "reference": unit.reference_label,
        "codec": unit.spec.display, "qp": str(unit.value) if unit.spec.rate_param == "qp" else "",
        "x": str(x), "y": str(y), "t0": str(t0),
        **{k: _fmt(patch_q[k]) for k in ("vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd")},
        **{f"video_{k}": _fmt(video_q[k]) for k in ("vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd")},
        "dataset": unit.dataset, "group": unit.group,
        "rate_point": f"{unit.spec.rate_param}={unit.value}",
        "kbps": _fmt(_kbps(bits, distorted)), "reference_kbps": _fmt(_kbps(ref_bits, distorted)),
        "patch_width": str(unit.patch.width), "patch_height": str(unit.patch.height),
        "patch_frames": str(unit.patch.frames),
    }


# --- execution --------------------------------------------------------------------------

T = TypeVar("T")


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def _execute(fn: Callable[[T], dict], tasks: list[T], pool: ProcessPoolExecutor | None,
             jobs: int, on_done: Callable[[T, dict], None]) -> None:
    """Run ``fn`` on every task, in this process (``pool`` None) or in the worker pool,
    at most two tasks per worker in flight; the callback always runs in this process."""
    if pool is None or len(tasks) <= 1:
        for task in tasks:
            on_done(task, fn(task))
        return
    queue = list(reversed(tasks))
    pending: dict = {}
    try:
        while queue or pending:
            while queue and len(pending) < 2 * jobs:
                task = queue.pop()
                pending[pool.submit(fn, task)] = task
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                on_done(task, fut.result())
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def _pool(jobs: int, n_tasks: int) -> ProcessPoolExecutor | None:
    """Worker processes (spawned, one thread each), or None to work in this process."""
    if jobs <= 1 or n_tasks <= 1:
        return None
    return ProcessPoolExecutor(max_workers=min(jobs, n_tasks),
                               mp_context=mp.get_context("spawn"), initializer=_init_worker)


def _options(sequences: Seq[Sequence], patch: PatchSize, count: int, seed: int,
             reference: ReferenceSpec, transcodes: Seq[CodecSpec], vmaf_model: str) -> dict:
    ladder = [{"name": s.name, "rate_param": s.rate_param, "values": list(s.values),
               "options": dict(s.options), "spec": create_codec(s).spec} for s in transcodes]
    ref = reference.codec
    return {
        "format": _FORMAT_VERSION,
        "sources": {s.name: content_hash(s.source.path) for s in sequences},
        "patch": patch.label, "patches_per_video": count, "seed": seed,
        "reference": {"name": ref.name, "rate_param": ref.rate_param, "values": list(ref.values),
                      "options": dict(ref.options), "groups": list(reference.groups),
                      "spec": create_codec(ref).spec},
        "transcodes": ladder, "vmaf_model": vmaf_model,
    }


def _check_options(out_dir: Path, options: dict) -> None:
    path = out_dir / "pairs.json"
    text = json.dumps(options, indent=1, sort_keys=True, default=str)
    if path.is_file():
        if path.read_text() != text:
            old = json.loads(path.read_text())
            diff = sorted(k for k in set(old) | set(options)
                          if json.dumps(old.get(k), sort_keys=True, default=str)
                          != json.dumps(options.get(k), sort_keys=True, default=str))
            raise ConfigError(f"out={str(out_dir)!r} holds pairs made with other options "
                              f"(differ: {', '.join(diff)}); use another --out or the same "
                              "options to resume")
        return
    atomic_write_bytes(path, text.encode())


def _unit_done(unit: _Unit) -> dict | None:
    if not unit.record.is_file():
        return None
    try:
        record = json.loads(unit.record.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not all((unit.out_dir / row["file"]).is_file() for row in record.get("rows", [])):
        return None
    return record


def _write_manifest(path: Path, rows: Iterable[Mapping[str, str]]) -> int:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    atomic_write_bytes(path, buf.getvalue().encode())
    return n


def make_pairs(
    sequences: Seq[Sequence],
    out_dir: str | Path,
    *,
    patch: PatchSize = PatchSize(256, 256, 12),
    patches_per_video: int = 1,
    seed: int = 0,
    jobs: int = 1,
    reference: ReferenceSpec | None = None,
    transcodes: Seq[CodecSpec] | None = None,
    vmaf_model: str = "vmaf_v0.6.1",
    keep_videos: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PairsResult:
    """Generate (R, D) patch pairs labelled with VMAF(S, D) (see the module docstring).

    Args:
        sequences: the pristine sources S (from :func:`vqabench.datasets.load`).
        out_dir: output folder (created; resumed when it holds a finished part).
        patch: patch size (default 256x256x12; 64x64x12 is practical on CPU).
        patches_per_video: patch pairs cut from each transcoded video.
        seed: seeds the patch positions (same seed, same manifest).
        jobs: worker processes (1 = in this process).
        reference: stage-1 ladder (default x264 QP 30/37/42, groups High/Medium/Low).
        transcodes: stage-2 ladders (default x264 QP 32-42/2, aom-av1 and vp9 QP 38-63/5).
        vmaf_model: VMAF model of every VMAF value.
        keep_videos: keep the decoded references R and transcodes D under ``videos/``
            (same relative names as the patches), e.g. to check labels independently.
        progress: called as ``progress(done, total)`` after each reference and transcode
            still to make (references and transcodes count one each).

    Returns:
        A :class:`PairsResult`.

    Raises:
        ConfigError: bad option, a patch larger than a video, or an output folder made with
            other options.
        DatasetError: no sequences, or duplicate sequence names.
        CodecError, FfmpegError, MetricError: an encoder, decoder or metric failed (finished
            units are kept; run again to resume).
    """
    started = time.perf_counter()
    out = Path(out_dir)
    reference = reference or default_reference()
    transcodes = tuple(transcodes) if transcodes is not None else default_transcodes()
    if not sequences:
        raise DatasetError("make_pairs needs at least one source sequence")
    if int(patches_per_video) < 1:
        raise invalid("patches_per_video", patches_per_video, "an integer >= 1")
    if int(jobs) < 1:
        raise invalid("jobs", jobs, "an integer >= 1")
    if not transcodes:
        raise invalid("transcodes", [], "at least one codec ladder")
    names = [_safe(s.name) for s in sequences]
    if len(set(names)) != len(names):
        raise DatasetError(f"sequence names must be unique (as file names): {names}")
    for seq in sequences:
        _check_fits(seq.source, patch, seq.name)
    options = _options(sequences, patch, int(patches_per_video), int(seed), reference,
                       transcodes, vmaf_model)
    out.mkdir(parents=True, exist_ok=True)
    _check_options(out, options)

    ref_spec = reference.codec
    groups = dict(zip(ref_spec.values, reference.groups, strict=True))
    refs: dict[tuple[str, int | float], _RefTask] = {}
    units: list[_Unit] = []
    for seq, safe in zip(sequences, names, strict=True):
        for value in ref_spec.values:
            ref_label = f"{ref_spec.display}:{ref_spec.rate_param}={value}"
            ref_dir = f"{safe}/{_safe(ref_spec.display)}_{ref_spec.rate_param}{value}"
            ref_root = out / "videos" if keep_videos else out / "work" / "references"
            task = _RefTask(seq.source, ref_spec, value, ref_root / f"{ref_dir}.y4m")
            refs[(seq.name, value)] = task
            for spec in transcodes:
                for tv in spec.values:
                    uid = f"{ref_dir}/{_safe(spec.display)}_{spec.rate_param}{tv}"
                    units.append(_Unit(uid, seq.name, seq.metadata.get("dataset", ""),
                                       groups[value], seq.source, ref_label, task.dst, spec, tv,
                                       patch, int(patches_per_video), int(seed), vmaf_model,
                                       out, keep_videos))

    records: dict[str, dict] = {}
    for unit in units:
        done = _unit_done(unit)
        if done is not None:
            records[unit.uid] = done
    todo = [u for u in units if u.uid not in records]
    timings = {"reference_s": 0.0, "encode_s": 0.0, "vmaf_s": 0.0, "crop_s": 0.0}
    made = 0
    needed = {u.reference_path for u in todo}
    ref_tasks = [t for t in refs.values() if t.dst in needed]

    steps = {"done": 0, "total": len(ref_tasks) + len(todo)}

    def step() -> None:
        steps["done"] += 1
        if progress is not None:
            progress(steps["done"], steps["total"])

    def ref_done(task: _RefTask, info: dict) -> None:
        nonlocal made
        timings["reference_s"] += info["reference_s"]
        made += int(info["made"])
        step()

    def unit_done(unit: _Unit, record: dict) -> None:
        records[unit.uid] = record
        for key, value in record["timings"].items():
            timings[key] += value
        step()

    pool = _pool(int(jobs), len(todo))
    try:
        _execute(_run_reference, ref_tasks, pool, int(jobs), ref_done)
        _execute(_run_unit, todo, pool, int(jobs), unit_done)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    rows = [row for unit in units for row in records[unit.uid]["rows"]]
    n = _write_manifest(out / "manifest.csv", rows)
    shutil.rmtree(out / "work", ignore_errors=True)
    return PairsResult(out, out / "manifest.csv", n, len(units), len(todo),
                       len(units) - len(todo), made, timings, time.perf_counter() - started)


# --- manifests and splits ----------------------------------------------------------------

def read_manifest(manifest: str | Path) -> list[dict[str, str]]:
    """Rows of a pairs manifest (a ``manifest.csv`` or the folder holding it).

    Raises:
        DatasetError: no manifest or no ``source`` column.
    """
    path = Path(manifest)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise DatasetError(f"manifest={str(path)!r} does not exist; make one with "
                           "`vqabench make-pairs`")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if "source" not in (reader.fieldnames or []):
            raise DatasetError(f"{path} has no 'source' column")
        return list(reader)


def split_by_source(
    manifest: str | Path | Seq[Mapping[str, str]],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, list[dict[str, str]]]:
    """Split manifest rows into train/val/test by source, never by patch.

    Sources (sorted by name) are shuffled by ``seed``; ``round(f * n)`` of them go to
    validation and to test, where a non-zero fraction gets at least one source while
    training keeps at least one; training takes the rest. The same seed gives the same
    split. For training, :func:`vqabench.models.ranking.train` makes its own train/val split
    with :func:`vqabench.models.ranking.split_by_source` and samples single-/cross-source
    pairs with :func:`vqabench.models.ranking.sample_pairs`; this helper holds out a test set
    of sources beforehand.

    Args:
        manifest: a manifest path, its folder, or its rows.
        fractions: (train, val, test), non-negative, summing to 1.
        seed: shuffling seed.

    Returns:
        ``{"train": rows, "val": rows, "test": rows}`` (rows in manifest order).

    Raises:
        ConfigError: bad fractions; DatasetError: unreadable manifest.

    Example:
        >>> parts = split_by_source("pairs/", fractions=(0.8, 0.1, 0.1), seed=0)
        >>> {r["source"] for r in parts["test"]} & {r["source"] for r in parts["train"]}
        set()
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1.0) > 1e-6:
        raise invalid("fractions", fractions, "three non-negative numbers (train, val, test) "
                      "summing to 1")
    rows = read_manifest(manifest) if isinstance(manifest, str | Path) else [
        dict(r) for r in manifest]
    names = sorted({r["source"] for r in rows})
    n = len(names)
    counts = []
    for f in fr[1:]:
        k = round(f * n)
        counts.append(max(k, 1) if f > 0 and n >= 2 else k)
    while sum(counts) > max(n - 1, 0):  # training keeps at least one source
        i = max(range(len(counts)), key=lambda j: (counts[j], j))  # test gives first
        counts[i] -= 1
    order = [names[i] for i in np.random.default_rng(seed).permutation(n)]
    val = set(order[:counts[0]])
    test = set(order[counts[0]:counts[0] + counts[1]])
    parts: dict[str, list[dict[str, str]]] = {"train": [], "val": [], "test": []}
    for r in rows:
        key = "val" if r["source"] in val else "test" if r["source"] in test else "train"
        parts[key].append(r)
    return parts
