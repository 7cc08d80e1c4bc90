"""Figures with matplotlib (Agg backend, no display needed): RD curves and per-frame quality.

Figures are made for papers, in one style (:mod:`vqabench.reports.style`): axes name the
quantity and its unit (``PSNR-Y (dB)``, ``Rate (kbps)``, ``Rate (bpp)``; VMAF, SSIM and the
learned metrics are unitless), every codec keeps one colour *and* one marker in every figure of
a report, the anchor first and then the run's order (:func:`codec_styles`; legends follow that
order), log-rate axes carry 1-2-5 ticks in plain numbers, and :data:`LAYOUTS` gives the sizes
of a one-column (3.5 in) and a full-width (7 in) figure. :func:`save_figure` writes PNG, PDF
and SVG (vector) next to each other.

The averaged RD curve of a metric puts, for each codec and rate point, the geometric mean of
the rates and the arithmetic mean of the quality over the sequences that have that point.

Example:
    >>> fig = rd_curve_figure(results, sequence="Foreman", metric="psnr_y")
    >>> save_figure(fig, "report/rd_Foreman_psnr_y")   # .png, .pdf, .svg
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vqabench.errors import invalid  # noqa: E402
from vqabench.reports import style as _s  # noqa: E402
from vqabench.reports.figspec import FORMATS, LAYOUT_NAMES, Layout  # noqa: E402
from vqabench.reports.style import CodecStyle, codec_colors, codec_styles  # noqa: E402

__all__ = [
    "LAYOUTS",
    "FORMATS",
    "Layout",
    "CodecStyle",
    "codec_colors",
    "codec_styles",
    "axis_label",
    "sequence_curves",
    "rd_curve_figure",
    "average_curve",
    "average_rd_figure",
    "sweep_figure",
    "per_frame_figure",
    "png_bytes",
    "save_png",
    "save_figure",
    "style_of",
    "codec_order",
    "new_axes",
    "select_rows",
]

#: (width, height) in inches and base font size (pt) per layout (names:
#: :data:`~vqabench.reports.figspec.LAYOUT_NAMES`).
LAYOUTS: dict[str, tuple[float, float, float]] = dict(
    zip(LAYOUT_NAMES, ((_s.COLUMN_IN, 2.6, _s.FONT_PT), (_s.PAGE_IN, 3.2, _s.FONT_PT)), strict=True)
)

#: metric -> (label, unit); unitless metrics have unit "".
_QUANTITIES: dict[str, tuple[str, str]] = {
    "psnr_y": ("PSNR-Y", "dB"),
    "psnr_u": ("PSNR-U", "dB"),
    "psnr_v": ("PSNR-V", "dB"),
    "psnr_yuv": ("PSNR-YUV", "dB"),
    "ssim": ("SSIM", ""),
    "ms_ssim": ("MS-SSIM", ""),
    "vmaf": ("VMAF", ""),
    "vmaf_neg": ("VMAF NEG", ""),
    "lpips": ("LPIPS", ""),
    "dists": ("DISTS", ""),
    "pt_loss": ("PT-Loss", ""),
    "rankdvqa_ugc": ("RankDVQA-UGC", ""),
    "kbps": ("Rate", "kbps"),
    "bpp": ("Rate", "bpp"),
    "bits": ("Size", "bits"),
    "frame": ("Frame", ""),
}


def axis_label(quantity: str) -> str:
    """Axis label with its unit: ``psnr_y`` -> ``PSNR-Y (dB)``, ``kbps`` -> ``Rate (kbps)``,
    ``vmaf`` -> ``VMAF``; an unknown name is shown as it is."""
    label, unit = _QUANTITIES.get(quantity, (quantity, ""))
    return f"{label} ({unit})" if unit else label


def style_of(
    styles: dict[str, CodecStyle] | dict[str, str] | None, codec: str, all_codecs: Sequence[str]
) -> CodecStyle:
    """The colour and marker of ``codec``: from ``styles`` (a bare colour there keeps the
    default marker), else the default style of ``all_codecs``."""
    styles = styles or codec_styles(all_codecs)
    style = styles.get(codec)
    if isinstance(style, CodecStyle):
        return style
    fallback = codec_styles(all_codecs).get(codec, CodecStyle(_s.OKABE_ITO[0], _s.MARKERS[0]))
    return CodecStyle(style or fallback.color, fallback.marker)


def codec_order(
    styles: dict[str, CodecStyle] | dict[str, str] | None, codecs: Sequence[str]
) -> list[str]:
    """``codecs`` in the order of ``styles`` (anchor first, then the run's order); codecs
    that ``styles`` lacks follow in their own order."""
    known = [c for c in (styles or {}) if c in codecs]
    return known + [c for c in codecs if c not in known]


def new_axes(
    title: str, xlabel: str, ylabel: str, layout: Layout = "one-column"
) -> tuple[Figure, Axes]:
    """A one-panel figure of ``layout``'s size in the paper style, titled and labelled.

    Raises:
        ConfigError: unknown layout.
    """
    if layout not in LAYOUTS:
        raise invalid("layout", layout, " | ".join(LAYOUTS))
    width, height, _font = LAYOUTS[layout]
    fig = _s.new_figure(width, height)
    with _s.context():
        ax = fig.add_subplot(1, 1, 1)
        ax.set_title(title)
        ax.set_xlabel(axis_label(xlabel))
        ax.set_ylabel(axis_label(ylabel))
        ax.grid(True, which="major")
    return fig, ax


def select_rows(results: pd.DataFrame, **where: str) -> pd.DataFrame:
    """The rows whose column ``k`` equals ``v`` for each ``k=v`` of ``where`` (None: any)."""
    part = results
    for k, v in where.items():
        if v is not None:
            part = part[part[k] == v]
    return part


def sequence_curves(
    results: pd.DataFrame,
    *,
    sequence: str,
    metric: str,
    reference: str | None,
    anchor: str | None,
    rate_column: str,
    colors: dict[str, CodecStyle] | dict[str, str] | None,
    title: str,
    layout: Layout,
) -> tuple[Figure, Axes, list[tuple[str, pd.DataFrame, CodecStyle]]]:
    """The axes of a one-sequence RD figure and its curves: ``(codec, rows sorted by rate,
    style)`` in legend order (anchor first), rates > 0 only (a log axis).

    Raises:
        ConfigError: no rows for this sequence and metric, unknown layout.
    """
    part = select_rows(
        results, sequence=sequence, metric=metric, reference=reference, anchor=anchor
    )
    part = part[part[rate_column] > 0]
    if part.empty:
        raise invalid("sequence/metric", (sequence, metric), "a pair present in the results")
    codecs = list(results["codec"].astype(str).unique())
    fig, ax = new_axes(title, rate_column, metric, layout)
    curves = [
        (
            codec,
            part[part["codec"].astype(str) == codec].sort_values(rate_column),
            style_of(colors, codec, codecs),
        )
        for codec in codec_order(colors, list(part["codec"].astype(str).unique()))
    ]
    return fig, ax, curves


@_s.styled
def rd_curve_figure(
    results: pd.DataFrame,
    *,
    sequence: str,
    metric: str,
    reference: str | None = None,
    anchor: str | None = None,
    rate_column: str = "kbps",
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    layout: Layout = "one-column",
) -> Figure:
    """Rate (log axis) against quality for every codec on one sequence.

    Args:
        colors: codec -> :class:`CodecStyle` (or colour) from :func:`codec_styles` over the
            whole run, so a codec looks the same in every figure.
        layout: ``one-column`` or ``two-column`` (:data:`LAYOUTS`).

    Raises:
        ConfigError: no rows for this sequence and metric, unknown layout.
    """
    fig, ax, curves = sequence_curves(
        results,
        sequence=sequence,
        metric=metric,
        reference=reference,
        anchor=anchor,
        rate_column=rate_column,
        colors=colors,
        title=f"{sequence}",
        layout=layout,
    )
    for codec, curve, style in curves:
        ax.plot(
            curve[rate_column], curve["value"], marker=style.marker, label=codec, color=style.color
        )
    _s.log_rate_axis(ax)
    ax.legend(loc="best")
    return fig


def average_curve(rows: pd.DataFrame, rate_column: str = "kbps") -> pd.DataFrame:
    """One codec's RD curve averaged over sequences (module docstring): per rate point the
    geometric mean of ``rate_column`` and the arithmetic mean of ``value`` over the rows
    (sequences) that have it; columns ``rate``, ``value``, ``n`` (rows averaged), sorted by
    rate. Rows with a rate <= 0 are left out."""
    rows = rows[rows[rate_column] > 0]
    avg = (
        rows.assign(_log_rate=np.log10(rows[rate_column].to_numpy(float)))
        .groupby("rate_point")
        .agg(log_rate=("_log_rate", "mean"), value=("value", "mean"), n=("value", "size"))
        .sort_values("log_rate")
    )
    return pd.DataFrame(
        {
            "rate": 10 ** avg["log_rate"].to_numpy(float),
            "value": avg["value"].to_numpy(float),
            "n": avg["n"].to_numpy(int),
        },
        index=avg.index,
    )


@_s.styled
def average_rd_figure(
    results: pd.DataFrame,
    *,
    metric: str,
    reference: str | None = None,
    anchor: str | None = None,
    rate_column: str = "kbps",
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    layout: Layout = "one-column",
) -> Figure:
    """RD curve per codec averaged over sequences (see module docstring)."""
    part = select_rows(results, metric=metric, reference=reference, anchor=anchor)
    if part.empty:
        raise invalid("metric", metric, "a metric present in the results")
    part = part[part[rate_column] > 0]
    codecs = list(results["codec"].astype(str).unique())
    fig, ax = new_axes(
        f"Average over {part['sequence'].nunique()} sequences", rate_column, metric, layout
    )
    for codec in codec_order(colors, list(part["codec"].astype(str).unique())):
        avg = average_curve(part[part["codec"].astype(str) == codec], rate_column)
        style = style_of(colors, codec, codecs)
        ax.plot(avg["rate"], avg["value"], marker=style.marker, label=codec, color=style.color)
    _s.log_rate_axis(ax)
    ax.legend(loc="best")
    return fig


@_s.styled
def sweep_figure(
    points: pd.DataFrame, *, option: str, anchor: str, layout: Layout = "one-column"
) -> Figure:
    """Mean BD-rate against a codec option swept over several codecs (PT-Loss paper, Fig. 6).

    Args:
        points: one row per (metric, swept value): columns ``metric``, ``value`` (the option's
            value), ``bd_rate``, ``ci_low``, ``ci_high`` (the 95 % interval, NaN when
            undefined) and ``n_sequences``.
        option: the option's name (the x axis).
        anchor: the codec the BD-rates are against (a dashed line at 0 %).
    """
    if points.empty:
        raise invalid("points", "empty", "at least one (metric, value) BD-rate")
    fig, ax = new_axes(f"BD-rate vs {anchor}, mean over sequences", option, "BD-rate (%)", layout)
    ax.axhline(0.0, color="0.4", linestyle="--", linewidth=0.8)
    metrics = list(dict.fromkeys(points["metric"].astype(str)))
    span = float(points["value"].max() - points["value"].min()) or 1.0
    for i, (metric, style) in enumerate(codec_styles(metrics).items()):
        part = points[points["metric"] == metric].sort_values("value")
        bd = part["bd_rate"].to_numpy(float)
        low = np.nan_to_num(np.clip(bd - part["ci_low"].to_numpy(float), 0, None))
        high = np.nan_to_num(np.clip(part["ci_high"].to_numpy(float) - bd, 0, None))
        shift = (i - (len(metrics) - 1) / 2) * 0.01 * span  # side by side, bars apart
        ax.errorbar(
            part["value"].to_numpy(float) + shift,
            bd,
            yerr=[low, high],
            marker=style.marker,
            capsize=2,
            color=style.color,
            label=_QUANTITIES.get(metric, (metric, ""))[0],
        )
    ax.legend(loc="best")
    return fig


@_s.styled
def per_frame_figure(
    per_frame: pd.DataFrame,
    *,
    sequence: str,
    metric: str,
    rate_point: str | None = None,
    reference: str | None = None,
    anchor: str | None = None,
    colors: dict[str, CodecStyle] | dict[str, str] | None = None,
    layout: Layout = "two-column",
) -> Figure:
    """Quality per frame: small multiples, one panel per codec (the anchor first, titled in
    the codec's colour), the rate points of a codec in one sequential colour map, shared axes
    and the legend outside the panels (:func:`vqabench.reports.frameplots.rate_point_panels`).

    Raises:
        ConfigError: no rows for this sequence and metric, unknown layout.
    """
    from vqabench.reports.frameplots import rate_point_panels

    if layout not in LAYOUTS:
        raise invalid("layout", layout, " | ".join(LAYOUTS))
    part = select_rows(
        per_frame,
        sequence=sequence,
        metric=metric,
        rate_point=rate_point,
        reference=reference,
        anchor=anchor,
    )
    if part.empty:
        raise invalid("sequence/metric", (sequence, metric), "a pair present in per_frame.csv")
    codecs = list(per_frame["codec"].astype(str).unique())
    styles = {c: style_of(colors, c, codecs) for c in codec_order(colors, codecs)}
    return rate_point_panels(
        part,
        value="value",
        styles=styles,
        width_in=LAYOUTS[layout][0],
        title=f"{sequence}, per frame",
        ylabel=axis_label(metric),
    )


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (closes nothing: figures are not registered with pyplot)."""
    return _bytes(fig, "png")


def _bytes(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    with _s.context():
        fig.savefig(buf, format=fmt, metadata=_s.METADATA.get(fmt))
    return buf.getvalue()


def save_figure(
    fig: Figure, stem: str | os.PathLike[str], formats: Sequence[str] = FORMATS
) -> tuple[Path, ...]:
    """Write the figure as ``stem.png``, ``stem.pdf`` and ``stem.svg`` (or ``formats``),
    atomically, and return the paths in that order.

    PDF embeds TrueType fonts (Type 42, accepted by IEEE PDF eXpress); SVG keeps text as
    text. Both carry no creation date, so re-running a report gives identical files.

    Raises:
        ConfigError: a format other than png, pdf, svg.
    """
    from vqabench.reports.tables import write_text

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise invalid("formats", list(formats), "a non-empty subset of " + ", ".join(FORMATS))
    stem = Path(stem)
    if fig.get_layout_engine() is not None:  # lay out once, not once per format
        with _s.context():
            fig.draw_without_rendering()
        fig.set_layout_engine("none")
    return tuple(
        write_text(stem.with_name(f"{stem.name}.{fmt}"), _bytes(fig, fmt)) for fmt in formats
    )


def save_png(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write the figure as a PNG file atomically and return the path."""
    from vqabench.reports.tables import write_text

    return write_text(path, png_bytes(fig))
