"""Co-located (R, D) patch pairs labelled with VMAF(S, D): what they are and how to read them.

This module describes the data only: the patch geometry (:class:`PatchSize`,
:func:`sample_positions`, :func:`crop_clip`, :func:`clip_to_rgb`), the manifest columns and
reader, and :func:`split_by_source`. The pairs are *made* by the runner
(:func:`vqabench.runner.pairs.make_pairs`, ``vqabench make-pairs``), as jobs in the same
content-addressed store and executors as ``vqabench run``.

For every source S, reference rate point (stage 1, S -> R) and transcode rate point
(stage 2, R -> D; see :mod:`vqabench.runner.ugc`) one *unit* draws ``patches_per_video``
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

Example:
    >>> rows = read_manifest(Path("pairs"))
    >>> splits = split_by_source(rows, fractions=(0.7, 0.15, 0.15), seed=0)
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Seq
from pathlib import Path

import numpy as np

from vqabench.errors import DatasetError, invalid
from vqabench.io.names import file_in
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, read_all, yuv_to_rgb
from vqabench.models.patches import PatchSize, split_sources

__all__ = [
    "MANIFEST_COLUMNS",
    "PatchSize",
    "sample_positions",
    "check_patch_fits",
    "unit_rng",
    "crop_clip",
    "clip_frames",
    "clip_to_rgb",
    "read_manifest",
    "split_by_source",
]

MANIFEST_COLUMNS = (
    "file",
    "source",
    "reference",
    "codec",
    "qp",
    "x",
    "y",
    "t0",
    "vmaf_sd",
    "vmaf_rd",
    "psnr_sd",
    "psnr_rd",
    "video_vmaf_sd",
    "video_vmaf_rd",
    "video_psnr_sd",
    "video_psnr_rd",
    "dataset",
    "group",
    "rate_point",
    "kbps",
    "reference_kbps",
    "patch_width",
    "patch_height",
    "patch_frames",
)


# --- pure helpers ----------------------------------------------------------------------


def _subsampling(video: Video) -> tuple[int, int]:
    return PIX_FMTS[video.pix_fmt][:2]


def unit_rng(seed: int, uid: str) -> np.random.Generator:
    """The generator of one unit's patch positions: a function of ``(seed, uid)`` only."""
    digest = int.from_bytes(hashlib.sha256(uid.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest])


def sample_positions(
    rng: np.random.Generator, video: Video, patch: PatchSize, count: int
) -> list[tuple[int, int, int]]:
    """``count`` random top-left corners and first frames ``(x, y, t0)`` of ``patch``.

    ``x`` and ``y`` are multiples of the chroma subsampling (even for 4:2:0), so a crop cuts
    the chroma planes at the same place as luma.

    Raises:
        ConfigError: the patch does not fit in the video.
    """
    check_patch_fits(video, patch, video.path.name)
    sx, sy = _subsampling(video)
    out = []
    for _ in range(count):
        x = sx * int(rng.integers(0, (video.width - patch.width) // sx + 1))
        y = sy * int(rng.integers(0, (video.height - patch.height) // sy + 1))
        t0 = int(rng.integers(0, video.frames - patch.frames + 1))
        out.append((x, y, t0))
    return out


def check_patch_fits(video: Video, patch: PatchSize, name: str) -> None:
    """Refuse a patch larger than ``video`` or not aligned to its chroma subsampling.

    Raises:
        ConfigError: the patch does not fit (the message names the video ``name``).
    """
    if patch.width > video.width or patch.height > video.height or patch.frames > video.frames:
        raise invalid(
            "patch",
            patch.label,
            f"a patch no larger than the video {name!r} "
            f"({video.width}x{video.height}x{video.frames}); pass a smaller --patch "
            "(e.g. 64x64x12) or a larger --size/--frames",
        )
    sx, sy = _subsampling(video)
    if patch.width % sx or patch.height % sy:
        raise invalid(
            "patch",
            patch.label,
            f"width a multiple of {sx} and height a multiple of {sy} for {video.pix_fmt}",
        )


def crop_clip(video: Video, x: int, y: int, t0: int, patch: PatchSize) -> YuvFrame:
    """Planes (T, h, w) of the patch at ``(x, y, t0)`` (chroma planes subsampled)."""
    clip = read_all(video, start=t0, count=patch.frames)
    sx, sy = _subsampling(video)
    return YuvFrame(
        clip.y[:, y : y + patch.height, x : x + patch.width],
        clip.u[:, y // sy : (y + patch.height) // sy, x // sx : (x + patch.width) // sx],
        clip.v[:, y // sy : (y + patch.height) // sy, x // sx : (x + patch.width) // sx],
    )


def clip_frames(clip: YuvFrame) -> Iterable[YuvFrame]:
    """The frames of a clip of planes (T, h, w), one :class:`YuvFrame` each."""
    return (YuvFrame(clip.y[t], clip.u[t], clip.v[t]) for t in range(clip.y.shape[0]))


def clip_to_rgb(clip: YuvFrame, *, bit_depth: int = 8) -> np.ndarray:
    """uint8 RGB (T, H, W, 3) of a YUV clip (BT.709, limited range, nearest chroma)."""
    rgb = np.stack([yuv_to_rgb(f, bit_depth=bit_depth, matrix="bt709") for f in clip_frames(clip)])
    return np.rint(rgb * 255.0).astype(np.uint8)


# --- manifests and splits ----------------------------------------------------------------


def read_manifest(manifest: str | Path) -> list[dict[str, str]]:
    """Rows of a pairs manifest (a ``manifest.csv`` or the folder holding it).

    Raises:
        DatasetError: no manifest or no ``source`` column.
    """
    path = file_in(
        manifest, "manifest.csv", what="manifest=", hint="make one with `vqabench make-pairs`"
    )
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
    training keeps at least one; training takes the rest
    (:func:`vqabench.models.patches.split_sources`, the one source split). The same seed
    gives the same split. For training, :func:`vqabench.models.ranking.train` makes its own
    train/val split with :func:`vqabench.models.ranking.split_by_source` (the same split)
    and samples single-/cross-source pairs with :func:`vqabench.models.ranking.sample_pairs`;
    this helper holds out a test set of sources beforehand.

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
        raise invalid(
            "fractions", fractions, "three non-negative numbers (train, val, test) summing to 1"
        )
    rows = (
        read_manifest(manifest) if isinstance(manifest, str | Path) else [dict(r) for r in manifest]
    )
    _, val, test = split_sources((r["source"] for r in rows), fr, seed)
    parts: dict[str, list[dict[str, str]]] = {"train": [], "val": [], "test": []}
    for r in rows:
        key = "val" if r["source"] in val else "test" if r["source"] in test else "train"
        parts[key].append(r)
    return parts
