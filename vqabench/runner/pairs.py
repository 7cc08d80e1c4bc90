"""``vqabench make-pairs`` as runner jobs: references R and units of (R, D) patch pairs.

What the pairs are is described in :mod:`vqabench.datasets.patches`; this module makes
them with the runner's machinery, as :func:`vqabench.runner.run.run` makes results:

* two job kinds, both plain picklable data run by :func:`execute_pair_job`: a
  :class:`PairJob` of kind ``reference`` (stage 1, S -> R, the decoded R kept under
  ``work/references/``, or ``videos/`` with ``keep_videos``) and of kind ``unit`` (stage 2,
  R -> D, VMAF/PSNR labels, the co-located patch crops written as ``.npz``);
* off-codec D (``defects``, a :class:`DefectSpec` each): D is R with a synthetic defect
  (white noise, blur, exposure: R plus the change
  :func:`vqabench.datasets.builtin.apply_defect` makes to R's RGB frames, in R's YUV),
  labelled VMAF(S, D) like a transcode.
  They teach a quality model that is used as a training loss what a codec never makes and
  a learned codec can (see experiments/ptloss/report.md, "off-codec D"). Their manifest
  rows have ``codec`` = the defect's name, ``rate_point`` = ``noise=8``, no ``qp`` and no
  ``kbps`` (D is not coded);
* keys by content: a job's key hashes the options of the folder (the sources' content
  hashes, the codec specs with their versions, patch, seed, VMAF model) and its unit id;
* the same store (``store.sqlite``, table ``pair_jobs``): a finished job is one SQLite
  transaction, committed by the main process after its files are on disk;
* the same executors (:func:`~vqabench.runner.executors.local_executor` processes or a
  :class:`~vqabench.runner.executors.DaskExecutor`), the same ``progress(done, total)``
  callback and ``vqabench status OUT``;
* the same kill-and-resume guarantee: ``kill -9`` at any point, then the same command, gives
  the bytes an uninterrupted run gives (manifest and every patch), redoing only the jobs the
  store lacks. The directory lock and the removal of stale temporaries are the run's.

The reference stage of ``vqabench run`` (S -> R with a ``[reference]`` table) is the job
kind ``reference`` of :func:`vqabench.runner.run.plan_references`: encode + decode jobs whose
decoded video is kept, in the run's store; make-pairs keeps its own references because their
labels need R's bits and the units need R on disk.

Output folder: ``manifest.csv``, ``patches/<source>/<reference>/*.npz``, ``pairs.json``
(the options; a second run must use the same), ``store.sqlite`` and, while running,
``work/`` (the references R and temporary D, removed when every unit is done).

Example:
    >>> seqs = datasets.load("mini", frames=12, size=(64, 64), work_dir=Path("w"))
    >>> result = make_pairs(seqs[:2], Path("pairs"), patch=PatchSize(64, 64, 12), jobs=2)
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from vqabench.config import CodecSpec, ReferenceSpec
from vqabench.datasets.base import Sequence, content_hash
from vqabench.datasets.patches import (
    MANIFEST_COLUMNS,
    PatchSize,
    check_patch_fits,
    clip_frames,
    clip_to_rgb,
    crop_clip,
    sample_positions,
    unit_rng,
)
from vqabench.errors import ConfigError, DatasetError, invalid
from vqabench.io.atomic import TMP_PREFIX, atomic_write_bytes
from vqabench.io.hashing import text_sha256
from vqabench.io.names import safe_name
from vqabench.io.store import Store
from vqabench.io.video import Video, YuvFrame, open_video, write_y4m
from vqabench.runner.ugc import (
    create_codec,
    default_reference,
    default_transcodes,
    make_reference,
    transcode,
    video_quality,
)

__all__ = [
    "DefectSpec",
    "PairJob",
    "PairOutcome",
    "PairsResult",
    "execute_pair_job",
    "make_pairs",
    "pairs_status",
    "parse_defect_spec",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1
Kind = Literal["reference", "unit"]
PairExecutor = Callable[..., None]  # executor(jobs, on_done, n_workers, *, fn=...)


@dataclass(frozen=True)
class PairsResult:
    """What :func:`make_pairs` did.

    Attributes:
        out_dir: the output folder; manifest: its ``manifest.csv``.
        pairs: patch pairs in the manifest.
        units: (source, reference, transcode) units planned.
        computed: units computed by this call; reused: units found finished in the store.
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


@dataclass(frozen=True)
class DefectSpec:
    """Off-codec D: R with the synthetic ``name`` defect at each of ``amounts``.

    Attributes:
        name: ``noise`` (white Gaussian noise, std in 8-bit code values, on each RGB
            channel), ``blur`` (Gaussian, std in pixels), ``under`` / ``over`` (RGB gain).
        amounts: the defect's strengths, one D each.
    """

    name: str
    amounts: tuple[float, ...]


def parse_defect_spec(text: str) -> DefectSpec:
    """``noise=4,8,16`` -> ``DefectSpec("noise", (4.0, 8.0, 16.0))``.

    Raises:
        ConfigError: not ``NAME=A,B,...``, an unknown defect, or an amount that is not a
            positive number (a gain for ``under`` / ``over``).
    """
    from vqabench.datasets.builtin import DEFECTS

    allowed = [d for d in DEFECTS if d != "none"]
    name, sep, values = str(text).partition("=")
    name = name.strip()
    if not sep or name not in allowed:
        raise invalid(
            "--defect",
            text,
            f"NAME=A,B,... with NAME one of {', '.join(allowed)} (e.g. noise=4,8,16)",
        )
    try:
        amounts = tuple(float(v) for v in values.split(","))
    except ValueError:
        amounts = ()
    if not amounts or not all(np.isfinite(a) and a > 0 for a in amounts):
        raise invalid("--defect", text, f"{name}= followed by positive numbers, e.g. {name}=4,8,16")
    return DefectSpec(name, amounts)


@dataclass(frozen=True)
class PairJob:
    """One make-pairs job: a reference R (``kind="reference"``) or a unit of patch pairs.

    A unit reads its reference's bits from ``reference_bits`` (filled in by the planner from
    the store once the reference job is done). An off-codec unit has ``defect`` set (its
    strength in ``value``) and ``spec`` None.
    """

    key: str
    kind: Kind
    uid: str
    source: Video
    spec: CodecSpec | None
    value: int | float
    reference_path: Path  # R: written by a reference job, read by a unit
    out_dir: Path
    source_name: str = ""
    dataset: str = ""
    group: str = ""
    reference_label: str = ""
    reference_bits: int = 0
    patch: PatchSize = PatchSize(256, 256, 12)
    count: int = 1
    seed: int = 0
    vmaf_model: str = "vmaf_v0.6.1"
    keep_videos: bool = False
    defect: str = ""


@dataclass(frozen=True)
class PairOutcome:
    """What a worker returns: the job's record (stored as is), or an error."""

    key: str
    record: dict | None = None
    error: str | None = None


def _key(options_text: str, kind: str, uid: str) -> str:
    return text_sha256("pairs", kind, options_text, uid)


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def _kbps(bits: int, video: Video) -> float:
    return bits * float(video.fps) / video.frames / 1000.0


# --- what a worker runs ----------------------------------------------------------------


def _run_reference(job: PairJob) -> dict:
    """Make R at ``job.reference_path`` (a partial or unrecorded one is redone)."""
    job.reference_path.unlink(missing_ok=True)  # not in the store: it may lack its bits
    start = time.perf_counter()
    result = make_reference(job.source, job.spec, job.value, job.reference_path)
    return {"bits": result.bits, "timings": {"reference_s": time.perf_counter() - start}}


def _patch_quality(
    clips: Mapping[str, YuvFrame], source: Video, tmp: Path, vmaf_model: str
) -> dict[str, float]:
    """The four metrics on the patch clips, written as Y4M so vqabench's metrics read them."""
    videos = {}
    for name, clip in clips.items():
        videos[name] = write_y4m(
            tmp / f"patch_{name}.y4m",
            clip_frames(clip),
            width=clip.y.shape[2],
            height=clip.y.shape[1],
            fps=source.fps,
            pix_fmt=source.pix_fmt,
        )
    return video_quality(videos["s"], videos["r"], videos["d"], vmaf_model=vmaf_model)


def _row(
    job: PairJob,
    rel: Path,
    pos: tuple[int, int, int],
    patch_q: Mapping[str, float],
    video_q: Mapping[str, float],
    bits: int,
    distorted: Video,
) -> dict[str, str]:
    x, y, t0 = pos
    if job.spec is None:  # off-codec D: R with a defect, not coded
        codec, qp, rate_point, kbps = job.defect, "", f"{job.defect}={job.value:g}", ""
    else:
        codec, rate_point = job.spec.display, f"{job.spec.rate_param}={job.value}"
        qp = str(job.value) if job.spec.rate_param == "qp" else ""
        kbps = _fmt(_kbps(bits, distorted))
    return {
        "file": rel.as_posix(),
        "source": job.source_name,
        "reference": job.reference_label,
        "codec": codec,
        "qp": qp,
        "x": str(x),
        "y": str(y),
        "t0": str(t0),
        **{k: _fmt(patch_q[k]) for k in ("vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd")},
        **{f"video_{k}": _fmt(video_q[k]) for k in ("vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd")},
        "dataset": job.dataset,
        "group": job.group,
        "rate_point": rate_point,
        "kbps": kbps,
        "reference_kbps": _fmt(_kbps(job.reference_bits, distorted)),
        "patch_width": str(job.patch.width),
        "patch_height": str(job.patch.height),
        "patch_frames": str(job.patch.frames),
    }


def _defect_video(
    reference: Video, defect: str, amount: float, rng: np.random.Generator, dst: Path
) -> Video:
    """R plus the change ``defect`` makes to its RGB frames, as R's format.

    The defect works on RGB in [0, 1] (R's own matrix and range, nearest chroma up, 2x2
    mean down), and the RGB round trip alone is not exact: a coded R holds YUV outside the
    RGB gamut, which RGB clips (on ``mini`` up to 5 % of luma samples, by up to 13 code
    values). So D is R plus the difference of the two round trips, with and without the
    defect: a defect that changes nothing (gain 1) gives R's bytes back, and the gamut clip
    of R itself is not part of D.
    """
    from vqabench.datasets.builtin import apply_defect
    from vqabench.io.video import YuvFrame, read_frames, rgb_to_yuv, yuv_to_rgb

    hi = (1 << reference.bit_depth) - 1
    dtype = np.uint16 if reference.bit_depth > 8 else np.uint8
    colour = {"matrix": reference.color_matrix, "color_range": reference.color_range}

    def frames() -> Iterable[YuvFrame]:
        for frame in read_frames(reference):
            rgb = yuv_to_rgb(frame, bit_depth=reference.bit_depth, **colour)
            (changed,) = apply_defect([rgb], defect, amount, rng)
            a, b = (rgb_to_yuv(x, pix_fmt=reference.pix_fmt, **colour) for x in (rgb, changed))
            yield YuvFrame(
                *(
                    np.clip(
                        p.astype(np.int64) + q.astype(np.int64) - o.astype(np.int64), 0, hi
                    ).astype(dtype)
                    for p, o, q in zip(frame, a, b, strict=True)
                )
            )

    return write_y4m(
        dst,
        frames(),
        width=reference.width,
        height=reference.height,
        fps=reference.fps,
        pix_fmt=reference.pix_fmt,
        **colour,
    )


def _distort(job: PairJob, reference: Video, tmp: Path) -> tuple[Video, int]:
    """D and its bits: R transcoded by ``job.spec``, or R with ``job.defect`` (0 bits)."""
    if job.spec is None:
        rng = unit_rng(job.seed, job.uid + "/defect")  # not the positions' stream
        return _defect_video(reference, job.defect, float(job.value), rng, tmp / "d.y4m"), 0
    enc = transcode(reference, job.spec, job.value, tmp)
    if enc.decoded is None:  # pragma: no cover - run_codec always decodes
        raise DatasetError(f"{job.uid}: the transcode produced no decoded video")
    return enc.decoded, enc.bits


def _run_unit(job: PairJob) -> dict:
    """Transcode R (or apply the defect), measure, cut the patches and write them (each
    atomically)."""
    timings = {"encode_s": 0.0, "vmaf_s": 0.0, "crop_s": 0.0}
    reference = open_video(job.reference_path)
    source = job.source
    work = job.out_dir / "work" / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="unit-", dir=work) as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        distorted, bits = _distort(job, reference, tmp)
        timings["encode_s"] += time.perf_counter() - t
        t = time.perf_counter()
        video_q = video_quality(source, reference, distorted, vmaf_model=job.vmaf_model)
        timings["vmaf_s"] += time.perf_counter() - t
        whole = (job.patch.width, job.patch.height, job.patch.frames) == (
            source.width,
            source.height,
            source.frames,
        )
        rng = unit_rng(job.seed, job.uid)
        rows = []
        for k, (x, y, t0) in enumerate(sample_positions(rng, source, job.patch, job.count)):
            t = time.perf_counter()
            clips = {
                name: crop_clip(video, x, y, t0, job.patch)
                for name, video in (("s", source), ("r", reference), ("d", distorted))
            }
            rel = Path("patches") / f"{job.uid}_p{k}.npz"
            buf = io.BytesIO()
            np.savez(
                buf,
                reference=clip_to_rgb(clips["r"], bit_depth=reference.bit_depth),
                distorted=clip_to_rgb(clips["d"], bit_depth=distorted.bit_depth),
            )
            atomic_write_bytes(job.out_dir / rel, buf.getvalue())
            timings["crop_s"] += time.perf_counter() - t
            t = time.perf_counter()
            patch_q = video_q if whole else _patch_quality(clips, source, tmp, job.vmaf_model)
            timings["vmaf_s"] += time.perf_counter() - t
            rows.append(_row(job, rel, (x, y, t0), patch_q, video_q, bits, distorted))
        if job.keep_videos:
            kept = job.out_dir / "videos" / f"{job.uid}.y4m"
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(distorted.path, kept)
    return {"rows": rows, "timings": timings}


