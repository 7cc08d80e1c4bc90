"""PSNR per plane as pure numpy functions, and its per-frame accumulator.

PSNR uses the mean squared error over all samples of a plane, per frame; the sequence value
is the mean of the per-frame values (JVET/AOM common test condition practice). The peak
sample value follows one of two conventions:

- ``full`` (default): ``2**b - 1`` (255 at 8 bits, 1023 at 10 bits);
- ``hm``: ``255 << (b - 8)`` (255 at 8 bits, 1020 at 10 bits), as HM/VTM print it.

A frame identical to its reference has infinite PSNR; it is capped at ``max_db`` (default
100 dB) so that averages and BD-rate stay finite (HM prints 999.99 in that case; any cap
above the codec's range works). No value is above the cap, and none is below 0 dB:
samples in ``0 .. 2**b - 1`` cannot differ by more than that, so an MSE above its square
(a 10-bit file holding 8-bit or MSB-aligned data) raises :class:`MetricError` in
:func:`psnr_compute` instead of giving a negative PSNR that would feed a BD-rate.

The accumulator follows the torchmetrics pattern: :func:`psnr_update` folds one frame pair
into a :class:`PsnrState` (the three planes' MSEs per frame), :func:`psnr_compute` turns the
state into the pooled value and the per-frame values.

Example:
    >>> state = PsnrState()
    >>> for ref, dis in zip(read_frames(reference), read_frames(distorted)):
    ...     state = psnr_update(state, ref, dis, fmt)
    >>> value, per_frame = psnr_compute(state, fmt, weights=(6, 1, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.opencv import opencv
from vqabench.metrics.functional.pooling import pool

__all__ = [
    "mse",
    "peak_value",
    "psnr_from_mse",
    "plane_psnr",
    "weighted_psnr",
    "plane_mses",
    "PsnrState",
    "psnr_update",
    "psnr_fold",
    "psnr_compute",
    "DEFAULT_MAX_DB",
    "PEAKS",
    "Peak",
]

DEFAULT_MAX_DB = 100.0
Peak = Literal["full", "hm"]
PEAKS = ("full", "hm")


_EXACT_BELOW = float(2**48)  # OpenCV's double result is within a few ulps: < 1/16 here


def mse(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Mean squared error of two equally shaped sample arrays.

    Integer samples give the exact sum of squared differences (an integer), so the result
    does not depend on how it is summed: OpenCV's ``norm(NORM_L2SQR)`` (no temporary
    arrays; its double result is rounded to that integer while below 2**48), else float64
    numpy, whose partial sums stay exact below 2**53.
    """
    if reference.shape != distorted.shape:
        raise invalid("distorted.shape", distorted.shape, f"the reference shape {reference.shape}")
    if (
        reference.dtype == distorted.dtype
        and reference.dtype in (np.uint8, np.uint16)
        and reference.size
    ):
        sse = opencv().norm(reference, distorted, opencv().NORM_L2SQR)
        if sse < _EXACT_BELOW:
            return float(round(sse)) / reference.size
    diff = (reference.astype(np.float64) - distorted.astype(np.float64)).ravel()
    return float(np.dot(diff, diff)) / diff.size


def peak_value(bit_depth: int, peak: Peak = "full") -> float:
    """The peak sample value at ``bit_depth``: ``2**b - 1`` (``full``) or ``255 << (b - 8)``
    (``hm``)."""
    if peak not in PEAKS:
        raise invalid("peak", peak, " | ".join(PEAKS))
    if not 8 <= int(bit_depth) <= 16:
        raise invalid("bit_depth", bit_depth, "an integer in 8..16")
    return float((1 << bit_depth) - 1) if peak == "full" else float(255 << (bit_depth - 8))


def psnr_from_mse(
    mse_value: float, *, bit_depth: int, max_db: float = DEFAULT_MAX_DB, peak: Peak = "full"
) -> float:
    """PSNR in dB for a mean squared error at ``bit_depth``, capped at ``max_db``."""
    top = peak_value(bit_depth, peak)
    if mse_value <= 0.0:
        return max_db
    return min(max_db, 10.0 * np.log10(top * top / mse_value))


