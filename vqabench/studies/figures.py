"""Figures of a study analysis (matplotlib, Agg): preference bars, scores against bitrate.

Intervals are drawn from their own ends ``[lo, hi]`` (an error bar about the interval's
middle), never as distances from the estimate: a distance is negative when an end sits on
the estimate up to rounding (the Wilson interval of 0 of n) or when a percentile bootstrap
interval does not contain the estimate, and matplotlib refuses negative distances. NaN
values and intervals are simply not drawn; :func:`figure_skip_reason` says when a whole
figure would be empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vqabench.reports.plots import codec_colors

__all__ = ["preference_figure", "scores_figure", "figure_skip_reason"]


def _interval_bars(lo: pd.Series, hi: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Middle and half-width of intervals (both NaN where an end is missing)."""
    lo_v, hi_v = lo.to_numpy(dtype=float), hi.to_numpy(dtype=float)
    return (lo_v + hi_v) / 2, np.abs(hi_v - lo_v) / 2


def figure_skip_reason(table: pd.DataFrame, column: str) -> str:
    """Why a figure of ``table[column]`` cannot be drawn ("" when it can)."""
    if table.empty:
        return "nothing to draw (no rows)"
    if not np.isfinite(table[column].to_numpy(dtype=float)).any():
        return f"no finite {column} (see the notes above)"
    return ""


def preference_figure(preferences: pd.DataFrame) -> Figure:
    """Horizontal bars: preference for ``a`` in each compared pair, with its interval."""
    n = len(preferences)
    fig = Figure(figsize=(6.4, 1.2 + 0.32 * n), dpi=90, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(n)
    ax.barh(y, preferences["preference_a"].to_numpy(dtype=float), color="#1f77b4")
    middle, half = _interval_bars(preferences["lo"], preferences["hi"])
    ax.errorbar(middle, y, xerr=half, fmt="none", ecolor="#333", capsize=3)
    ax.axvline(0.5, color="#d62728", lw=1, ls="--")
    ax.set_yticks(
        y,
        [
            f"{r.sequence}: {r.a_codec} {r.a_rate_point} vs {r.b_codec} {r.b_rate_point}"
            for r in preferences.itertuples()
        ],
        fontsize=7,
    )
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("preference for the first video of the pair")
    return fig


def scores_figure(scores: pd.DataFrame, *, metric: str) -> Figure:
    """One panel per sequence: score of ``metric`` against kbps (log axis), per codec."""
    part = scores[scores["metric"] == metric]
    seqs = sorted(set(part["sequence"]))
    colors = codec_colors(list(part["codec"]))
    fig = Figure(figsize=(4.2 * len(seqs), 3.4), dpi=90, layout="constrained")
    for k, seq in enumerate(seqs):
        ax = fig.add_subplot(1, len(seqs), k + 1)
        for codec, rows in part[part["sequence"] == seq].groupby("codec"):
            rows = rows.sort_values("kbps")
            ax.plot(
                rows["kbps"],
                rows["value"].to_numpy(dtype=float),
                marker="o",
                label=codec,
                color=colors[codec],
            )
            middle, half = _interval_bars(rows["lo"], rows["hi"])
            ax.errorbar(
                rows["kbps"],
                middle,
                yerr=half,
                fmt="none",
                capsize=3,
                ecolor=colors[codec],
                label=f"_interval {codec}",
            )
        ax.set_xscale("log")
        ax.set_title(seq, fontsize=10)
        ax.set_xlabel("rate (kbps)")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig
