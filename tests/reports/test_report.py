"""Tests for vqabench.reports.report on a synthetic run directory (see conftest.py)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from vqabench.errors import ConfigError, DatasetError
from vqabench.reports import build_report
from vqabench.reports.tables import format_number


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self.cells = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.cells.append(data.strip())


@pytest.fixture(scope="module")
def report(tmp_path_factory, run_maker):
    # figures are slow to render: build the full report once for the module
    root = tmp_path_factory.mktemp("report")
    return build_report(run_maker(root / "run"), out_dir=root / "out", formats=("png",))


def test_bdrate_csv_values(report):
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    overall = bd[(bd["group"] == "Overall") & (bd["codec"] == "x265")].set_index("metric")
    assert overall.loc["psnr_y", "bd_rate"] == pytest.approx(-25.0, abs=1e-9)
    assert overall.loc["psnr_u", "bd_rate"] == pytest.approx(-20.0, abs=1e-9)
    # weighted YUV (6:1:1) was derived from the components; same shift -> same BD-rate
    assert "psnr_yuv" in overall.index
    assert overall.loc["psnr_y", "n_excluded"] == 1
    assert "excluded C" in overall.loc["psnr_y", "note"]
    seq_c = bd[(bd["sequence"] == "C") & (bd["metric"] == "psnr_y")]
    assert "not strictly monotonic" in seq_c["note"].iloc[0]


def test_markdown_shows_the_numbers_in_bdrate_csv(report):
    md = report.markdown.read_text()
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    for value in bd["bd_rate"].dropna():
        assert f" {format_number(float(value))} |" in md
    assert "| High | x265 |" in md
    assert "Excluded from the means" in md and "C / psnr_y / x265" in md
    for fig in report.figures:
        assert f"]({fig.name})" in md and fig.is_file()


def test_html_is_self_contained_with_tables_and_images(report):
    text = report.html.read_text()
    parser = _Collect()
    parser.feed(text)
    assert parser.tables >= 3
    assert len(parser.imgs) == len(report.figures) > 0
    for src in parser.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "-25.00" in parser.cells
    assert not re.search(r'src="(?!data:)', text)  # nothing loaded from outside


def test_latex_and_figures(report):
    tex = report.latex.read_text()
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") >= 3
    assert r"$-$25.00" in tex
    names = {p.name for p in report.figures}
    assert "rd_average_psnr_y.png" in names and "frames_A_psnr_y.png" in names
    assert "rd_A_psnr_y.png" in names


def test_anchor_choice_and_errors(run_dir, tmp_path):
    r = build_report(run_dir, anchor_codec="x265", out_dir=tmp_path / "o2", figures=False)
    bd = pd.read_csv(r.bdrate_csv, keep_default_na=False, na_values=[""])
    a = bd[(bd["sequence"] == "A") & (bd["metric"] == "psnr_u")]
    assert a["codec"].tolist() == ["x264"]
    assert a["bd_rate"].iloc[0] == pytest.approx(25.0)  # 1/0.8 - 1
    with pytest.raises(ConfigError, match="anchor='vp9'"):
        build_report(run_dir, anchor_codec="vp9", out_dir=tmp_path / "o3")
    with pytest.raises(DatasetError, match="results"):
        build_report(tmp_path / "empty", out_dir=tmp_path / "o4")