def plane_psnr(
    reference: np.ndarray,
    distorted: np.ndarray,
    *,
    bit_depth: int | None = None,
    max_db: float = DEFAULT_MAX_DB,
    peak: Peak = "full",
) -> float:
    """PSNR in dB of one plane (reference first, distorted second).

    Args:
        bit_depth: bits per sample; may be left out only for ``uint8`` samples (8). Samples
            of wider types need it: a 10-bit plane in ``uint16`` must not be scored
            against a peak of 255 or 65535 by accident.
        max_db: cap for identical planes.
        peak: ``full`` (``2**b - 1``) or ``hm`` (``255 << (b - 8)``).

    Raises:
        ConfigError: no bit depth for non-``uint8`` samples, or samples above its peak.
    """
    if bit_depth is None:
        if reference.dtype != np.uint8 or distorted.dtype != np.uint8:
            raise invalid(
                "bit_depth",
                None,
                f"the bits per sample of these {reference.dtype} "
                "samples (e.g. bit_depth=10); only uint8 samples imply 8",
            )
        bit_depth = 8
    top = (1 << int(bit_depth)) - 1
    if max(int(reference.max(initial=0)), int(distorted.max(initial=0))) > top:
        raise invalid(
            "bit_depth",
            bit_depth,
            f"a depth whose peak the samples do not exceed (found samples above {top})",
        )
    return psnr_from_mse(
        mse(reference, distorted), bit_depth=int(bit_depth), max_db=max_db, peak=peak
    )


def weighted_psnr(
    psnr_y: float,
    psnr_u: float,
    psnr_v: float,
    weights: tuple[float, float, float] = (6.0, 1.0, 1.0),
) -> float:
    """Weighted YUV PSNR: ``(wY*Y + wU*U + wV*V) / (wY + wU + wV)``.

    6:1:1 is JVET practice; 8:1:1, 14:1:1 and 4:1:1 appear elsewhere.
    """
    wy, wu, wv = weights
    return (wy * psnr_y + wu * psnr_u + wv * psnr_v) / (wy + wu + wv)


def plane_mses(
    reference: tuple[np.ndarray, ...], distorted: tuple[np.ndarray, ...]
) -> tuple[float, float, float]:
    """MSE of the Y, U and V planes of one frame pair (reference first)."""
    y, u, v = (mse(r, d) for r, d in zip(reference, distorted, strict=True))
    return (y, u, v)


@dataclass(frozen=True)
class PsnrState:
    """Running state of the PSNR family: the (Y, U, V) MSEs of every frame so far."""

    mses: tuple[tuple[float, float, float], ...] = ()


def psnr_fold(state: PsnrState, mses: tuple[float, float, float]) -> PsnrState:
    """Fold one frame's plane MSEs (from :func:`plane_mses`) into the state."""
    return PsnrState((*state.mses, mses))


def psnr_update(
    state: PsnrState,
    reference: tuple[np.ndarray, ...],
    distorted: tuple[np.ndarray, ...],
    fmt: FrameFormat,
) -> PsnrState:
    """Fold one frame pair (reference first) of format ``fmt`` into the state."""
    del fmt  # the MSE needs no format; the peak is applied in psnr_compute
    return psnr_fold(state, plane_mses(reference, distorted))


def psnr_compute(
    state: PsnrState,
    fmt: FrameFormat,
    *,
    weights: tuple[float, float, float] = (1.0, 0.0, 0.0),
    max_db: float = DEFAULT_MAX_DB,
    peak: Peak = "full",
) -> tuple[float, tuple[float, ...]]:
    """Pooled value (mean) and per-frame values of a weighted YUV PSNR.

    Args:
        weights: (wY, wU, wV): (1, 0, 0) is PSNR-Y, (0, 1, 0) PSNR-U, (6, 1, 1) JVET's YUV.

    Returns:
        (mean of the per-frame values, per-frame values in dB).

    Raises:
        MetricError: no frames, or a plane MSE above ``(2**b - 1)**2`` (samples out of
            range: the PSNR would be negative).
    """
    top = (1 << fmt.bit_depth) - 1
    per_frame = []
    for index, frame in enumerate(state.mses):
        worst = max(frame)
        if worst > top * top:
            plane = "YUV"[frame.index(worst)]
            raise MetricError(
                f"PSNR of frame {index}: the {plane} plane's MSE {worst:.6g} exceeds {top}^2, "
                f"the largest difference of {fmt.bit_depth}-bit samples in 0..{top}, so the "
                "samples are out of range (8-bit or MSB-aligned data in a 10-bit file?); a "
                "PSNR below 0 dB is not reported"
            )
        y, u, v = (
            psnr_from_mse(m, bit_depth=fmt.bit_depth, max_db=max_db, peak=peak) for m in frame
        )
        per_frame.append(weighted_psnr(y, u, v, weights))  # (1, 0, 0) gives Y exactly
    return pool(per_frame), tuple(per_frame)
