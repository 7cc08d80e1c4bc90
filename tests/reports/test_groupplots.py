"""vqabench/reports/groupplots.py: RD curves per reference group and Overall."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from vqabench.errors import ConfigError
from vqabench.reports.groupplots import group_rd_figure, groups_of
from vqabench.reports.style import codec_styles

#: (sequence, group, kbps factor of x265, quality offset)
SEQUENCES = (("A", "High", 0.8, 2.0), ("B", "Low", 0.5, -3.0), ("C", "High", 0.6, 0.0))


def _results() -> pd.DataFrame:
    rows = []
    for seq, group, factor, offset in SEQUENCES:
        for codec, f in (("x265", factor), ("x264", 1.0)):
            for i, kbps in enumerate((100.0, 200.0, 400.0)):
                rows.append(
                    {
                        "sequence": seq,
                        "reference": "source",
                        "codec": codec,
                        "rate_point": f"qp={37 - 5 * i}",
                        "kbps": kbps * f,
                        "bpp": 0.1,
                        "metric": "vmaf",
                        "value": 60.0 + 10 * i + offset,
                        "anchor": "source",
                        "group": group,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_one_panel_per_group_then_overall_with_the_mean_curves():
    """Low before High, then Overall; a panel's curve is the geometric mean of the rates and
    the arithmetic mean of the quality of its sequences (by hand below)."""
    results = _results()
    assert groups_of(results) == ["Low", "High"]
    colors = codec_styles(["x265", "x264"], anchor="x264")
    fig = group_rd_figure(results, metric="vmaf", colors=colors, layout="two-column")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "Low (1 sequence)",
        "High (2 sequences)",
        "Overall (3 sequences)",
    ]
    assert math.isclose(fig.get_size_inches()[0], 7.0)
    high_x265 = next(ln for ln in axes[1].lines if ln.get_label() == "x265")
    np.testing.assert_allclose(
        high_x265.get_xdata(), np.sqrt(0.8 * 0.6) * np.array([100.0, 200.0, 400.0])
    )
    np.testing.assert_allclose(high_x265.get_ydata(), [61.0, 71.0, 81.0])
    overall = {ln.get_label(): ln for ln in axes[2].lines}
    np.testing.assert_allclose(
        overall["x265"].get_xdata(), (0.8 * 0.5 * 0.6) ** (1 / 3) * np.array([100.0, 200.0, 400.0])
    )
    np.testing.assert_allclose(overall["x264"].get_ydata(), np.array([60.0, 70.0, 80.0]) - 1 / 3)
    assert [ln.get_label() for ln in axes[0].lines] == ["x264", "x265"]  # anchor first
    assert to_hex(overall["x264"].get_color()) == "#000000"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["x264", "x265"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert axes[0].get_ylabel() == "VMAF" and axes[2].get_xlabel() == "Rate (kbps)"
    one = group_rd_figure(results, metric="vmaf", colors=colors)
    assert math.isclose(one.get_size_inches()[0], 3.5)  # two panels a row
    with pytest.raises(ConfigError, match="group labels"):
        group_rd_figure(results.drop(columns="group"), metric="vmaf")
    with pytest.raises(ConfigError, match="metric='psnr_y'"):
        group_rd_figure(results, metric="psnr_y")


@pytest.mark.slow
def test_summary_set_has_group_curves_for_reference_groups_only(run_maker, tmp_path):
    """UGC reference groups (Low/Medium/High): the per-group figure is in the default
    figure set; a dataset's classes: only under ``figures="all"``."""
    from vqabench.reports.report import build_report

    run = run_maker(tmp_path / "run")
    rows = pd.read_csv(run / "results.csv")
    rows = rows[rows["metric"] == "psnr_y"]
    rows.to_csv(run / "results.csv", index=False)
    (run / "per_frame.csv").unlink()
    names = [p.name for p in build_report(run, out_dir=tmp_path / "a", formats=("png",)).figures]
    assert names == ["rd_average_psnr_y.png", "rd_groups_psnr_y.png"]
    rows.assign(group=rows["group"].map({"High": "video", "Low": "photo"})).to_csv(
        run / "results.csv", index=False
    )
    names = [p.name for p in build_report(run, out_dir=tmp_path / "b", formats=("png",)).figures]
    assert names == ["rd_average_psnr_y.png"]
