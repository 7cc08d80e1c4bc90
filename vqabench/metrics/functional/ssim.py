"""SSIM and MS-SSIM of one plane, frame by frame, in float32 with a separable filter.

The definition is Wang et al.'s and the numbers are piq's (``piq.ssim``, ``piq.multi_scale_ssim``,
which vqabench used until issue 11), reproduced step by step:

- samples are divided by the data range (``2**b - 1``), so ``C1 = K1**2``, ``C2 = K2**2``;
- an 11-tap Gaussian window, sigma 1.5, normalised; local means and (population) variances
  by filtering, over the *valid* region only (no padding: the output is ``(H-10) x (W-10)``),
  which is also what scikit-image's ``structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False)`` averages after cropping its border;
- SSIM of a frame is the mean of the SSIM map; with ``downsample`` the planes are first
  average-pooled by ``f = max(1, round(min(H, W) / 256))`` (Wang's rule, piq's default);
- MS-SSIM: at each further scale the planes are padded by replication on the top and left
  when a side is odd (by ``max(H % 2, W % 2)`` on both), then 2x2 average-pooled; the
  contrast-structure means of the first scales and the SSIM of the last, clipped at 0, are
  raised to the normalised weights and multiplied.

The Gaussian is separable, so one 11-tap pass per axis replaces piq's 121-tap 2-D
convolution; every map is formed in one compiled pass over the rows
(:mod:`vqabench.metrics.functional.ssim_kernel`, numba). Values agree with piq and
scikit-image within 1e-5 (tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vqabench.errors import MetricError
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.pooling import pool

__all__ = [
    "WINDOW",
    "SIGMA",
    "K1",
    "K2",
    "MS_SSIM_WEIGHTS",
    "SsimStats",
    "FirstScale",
    "first_scale",
    "halve_pad",
    "ssim_stats",
    "downsample_factor",
    "prepare_plane",
    "ssim_plane",
    "ms_ssim_plane",
    "ms_ssim_from",
    "ms_ssim_min_side",
    "check_ssim_size",
    "SsimState",
    "ssim_fold",
    "ssim_update",
    "ms_ssim_update",
    "ssim_compute",
]

WINDOW = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _kernel() -> np.ndarray:
    coords = np.arange(WINDOW, dtype=np.float64) - (WINDOW - 1) / 2.0
    g = np.exp(-(coords**2) / (2.0 * SIGMA**2))
    return (g / g.sum()).astype(np.float32)


_KERNEL = _kernel()
_HALF = WINDOW // 2


@dataclass(frozen=True)
class SsimStats:
    """Means over the valid region of one plane pair: the SSIM map and the contrast-structure
    (CS) map."""

    ssim: float
    cs: float


def check_ssim_size(width: int, height: int, *, what: str = "ssim") -> None:
    """Raise MetricError when a plane is smaller than the 11x11 window."""
    if min(width, height) < WINDOW:
        raise MetricError(
            f"{what} needs frames of at least {WINDOW}x{WINDOW}, got {width}x{height}"
        )


@dataclass(frozen=True)
class FirstScale:
    """What one full-resolution pass over a plane pair gives: the SSIM and CS means and the
    pair's next MS-SSIM scale (float32, 2x2-pooled after :func:`halve_pad`'s padding; a
    job measuring SSIM and MS-SSIM forms it once)."""

    stats: SsimStats
    halves: tuple[np.ndarray, np.ndarray]


def halve_pad(height: int, width: int) -> int:
    """piq's top-left edge padding before 2x2 pooling: ``max(H % 2, W % 2)``."""
    return max(height % 2, width % 2)


