"""Pixel-domain metrics: PSNR (Y, U, V, weighted YUV), SSIM and MS-SSIM.

PSNR is numpy (:mod:`vqabench.metrics.functional.pixel`); SSIM and MS-SSIM wrap piq on the
luma plane (Gaussian window 11, sigma 1.5, K1=0.01, K2=0.03, data range ``2**bits - 1``).
All take ``(reference, distorted)`` in that order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.io.video import Video, read_frames
from vqabench.metrics.base import METRICS, Metric, MetricResult, check_pair, pool
from vqabench.metrics.functional.pixel import DEFAULT_MAX_DB, plane_psnr, weighted_psnr

__all__ = ["PsnrY", "PsnrU", "PsnrV", "PsnrYuv", "Ssim", "MsSsim"]


def _frame_pairs(reference: Video, distorted: Video) -> Iterator[tuple]:
    check_pair(reference, distorted)
    return zip(read_frames(reference), read_frames(distorted), strict=True)


class _PsnrPlanes(Metric):
    """Shared option handling for the PSNR family."""

    def __init__(self, *, max_db: float = DEFAULT_MAX_DB):
        if not max_db > 0:
            raise invalid("max_db", max_db, "a positive number of dB")
        self.max_db = float(max_db)

    @property
    def options(self) -> dict:
        return {"max_db": self.max_db}

    def _per_frame(self, reference: Video, distorted: Video,
                   combine: Callable[[float, float, float], float]) -> MetricResult:
        values = []
        for ref, dis in _frame_pairs(reference, distorted):
            y, u, v = (plane_psnr(r, d, bit_depth=reference.bit_depth, max_db=self.max_db)
                       for r, d in zip(ref, dis, strict=True))
            values.append(combine(y, u, v))
        return MetricResult(pool(values), tuple(values))


@METRICS.register("psnr_y")
class PsnrY(_PsnrPlanes):
    """Luma PSNR in dB, mean of per-frame values."""

    name = "psnr_y"

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        return self._per_frame(reference, distorted, lambda y, u, v: y)


@METRICS.register("psnr_u")
class PsnrU(_PsnrPlanes):
    """Cb PSNR in dB, mean of per-frame values."""

    name = "psnr_u"

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        return self._per_frame(reference, distorted, lambda y, u, v: u)


@METRICS.register("psnr_v")
class PsnrV(_PsnrPlanes):
    """Cr PSNR in dB, mean of per-frame values."""

    name = "psnr_v"

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        return self._per_frame(reference, distorted, lambda y, u, v: v)


@METRICS.register("psnr_yuv")
class PsnrYuv(_PsnrPlanes):
    """Weighted YUV PSNR in dB: per frame ``(wY*Y + wU*U + wV*V)/(wY+wU+wV)``, then the mean.

    Args:
        weights: (wY, wU, wV), or text "6:1:1" / "6/1/1"; default 6:1:1 (JVET). 8:1:1,
            14:1:1 and 4:1:1 are also used.
        max_db: cap for identical frames.
    """

    name = "psnr_yuv"

    def __init__(self, *, weights: tuple[float, float, float] | list[float] | str = (6, 1, 1),
                 max_db: float = DEFAULT_MAX_DB):
        super().__init__(max_db=max_db)
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
        return {"weights": list(self.weights), "max_db": self.max_db}

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        return self._per_frame(reference, distorted,
                               lambda y, u, v: weighted_psnr(y, u, v, self.weights))


def _luma_batches(reference: Video, distorted: Video, batch: int = 16):
    import torch

    ref_batch, dis_batch = [], []
    for ref, dis in _frame_pairs(reference, distorted):
        ref_batch.append(ref.y.astype(np.float32))
        dis_batch.append(dis.y.astype(np.float32))
        if len(ref_batch) == batch:
            yield (torch.from_numpy(np.stack(ref_batch))[:, None],
                   torch.from_numpy(np.stack(dis_batch))[:, None])
            ref_batch, dis_batch = [], []
    if ref_batch:
        yield (torch.from_numpy(np.stack(ref_batch))[:, None],
               torch.from_numpy(np.stack(dis_batch))[:, None])


@METRICS.register("ssim")
class Ssim(Metric):
    """SSIM of the luma plane through ``piq.ssim``, mean of per-frame values.

    Args:
        downsample: apply Wang et al.'s automatic downsampling for large frames
            (off by default, matching x264/ffmpeg/HM practice of SSIM at full resolution).
    """

    name = "ssim"

    def __init__(self, *, downsample: bool = False):
        self.downsample = bool(downsample)

    @property
    def options(self) -> dict:
        return {"downsample": self.downsample}

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        import piq
        import torch

        peak = float((1 << reference.bit_depth) - 1)
        values: list[float] = []
        with torch.no_grad():
            for ref, dis in _luma_batches(reference, distorted):
                if min(ref.shape[-2:]) < 11:
                    raise MetricError("ssim needs frames of at least 11x11, got "
                                      f"{ref.shape[-1]}x{ref.shape[-2]}")
                out = piq.ssim(dis, ref, data_range=peak, reduction="none",
                               downsample=self.downsample)
                values.extend(float(v) for v in out)
        return MetricResult(pool(values), tuple(values))


_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@METRICS.register("ms_ssim")
class MsSsim(Metric):
    """MS-SSIM of the luma plane through ``piq.multi_scale_ssim``, mean of per-frame values.

    Args:
        scales: number of scales (1..5) with Wang et al.'s weights, renormalised by piq.
            Five scales need frames of at least 161x161 pixels; use fewer for small video.
    """

    name = "ms_ssim"

    def __init__(self, *, scales: int = 5):
        if int(scales) != scales or not 1 <= scales <= 5:
            raise invalid("scales", scales, "an integer in 1..5")
        self.scales = int(scales)

    @property
    def options(self) -> dict:
        return {"scales": self.scales}

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        import piq
        import torch

        min_side = (11 - 1) * 2 ** (self.scales - 1) + 1
        if min(reference.width, reference.height) < min_side:
            raise MetricError(
                f"ms_ssim with scales={self.scales} needs frames of at least {min_side}x{min_side}"
                f" pixels, got {reference.width}x{reference.height}; use fewer scales "
                f"(e.g. --metrics ms_ssim with option scales=3) or larger frames"
            )
        peak = float((1 << reference.bit_depth) - 1)
        weights = torch.tensor(_MS_SSIM_WEIGHTS[: self.scales])
        values: list[float] = []
        with torch.no_grad():
            for ref, dis in _luma_batches(reference, distorted):
                out = piq.multi_scale_ssim(dis, ref, data_range=peak, reduction="none",
                                           scale_weights=weights)
                values.extend(float(v) for v in out)
        return MetricResult(pool(values), tuple(values))
