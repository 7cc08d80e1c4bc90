"""Pixel-domain metrics: PSNR (Y, U, V, weighted YUV), SSIM and MS-SSIM.

Thin shells over the functional core (:mod:`vqabench.metrics.functional.pixel` for PSNR,
:mod:`vqabench.metrics.functional.ssim` for SSIM and MS-SSIM on the luma plane: Gaussian
window 11, sigma 1.5, K1=0.01, K2=0.03, data range ``2**bits - 1``). Each streams: its
:meth:`accumulator` folds frames one by one, so a job reads every frame once for all of them,
and metrics of one job share per-frame work (plane MSEs, the SSIM statistics at full
resolution). All take ``(reference, distorted)`` in that order.
"""

from __future__ import annotations

import re

from vqabench.errors import MetricError, invalid
from vqabench.metrics.base import METRICS, FramePair, Metric, MetricResult
from vqabench.metrics.functional import ssim as fssim
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.pixel import (
    DEFAULT_MAX_DB,
    PEAKS,
    Peak,
    PsnrState,
    plane_mses,
    psnr_compute,
    psnr_fold,
)

__all__ = ["PsnrY", "PsnrU", "PsnrV", "PsnrYuv", "Ssim", "MsSsim"]

#: Licence of the pixel metrics: vqabench computes them itself (numpy, OpenCV filters).
_OWN_CODE = "MIT (vqabench's own code)"


class _PsnrAccumulator:
    """Streams a weighted YUV PSNR; the plane MSEs are shared with the job's other PSNRs."""

    def __init__(
        self, fmt: FrameFormat, weights: tuple[float, float, float], max_db: float, peak: Peak
    ):
        self.fmt, self.weights, self.max_db, self.peak = fmt, weights, max_db, peak
        self.state = PsnrState()

    def update(self, pair: FramePair) -> None:
        mses = pair.shared("plane_mses", lambda: plane_mses(pair.reference, pair.distorted))
        self.state = psnr_fold(self.state, mses)

    def compute(self) -> MetricResult:
        value, per_frame = psnr_compute(
            self.state, self.fmt, weights=self.weights, max_db=self.max_db, peak=self.peak
        )
        return MetricResult(value, per_frame)


class _PsnrPlanes(Metric):
    """Shared option handling for the PSNR family.

    Args:
        max_db: cap for identical frames (default 100 dB).
        peak: ``full`` (default, ``2**b - 1``: 1023 at 10 bits) or ``hm`` (HM/VTM's
            ``255 << (b - 8)``: 1020 at 10 bits); the same at 8 bits.
    """

    weights: tuple[float, float, float] = (1.0, 0.0, 0.0)
    licence = _OWN_CODE

    def __init__(self, *, max_db: float = DEFAULT_MAX_DB, peak: Peak = "full"):
        if not max_db > 0:
            raise invalid("max_db", max_db, "a positive number of dB")
        if peak not in PEAKS:
            raise invalid("peak", peak, " | ".join(PEAKS))
        self.max_db = float(max_db)
        self.peak = peak

    @property
    def options(self) -> dict:
        # the default peak stays out of the options, so stored results keep their keys
        return {"max_db": self.max_db, **({"peak": self.peak} if self.peak != "full" else {})}

    @property
    def provenance(self) -> str:
        top = "2^b-1" if self.peak == "full" else "255<<(b-8)"
        return f"peak={self.peak} ({top}), identical frames capped at {self.max_db:g} dB"

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> _PsnrAccumulator:
        return _PsnrAccumulator(fmt, self.weights, self.max_db, self.peak)


@METRICS.register("psnr_y")
class PsnrY(_PsnrPlanes):
    """Luma PSNR in dB, mean of per-frame values."""

    name = "psnr_y"


@METRICS.register("psnr_u")
class PsnrU(_PsnrPlanes):
    """Cb PSNR in dB, mean of per-frame values."""

    name = "psnr_u"
    weights = (0.0, 1.0, 0.0)


@METRICS.register("psnr_v")
class PsnrV(_PsnrPlanes):
    """Cr PSNR in dB, mean of per-frame values."""

    name = "psnr_v"
    weights = (0.0, 0.0, 1.0)


