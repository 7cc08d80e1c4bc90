"""The one figure style: codec order and colours, 1-2-5 log ticks, sizes."""

from __future__ import annotations

import pytest

from vqabench.reports import style


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (80, 900, [100, 200, 500]),  # the 1-2-5 sequence
        (20, 700, [20, 50, 100, 200, 500]),
        (0.01, 0.6, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]),  # bpp: exact decimals, no 0.30000000004
        (58, 464, [100, 200, 300]),  # 1-2-5 gives two: add 3
        (1, 1e6, [1, 10, 100, 1000, 1e4, 1e5, 1e6]),  # too many: decades only
        (410, 440, [410, 420, 430, 440]),  # narrow: round linear steps
        (5, 0, []),
        (0, 5, []),
    ],
)
def test_log_ticks(low, high, ticks):
    assert style.log_ticks(low, high) == ticks


def test_codec_styles_anchor_first_then_run_order_colour_blind_safe():
    styles = style.codec_styles(["x265", "vvenc", "x264", "vvenc"], anchor="x264")
    assert list(styles) == ["x264", "x265", "vvenc"]
    assert [s.color for s in styles.values()] == list(style.OKABE_ITO[:3])
    assert list(style.codec_styles(["b", "a"])) == ["b", "a"]  # no anchor: as given
    assert list(style.codec_styles(["b", "a"], anchor="zz")) == ["b", "a"]  # absent anchor
    assert style.codec_colors(["b", "a"], anchor="a") == {"a": "#000000", "b": "#0072B2"}


def test_rate_point_colors_run_dark_to_light():
    colours = style.rate_point_colors(4)
    lightness = [sum(c[:3]) for c in colours]
    assert lightness == sorted(lightness) and len(set(lightness)) == 4
    assert style.rate_point_colors(1) == [style.rate_point_colors(2)[0]]
