"""Error-distribution analysis of a coded video: residuals ``D - R``, Gaussian versus Laplace
fits and Q–Q data (the Q–Q plot is :func:`vqabench.reports.qq.plot_qq`).

The numbers come from :mod:`vqabench.metrics.functional.distribution`; this module reads the
videos and draws. Nothing here is a registered metric: the result is a fit, not a score.

Example:
    >>> fit = error_distribution(reference=src, distorted=dec)
    >>> fit.better, fit.laplace.r2
    >>> vqabench.reports.qq.plot_qq(fit, path="reports/qq.png")
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from vqabench.errors import ConfigError, invalid
from vqabench.io.video import Video, read_frames
from vqabench.metrics.base import check_pair
from vqabench.metrics.functional.distribution import (
    Criterion,
    ResidualFit,
    fit_residuals,
    residuals,
)
from vqabench.metrics.inputs import as_videos

# the fits, Q-Q data and their types are the functional core's: import them from there
__all__ = ["video_residuals", "error_distribution"]

Plane = Literal["y", "u", "v"]


VideoInput = Video | str | os.PathLike


def video_residuals(
    reference: VideoInput,
    distorted: VideoInput,
    *,
    plane: Plane = "y",
    max_frames: int | None = None,
) -> np.ndarray:
    """Residuals ``distorted - reference`` of one plane over the frames, in 8-bit units.

    Args:
        reference, distorted: the videos, in that order: opened ``Video`` objects or paths
            (read as :func:`vqabench.compute` reads them: Y4M and raw YUV directly, other
            containers converted through :func:`~vqabench.io.video.to_y4m`).
        plane: ``y`` (default), ``u`` or ``v``.
        max_frames: use only the first frames (None: all).

    Raises:
        MetricError: mismatched videos; ConfigError: bad plane, max_frames or input type;
        VideoFormatError: a path that cannot be read.
    """
    if plane not in ("y", "u", "v"):
        raise invalid("plane", plane, "'y' | 'u' | 'v'")
    if not (isinstance(reference, Video) and isinstance(distorted, Video)):
        if reference is None:
            raise ConfigError("reference=None is not accepted: expected a Video or a path")
        with as_videos(reference, distorted) as (ref, dis):
            return video_residuals(ref, dis, plane=plane, max_frames=max_frames)
    check_pair(reference, distorted)
    count = reference.frames if max_frames is None else max_frames
    if not isinstance(count, int) or not 1 <= count <= reference.frames:
        raise invalid("max_frames", max_frames, f"None or 1..{reference.frames}")
    scale = float(1 << (reference.bit_depth - 8))
    index = "yuv".index(plane)
    parts = [
        residuals(r[index], d[index]) / scale
        for r, d in zip(
            read_frames(reference, count=count), read_frames(distorted, count=count), strict=True
        )
    ]
    return np.concatenate(parts)


def error_distribution(
    reference: VideoInput,
    distorted: VideoInput,
    *,
    plane: Plane = "y",
    criterion: Criterion = "wasserstein",
    max_samples: int | None = 200_000,
    max_frames: int | None = None,
    seed: int = 0,
) -> ResidualFit:
    """Fit Gaussian and Laplace distributions to the residuals of ``distorted`` against
    ``reference`` (in that order) and say which fits better.

    ``reference`` and ``distorted`` are ``Video`` objects or paths (:func:`video_residuals`);
    see :func:`~vqabench.metrics.functional.distribution.fit_residuals` for the rest.

    Raises:
        VideoFormatError: a path that cannot be read; ConfigError, MetricError: as
        :func:`video_residuals`.
    """
    res = video_residuals(reference, distorted, plane=plane, max_frames=max_frames)
    return fit_residuals(res, criterion=criterion, max_samples=max_samples, seed=seed)
