"""Source-anchored temporal flicker metrics (full-reference; lower is better).

Both compare how the distorted video D changes from frame to frame with how the source S
changes, so content that really moves is not counted as flicker. ``reference`` is the source
S (the anchor), ``distorted`` is D; per-frame values are one per consecutive pair (frames - 1).

* ``flicker_warp``: Farneback flow is estimated on S's luma from frame t+1 to t; D_t and S_t
  are warped with it, and the score of a pair is
  ``mean |(D_{t+1} - W(D_t)) - (S_{t+1} - W(S_t))|`` in 8-bit luma code values.
* ``lpips_temporal``: ``|LPIPS(D_t, D_{t+1}) - LPIPS(S_t, S_{t+1})|`` with the LPIPS network
  of :class:`vqabench.metrics.perceptual.Lpips` (same options and weight rules).

Example:
    >>> metrics.create("flicker_warp").compute(reference=src, distorted=dec).value
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from vqabench.errors import MetricError
from vqabench.io.video import Video
from vqabench.metrics.base import METRICS, Metric, MetricResult, Pooling, check_pair, pool
from vqabench.metrics.functional.flow import farneback_flow
from vqabench.metrics.functional.frames import frames_per_batch, luma_frames, rgb_pairs
from vqabench.metrics.functional.perceptual import lpips_scores
from vqabench.metrics.functional.temporal import temporal_change_difference, warped_flicker
from vqabench.metrics.perceptual import Lpips

__all__ = ["FlickerWarp", "LpipsTemporal"]


class _ConsecutivePairs(Metric):
    """A temporal metric with one value per consecutive frame pair (frames - 1), pooled
    with the ``pooling`` option; a subclass gives the values (:meth:`_pair_values`)."""

    pooling: Pooling

    def _pair_values(self, reference: Video, distorted: Video) -> list[float]:
        raise NotImplementedError

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """Flicker of ``distorted`` against the source ``reference`` (in that order).

        Order: ``(reference, distorted)``, the pristine or anchor video first (the
        opposite of pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by
        keyword).

        Raises:
            MetricError: mismatched videos or fewer than 2 frames.
        """
        check_pair(reference, distorted)
        if reference.frames < 2:
            raise MetricError(f"{self.name} needs at least 2 frames, got {reference.frames}")
        values = self._pair_values(reference, distorted)
        return MetricResult(pool(values, self.pooling), tuple(values))


@METRICS.register("flicker_warp")
class FlickerWarp(_ConsecutivePairs):
    """Motion-compensated temporal-change error of D relative to S (see module docstring).

    Args:
        pooling: temporal pooling of per-pair values (default ``mean``).

    Example:
        >>> FlickerWarp().compute(reference=src, distorted=dec).per_frame   # frames - 1 values
    """

    name = "flicker_warp"
    licence = "MIT (vqabench's own code); Apache-2.0 (OpenCV Farneback flow)"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, *, pooling: Pooling = "mean"):
        pool([0.0], pooling)  # validates the method
        self.pooling = pooling

    @property
    def options(self) -> dict:
        return {"pooling": self.pooling}

    def _pair_values(self, reference: Video, distorted: Video) -> list[float]:
        values: list[float] = []
        s_prev = d_prev = None
        for s_cur, d_cur in zip(luma_frames(reference), luma_frames(distorted), strict=True):
            if s_prev is not None:
                flow = farneback_flow(s_cur, s_prev)
                values.append(warped_flicker(s_prev, s_cur, d_prev, d_cur, flow))
            s_prev, d_prev = s_cur, d_cur
        return values


@METRICS.register("lpips_temporal")
class LpipsTemporal(_ConsecutivePairs, Lpips):
    """``|LPIPS(D_t, D_{t+1}) - LPIPS(S_t, S_{t+1})|`` per consecutive pair, pooled.

    Options as for :class:`~vqabench.metrics.perceptual.Lpips` (``net``,
    ``pretrained_backbone``, ``seed``, ``batch_size``, ``pooling``).

    Raises:
        WeightsUnavailableError: the backbone file is not in the local cache.
    """

    name = "lpips_temporal"

    def _changes(self, video: Video) -> np.ndarray:
        model = self.model
        batch = frames_per_batch(self.batch_size, video)
        out = [lpips_scores(model, a, b) for a, b in rgb_pairs(video, batch)]
        return np.concatenate(out)

    def _pair_values(self, reference: Video, distorted: Video) -> list[float]:
        return temporal_change_difference(
            self._changes(reference), self._changes(distorted)
        ).tolist()
