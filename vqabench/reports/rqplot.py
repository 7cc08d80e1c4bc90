"""R–Q figure: measured (rate, quality) points per codec and the fitted R–Q model
(:mod:`vqabench.evaluation.rq`) drawn through them, with its R² in the legend.

The drawn model is, per codec, the one of ``models`` with the highest R² (ties: the first in
``models``); a codec none of whose models could be fitted shows its points only, with the
reason in the legend. The curve is the model's prediction at :data:`CURVE_POINTS` rates
spaced evenly in log rate over the codec's measured range (no extrapolation).

Example:
    >>> fig = rq_figure(results, sequence="Coffee", metric="psnr_y")
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vqabench.errors import invalid
from vqabench.evaluation.rq import MODELS, RQFit, fit_rq
from vqabench.reports import style as _s
from vqabench.reports.plots import Layout, sequence_curves
from vqabench.reports.style import CodecStyle

__all__ = ["CURVE_POINTS", "best_fit", "rq_figure"]

#: Rates at which each fitted curve is drawn.
CURVE_POINTS = 64


def best_fit(
    rate_kbps: Sequence[float], quality: Sequence[float], models: Sequence[str] = MODELS
) -> RQFit:
    """The fitted model of ``models`` with the highest R²; when none is fitted, the first
    model's unfitted result (its ``reason`` says why)."""
    fits = [fit_rq(rate_kbps, quality, model=m) for m in models]
    fitted = [f for f in fits if not math.isnan(f.r2)]
    return max(fitted, key=lambda f: f.r2) if fitted else fits[0]


@_s.styled
def rq_figure(
    results: pd.DataFrame,
    *,
    sequence: str,
    metric: str,
    reference: str | None = None,
    anchor: str | None = None,
    models: Sequence[str] = MODELS,
    rate_column: str = "kbps",
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    layout: Layout = "one-column",
) -> Figure:
    """Measured points (markers) and the best fitted R–Q model (line) per codec, on one
    sequence and metric; the legend gives each codec's model and R².

    Raises:
        ConfigError: no rows for this sequence and metric, unknown model or layout.
    """
    for m in models:
        if m not in MODELS:
            raise invalid("models", list(models), " | ".join(MODELS))
    fig, ax, curves = sequence_curves(
        results,
        sequence=sequence,
        metric=metric,
        reference=reference,
        anchor=anchor,
        rate_column=rate_column,
        colors=colors,
        title=f"{sequence}: R–Q fits",
        layout=layout,
    )
    for codec, cell, style in curves:
        rate, quality = cell[rate_column].to_numpy(float), cell["value"].to_numpy(float)
        fit = best_fit(rate, quality, models)
        ax.plot(
            rate,
            quality,
            linestyle="none",
            marker=style.marker,
            color=style.color,
            label=f"{codec} (measured)",
        )
        if math.isnan(fit.r2):
            ax.plot([], [], linestyle="none", label=f"{codec}: not fitted ({fit.reason})")
            continue
        grid = np.geomspace(rate.min(), rate.max(), CURVE_POINTS)
        ax.plot(
            grid,
            fit.predict(grid),
            "-",
            color=style.color,
            gid=f"fit:{codec}",
            label=f"{codec}: {fit.model}, R²={fit.r2:.4f}",
        )
    _s.log_rate_axis(ax)
    ax.legend(loc="best")
    return fig
