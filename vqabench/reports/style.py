"""One figure style for every figure vqabench draws: sizes, fonts, codec colours, log-rate ticks.

- Sizes: :data:`COLUMN_IN` (3.5 in, one column) and :data:`PAGE_IN` (7 in, the full text
  width of IEEE and ACM two-column templates); fonts are 8 pt (ticks and legends 7 pt), so a
  figure included at its width prints at the size of a caption.
- Fonts: serif text and mathtext in STIX (shipped with matplotlib), the Times design of the
  IEEE LaTeX templates (``IEEEtran``, ``times``/``newtx``); glyphs it lacks come from DejaVu
  Serif. No LaTeX installation needed. PDF embeds TrueType (Type 42) fonts, SVG keeps text as
  text. Computer Modern (matplotlib's ``cmr10``) is not used: its TrueType file maps Latin-1
  code points to TeX glyphs, so ``R²`` or ``é`` would print as other letters without a warning.
- Codec colours: :func:`codec_styles` gives each codec one colour and one marker, the anchor
  first, then the run's order, from the colour-blind-safe Okabe–Ito palette (anchor black).
  Pass the codecs of the whole run so a codec looks the same in every figure of a report.
- Log-rate axes: :func:`log_rate_axis` labels 1-2-5 ticks (100, 200, 500, 1000) in plain numbers.

Every figure is made with :func:`new_figure` and written inside :func:`context` (the fonts are
looked up when the figure is drawn).

Example:
    >>> styles = codec_styles(["x265", "x264"], anchor="x264")
    >>> list(styles)                              # anchor first, then the run's order
    ['x264', 'x265']
    >>> fig = new_figure(COLUMN_IN, 2.6)
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
)

__all__ = [
    "COLUMN_IN",
    "PAGE_IN",
    "FONT_PT",
    "RC",
    "OKABE_ITO",
    "MARKERS",
    "METADATA",
    "CodecStyle",
    "context",
    "styled",
    "new_figure",
    "codec_styles",
    "codec_colors",
    "log_ticks",
    "log_rate_axis",
    "rate_point_colors",
]

P = ParamSpec("P")
R = TypeVar("R")

#: Width of a one-column figure and of a full-width (two-column) figure, in inches.
COLUMN_IN = 3.5
PAGE_IN = 7.0
#: Base font size (pt): labels and titles; ticks and legends are 1 pt smaller.
FONT_PT = 8.0

#: Okabe & Ito (2008) colour-blind-safe palette, anchor (black) first, yellow last.
OKABE_ITO = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")

#: rcParams of every figure (see module docstring).
RC: dict[str, object] = {
    "font.family": ["STIXGeneral", "DejaVu Serif"],  # a list: missing glyphs fall back
    "mathtext.fontset": "stix",
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT - 1,
    "ytick.labelsize": FONT_PT - 1,
    "legend.fontsize": FONT_PT - 1,
    "figure.titlesize": FONT_PT + 1,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.35,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.8",
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.3,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "vqabench",
}

#: Fixed file metadata, so that PDF and SVG files are byte-identical across runs.
METADATA: dict[str, dict[str, str | None]] = {
    "pdf": {"CreationDate": None, "Creator": "vqabench", "Producer": None},
    "svg": {"Date": None, "Creator": "vqabench"},
    "png": {"Software": "vqabench"},
}


@contextlib.contextmanager
def context() -> Iterator[None]:
    """The figure style's rcParams, for making and for writing a figure."""
    with matplotlib.rc_context(RC):
        yield


def styled(make: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a figure-making function inside :func:`context` (lines, legends and
    texts read their sizes from rcParams when they are made)."""

    @functools.wraps(make)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with context():
            return make(*args, **kwargs)

    return wrapper


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure of the given size (inches) with constrained layout, outside pyplot."""
    with context():
        return Figure(figsize=(width_in, height_in), dpi=150, layout="constrained")


@dataclass(frozen=True)
class CodecStyle:
    """How one codec is drawn in every figure: line colour and marker."""

    color: str
    marker: str


def codec_styles(codecs: Iterable[object], anchor: str | None = None) -> dict[str, CodecStyle]:
    """Colour and marker per codec: ``anchor`` first (black, circles), then the codecs in the
    order given (the run's order), duplicates dropped. The dict's order is the legend order.

    Args:
        codecs: every codec of the run, in the run's order.
        anchor: the anchor codec; None: the first codec is drawn first.
    """
    names = list(dict.fromkeys(map(str, codecs)))
    if anchor is not None and str(anchor) in names:
        names.remove(str(anchor))
        names.insert(0, str(anchor))
    return {
        c: CodecStyle(OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)])
        for i, c in enumerate(names)
    }


def codec_colors(codecs: Iterable[object], anchor: str | None = None) -> dict[str, str]:
    """Colour per codec (see :func:`codec_styles`)."""
    return {c: s.color for c, s in codec_styles(codecs, anchor).items()}


def rate_point_colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` colours of one sequential map (viridis, its pale yellow end left out), the first
    rate point darkest, for lines that are rate points of one codec."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


def log_ticks(low: float, high: float, *, max_ticks: int = 7) -> list[float]:
    """Major ticks of a log axis from ``low`` to ``high`` (both > 0): the 1-2-5 sequence
    (…, 50, 100, 200, 500, 1000, …); powers of ten alone when that gives more than
    ``max_ticks``; every 1…9 × 10^k when 1-2-5 puts fewer than two ticks in the range.

    Example:
        >>> log_ticks(80, 900)
        [100.0, 200.0, 500.0]
    """
    if not (0 < low < high and math.isfinite(high)):
        return []

    def ticks(subs: Sequence[int]) -> list[float]:
        out = []
        for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
            for s in subs:
                value = float(f"{s * 10.0**k:.12g}")  # 0.30000000000000004 -> 0.3
                if low * (1 - 1e-9) <= value <= high * (1 + 1e-9):
                    out.append(value)
        return out

    if len(ticks((1, 2, 5))) > max_ticks:
        return ticks((1,))
    for subs in ((1, 2, 5), (1, 2, 3, 5), range(1, 10)):
        if len(ticks(subs)) >= 3:
            return ticks(subs)
    if len(ticks(range(1, 10))) >= 2:
        return ticks(range(1, 10))
    nice = MaxNLocator(nbins=3, steps=[1, 2, 5, 10]).tick_values(low, high)
    return [float(f"{v:.12g}") for v in nice if low <= v <= high]


def log_rate_axis(ax: Axes, axis: str = "x") -> None:
    """Log scale on ``axis`` with readable major ticks (:func:`log_ticks` over the current
    limits, so call it after plotting) labelled as plain numbers, unlabelled minor ticks."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    major = log_ticks(low, high)
    if major:
        target.set_major_locator(FixedLocator(major))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    target.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    target.set_minor_formatter(NullFormatter())
