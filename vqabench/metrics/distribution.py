"""Error-distribution analysis of a coded video: residuals ``D - R``, Gaussian versus Laplace
fits, Q–Q data and a Q–Q plot for reports.

The numbers come from :mod:`vqabench.metrics.functional.distribution`; this module reads the
videos and draws. Nothing here is a registered metric: the result is a fit, not a score.

Example:
    >>> fit = error_distribution(reference=src, distorted=dec)
    >>> fit.better, fit.laplace.r2
    >>> plot_qq(fit, path="reports/qq.png")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from vqabench.errors import invalid
from vqabench.io.atomic import atomic_path
from vqabench.io.video import Video, read_frames
from vqabench.metrics.base import check_pair
from vqabench.metrics.functional.distribution import (
    Criterion,
    QQData,
    ResidualFit,
    better_fit,
    fit_residuals,
    qq_data,
    residuals,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "video_residuals",
    "error_distribution",
    "plot_qq",
    "QQData",
    "ResidualFit",
    "residuals",
    "qq_data",
    "fit_residuals",
    "better_fit",
]

Plane = Literal["y", "u", "v"]


def video_residuals(reference: Video, distorted: Video, *, plane: Plane = "y",
                    max_frames: int | None = None) -> np.ndarray:
    """Residuals ``distorted - reference`` of one plane over the frames, in 8-bit units.

    Args:
        reference, distorted: the videos, in that order.
        plane: ``y`` (default), ``u`` or ``v``.
        max_frames: use only the first frames (None: all).

    Raises:
        MetricError: mismatched videos; ConfigError: bad plane or max_frames.
    """
    if plane not in ("y", "u", "v"):
        raise invalid("plane", plane, "'y' | 'u' | 'v'")
    check_pair(reference, distorted)
    count = reference.frames if max_frames is None else max_frames
    if not isinstance(count, int) or not 1 <= count <= reference.frames:
        raise invalid("max_frames", max_frames, f"None or 1..{reference.frames}")
    scale = float(1 << (reference.bit_depth - 8))
    index = "yuv".index(plane)
    parts = [residuals(r[index], d[index]) / scale for r, d in
             zip(read_frames(reference, count=count), read_frames(distorted, count=count),
                 strict=True)]
    return np.concatenate(parts)


def error_distribution(reference: Video, distorted: Video, *, plane: Plane = "y",
                       criterion: Criterion = "wasserstein", max_samples: int | None = 200_000,
                       max_frames: int | None = None, seed: int = 0) -> ResidualFit:
    """Fit Gaussian and Laplace distributions to the residuals of ``distorted`` against
    ``reference`` (in that order) and say which fits better.

    See :func:`~vqabench.metrics.functional.distribution.fit_residuals` for the arguments.
    """
    res = video_residuals(reference, distorted, plane=plane, max_frames=max_frames)
    return fit_residuals(res, criterion=criterion, max_samples=max_samples, seed=seed)


def _draw(ax: Axes, qq: QQData) -> None:
    step = max(1, qq.theoretical.size // 2000)  # a plot needs no more points than pixels
    ax.plot(qq.theoretical[::step], qq.ordered[::step], ".", markersize=2, label="residuals")
    lo, hi = float(qq.theoretical[0]), float(qq.theoretical[-1])
    ax.plot([lo, hi], [lo, hi], "-", linewidth=1, label="y = x")
    ax.set_title(f"{qq.family}: R²={qq.r2:.4f}, W1={qq.wasserstein:.3g}")
    ax.set_xlabel(f"{qq.family} quantiles (loc={qq.loc:.3g}, scale={qq.scale:.3g})")
    ax.set_ylabel("ordered residuals")
    ax.legend(loc="upper left")


def plot_qq(fit: ResidualFit, path: str | os.PathLike | None = None, *,
            title: str | None = None) -> Figure:
    """Side-by-side Q–Q plots (Gaussian, Laplace) of a :class:`ResidualFit`.

    Uses matplotlib's Agg canvas directly (no pyplot state, no display needed).

    Args:
        fit: from :func:`error_distribution` or ``fit_residuals``.
        path: write the figure there (format from the suffix), atomically; None: don't write.
        title: figure title; default names the better fit.

    Returns:
        The matplotlib Figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, qq in zip(fig.subplots(1, 2), (fit.gaussian, fit.laplace), strict=True):
        _draw(ax, qq)
    fig.suptitle(title or f"Residual Q–Q plots: {fit.better} fits better ({fit.criterion}, "
                 f"n={fit.n_samples})")
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return fig
