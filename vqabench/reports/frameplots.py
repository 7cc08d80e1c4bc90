"""Per-frame rate figures: coded kbit of every frame, from per_frame.csv's ``frame_bits``.

One figure per sequence: a line per (codec, rate point) in the codec's report colour, frames
in display order on x, kbit per frame on a log y axis, intra frames marked with circles.

Example:
    >>> fig = frame_rate_figure(per_frame, sequence="Foreman")
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from vqabench.errors import invalid
from vqabench.reports.plots import codec_colors

__all__ = ["has_frame_rates", "frame_rate_figure"]

_STYLES = ("-", "--", ":", "-.")


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


def frame_rate_figure(per_frame: pd.DataFrame, *, sequence: str,
                      colors: dict[str, str] | None = None) -> Figure:
    """kbit per frame of every codec and rate point of ``sequence`` (module docstring).

    Raises:
        ConfigError: ``sequence`` has no frame sizes in ``per_frame``.
    """
    rows = _frame_rows(per_frame)
    part = rows[rows["sequence"] == sequence]
    if part.empty:
        raise invalid("sequence", sequence, "a sequence with frame_bits in per_frame.csv")
    colors = colors or codec_colors(per_frame["codec"].unique())
    fig = Figure(figsize=(6.0, 3.6), dpi=90)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.14, top=0.9)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(f"{sequence} — coded size per frame", fontsize=10)
    ax.set_xlabel("frame (display order)")
    ax.set_ylabel("kbit per frame")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    for (codec, rp), curve in part.groupby(["codec", "rate_point"], sort=True):
        points = sorted(part[part["codec"] == codec]["rate_point"].unique())
        curve = curve.sort_values("frame")
        color = colors.get(str(codec))
        ax.plot(curve["frame"], curve["frame_bits"] / 1000.0, color=color, linewidth=1,
                linestyle=_STYLES[points.index(rp) % len(_STYLES)], label=f"{codec} {rp}")
        intra = curve[curve["frame_type"] == "I"] if "frame_type" in curve else curve[:0]
        ax.plot(intra["frame"], intra["frame_bits"] / 1000.0, "o", color=color, markersize=3)
    ax.legend(fontsize=6, ncol=2)
    return fig
