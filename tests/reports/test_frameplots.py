"""Per-frame figures: small multiples, one panel per codec in the report's codec colours, rate
points in one sequential colour map, the legend outside the panels; coded sizes in kbit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from vqabench.errors import ConfigError
from vqabench.reports import plots
from vqabench.reports.frameplots import frame_rate_figure, has_frame_rates

CODECS = ("x265", "x264", "vvenc")  # the run's order; none sorts first by name but vvenc
POINTS = ("qp=22", "qp=27", "qp=32", "qp=37")


def _per_frame(codecs=CODECS):
    rows = []
    for metric in ("psnr_y", "ssim"):  # frames repeat per metric; sizes drawn once
        for codec in codecs:
            for i, rp in enumerate(POINTS):
                for frame, (bits, kind) in enumerate([(40000, "I"), (8000, "B"), (12000, "P")]):
                    rows.append(
                        [
                            "S",
                            "source",
                            codec,
                            rp,
                            metric,
                            "source",
                            frame,
                            40.0 - 3 * i + 0.1 * frame,
                            bits >> i,
                            kind,
                            30,
                        ]
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "sequence",
            "reference",
            "codec",
            "rate_point",
            "metric",
            "anchor",
            "frame",
            "value",
            "frame_bits",
            "frame_type",
            "frame_qp",
        ],
    )


def _figures(styles):
    per_frame = _per_frame()
    return (
        plots.per_frame_figure(per_frame, sequence="S", metric="psnr_y", colors=styles),
        frame_rate_figure(per_frame, sequence="S", colors=styles),
    )


@pytest.mark.slow
def test_one_panel_per_codec_anchor_first_titled_in_the_rd_colour():
    styles = plots.codec_styles(CODECS, anchor="x264")
    rd_rows = _per_frame().assign(kbps=lambda d: 100.0 * (d["frame"] + 1))
    rd = plots.rd_curve_figure(
        rd_rows[rd_rows["frame"] >= 0], sequence="S", metric="psnr_y", colors=styles
    )
    rd_colour = {ln.get_label(): to_hex(ln.get_color()) for ln in rd.axes[0].lines}
    for fig in _figures(styles):
        assert [ax.get_title() for ax in fig.axes] == ["x264", "x265", "vvenc"]
        for ax in fig.axes:  # the panel's codec in the colour of its RD curve
            assert to_hex(ax.title.get_color()) == rd_colour[ax.get_title()]
        assert to_hex(fig.axes[0].title.get_color()) == "#000000"  # the anchor: black


@pytest.mark.slow
def test_rate_points_in_one_sequential_colour_map_and_legend_outside():
    for fig in _figures(plots.codec_styles(CODECS, anchor="x264")):
        fig.draw_without_rendering()
        for ax in fig.axes:
            lines = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
            assert [ln.get_label() for ln in lines] == list(POINTS)
            lightness = [np.mean(ln.get_color()[:3]) for ln in lines]  # viridis: dark -> light
            assert lightness == sorted(lightness) and len(set(lightness)) == 4
            assert ax.get_legend() is None
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()][:4] == list(POINTS)
        box = legend.get_window_extent()
        assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
        shared_y = {ax.get_ylim() for ax in fig.axes}
        assert len(shared_y) == 1
        assert tuple(fig.get_size_inches())[0] == pytest.approx(7.0)


def test_lines_are_the_frame_sizes_in_kbit_with_intra_frames_marked():
    fig = frame_rate_figure(_per_frame(("x264",)), sequence="S")
    (ax,) = fig.axes
    line, intra = ax.lines[:2]  # qp=22: its line, then its intra frames
    assert line.get_xdata().tolist() == [0, 1, 2]
    assert np.allclose(line.get_ydata(), [40.0, 8.0, 12.0])
    assert intra.get_xdata().tolist() == [0] and np.allclose(intra.get_ydata(), [40.0])
    assert np.allclose(ax.lines[2].get_ydata(), [20.0, 4.0, 6.0])  # qp=27: half the bits
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "5", "10", "20"]  # 1 to 40


def test_without_frame_sizes():
    old = _per_frame().drop(columns=["frame_bits", "frame_type", "frame_qp"])
    assert not has_frame_rates(old)
    with pytest.raises(ConfigError, match="sequence='T'"):
        frame_rate_figure(_per_frame(), sequence="T")
