"""Q–Q plots of a residual fit (:func:`vqabench.metrics.distribution.error_distribution`).

Example:
    >>> fit = error_distribution(reference=src, distorted=dec)
    >>> plot_qq(fit, path="reports/qq.png")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from vqabench.io.atomic import atomic_path
from vqabench.metrics.functional.distribution import QQData, ResidualFit
from vqabench.reports import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_qq"]


def _draw(ax: Axes, qq: QQData) -> None:
    step = max(1, qq.theoretical.size // 2000)  # a plot needs no more points than pixels
    ax.plot(
        qq.theoretical[::step],
        qq.ordered[::step],
        ".",
        markersize=2,
        color="#0072B2",
        label="residuals",
    )
    lo, hi = float(qq.theoretical[0]), float(qq.theoretical[-1])
    ax.plot([lo, hi], [lo, hi], "-", color="#000000", label="y = x")
    ax.grid(True)
    ax.set_title(f"{qq.family}: R²={qq.r2:.4f}, W1={qq.wasserstein:.3g}")
    ax.set_xlabel(f"{qq.family} quantiles (loc={qq.loc:.3g}, scale={qq.scale:.3g})")
    ax.set_ylabel("ordered residuals")
    ax.legend(loc="upper left")


@style.styled
def plot_qq(
    fit: ResidualFit, path: str | os.PathLike | None = None, *, title: str | None = None
) -> Figure:
    """Side-by-side Q–Q plots (Gaussian, Laplace) of a :class:`ResidualFit`.

    Uses matplotlib's Agg canvas directly (no pyplot state, no display needed), in the
    report style (:mod:`vqabench.reports.style`), full width (7 in).

    Args:
        fit: from :func:`error_distribution` or ``fit_residuals``.
        path: write the figure there (format from the suffix), atomically; None: don't write.
        title: figure title; default names the better fit.

    Returns:
        The matplotlib Figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = style.new_figure(style.PAGE_IN, 2.8)
    FigureCanvasAgg(fig)
    for ax, qq in zip(fig.subplots(1, 2), (fit.gaussian, fit.laplace), strict=True):
        _draw(ax, qq)
    fig.suptitle(
        title
        or f"Residual Q–Q plots: {fit.better} fits better ({fit.criterion}, n={fit.n_samples})"
    )
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            fmt = path.suffix.lstrip(".") or "png"
            fig.savefig(tmp, format=fmt, metadata=style.METADATA.get(fmt))
    return fig
