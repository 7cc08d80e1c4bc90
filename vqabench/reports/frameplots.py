"""Per-frame figures as small multiples: quality per frame, and coded size (kbit) per frame.

Both draw one panel per codec (the anchor first, the panel titled in the codec's report
colour, :mod:`vqabench.reports.style`), frames in display order on a shared x axis, a shared y
axis, and the rate points of a codec as lines of one sequential colour map (the run's first
rate point darkest); the rate-point legend sits outside the panels. Coded-size figures use a
log y axis and mark intra frames with circles.

Example:
    >>> fig = frame_rate_figure(per_frame, sequence="Foreman")
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from vqabench.errors import invalid
from vqabench.reports import style as _s
from vqabench.reports.style import CodecStyle, codec_styles

__all__ = ["has_frame_rates", "frame_rate_figure", "rate_point_panels"]

_PANEL_IN = 1.45  # height of one row of panels


def _frame_rows(per_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per coded frame (per_frame.csv repeats each frame once per metric)."""
    if "frame_bits" not in per_frame.columns:  # per_frame.csv of an older run
        return per_frame.iloc[0:0]
    bits = pd.to_numeric(per_frame["frame_bits"], errors="coerce")
    rows = per_frame[bits.notna()].assign(frame_bits=bits[bits.notna()])
    return rows.drop_duplicates(["sequence", "reference", "codec", "rate_point", "frame"])


def has_frame_rates(per_frame: pd.DataFrame) -> bool:
    """True when per_frame.csv has coded frame sizes."""
    return not _frame_rows(per_frame).empty


def _legend_labels(ladders: dict[str, list[str]]) -> list[str]:
    """One label per rate-point index: the rate point when every codec names it alike, else
    the distinct names joined by `` / ``."""
    n = max(len(points) for points in ladders.values())
    labels = []
    for i in range(n):
        names = list(dict.fromkeys(p[i] for p in ladders.values() if i < len(p)))
        labels.append(" / ".join(names))
    return labels


def rate_point_panels(
    part: pd.DataFrame,
    *,
    value: str,
    styles: dict[str, CodecStyle],
    width_in: float,
    title: str,
    ylabel: str,
    log_y: bool = False,
    intra: bool = False,
) -> Figure:
    """Small multiples of ``part[value]`` against ``part["frame"]`` (module docstring).

    Args:
        part: rows of one sequence and metric: columns ``codec``, ``rate_point``, ``frame``,
            ``value`` (and ``frame_type`` when ``intra``).
        styles: codec -> style, in panel order (anchor first); codecs of ``part`` that it
            lacks follow in their order.
        width_in: figure width (:data:`~vqabench.reports.style.PAGE_IN` or ``COLUMN_IN``).
        log_y: log y axis with 1-2-5 ticks.
        intra: mark frames whose ``frame_type`` is ``I`` with circles.
    """
    present = list(dict.fromkeys(part["codec"].astype(str)))
    codecs = [c for c in styles if c in present] + [c for c in present if c not in styles]
    styles = {**codec_styles(codecs), **styles}
    ladders = {
        c: list(dict.fromkeys(part[part["codec"].astype(str) == c]["rate_point"].astype(str)))
        for c in codecs
    }
    labels = _legend_labels(ladders)
    colours = _s.rate_point_colors(len(labels))
    nrows = math.ceil(len(codecs) / (3 if width_in > _s.COLUMN_IN else 2))
    ncols = math.ceil(len(codecs) / nrows)  # balanced rows: 4 codecs in 2 x 2
    fig = _s.new_figure(width_in, 0.75 + _PANEL_IN * nrows)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax in axes[len(codecs) :]:
        fig.delaxes(ax)
    for ax, codec in zip(axes, codecs, strict=False):
        rows = part[part["codec"].astype(str) == codec]
        for i, rp in enumerate(ladders[codec]):
            curve = rows[rows["rate_point"].astype(str) == rp].sort_values("frame")
            ax.plot(curve["frame"], curve[value], color=colours[i], label=labels[i])
            if intra and "frame_type" in curve:
                key = curve[curve["frame_type"] == "I"]
                ax.plot(
                    key["frame"],
                    key[value],
                    "o",
                    color=colours[i],
                    markersize=3,
                    markerfacecolor="none",
                )
        ax.set_title(codec, color=styles[codec].color, fontweight="bold")
        ax.grid(True, which="major")
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        if log_y:
            ax.set_yscale("log")
    for k, ax in enumerate(axes[: len(codecs)]):
        if k + ncols >= len(codecs):  # no panel below it
            ax.set_xlabel("Frame (display order)")
            ax.xaxis.set_tick_params(labelbottom=True)
        if k % ncols == 0:
            ax.set_ylabel(ylabel)
    if log_y:
        _s.log_rate_axis(axes[0], "y")  # shared: every panel gets the ticks
    handles = [Line2D([], [], color=c, label=lab) for c, lab in zip(colours, labels, strict=True)]
    if intra:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                linestyle="none",
                markerfacecolor="none",
                markersize=3,
                label="intra frame",
            )
        )
    entry_in = 0.5 + 0.06 * max(len(h.get_label()) for h in handles)  # 7 pt text
    fig.legend(
        handles=handles,
        loc="outside lower center",
        frameon=False,
        ncols=max(1, min(len(handles), int(width_in / entry_in))),
    )
    fig.suptitle(title)
    return fig


@_s.styled
def frame_rate_figure(
    per_frame: pd.DataFrame,
    *,
    sequence: str,
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    width_in: float = _s.PAGE_IN,
) -> Figure:
    """kbit per frame of every codec and rate point of ``sequence`` (module docstring).

    Args:
        colors: codec -> style (or colour) from :func:`~vqabench.reports.style.codec_styles`
            over the whole run; its order is the panel order.

    Raises:
        ConfigError: ``sequence`` has no frame sizes in ``per_frame``.
    """
    rows = _frame_rows(per_frame)
    part = rows[rows["sequence"] == sequence]
    if part.empty:
        raise invalid("sequence", sequence, "a sequence with frame_bits in per_frame.csv")
    colors = colors or codec_styles(per_frame["codec"].unique())
    styles = {c: s if isinstance(s, CodecStyle) else CodecStyle(s, "o") for c, s in colors.items()}
    return rate_point_panels(
        part.assign(kbit=part["frame_bits"] / 1000.0),
        value="kbit",
        styles=styles,
        width_in=width_in,
        title=f"{sequence}, coded size per frame",
        ylabel="Size (kbit)",
        log_y=True,
        intra=True,
    )
