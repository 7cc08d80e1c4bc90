"""Names of figure formats and layouts, without matplotlib: what a tables-only report
(``vqabench report --figures none``) validates without paying for the import.

:mod:`vqabench.reports.plots` gives the layouts their sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vqabench.errors import invalid

__all__ = ["FORMATS", "LAYOUT_NAMES", "Layout", "check_figure_options"]

Layout = Literal["one-column", "two-column"]
#: Layouts of a figure: one column (3.5 in) or the full text width (7 in).
LAYOUT_NAMES: tuple[str, ...] = ("one-column", "two-column")
#: Formats a figure can be written in.
FORMATS: tuple[str, ...] = ("png", "pdf", "svg")


def check_figure_options(layout: str, formats: Sequence[str]) -> None:
    """Refuse an unknown layout or format (ConfigError naming the value and what is allowed)."""
    if layout not in LAYOUT_NAMES:
        raise invalid("layout", layout, " | ".join(LAYOUT_NAMES))
    if not formats or any(f not in FORMATS for f in formats):
        raise invalid("formats", list(formats), "a non-empty subset of " + ", ".join(FORMATS))