def first_scale(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bit_depth: int | None = None,
    luminance: bool = True,
    halves: bool = True,
) -> FirstScale:
    """SSIM and CS means of a plane pair and, with ``halves``, its next MS-SSIM scale, from
    one compiled pass (:func:`vqabench.metrics.functional.ssim_kernel.ssim_sums`).

    Both planes are shifted by about the reference's mean (that of every 8th row; the whole
    plane's took about 10 % of the pixel set's CPU time at 1080p): the variances and
    covariance do not change for any shift and the local means get it back, while float32's
    cancellation in ``E[x^2] - E[x]^2`` stays small: the result is within about 1e-8 of a
    float64 computation. The maps are formed row by row and their sums accumulated in
    float64.

    Args:
        x: reference plane: integer samples at ``bit_depth`` (divided by the data range
            inside the pass, the bits of :func:`prepare_plane`), or float32 values in
            [0, 1] already divided when ``bit_depth`` is None.
        y: distorted plane, same shape.
        bit_depth: the samples' bit depth, or None for prepared float32 planes.
        luminance: form the SSIM map too; without it only the CS mean is computed (the
            SSIM mean is NaN), which is all MS-SSIM needs at its inner scales (5-9 % less
            work a plane in the compiled pass: bench_ssim_stages.py).
        halves: also pool the pair to the next scale (else ``halves`` holds two 0x0 arrays).

    Raises:
        MetricError: planes of different shapes, or smaller than the window.
    """
    if x.shape != y.shape:
        raise MetricError(f"ssim needs planes of one shape, got {x.shape} and {y.shape}")
    check_ssim_size(x.shape[1], x.shape[0])
    from vqabench.metrics.functional.ssim_kernel import ssim_sums  # numba: about 0.3 s

    if bit_depth is None:
        x, y = (np.ascontiguousarray(p, dtype=np.float32) for p in (x, y))
        data_range = np.float32(1.0)
    else:
        x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        data_range = np.float32((1 << bit_depth) - 1)
    shift = np.float32(x[::8].mean(dtype=np.float64) / data_range)  # any value near the mean
    height, width = x.shape
    pad = halve_pad(height, width)
    size = ((height + pad) // 2, (width + pad) // 2) if halves else (0, 0)
    half_x, half_y = np.empty(size, np.float32), np.empty(size, np.float32)
    c1, c2 = np.float32(K1**2), np.float32(K2**2)
    ssim_sum, cs_sum = ssim_sums(
        x, y, data_range, _KERNEL, shift, c1, c2, luminance, half_x, half_y, pad
    )
    count = (height - 2 * _HALF) * (width - 2 * _HALF)
    stats = SsimStats(ssim_sum / count if luminance else math.nan, cs_sum / count)
    return FirstScale(stats, (half_x, half_y))


def ssim_stats(x: np.ndarray, y: np.ndarray, *, luminance: bool = True) -> SsimStats:
    """SSIM and CS means of two float32 planes already divided by their data range
    (:func:`first_scale` without the pooling)."""
    return first_scale(x, y, luminance=luminance, halves=False).stats


def prepare_plane(
    plane: np.ndarray, bit_depth: int, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Samples as float32 divided by the data range ``2**bit_depth - 1`` (piq's scaling),
    into ``out`` (float32, the plane's shape) when given: the same bits either way."""
    return np.divide(plane, np.float32((1 << bit_depth) - 1), out=out, dtype=np.float32)


def downsample_factor(height: int, width: int) -> int:
    """Wang's automatic downsampling factor ``max(1, round(min(H, W) / 256))``."""
    return max(1, round(min(height, width) / 256))


def _avg_pool(plane: np.ndarray, f: int) -> np.ndarray:
    """``f x f`` average pooling (stride ``f``, remainder dropped) summed in torch's
    ``avg_pool2d`` order (row by row through the window, then divided by ``f * f``), which
    gives its float32 results bit for bit."""
    h, w = plane.shape[0] // f, plane.shape[1] // f
    out = np.zeros((h, w), dtype=np.float32)
    for dy in range(f):
        for dx in range(f):
            out += plane[dy : h * f : f, dx : w * f : f]
    out /= np.float32(f * f)
    return out


def ssim_plane(x: np.ndarray, y: np.ndarray, *, downsample: bool = False) -> float:
    """SSIM of one prepared plane pair (see :func:`prepare_plane`), reference first."""
    f = downsample_factor(*x.shape)
    if downsample and f > 1:
        x, y = _avg_pool(x, f), _avg_pool(y, f)
    return ssim_stats(x, y).ssim


def ms_ssim_min_side(scales: int) -> int:
    """The smallest side MS-SSIM with ``scales`` scales accepts: ``10 * 2**(scales-1) + 1``."""
    return (WINDOW - 1) * 2 ** (scales - 1) + 1


def _halve(plane: np.ndarray, pad: int) -> np.ndarray:
    """MS-SSIM's next scale: ``2 x 2`` average pooling (remainder dropped) after ``pad``
    edge rows and columns at the top left, as piq pads; torch's ``avg_pool2d`` float32
    bits (:func:`vqabench.metrics.functional.ssim_kernel.halve`)."""
    from vqabench.metrics.functional.ssim_kernel import halve

    return halve(np.ascontiguousarray(plane, dtype=np.float32), pad)


def ms_ssim_from(first: FirstScale, *, scales: int = 5) -> float:
    """MS-SSIM with Wang's weights from a pair's :func:`first_scale` (its halves formed).

    Every scale but the last contributes only its CS mean, so those scales form the CS map
    alone (``luminance=False``: the same CS bits, less work a scale).

    Args:
        scales: 1..5; the first ``scales`` weights, renormalised to sum 1.
    """
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales], dtype=np.float64)
    weights = weights / weights.sum()
    values = [first.stats.ssim if scales == 1 else first.stats.cs]
    x, y = first.halves
    for level in range(1, scales):
        last = level == scales - 1
        if level > 1:
            pad = halve_pad(*x.shape)
            x, y = _halve(x, pad), _halve(y, pad)
        stats = ssim_stats(x, y, luminance=last)  # the inner scales need only the CS mean
        values.append(stats.ssim if last else stats.cs)
    return math.prod(max(v, 0.0) ** w for v, w in zip(values, weights, strict=True))


def ms_ssim_plane(x: np.ndarray, y: np.ndarray, *, scales: int = 5) -> float:
    """MS-SSIM of one prepared plane pair (see :func:`prepare_plane`), reference first, with
    Wang's weights (:func:`ms_ssim_from`)."""
    first = first_scale(x, y, luminance=scales == 1, halves=scales > 1)
    return ms_ssim_from(first, scales=scales)


@dataclass(frozen=True)
class SsimState:
    """Running state of SSIM or MS-SSIM: the per-frame values so far."""

    values: tuple[float, ...] = ()


def ssim_fold(state: SsimState, value: float) -> SsimState:
    """Fold one frame's value into the state."""
    return SsimState((*state.values, float(value)))


def ssim_update(
    state: SsimState,
    reference: tuple[np.ndarray, ...],
    distorted: tuple[np.ndarray, ...],
    fmt: FrameFormat,
    *,
    downsample: bool = False,
) -> SsimState:
    """Fold the luma SSIM of one frame pair (reference first) into the state."""
    if downsample and downsample_factor(*reference[0].shape) > 1:
        x, y = (prepare_plane(f[0], fmt.bit_depth) for f in (reference, distorted))
        return ssim_fold(state, ssim_plane(x, y, downsample=True))
    first = first_scale(reference[0], distorted[0], bit_depth=fmt.bit_depth, halves=False)
    return ssim_fold(state, first.stats.ssim)


def ms_ssim_update(
    state: SsimState,
    reference: tuple[np.ndarray, ...],
    distorted: tuple[np.ndarray, ...],
    fmt: FrameFormat,
    *,
    scales: int = 5,
) -> SsimState:
    """Fold the luma MS-SSIM of one frame pair (reference first) into the state."""
    first = first_scale(reference[0], distorted[0], bit_depth=fmt.bit_depth, luminance=scales == 1)
    return ssim_fold(state, ms_ssim_from(first, scales=scales))


def ssim_compute(state: SsimState) -> tuple[float, tuple[float, ...]]:
    """(mean, per-frame values) of an SSIM or MS-SSIM state.

    Raises:
        MetricError: no frames.
    """
    return pool(state.values), state.values
