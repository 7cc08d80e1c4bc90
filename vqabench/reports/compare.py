"""Visual comparison figure: the same crop of the source and of two codecs' decoded frames at
about equal rate, as the seed papers show (``vqabench report RUN --compare A,B``).

Choices, all deterministic:

- **Rate points**: of every pair (a point of codec A, a point of codec B) on the sequence
  whose bpp are within :data:`SAME_RATE` (10 %) of each other, the one at the lowest rate
  (where coding artefacts are visible; the larger bpp of the pair decides); when no pair is
  that close, the pair whose bpp are closest in ratio (smallest ``|ln(bpp_A / bpp_B)|``;
  ties: the lower rate of A first). Quality is measured against the source
  (:func:`pick_points`).
- **Sequence**: the one asked for, else the first of the run (results.csv order) that both
  codecs coded from the source.
- **Frame**: the one asked for, else the middle frame (``frames // 2``, an inter frame in the
  usual GOPs).
- **Crop**: a square of side ``min(256, H // 2, W // 2)`` rounded down to a multiple of 8, on
  the 8-pixel grid, where the source's luma is most textured: the largest mean of the 8x8
  block variances inside it (:func:`texture_crop`; ties: the first in raster order).

The panels are the whole source frame with the crop outlined, then the crop of the source and
of both codecs, enlarged without interpolation (every coded pixel visible), titled with the
rate point, its bpp and its quality (PSNR-Y and VMAF when the run measured them: means over
the sequence, as in results.csv). Frames come from the run's bitstreams, decoded again by
:func:`vqabench.runner.comparison.compared_frames` (the report layer reads no sources).

Example:
    >>> request = compare_request("x264,svt-av1", sequence="Bikes", frame=None)
    >>> pick = pick_points(results, request)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vqabench.errors import invalid
from vqabench.io.video import Video, YuvFrame, yuv_to_rgb

__all__ = [
    "SAME_RATE",
    "CompareRequest",
    "ComparePoint",
    "ComparePick",
    "ComparedFrames",
    "compare_request",
    "pick_points",
    "crop_side",
    "texture_crop",
    "compared",
    "caption",
    "compare_figure",
    "QUALITY_METRICS",
]

#: Quality shown under each codec's crop, when measured: (metric id, label, unit).
QUALITY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("psnr_y", "PSNR-Y", " dB"),
    ("vmaf", "VMAF", ""),
)
_BLOCK = 8  # block size (pixels) of the texture measure and the crop grid
_MAX_SIDE = 256


#: Two rate points count as "about equal rate" when their bpp differ by at most this
#: fraction (of the smaller).
SAME_RATE = 0.10


@dataclass(frozen=True)
class CompareRequest:
    """What ``--compare A,B [--sequence NAME] [--frame N]`` asks for."""

    codecs: tuple[str, str]
    sequence: str | None = None
    frame: int | None = None


def compare_request(
    codecs: str | None, *, sequence: str | None = None, frame: int | None = None
) -> CompareRequest | None:
    """Parse ``--compare`` (two codecs, comma-separated) with ``--sequence``/``--frame``.

    Returns:
        None when nothing is asked.

    Raises:
        ConfigError: not two distinct codecs; ``sequence`` or ``frame`` without codecs; a
            negative frame.
    """
    if codecs is None or not codecs.strip():
        if sequence is not None or frame is not None:
            given = "sequence" if sequence is not None else "frame"
            raise invalid(
                given,
                sequence if sequence is not None else frame,
                "only with --compare A,B (the codecs to compare)",
            )
        return None
    names = [c.strip() for c in codecs.split(",") if c.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise invalid("compare", codecs, "two different codecs of the run, e.g. x264,svt-av1")
    if frame is not None and (isinstance(frame, bool) or frame < 0):
        raise invalid("frame", frame, "a frame index >= 0")
    return CompareRequest((names[0], names[1]), sequence, frame)


@dataclass(frozen=True)
class ComparePoint:
    """One codec's rate point in the comparison, with what results.csv says of it."""

    codec: str
    rate_point: str
    bpp: float
    kbps: float
    bitstream: str
    quality: dict[str, float] = field(default_factory=dict)  # metric id -> sequence mean

    @property
    def label(self) -> str:
        return f"{self.codec} {self.rate_point}"

    def facts(self) -> list[str]:
        """``0.0512 bpp``, ``PSNR-Y 33.10 dB``, ``VMAF 80.1`` (what was measured)."""
        out = [f"{self.bpp:.4f} bpp"]
        for metric, name, unit in QUALITY_METRICS:
            if metric in self.quality:
                digits = 2 if metric == "psnr_y" else 1
                out.append(f"{name} {self.quality[metric]:.{digits}f}{unit}")
        return out


@dataclass(frozen=True)
class ComparePick:
    """The sequence and the two rate points of a comparison (:func:`pick_points`)."""

    sequence: str
    points: tuple[ComparePoint, ComparePoint]


def pick_points(results: pd.DataFrame, request: CompareRequest) -> ComparePick:
    """The sequence and the pair of rate points compared: the lowest-rate pair within
    :data:`SAME_RATE` in bpp, else the closest pair (module docstring).

    Args:
        results: the run's tidy results (rows with ``reference == "source"`` and quality
            against the source are used: the codecs coded the source itself).
        request: the codecs, and the sequence when given.

    Raises:
        ConfigError: a codec not in the run, a sequence not in the run or not coded by both,
            no points coded from the source.
    """
    rows = results[
        (results["reference"].astype(str) == "source") & (results["anchor"].astype(str) == "source")
    ]
    present = list(dict.fromkeys(results["codec"].astype(str)))
    for codec in request.codecs:
        if codec not in present:
            raise invalid(
                "compare", ",".join(request.codecs), f"two codecs of the run ({', '.join(present)})"
            )
    both = [
        s
        for s in dict.fromkeys(rows["sequence"].astype(str))
        if all(((rows["sequence"] == s) & (rows["codec"] == c)).any() for c in request.codecs)
    ]
    if not both:
        raise invalid(
            "compare",
            ",".join(request.codecs),
            "codecs that both coded a "
            "sequence from the source (a UGC run's transcodes are not compared)",
        )
    sequence = request.sequence if request.sequence is not None else both[0]
    if sequence not in both:
        raise invalid("sequence", sequence, f"a sequence both codecs coded ({', '.join(both)})")
    seq_rows = rows[rows["sequence"] == sequence]
    ladders = [_points(seq_rows[seq_rows["codec"] == c], c) for c in request.codecs]
    pairs = [(abs(math.log(a.bpp / b.bpp)), a, b) for a in ladders[0] for b in ladders[1]]
    close = [p for p in pairs if p[0] <= math.log(1 + SAME_RATE)]
    best: tuple[ComparePoint, ComparePoint] | None = None
    if close:
        _, a, b = min(close, key=lambda p: (max(p[1].bpp, p[2].bpp), p[0]))
        best = (a, b)
    elif pairs:
        _, a, b = min(pairs, key=lambda p: p[0])
        best = (a, b)
    if best is None:
        raise invalid("compare", ",".join(request.codecs), f"codecs with rates > 0 on {sequence!r}")
    return ComparePick(sequence, best)


def _points(rows: pd.DataFrame, codec: str) -> list[ComparePoint]:
    """The rate points of one codec on one sequence, by bpp (bpp > 0 only)."""
    out = []
    for rp, part in rows.groupby("rate_point", sort=False):
        first = part.iloc[0]
        if not float(first["bpp"]) > 0:
            continue
        quality = {str(m): float(v) for m, v in zip(part["metric"], part["value"], strict=True)}
        out.append(
            ComparePoint(
                codec,
                str(rp),
                float(first["bpp"]),
                float(first["kbps"]),
                str(first.get("bitstream", "")),
                quality,
            )
        )
    return sorted(out, key=lambda p: p.bpp)


def crop_side(height: int, width: int) -> int:
    """Side (pixels) of the square crop: ``min(256, H // 2, W // 2)`` rounded down to a
    multiple of 8, at least 8 (the whole frame when it is smaller)."""
    side = min(_MAX_SIDE, height // 2, width // 2) // _BLOCK * _BLOCK
    return max(side, min(_BLOCK, height, width))


def texture_crop(luma: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner ``(top, left)`` of the ``side`` x ``side`` window (on the 8-pixel grid)
    whose mean 8x8-block variance of ``luma`` is the largest; ties: the first in raster
    order. A ``side`` that is not a multiple of 8 is covered by the blocks it holds whole.

    Args:
        luma: 2-D array (any numeric type).
        side: window side in pixels, at most the frame's smaller side.
    """
    h, w = luma.shape
    if not 1 <= side <= min(h, w):
        raise invalid("side", side, f"1..{min(h, w)} (the frame is {w}x{h})")
    k = max(side // _BLOCK, 1)
    hb, wb = h // _BLOCK, w // _BLOCK
    if hb < k or wb < k or side < _BLOCK:
        return 0, 0
    blocks = (
        luma[: hb * _BLOCK, : wb * _BLOCK]
        .astype(np.float64)
        .reshape(hb, _BLOCK, wb, _BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(hb, wb, -1)
    )
    variance = blocks.var(axis=2)
    total = np.zeros((hb + 1, wb + 1))
    total[1:, 1:] = variance.cumsum(0).cumsum(1)
    sums = total[k:, k:] - total[:-k, k:] - total[k:, :-k] + total[:-k, :-k]
    # exact ties in float sums of equal blocks: round away the summation order's last bits
    i, j = np.unravel_index(int(np.argmax(np.round(sums, 9))), sums.shape)
    return int(i) * _BLOCK, int(j) * _BLOCK


@dataclass(frozen=True)
class ComparedFrames:
    """What the figure shows: the pick, the frame, the crop and the three RGB frames."""

    pick: ComparePick
    frame: int
    frames: int
    crop: tuple[int, int, int]  # top, left, side (pixels)
    source_rgb: np.ndarray  # (H, W, 3) floats in [0, 1]
    decoded_rgb: tuple[np.ndarray, np.ndarray]


def _rgb(frame: YuvFrame, video: Video) -> np.ndarray:
    return yuv_to_rgb(
        frame,
        bit_depth=video.bit_depth,
        matrix=video.color_matrix or "bt709",
        color_range=video.color_range or "limited",
    )


def compared(
    pick: ComparePick,
    *,
    frame: int,
    source: tuple[Video, YuvFrame],
    decoded: Sequence[tuple[Video, YuvFrame]],
) -> ComparedFrames:
    """Turn the frames read from the source and the two decoded videos into what
    :func:`compare_figure` draws: RGB by each video's own matrix and range, and the crop
    chosen on the source's luma (:func:`texture_crop`).

    Raises:
        ConfigError: a decoded frame whose size differs from the source's.
    """
    video, src = source
    for (dec_video, _), point in zip(decoded, pick.points, strict=True):
        if (dec_video.width, dec_video.height) != (video.width, video.height):
            raise invalid(
                "decoded size",
                f"{dec_video.width}x{dec_video.height}",
                f"the source's {video.width}x{video.height} ({point.label})",
            )
    side = crop_side(video.height, video.width)
    top, left = texture_crop(src.y, side)
    return ComparedFrames(
        pick,
        frame,
        video.frames,
        (top, left, side),
        _rgb(src, video),
        tuple(_rgb(f, v) for v, f in decoded),
    )  # type: ignore[arg-type]


def caption(item: ComparedFrames) -> str:
    """Figure caption: sequence, frame, crop, both points with bpp and quality, the rule."""
    a, b = item.pick.points
    top, left, side = item.crop
    ratio = max(a.bpp, b.bpp) / min(a.bpp, b.bpp)
    return (
        f"Visual comparison: {item.pick.sequence}, frame {item.frame} of {item.frames}, "
        f"{side}x{side} crop at x={left}, y={top} (the most textured: largest mean 8x8 "
        f"luma variance); {a.label} ({', '.join(a.facts())}) vs {b.label} "
        f"({', '.join(b.facts())}): the rate points whose bpp are closest (ratio "
        f"{ratio:.3f}); quality = means over the sequence against the source."
    )


def compare_figure(data: pd.DataFrame, *, item: ComparedFrames) -> object:
    """The figure (module docstring); a report figure job's function (``data`` unused)."""
    from matplotlib.patches import Rectangle

    from vqabench.reports import style as _s

    top, left, side = item.crop
    crops = [item.source_rgb, *item.decoded_rgb]
    titles = ["Source"] + [p.label for p in item.pick.points]
    below = [f"frame {item.frame}, {side}x{side} at ({left}, {top})"] + [
        "\n".join(p.facts()) for p in item.pick.points
    ]
    h, w = item.source_rgb.shape[:2]
    panel_in = (_s.PAGE_IN - 0.2) / (3 + w / h)
    with _s.context():
        fig = _s.new_figure(_s.PAGE_IN, panel_in + 0.85)  # a title line, three lines below
        axes = fig.subplots(1, 4, width_ratios=[w / h, 1, 1, 1])
        axes[0].imshow(item.source_rgb, interpolation="antialiased")
        axes[0].add_patch(
            Rectangle(
                (left - 0.5, top - 0.5), side, side, fill=False, edgecolor="#D55E00", linewidth=1.2
            )
        )
        axes[0].set_title(f"{item.pick.sequence}")
        axes[0].set_xlabel(f"{w}x{h}, the crop outlined")
        for ax, rgb, title, text in zip(axes[1:], crops, titles, below, strict=True):
            ax.imshow(rgb[top : top + side, left : left + side], interpolation="nearest")
            ax.set_title(title)
            ax.set_xlabel(text)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    return fig
