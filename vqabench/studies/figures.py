"""Figures of a study analysis (matplotlib, Agg): preference bars, scores against bitrate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vqabench.reports.plots import codec_colors

__all__ = ["preference_figure", "scores_figure"]


def preference_figure(preferences: pd.DataFrame) -> Figure:
    """Horizontal bars: preference for ``a`` in each compared pair, with its interval."""
    n = len(preferences)
    fig = Figure(figsize=(6.4, 1.2 + 0.32 * n), dpi=90, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(n)
    p = preferences["preference_a"].to_numpy(dtype=float)
    err = np.vstack([p - preferences["lo"].to_numpy(dtype=float),
                     preferences["hi"].to_numpy(dtype=float) - p])
    ax.barh(y, p, xerr=err, color="#1f77b4", ecolor="#333", capsize=3)
    ax.axvline(0.5, color="#d62728", lw=1, ls="--")
    ax.set_yticks(y, [f"{r.sequence}: {r.a_codec} {r.a_rate_point} vs {r.b_codec} "
                      f"{r.b_rate_point}" for r in preferences.itertuples()], fontsize=7)
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
            v = rows["value"].to_numpy(dtype=float)
            err = np.vstack([v - rows["lo"].to_numpy(dtype=float),
                             rows["hi"].to_numpy(dtype=float) - v])
            ax.errorbar(rows["kbps"], v, yerr=err, marker="o", capsize=3, label=codec,
                        color=colors[codec])
        ax.set_xscale("log")
        ax.set_title(seq, fontsize=10)
        ax.set_xlabel("rate (kbps)")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig
