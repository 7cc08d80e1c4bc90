"""RD curves per group, the ``ptloss`` style's groups: one panel per group (the reference
groups Low, Medium, High of UGC transcoding runs, in that order; other labels, e.g. a
dataset's classes, after them by name) and one for Overall.

Each panel shows, per codec, the RD curve averaged over the group's sequences
(:func:`~vqabench.reports.plots.average_curve`: geometric mean of the rate, arithmetic mean of
the quality per rate point), rate on a log axis; the panels share both axes, so a group's
curves sit where they are against the others. Codecs keep the report's colour and marker
(:func:`~vqabench.reports.style.codec_styles`, the anchor first); the legend sits under the
panels. In UGC runs a "sequence" is one (source, reference) pair, the unit the BD-rates of the
``ptloss`` table average (:func:`~vqabench.evaluation.aggregate.fold_references`).

Example:
    >>> fig = group_rd_figure(results, metric="vmaf")   # results with a ``group`` column
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from vqabench.errors import invalid
from vqabench.evaluation.aggregate import OVERALL, group_sort_key
from vqabench.reports import style as _s
from vqabench.reports.plots import (
    LAYOUTS,
    Layout,
    average_curve,
    axis_label,
    codec_order,
    style_of,
)
from vqabench.reports.style import CodecStyle

__all__ = ["groups_of", "group_rd_figure"]

_PANEL_IN = 1.55  # height of one row of panels


def groups_of(results: pd.DataFrame) -> list[str]:
    """The group labels of ``results`` in table order (Low, Medium, High, then by name);
    [] when it has no ``group`` column or only empty labels."""
    if "group" not in results.columns:
        return []
    labels = {str(g) for g in results["group"].fillna("") if str(g) and g != OVERALL}
    return sorted(labels, key=group_sort_key)


@_s.styled
def group_rd_figure(
    results: pd.DataFrame,
    *,
    metric: str,
    reference: str | None = None,
    anchor: str | None = None,
    rate_column: str = "kbps",
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    layout: Layout = "one-column",
) -> Figure:
    """Averaged RD curves of ``metric`` per group and Overall (module docstring).

    Args:
        results: tidy rows with a ``group`` column (sequences without a label count in
            Overall only).
        colors: codec -> style over the whole run; its order is the legend order.
        layout: ``one-column`` (3.5 in, two panels a row) or ``two-column`` (7 in, up to four
            panels a row).

    Raises:
        ConfigError: no rows of ``metric``, no group labels, unknown layout.
    """
    if layout not in LAYOUTS:
        raise invalid("layout", layout, " | ".join(LAYOUTS))
    part = results[results["metric"] == metric]
    if reference is not None:
        part = part[part["reference"] == reference]
    if anchor is not None:
        part = part[part["anchor"] == anchor]
    part = part[part[rate_column] > 0]
    if part.empty:
        raise invalid("metric", metric, "a metric present in the results")
    groups = groups_of(part)
    if not groups:
        raise invalid(
            "results",
            "without group labels",
            "results whose 'group' column labels the sequences (a run with a reference stage)",
        )
    panels = [*groups, OVERALL]
    width = LAYOUTS[layout][0]
    ncols = min(len(panels), 2 if width <= _s.COLUMN_IN else 4)
    nrows = math.ceil(len(panels) / ncols)
    fig = _s.new_figure(width, 0.7 + _PANEL_IN * nrows)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    all_codecs = list(results["codec"].astype(str).unique())
    codecs = codec_order(colors, list(part["codec"].astype(str).unique()))
    styles = {c: style_of(colors, c, all_codecs) for c in codecs}
    for ax, group in zip(axes, panels, strict=False):
        rows = part if group == OVERALL else part[part["group"].astype(str) == group]
        for codec in codecs:
            avg = average_curve(rows[rows["codec"].astype(str) == codec], rate_column)
            ax.plot(
                avg["rate"],
                avg["value"],
                marker=styles[codec].marker,
                color=styles[codec].color,
                label=codec,
            )
        n = rows["sequence"].nunique()
        ax.set_title(f"{group} ({n} sequence{'s' * (n != 1)})")
        ax.grid(True, which="major")
    for k, ax in enumerate(axes[: len(panels)]):
        if k + ncols >= len(panels):  # no panel below it
            ax.set_xlabel(axis_label(rate_column))
            ax.xaxis.set_tick_params(labelbottom=True)
        if k % ncols == 0:
            ax.set_ylabel(axis_label(metric))
    _s.log_rate_axis(axes[0])  # shared: every panel gets the ticks
    handles = [
        Line2D([], [], color=styles[c].color, marker=styles[c].marker, label=c) for c in codecs
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        frameon=False,
        ncols=max(1, min(len(handles), 4 if width <= _s.COLUMN_IN else 8)),
    )
    fig.suptitle(f"{axis_label(metric)} per group, mean over sequences")
    return fig
