"""Tests for vqabench.reports.plots: units on axes, one style per codec, vector files, sizes."""

from __future__ import annotations

import re
from pathlib import Path

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


@pytest.mark.parametrize(
    ("quantity", "label"),
    [
        ("psnr_y", "PSNR-Y (dB)"),
        ("psnr_yuv", "PSNR-YUV (dB)"),
        ("kbps", "Rate (kbps)"),
        ("bpp", "Rate (bpp)"),
        ("vmaf", "VMAF"),
        ("vmaf_neg", "VMAF NEG"),
        ("ms_ssim", "MS-SSIM"),
        ("my_metric", "my_metric"),
    ],
)
def test_axis_labels_carry_units(quantity, label):
    assert plots.axis_label(quantity) == label


def _legend(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_a_codec_keeps_colour_and_marker_in_every_figure(results):
    styles = plots.codec_styles(["x265", "x264", "vvenc", "x264"], anchor="x264")
    assert list(styles) == ["x264", "x265", "vvenc"]  # anchor first, then the run's order
    assert styles["x264"] == plots.CodecStyle("#000000", "o")  # the anchor is black
    assert len({(s.color, s.marker) for s in styles.values()}) == 3
    rd = plots.rd_curve_figure(results, sequence="A", metric="psnr_y", colors=styles)
    avg = plots.average_rd_figure(results, metric="lpips", rate_column="bpp", colors=styles)
    for fig in (rd, avg):
        ax = fig.axes[0]
        drawn = {ln.get_label(): (to_hex(ln.get_color()), ln.get_marker()) for ln in ax.lines}
        assert drawn["x265"] == (styles["x265"].color.lower(), styles["x265"].marker)
        assert drawn["x264"] == (styles["x264"].color.lower(), styles["x264"].marker)
    assert rd.axes[0].get_xlabel() == "Rate (kbps)" and rd.axes[0].get_ylabel() == "PSNR-Y (dB)"
    assert avg.axes[0].get_xlabel() == "Rate (bpp)" and avg.axes[0].get_ylabel() == "LPIPS"


def test_legends_put_the_anchor_first_then_the_run_order(results):
    later = plots.codec_styles(["x264", "x265"], anchor="x265")  # anchor is not first by name
    assert _legend(plots.rd_curve_figure(results, sequence="A", metric="psnr_y", colors=later)) == [
        "x265",
        "x264",
    ]
    assert _legend(plots.average_rd_figure(results, metric="psnr_y", colors=later)) == [
        "x265",
        "x264",
    ]
    run_order = plots.codec_styles(["x265", "x264"])  # no anchor: the run's order
    assert _legend(
        plots.rd_curve_figure(results, sequence="A", metric="psnr_y", colors=run_order)
    ) == ["x265", "x264"]


def _rd_rows(kbps):
    return pd.DataFrame(
        {
            "sequence": "S",
            "reference": "source",
            "anchor": "source",
            "codec": "x264",
            "metric": "psnr_y",
            "rate_point": [f"qp={q}" for q in range(len(kbps))],
            "kbps": kbps,
            "value": np.linspace(30, 40, len(kbps)),
        }
    )


@pytest.mark.parametrize(
    ("kbps", "labels"),
    [
        ([80.0, 150.0, 400.0, 900.0], ["100", "200", "500"]),
        ([0.01, 0.03, 0.1, 0.6], ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5"]),
    ],
)
def test_log_rate_axis_labels_1_2_5_ticks(kbps, labels):
    fig = plots.rd_curve_figure(_rd_rows(kbps), sequence="S", metric="psnr_y")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    low, high = ax.get_xlim()
    assert low <= kbps[0] and kbps[-1] <= high  # every point visible
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert set(labels) <= set(shown)
    assert all(round(float(t) * 10 ** -np.floor(np.log10(float(t))), 9) in (1, 2, 5) for t in shown)
    assert all(low <= float(t) <= high for t in shown)


@pytest.mark.parametrize("layout", ["one-column", "two-column"])
def test_layout_sizes(results, layout):
    fig = plots.rd_curve_figure(results, sequence="A", metric="psnr_y", layout=layout)
    width, height, _ = plots.LAYOUTS[layout]
    assert width == {"one-column": 3.5, "two-column": 7.0}[layout]
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
        small / "results.csv", index=False
    )
    report = build_report(small, out_dir=tmp_path / "r", formats=("png", "pdf", "svg"))
    files = {p.name for p in report.figure_files}
    assert {"rd_average_psnr_y.png", "rd_average_psnr_y.pdf", "rd_average_psnr_y.svg"} <= files
    svg = (tmp_path / "r" / "rd_average_psnr_y.svg").read_text(encoding="utf-8")
    assert "PSNR-Y (dB)" in svg and "Rate (kbps)" in svg
    md = report.markdown.read_text(encoding="utf-8")
    assert re.search(
        r"!\[[^]]*\]\(rd_average_psnr_y\.png\) \(\[PDF\]\(rd_average_psnr_y\.pdf\), "
        r"\[SVG\]\(rd_average_psnr_y\.svg\)\)",
        md,
    )


def test_sweep_figure_draws_each_metric_with_its_interval():
    points = pd.DataFrame(
        {
            "metric": ["psnr_y"] * 3 + ["vmaf"] * 3,
            "value": [0.3, 0.1, 0.2] * 2,
            "bd_rate": [-30.0, -10.0, -20.0, 5.0, 1.0, 3.0],
            "ci_low": [-35.0, -12.0, float("nan"), 4.0, 0.0, 2.0],
            "ci_high": [-25.0, -8.0, float("nan"), 6.0, 2.0, 4.0],
            "n_sequences": [2] * 6,
        }
    )
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


def _codec_colours(fig):
    """codec -> colour as a figure shows it: RD lines by label (one panel, or a panel per
    group with the legend under them), small multiples by title."""
    per_group = bool(fig.legends) and fig.axes[0].get_title().endswith("sequence)")
    if per_group or (len(fig.axes) == 1 and fig.axes[0].get_legend() is not None):
        colours: dict[str, str] = {}
        for ln in (ln for ax in fig.axes for ln in ax.lines):
            # R–Q figures: "x265 (measured)" and its fitted curve
            codec = ln.get_label().split(" ")[0].rstrip(":")
            assert colours.setdefault(codec, to_hex(ln.get_color())) == to_hex(ln.get_color())
        return colours
    return {ax.get_title(): to_hex(ax.title.get_color()) for ax in fig.axes}


@pytest.mark.slow
def test_report_draws_a_codec_in_one_colour_anchor_first_in_every_figure(
    tmp_path, run_maker, monkeypatch
):
    run = run_maker(tmp_path / "run")
    rows = pd.read_csv(run / "results.csv")
    rows[(rows["metric"] == "psnr_y") & (rows["sequence"] == "A")].to_csv(
        run / "results.csv", index=False
    )
    frames = pd.read_csv(run / "per_frame.csv")
    frames = frames[(frames["metric"] == "psnr_y") & (frames["sequence"] == "A")]
    frames.assign(frame_bits=8000, frame_type="P").to_csv(run / "per_frame.csv", index=False)
    drawn = []
    save = plots.save_figure
    monkeypatch.setattr(
        plots,
        "save_figure",
        lambda fig, stem, formats=plots.FORMATS: (
            drawn.append((Path(stem).name, fig)) or save(fig, stem, formats)
        ),
    )
    build_report(run, out_dir=tmp_path / "r", anchor_codec="x265", formats=("png",), figures="all")
    shown = {name: _codec_colours(fig) for name, fig in drawn}
    assert set(shown) == {
        "rd_average_psnr_y",
        "rd_groups_psnr_y",
        "rd_A_psnr_y",
        "rq_A_psnr_y",
        "frames_A_psnr_y",
        "frame_bits_A",
    }  # every figure type of a report (A is in High)
    for colours in shown.values():
        assert colours == {"x265": "#000000", "x264": "#0072b2"}
        assert list(colours) == ["x265", "x264"]  # the anchor first (legend, panels)


@pytest.mark.slow
def test_figures_are_vector_with_embedded_serif_text(results, tmp_path):
    per_frame = pd.DataFrame(
        {
            "sequence": "A",
            "reference": "source",
            "anchor": "source",
            "codec": ["x264"] * 3 + ["x265"] * 3,
            "rate_point": "qp=22",
            "metric": "psnr_y",
            "frame": [0, 1, 2] * 2,
            "value": [30.0, 31.0, 32.0, 33.0, 34.0, 35.0],
        }
    )
    for name, fig in (
        ("rd", plots.rd_curve_figure(results, sequence="A", metric="psnr_y")),
        ("pf", plots.per_frame_figure(per_frame, sequence="A", metric="psnr_y")),
    ):
        assert fig.get_size_inches()[0] in (3.5, 7.0)
        pdf, svg = plots.save_figure(fig, tmp_path / name, ("pdf", "svg"))
        data = pdf.read_bytes()
        assert b"/Subtype /Image" not in data  # lines and text only: no raster inside
        assert b"/FontFile2" in data and b"STIXGeneral" in data  # embedded TrueType, serif
        text = svg.read_text(encoding="utf-8")
        assert "<image" not in text and "font-family" in text and "STIXGeneral" in text
