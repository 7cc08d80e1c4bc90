"""Study figures: what is drawn is the data given (bar lengths, interval ends, points per
codec in rate order, log rate axis), read back from the matplotlib artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vqabench.reports.plots import codec_colors
from vqabench.studies.figures import preference_figure, scores_figure


def test_preference_bars_and_intervals():
    prefs = pd.DataFrame({
        "sequence": ["A", "B"], "a_codec": ["x264", "x265"], "a_rate_point": ["qp=30", "qp=40"],
        "b_codec": ["x265", "x264"], "b_rate_point": ["qp=30", "qp=40"],
        "preference_a": [0.7, 0.25], "lo": [0.55, 0.1], "hi": [0.85, 0.45]})
    fig = preference_figure(prefs)
    ax = fig.axes[0]
    assert [round(p.get_width(), 12) for p in ax.patches] == [0.7, 0.25]
    errorbar = next(c for c in ax.containers if hasattr(c, "has_xerr"))
    segments = errorbar.lines[2][0].get_segments()
    ends = [(s[0][0], s[1][0]) for s in segments]
    assert ends == [pytest.approx((0.55, 0.85)), pytest.approx((0.1, 0.45))]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "A: x264 qp=30 vs x265 qp=30", "B: x265 qp=40 vs x264 qp=40"]
    assert ax.get_xlim() == (0.0, 1.0) and ax.yaxis_inverted()
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"] == [0.5]


def test_scores_figure_one_panel_per_sequence_points_in_rate_order():
    rows = []
    for seq in ("B", "A"):
        for codec, base in (("x265", 3.0), ("x264", 2.0)):
            for kbps, step in ((800.0, 1.0), (200.0, 0.0), (400.0, 0.5)):
                rows.append([seq, codec, kbps, "mos", base + step, base + step - 0.2,
                             base + step + 0.3])
    rows.append(["A", "x264", 100.0, "dmos", 9.0, 8.0, 10.0])  # another metric: not drawn
    scores = pd.DataFrame(rows, columns=["sequence", "codec", "kbps", "metric", "value", "lo",
                                         "hi"])
    fig = scores_figure(scores, metric="mos")
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    colors = codec_colors(list(scores[scores["metric"] == "mos"]["codec"]))
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_ylabel() == "mos"
        assert ax.get_xlabel() == "rate (kbps)"
        by_codec = {}
        for container in ax.containers:
            line, _, (bars,) = container.lines
            by_codec[container.get_label()] = (line, bars)
        assert sorted(by_codec) == ["x264", "x265"]
        for codec, base in (("x264", 2.0), ("x265", 3.0)):
            line, bars = by_codec[codec]
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [200, 400, 800])
            np.testing.assert_allclose(np.asarray(line.get_ydata(), float),
                                       [base, base + 0.5, base + 1.0])
            lo_hi = [(s[0][1], s[1][1]) for s in bars.get_segments()]
            np.testing.assert_allclose(lo_hi, [(base - 0.2, base + 0.3), (base + 0.3, base + 0.8),
                                               (base + 0.8, base + 1.3)])
            assert line.get_color() == colors[codec]