def execute_pair_job(job: PairJob) -> PairOutcome:
    """Run one make-pairs job; never raises (the error comes back in the outcome)."""
    try:
        record = _run_reference(job) if job.kind == "reference" else _run_unit(job)
        return PairOutcome(job.key, record)
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        return PairOutcome(job.key, error=f"{type(exc).__name__}: {exc}{where}")


# --- planning ---------------------------------------------------------------------------


def _options(
    sequences: Seq[Sequence],
    patch: PatchSize,
    count: int,
    seed: int,
    reference: ReferenceSpec,
    transcodes: Seq[CodecSpec],
    vmaf_model: str,
    defects: Seq[DefectSpec] = (),
) -> dict:
    ladder = [
        {
            "name": s.name,
            "rate_param": s.rate_param,
            "values": list(s.values),
            "options": dict(s.options),
            "spec": create_codec(s).spec,
        }
        for s in transcodes
    ]
    ref = reference.codec
    # no "defects" key without defects: folders made before they existed keep their keys
    extra = (
        {"defects": [{"name": d.name, "amounts": list(d.amounts)} for d in defects]}
        if defects
        else {}
    )
    return {
        **extra,
        "format": FORMAT_VERSION,
        "sources": {s.name: content_hash(s.source.path) for s in sequences},
        "patch": patch.label,
        "patches_per_video": count,
        "seed": seed,
        "reference": {
            "name": ref.name,
            "rate_param": ref.rate_param,
            "values": list(ref.values),
            "options": dict(ref.options),
            "groups": list(reference.groups),
            "spec": create_codec(ref).spec,
        },
        "transcodes": ladder,
        "vmaf_model": vmaf_model,
    }


def _options_text(options: dict) -> str:
    return json.dumps(options, indent=1, sort_keys=True, default=str)


def _check_options(out_dir: Path, options: dict) -> str:
    """Write ``pairs.json``, or check that the one there holds the same options."""
    path = out_dir / "pairs.json"
    text = _options_text(options)
    if path.is_file():
        if path.read_text() != text:
            old = json.loads(path.read_text())
            diff = sorted(
                k
                for k in set(old) | set(options)
                if json.dumps(old.get(k), sort_keys=True, default=str)
                != json.dumps(options.get(k), sort_keys=True, default=str)
            )
            raise ConfigError(
                f"out={str(out_dir)!r} holds pairs made with other options "
                f"(differ: {', '.join(diff)}); use another --out or the same "
                "options to resume"
            )
        return text
    atomic_write_bytes(path, text.encode())
    return text


