"""vqabench/reports/figspec.py: figure options checked without matplotlib."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vqabench.errors import ConfigError
from vqabench.reports.figspec import FORMATS, LAYOUT_NAMES, check_figure_options


def test_the_names_are_the_plot_modules_own():
    from vqabench.reports import plots

    assert set(LAYOUT_NAMES) == set(plots.LAYOUTS)
    assert LAYOUT_NAMES == ("one-column", "two-column") and FORMATS == ("png", "pdf", "svg")


@pytest.mark.parametrize(
    ("layout", "formats", "named"),
    [
        ("three-column", ["png"], "layout='three-column'"),
        ("one-column", ["png", "eps"], "formats=\\['png', 'eps'\\]"),
        ("one-column", [], "formats=\\[\\]"),
    ],
)
def test_bad_options_are_refused_by_name(layout, formats, named):
    with pytest.raises(ConfigError, match=named):
        check_figure_options(layout, formats)
    check_figure_options("two-column", ["pdf", "svg"])  # allowed: no error


def test_checking_does_not_import_matplotlib():
    code = (
        "import sys; from vqabench.reports.figspec import check_figure_options; "
        "check_figure_options('one-column', ['png']); print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
