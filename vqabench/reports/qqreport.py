"""Residual Q–Q figures of a run (``vqabench report --figures all``): the figure and its
caption.

The fits come from :func:`vqabench.runner.residuals.run_residual_fits` (it reads the run's
sources and decodes a bitstream, which the report layer cannot), handed to
:func:`~vqabench.reports.report.build_report` as ``residual_fits``; the figure is
:func:`~vqabench.reports.qq.plot_qq` and the caption gives R² and the Wasserstein-1 distance
of both fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vqabench.metrics.functional.distribution import ResidualFit

__all__ = ["RunResidualFit", "qq_figure", "caption"]


@dataclass(frozen=True)
class RunResidualFit:
    """The residual fit of one coded video of a run."""

    sequence: str
    codec: str
    rate_point: str
    fit: ResidualFit


def caption(item: RunResidualFit) -> str:
    """Figure caption with both fits' R² and Wasserstein-1 distance (8-bit code values)."""
    g, lap = item.fit.gaussian, item.fit.laplace
    return (
        f"Residual Q–Q (decoded − source, Y): {item.sequence}, {item.codec} "
        f"{item.rate_point}: Gaussian R²={g.r2:.4f}, W1={g.wasserstein:.4g}; Laplace "
        f"R²={lap.r2:.4f}, W1={lap.wasserstein:.4g}; {item.fit.better} fits better"
    )


def qq_figure(data: pd.DataFrame, *, item: RunResidualFit) -> object:
    """A report figure job's function (:class:`~vqabench.reports.report.FigureJob`)."""
    from vqabench.reports.qq import plot_qq

    return plot_qq(
        item.fit,
        title=f"{item.sequence}, {item.codec} {item.rate_point}: "
        f"residual Q–Q, {item.fit.better} fits better",
    )