def _plan(
    sequences: Seq[Sequence],
    out: Path,
    names: list[str],
    text: str,
    patch: PatchSize,
    count: int,
    seed: int,
    reference: ReferenceSpec,
    transcodes: Seq[CodecSpec],
    vmaf_model: str,
    keep_videos: bool,
    defects: Seq[DefectSpec] = (),
) -> tuple[list[PairJob], list[PairJob]]:
    """Reference jobs and unit jobs, in the manifest's order."""
    ref_spec = reference.codec
    groups = dict(zip(ref_spec.values, reference.groups, strict=True))
    ref_root = out / "videos" if keep_videos else out / "work" / "references"
    refs, units = [], []
    for seq, safe in zip(sequences, names, strict=True):
        for value in ref_spec.values:
            ref_label = f"{ref_spec.display}:{ref_spec.rate_param}={value}"
            ref_dir = f"{safe}/{safe_name(ref_spec.display)}_{ref_spec.rate_param}{value}"
            dst = ref_root / f"{ref_dir}.y4m"
            refs.append(
                PairJob(
                    _key(text, "reference", ref_dir),
                    "reference",
                    ref_dir,
                    seq.source,
                    ref_spec,
                    value,
                    dst,
                    out,
                )
            )
            common = dict(
                source_name=seq.name,
                dataset=seq.metadata.get("dataset", ""),
                group=groups[value],
                reference_label=ref_label,
                patch=patch,
                count=count,
                seed=seed,
                vmaf_model=vmaf_model,
                keep_videos=keep_videos,
            )
            for spec in transcodes:
                for tv in spec.values:
                    uid = f"{ref_dir}/{safe_name(spec.display)}_{spec.rate_param}{tv}"
                    units.append(
                        PairJob(
                            _key(text, "unit", uid),
                            "unit",
                            uid,
                            seq.source,
                            spec,
                            tv,
                            dst,
                            out,
                            **common,
                        )
                    )  # type: ignore[arg-type]
            for defect in defects:
                for amount in defect.amounts:
                    uid = f"{ref_dir}/{defect.name}_{amount:g}"
                    units.append(
                        PairJob(
                            _key(text, "unit", uid),
                            "unit",
                            uid,
                            seq.source,
                            None,
                            amount,
                            dst,
                            out,
                            defect=defect.name,
                            **common,
                        )
                    )  # type: ignore[arg-type]
    return refs, units


def _reference_done(job: PairJob, store: Store) -> dict | None:
    record = store.pair_job(job.key)
    return record if record is not None and job.reference_path.is_file() else None


def _unit_done(job: PairJob, store: Store) -> dict | None:
    record = store.pair_job(job.key)
    if record is None or not all((job.out_dir / r["file"]).is_file() for r in record["rows"]):
        return None
    return record


def _remove_stale_temporaries(out: Path) -> None:
    """What a killed make-pairs left: scratch of running units, half-made references and
    half-written patches (the store never refers to any of them)."""
    shutil.rmtree(out / "work" / "tmp", ignore_errors=True)
    for sub in ("work", "videos", "patches"):
        if (out / sub).is_dir():
            for path in [*(out / sub).rglob(".ref-*"), *(out / sub).rglob(f"{TMP_PREFIX}*")]:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


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


# --- the command ------------------------------------------------------------------------


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
    executor: PairExecutor | None = None,
    progress: Callable[[int, int], None] | None = None,
    defects: Seq[DefectSpec] = (),
) -> PairsResult:
    """Generate (R, D) patch pairs labelled with VMAF(S, D) (see the module docstring).

    Args:
        sequences: the pristine sources S (from :func:`vqabench.datasets.load`).
        out_dir: output folder (created; resumed when it holds a finished part).
        patch: patch size (default 256x256x12; 64x64x12 is practical on CPU).
        patches_per_video: patch pairs cut from each transcoded video.
        seed: seeds the patch positions (same seed, same manifest).
        jobs: worker processes (1 = in this process; with Dask, local cluster workers).
        reference: stage-1 ladder (default x264 QP 30/37/42, groups High/Medium/Low).
        transcodes: stage-2 ladders (default x264 QP 32-42/2, aom-av1 and vp9 QP 38-63/5).
        vmaf_model: VMAF model of every VMAF value.
        keep_videos: keep the decoded references R and transcodes D under ``videos/``
            (same relative names as the patches), e.g. to check labels independently.
        executor: ``executor(jobs, on_done, n_workers, fn=...)``, e.g. from
            :func:`vqabench.runner.executors.make_executor`; default local processes.
        progress: called as ``progress(done, total)`` (jobs: references + units).
        defects: off-codec D per reference R besides the transcodes (module docstring),
            e.g. ``[parse_defect_spec("noise=4,8,16")]``.

    Returns:
        A :class:`PairsResult`.

    Raises:
        ConfigError: bad option, a patch larger than a video, an output folder made with
            other options, or one in use by another process.
        DatasetError: no sequences, duplicate sequence names, or jobs that failed (the
            message gives the first error; finished jobs are kept: run again to resume).
    """
    from vqabench.runner.executors import local_executor
    from vqabench.runner.rundir import exclusive

    started = time.perf_counter()
    out = Path(out_dir).absolute()
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
    names = [safe_name(s.name) for s in sequences]
    if len(set(names)) != len(names):
        raise DatasetError(f"sequence names must be unique (as file names): {names}")
    for seq in sequences:
        check_patch_fits(seq.source, patch, seq.name)
    defects = tuple(defects)
    names_seen = [d.name for d in defects]
    if len(set(names_seen)) != len(names_seen):
        raise invalid(
            "defects",
            ",".join(names_seen),
            "each defect once (list its amounts in one spec, e.g. noise=4,8,16)",
        )
    options = _options(
        sequences,
        patch,
        int(patches_per_video),
        int(seed),
        reference,
        transcodes,
        vmaf_model,
        defects,
    )
    out.mkdir(parents=True, exist_ok=True)
    execute = executor or local_executor
    with exclusive(out):
        text = _check_options(out, options)
        _remove_stale_temporaries(out)
        refs, units = _plan(
            sequences,
            out,
            names,
            text,
            patch,
            int(patches_per_video),
            int(seed),
            reference,
            transcodes,
            vmaf_model,
            keep_videos,
            defects,
        )
        with Store(out / "store.sqlite") as store:
            result = _run_stages(refs, units, store, execute, int(jobs), progress)
            rows = [row for u in units for row in result["records"][u.key]["rows"]]
    n = _write_manifest(out / "manifest.csv", rows)
    shutil.rmtree(out / "work", ignore_errors=True)
    return PairsResult(
        out,
        out / "manifest.csv",
        n,
        len(units),
        result["computed"],
        len(units) - result["computed"],
        result["made"],
        result["timings"],
        time.perf_counter() - started,
    )


