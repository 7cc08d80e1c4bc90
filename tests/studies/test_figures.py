"""Study figures: what is drawn is the data given (bar lengths, interval ends, points per
codec in rate order, log rate axis), read back from the matplotlib artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vqabench.reports.plots import codec_colors
from vqabench.studies.figures import figure_skip_reason, preference_figure, scores_figure


def test_preference_bars_and_intervals():
    prefs = pd.DataFrame(
        {
            "sequence": ["A", "B"],
            "a_codec": ["x264", "x265"],
            "a_rate_point": ["qp=30", "qp=40"],
            "b_codec": ["x265", "x264"],
            "b_rate_point": ["qp=30", "qp=40"],
            "preference_a": [0.7, 0.25],
            "lo": [0.55, 0.1],
            "hi": [0.85, 0.45],
        }
    )
    fig = preference_figure(prefs)
    ax = fig.axes[0]
    assert [round(p.get_width(), 12) for p in ax.patches] == [0.7, 0.25]
    errorbar = next(c for c in ax.containers if hasattr(c, "has_xerr"))
    segments = errorbar.lines[2][0].get_segments()
    ends = [(s[0][0], s[1][0]) for s in segments]
    assert ends == [pytest.approx((0.55, 0.85)), pytest.approx((0.1, 0.45))]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "A: x264 qp=30 vs x265 qp=30",
        "B: x265 qp=40 vs x264 qp=40",
    ]
    assert ax.get_xlim() == (0.0, 1.0) and ax.yaxis_inverted()
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"] == [0.5]


def test_scores_figure_one_panel_per_sequence_points_in_rate_order():
    rows = []
    for seq in ("B", "A"):
        for codec, base in (("x265", 3.0), ("x264", 2.0)):
            for kbps, step in ((800.0, 1.0), (200.0, 0.0), (400.0, 0.5)):
                rows.append(
                    [seq, codec, kbps, "mos", base + step, base + step - 0.2, base + step + 0.3]
                )
    rows.append(["A", "x264", 100.0, "dmos", 9.0, 8.0, 10.0])  # another metric: not drawn
    scores = pd.DataFrame(
        rows, columns=["sequence", "codec", "kbps", "metric", "value", "lo", "hi"]
    )
    fig = scores_figure(scores, metric="mos")
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    colors = codec_colors(list(scores[scores["metric"] == "mos"]["codec"]))
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_ylabel() == "mos"
        assert ax.get_xlabel() == "rate (kbps)"
        lines = {line.get_label(): line for line in ax.lines}
        by_codec = {}
        for container in ax.containers:  # intervals: "_" labels stay out of the legend
            _, _, (bars,) = container.lines
            codec = container.get_label().removeprefix("_interval ")
            by_codec[codec] = (lines[codec], bars)
        assert sorted(by_codec) == ["x264", "x265"]
        for codec, base in (("x264", 2.0), ("x265", 3.0)):
            line, bars = by_codec[codec]
            np.testing.assert_allclose(np.asarray(line.get_xdata(), float), [200, 400, 800])
            np.testing.assert_allclose(
                np.asarray(line.get_ydata(), float), [base, base + 0.5, base + 1.0]
            )
            lo_hi = [(s[0][1], s[1][1]) for s in bars.get_segments()]
            np.testing.assert_allclose(
                lo_hi,
                [(base - 0.2, base + 0.3), (base + 0.3, base + 0.8), (base + 0.8, base + 1.3)],
            )
            assert line.get_color() == colors[codec]


def test_unanimous_and_empty_pairs_are_drawn_from_their_interval_ends():
    """A unanimous pair (0 of 18: the Wilson interval [0, 0.176] whose lower end rounding left
    at 1.4e-17, above the estimate 0), an 18 of 18 pair and a pair nobody answered (NaN):
    the figure draws the bars and exactly the interval ends given; nothing for the NaN pair."""
    prefs = pd.DataFrame(
        {
            "sequence": ["A", "A", "B"],
            "a_codec": ["x265"] * 3,
            "a_rate_point": ["qp=30"] * 3,
            "b_codec": ["x264"] * 3,
            "b_rate_point": ["qp=40"] * 3,
            "preference_a": [0.0, 1.0, np.nan],
            "lo": [1.3877787807814457e-17, 0.8241, np.nan],
            "hi": [0.17588, 1.0, np.nan],
        }
    )
    ax = preference_figure(prefs).axes[0]
    assert [round(p.get_width(), 12) for p in ax.patches[:2]] == [0.0, 1.0]
    errorbar = next(c for c in ax.containers if hasattr(c, "has_xerr"))
    segments = errorbar.lines[2][0].get_segments()
    ends = [(s[0][0], s[1][0]) for s in segments if len(s) and np.isfinite(s).all()]
    assert ends == [
        pytest.approx((1.3877787807814457e-17, 0.17588), abs=1e-15),
        pytest.approx((0.8241, 1.0)),
    ]


def test_scores_interval_that_excludes_its_estimate_is_drawn_as_given():
    """A percentile bootstrap interval need not contain the estimate (here 1.0 with the
    interval [1.2, 1.5]): drawn from its ends, not refused as a negative error bar."""
    scores = pd.DataFrame(
        {
            "sequence": ["A", "A"],
            "codec": ["x264", "x264"],
            "kbps": [100.0, 200.0],
            "metric": ["bt", "bt"],
            "value": [1.0, -1.0],
            "lo": [1.2, -1.5],
            "hi": [1.5, -0.5],
        }
    )
    ax = scores_figure(scores, metric="bt").axes[0]
    (container,) = ax.containers
    lo_hi = [(s[0][1], s[1][1]) for s in container.lines[2][0].get_segments()]
    np.testing.assert_allclose(lo_hi, [(1.2, 1.5), (-1.5, -0.5)])
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), float), [1.0, -1.0])


def test_figure_skip_reason():
    table = pd.DataFrame({"value": [np.nan, np.nan]})
    assert figure_skip_reason(table, "value") == "no finite value (see the notes above)"
    assert figure_skip_reason(table.iloc[:0], "value") == "nothing to draw (no rows)"
    assert figure_skip_reason(pd.DataFrame({"value": [np.nan, 0.3]}), "value") == ""
