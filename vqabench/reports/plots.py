"""Figures with matplotlib (Agg backend, no display needed): RD curves and per-frame quality.

Every codec keeps one colour in every figure of a report (:func:`codec_colors`). The
averaged RD curve of a metric puts, for each codec and rate point, the geometric mean of the
rates and the arithmetic mean of the quality over the sequences that have that point.

Example:
    >>> fig = rd_curve_figure(results, sequence="Foreman", metric="psnr_y")
    >>> save_png(fig, "rd_Foreman_psnr_y.png")
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from vqabench.errors import invalid  # noqa: E402

__all__ = ["codec_colors", "rd_curve_figure", "average_rd_figure", "per_frame_figure",
           "png_bytes", "save_png"]

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")


def codec_colors(codecs: Sequence[str]) -> dict[str, str]:
    """Colour per codec, assigned in sorted order so that it is stable across figures."""
    return {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(sorted(set(codecs)))}


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    fig = Figure(figsize=(5.0, 3.6), dpi=90)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.14, top=0.9)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _select(results: pd.DataFrame, **where: str) -> pd.DataFrame:
    part = results
    for k, v in where.items():
        if v is not None:
            part = part[part[k] == v]
    return part


def _log_x(ax: plt.Axes) -> None:
    """Log rate axis with plain-number labels (mathtext labels are slow to render)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def rd_curve_figure(results: pd.DataFrame, *, sequence: str, metric: str,
                    reference: str | None = None, anchor: str | None = None,
                    rate_column: str = "kbps", colors: dict[str, str] | None = None) -> Figure:
    """Rate (log axis) against quality for every codec on one sequence.

    Raises:
        ConfigError: no rows for this sequence and metric.
    """
    part = _select(results, sequence=sequence, metric=metric, reference=reference,
                   anchor=anchor)
    if part.empty:
        raise invalid("sequence/metric", (sequence, metric), "a pair present in the results")
    colors = colors or codec_colors(results["codec"].unique())
    fig, ax = _axes(f"{sequence} — {metric}", rate_column, metric)
    for codec, curve in part.groupby("codec"):
        curve = curve.sort_values(rate_column)
        ax.plot(curve[rate_column], curve["value"], marker="o", label=str(codec),
                color=colors.get(str(codec)))
    _log_x(ax)
    ax.legend(fontsize=8)
    return fig


def average_rd_figure(results: pd.DataFrame, *, metric: str, reference: str | None = None,
                      anchor: str | None = None, rate_column: str = "kbps",
                      colors: dict[str, str] | None = None) -> Figure:
    """RD curve per codec averaged over sequences (see module docstring)."""
    part = _select(results, metric=metric, reference=reference, anchor=anchor)
    if part.empty:
        raise invalid("metric", metric, "a metric present in the results")
    part = part[part[rate_column] > 0].assign(_log_rate=lambda d: np.log10(d[rate_column]))
    colors = colors or codec_colors(results["codec"].unique())
    fig, ax = _axes(f"Average over {part['sequence'].nunique()} sequences — {metric}",
                    rate_column, metric)
    for codec, curve in part.groupby("codec"):
        avg = curve.groupby("rate_point").agg(log_rate=("_log_rate", "mean"),
                                              value=("value", "mean")).sort_values("log_rate")
        ax.plot(10 ** avg["log_rate"], avg["value"], marker="o", label=str(codec),
                color=colors.get(str(codec)))
    _log_x(ax)
    ax.legend(fontsize=8)
    return fig


def per_frame_figure(per_frame: pd.DataFrame, *, sequence: str, metric: str,
                     rate_point: str | None = None, reference: str | None = None,
                     anchor: str | None = None, colors: dict[str, str] | None = None) -> Figure:
    """Quality per frame for every codec (one line per codec and rate point)."""
    part = _select(per_frame, sequence=sequence, metric=metric, rate_point=rate_point,
                   reference=reference, anchor=anchor)
    if part.empty:
        raise invalid("sequence/metric", (sequence, metric), "a pair present in per_frame.csv")
    colors = colors or codec_colors(per_frame["codec"].unique())
    fig, ax = _axes(f"{sequence} — {metric} per frame", "frame", metric)
    styles = ("-", "--", ":", "-.")
    for (codec, rp), curve in part.groupby(["codec", "rate_point"]):
        points = sorted(part[part["codec"] == codec]["rate_point"].unique())
        curve = curve.sort_values("frame")
        ax.plot(curve["frame"], curve["value"], linestyle=styles[points.index(rp) % 4],
                label=f"{codec} {rp}", color=colors.get(str(codec)))
    ax.legend(fontsize=7, ncol=2)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (closes nothing: figures are not registered with pyplot)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write the figure as a PNG file atomically and return the path."""
    from vqabench.reports.tables import write_text

    return write_text(path, png_bytes(fig))