def _run_stages(
    refs: list[PairJob],
    units: list[PairJob],
    store: Store,
    execute: PairExecutor,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> dict:
    """Run the references the pending units need, then the units; commit each as it ends."""
    records = {u.key: r for u in units if (r := _unit_done(u, store)) is not None}
    todo = [u for u in units if u.key not in records]
    needed = {u.reference_path for u in todo}
    ref_todo = [r for r in refs if r.reference_path in needed and _reference_done(r, store) is None]
    timings = {"reference_s": 0.0, "encode_s": 0.0, "vmaf_s": 0.0, "crop_s": 0.0}
    state = {
        "done": len(units) - len(todo) + len(refs) - len(ref_todo),
        "total": len(units) + len(refs),
    }
    errors: list[str] = []

    def on_done(job: PairJob, outcome: PairOutcome) -> None:
        if outcome.error is not None:
            errors.append(f"{job.kind} {job.uid}: {outcome.error}")
        else:
            store.commit_pair_job(job.key, job.kind, job.uid, outcome.record)
            for key, value in outcome.record["timings"].items():
                timings[key] += value
            if job.kind == "unit":
                records[job.key] = outcome.record
            state["done"] += 1
        if progress:
            progress(state["done"], state["total"])

    if progress:
        progress(state["done"], state["total"])
    execute(ref_todo, on_done, jobs, fn=execute_pair_job)
    if not errors:
        bits = {r.reference_path: (store.pair_job(r.key) or {}).get("bits", 0) for r in refs}
        todo = [replace(u, reference_bits=bits[u.reference_path]) for u in todo]
        execute(todo, on_done, jobs, fn=execute_pair_job)
    if errors:
        raise DatasetError(
            f"make-pairs: {len(errors)} job(s) failed; finished jobs are kept, "
            f"run the same command to resume; first: {errors[0]}"
        )
    return {"records": records, "computed": len(todo), "made": len(ref_todo), "timings": timings}


def pairs_status(out_dir: str | Path) -> dict[str, int]:
    """Jobs of a make-pairs folder: ``{"total", "done", "pending"}``, from ``pairs.json`` and
    the store (read-only; safe while make-pairs runs).

    Raises:
        ConfigError: ``out_dir`` holds no ``pairs.json``.
    """
    out = Path(out_dir)
    path = out / "pairs.json"
    if not path.is_file():
        raise invalid(
            "run_dir", str(out), "a run directory (config.toml) or a make-pairs folder (pairs.json)"
        )
    options = json.loads(path.read_text())
    n_refs = len(options["sources"]) * len(options["reference"]["values"])
    per_ref = sum(len(t["values"]) for t in options["transcodes"]) + sum(
        len(d["amounts"]) for d in options.get("defects", [])
    )
    total = n_refs * (1 + per_ref)
    done = 0
    if (out / "store.sqlite").is_file():
        with Store(out / "store.sqlite", readonly=True) as store:
            done = sum(store.pair_counts().values())
    return {"total": total, "done": min(done, total), "pending": max(total - done, 0)}
