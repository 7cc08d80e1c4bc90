"""Tests for vqabench.reports.plots: units on axes, one style per codec, vector files, sizes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from vqabench.errors import ConfigError
from vqabench.evaluation.aggregate import load_results
from vqabench.reports import build_report, plots


@pytest.fixture(scope="module")
def results(tmp_path_factory, run_maker):
    return load_results(run_maker(tmp_path_factory.mktemp("plots") / "run"))


@pytest.mark.parametrize(("quantity", "label"), [
    ("psnr_y", "PSNR-Y (dB)"), ("psnr_yuv", "PSNR-YUV (dB)"), ("kbps", "Rate (kbps)"),
    ("bpp", "Rate (bpp)"), ("vmaf", "VMAF"), ("vmaf_neg", "VMAF NEG"), ("ms_ssim", "MS-SSIM"),
    ("my_metric", "my_metric"),
])
def test_axis_labels_carry_units(quantity, label):
    assert plots.axis_label(quantity) == label


def test_a_codec_keeps_colour_and_marker_in_every_figure(results):
    styles = plots.codec_styles(["x265", "x264", "vvenc", "x264"])
    assert list(styles) == ["vvenc", "x264", "x265"]
    assert len({(s.color, s.marker) for s in styles.values()}) == 3
    rd = plots.rd_curve_figure(results, sequence="A", metric="psnr_y", colors=styles)
    avg = plots.average_rd_figure(results, metric="lpips", rate_column="bpp", colors=styles)
    for fig in (rd, avg):
        ax = fig.axes[0]
        drawn = {ln.get_label(): (to_hex(ln.get_color()), ln.get_marker()) for ln in ax.lines}
        assert drawn["x265"] == (styles["x265"].color, styles["x265"].marker)
        assert drawn["x264"] == (styles["x264"].color, styles["x264"].marker)
    assert rd.axes[0].get_xlabel() == "Rate (kbps)" and rd.axes[0].get_ylabel() == "PSNR-Y (dB)"
    assert avg.axes[0].get_xlabel() == "Rate (bpp)" and avg.axes[0].get_ylabel() == "LPIPS"


@pytest.mark.parametrize("layout", ["one-column", "two-column"])
def test_layout_sizes(results, layout):
    fig = plots.rd_curve_figure(results, sequence="A", metric="psnr_y", layout=layout)
    width, height, _ = plots.LAYOUTS[layout]
    assert tuple(fig.get_size_inches()) == pytest.approx((width, height))
    with pytest.raises(ConfigError, match="layout"):
        plots.rd_curve_figure(results, sequence="A", metric="psnr_y", layout="poster")


@pytest.mark.slow
def test_save_figure_writes_png_pdf_svg_reproducibly(results, tmp_path):
    fig = plots.rd_curve_figure(results, sequence="A", metric="psnr_y")
    png, pdf, svg = plots.save_figure(fig, tmp_path / "rd")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "PSNR-Y (dB)" in text and "Rate (kbps)" in text  # text kept
    again = plots.save_figure(fig, tmp_path / "rd2", ("pdf", "svg"))
    assert again[0].read_bytes() == pdf.read_bytes() and again[1].read_text() == text
    with pytest.raises(ConfigError, match="formats"):
        plots.save_figure(fig, tmp_path / "x", ("eps",))


@pytest.mark.slow
def test_report_of_a_run_has_vector_figures_with_units(run_dir, tmp_path):
    small = tmp_path / "small"  # two sequences, one metric: few figures to draw
    small.mkdir()
    rows = pd.read_csv(run_dir / "results.csv")
    rows[(rows["metric"] == "psnr_y") & rows["sequence"].isin(["A", "B"])].to_csv(
        small / "results.csv", index=False)
    report = build_report(small, out_dir=tmp_path / "r")
    files = {p.name for p in report.figure_files}
    assert {"rd_average_psnr_y.png", "rd_average_psnr_y.pdf", "rd_average_psnr_y.svg"} <= files
    svg = (tmp_path / "r" / "rd_average_psnr_y.svg").read_text(encoding="utf-8")
    assert "PSNR-Y (dB)" in svg and "Rate (kbps)" in svg
    md = report.markdown.read_text(encoding="utf-8")
    assert re.search(r"!\[[^]]*\]\(rd_average_psnr_y\.png\) \(\[PDF\]\(rd_average_psnr_y\.pdf\), "
                     r"\[SVG\]\(rd_average_psnr_y\.svg\)\)", md)


def test_sweep_figure_draws_each_metric_with_its_interval():
    points = pd.DataFrame({"metric": ["psnr_y"] * 3 + ["vmaf"] * 3,
                           "value": [0.3, 0.1, 0.2] * 2,
                           "bd_rate": [-30.0, -10.0, -20.0, 5.0, 1.0, 3.0],
                           "ci_low": [-35.0, -12.0, float("nan"), 4.0, 0.0, 2.0],
                           "ci_high": [-25.0, -8.0, float("nan"), 6.0, 2.0, 4.0],
                           "n_sequences": [2] * 6})
    fig = plots.sweep_figure(points, option="alpha", anchor="inr-l1msssim")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "alpha" and ax.get_ylabel() == "BD-rate (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["PSNR-Y", "VMAF"]
    psnr, vmaf = ax.containers  # one errorbar container per metric, in their order
    assert (psnr.get_label(), vmaf.get_label()) == ("PSNR-Y", "VMAF")
    np.testing.assert_allclose(psnr.lines[0].get_ydata(), [-10.0, -20.0, -30.0])  # alpha order
    np.testing.assert_allclose(vmaf.lines[0].get_ydata(), [1.0, 3.0, 5.0])
    # x: side by side, 1 % of the swept span apart
    np.testing.assert_allclose(psnr.lines[0].get_xdata(), [0.099, 0.199, 0.299])
    np.testing.assert_allclose(vmaf.lines[0].get_xdata(), [0.101, 0.201, 0.301])
    bars = psnr.lines[2][0].get_segments()  # psnr_y's vertical error bars
    assert [tuple(seg[:, 1]) for seg in bars] == [(-12.0, -8.0), (-20.0, -20.0), (-35.0, -25.0)]
    with pytest.raises(ConfigError, match="points='empty'"):
        plots.sweep_figure(points.iloc[:0], option="alpha", anchor="x")