@METRICS.register("psnr_yuv")
class PsnrYuv(_PsnrPlanes):
    """Weighted YUV PSNR in dB: per frame ``(wY*Y + wU*U + wV*V)/(wY+wU+wV)``, then the mean.

    Args:
        weights: (wY, wU, wV), or text "6:1:1" / "6/1/1"; default 6:1:1 (JVET). 8:1:1,
            14:1:1 and 4:1:1 are also used.
        max_db: cap for identical frames.
        peak: ``full`` or ``hm`` (see the PSNR family).
    """

    name = "psnr_yuv"

    def __init__(
        self,
        *,
        weights: tuple[float, float, float] | list[float] | str = (6, 1, 1),
        max_db: float = DEFAULT_MAX_DB,
        peak: Peak = "full",
    ):
        super().__init__(max_db=max_db, peak=peak)
        if isinstance(weights, str):  # "6:1:1" or "6/1/1" (on the command line)
            try:
                weights = tuple(float(w) for w in re.split(r"[:/]", weights))
            except ValueError as exc:
                raise invalid("weights", weights, "three numbers like 6:1:1 or 6/1/1") from exc
        weights = tuple(float(w) for w in weights)
        if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
            raise invalid("weights", weights, "three non-negative numbers with a positive sum")
        self.weights = weights

    @property
    def options(self) -> dict:
        return {"weights": list(self.weights), **super().options}


def _luma_f32(pair: FramePair) -> tuple:
    """The pair's luma planes as float32 divided by the data range (shared per frame)."""
    return pair.shared(
        "luma_f32",
        lambda: (
            fssim.prepare_plane(pair.reference.y, pair.fmt.bit_depth),
            fssim.prepare_plane(pair.distorted.y, pair.fmt.bit_depth),
        ),
    )


def _first_scale(pair: FramePair) -> fssim.FirstScale:
    """Full-resolution SSIM statistics of the pair's luma and its next MS-SSIM scale, from
    the integer planes in one pass (shared by SSIM and MS-SSIM). A job measuring SSIM
    alone pools too, 8-15 % of the pass (the first metric to ask cannot know whether
    MS-SSIM will follow, and pooling separately afterwards costs more)."""
    return pair.shared(
        "ssim_first_scale",
        lambda: fssim.first_scale(pair.reference.y, pair.distorted.y, bit_depth=pair.fmt.bit_depth),
    )


class _SsimAccumulator:
    def __init__(self, downsample: bool, scales: int | None = None):
        self.downsample, self.scales = downsample, scales
        self.state = fssim.SsimState()

    def update(self, pair: FramePair) -> None:
        if self.scales is not None:
            value = fssim.ms_ssim_from(_first_scale(pair), scales=self.scales)
        elif self.downsample and fssim.downsample_factor(*pair.reference.y.shape) > 1:
            value = fssim.ssim_plane(*_luma_f32(pair), downsample=True)
        else:
            value = _first_scale(pair).stats.ssim
        self.state = fssim.ssim_fold(self.state, value)

    def compute(self) -> MetricResult:
        value, per_frame = fssim.ssim_compute(self.state)
        return MetricResult(value, per_frame)


@METRICS.register("ssim")
class Ssim(Metric):
    """SSIM of the luma plane (Wang et al.; piq's and scikit-image's numbers), mean of
    per-frame values.

    Args:
        downsample: apply Wang et al.'s automatic downsampling for large frames
            (off by default, matching x264/ffmpeg/HM practice of SSIM at full resolution).
    """

    name = "ssim"
    licence = _OWN_CODE

    def __init__(self, *, downsample: bool = False):
        self.downsample = bool(downsample)

    @property
    def options(self) -> dict:
        return {"downsample": self.downsample}

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> _SsimAccumulator:
        fssim.check_ssim_size(width, height)
        return _SsimAccumulator(self.downsample)


@METRICS.register("ms_ssim")
class MsSsim(Metric):
    """MS-SSIM of the luma plane (Wang et al. 2003; piq's numbers), mean of per-frame values.

    Args:
        scales: number of scales (1..5) with Wang et al.'s weights, renormalised to sum 1.
            Five scales need frames of at least 161x161 pixels; use fewer for small video.
    """

    name = "ms_ssim"
    licence = _OWN_CODE

    def __init__(self, *, scales: int = 5):
        if int(scales) != scales or not 1 <= scales <= 5:
            raise invalid("scales", scales, "an integer in 1..5")
        self.scales = int(scales)

    @property
    def options(self) -> dict:
        return {"scales": self.scales}

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> _SsimAccumulator:
        min_side = fssim.ms_ssim_min_side(self.scales)
        if min(width, height) < min_side:
            raise MetricError(
                f"ms_ssim with scales={self.scales} needs frames of at least {min_side}x{min_side}"
                f" pixels, got {width}x{height}; use fewer scales "
                f"(e.g. --metrics ms_ssim with option scales=3) or larger frames"
            )
        return _SsimAccumulator(False, self.scales)
