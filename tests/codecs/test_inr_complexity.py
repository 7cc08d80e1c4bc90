"""INR codec complexity: parameters and MACs against a count by hand."""

from __future__ import annotations

import pytest

from vqabench.codecs.inr_complexity import inr_complexity
from vqabench.errors import ConfigError


def test_xxs_at_256x144_counted_by_hand():
    # xxs: C0 = 4, widths (8, 8, 6, 4), one grid sample per 4 frames -> grid_t = 4 for 16
    # frames; grid 9 x 16 (144 / 16, 256 / 16); each stage is a 3x3 conv to 4 x width
    # channels, then pixel shuffle x2; the head is a 3x3 conv to 3 channels at 144 x 256.
    grid = 4 * 4 * 9 * 16
    convs = [(4, 32), (8, 32), (8, 24), (6, 16), (4, 3)]
    params = grid + sum(9 * cin * cout + cout for cin, cout in convs)
    pixels = [144 * 4**s for s in range(4)] + [144 * 256]
    macs = sum(p * 9 * cin * cout for p, (cin, cout) in zip(pixels, convs, strict=True))
    assert inr_complexity("xxs", width=256, height=144, frames=16) == (params, macs)
    assert (params, macs) == (8567, 17_418_240)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="model='xxl'"):
        inr_complexity("xxl", width=64, height=64, frames=4)


def test_one_grid_sample_at_48x32_counted_by_hand():
    # 4 frames -> grid_t = 1 (the grid is broadcast, no time interpolation); grid 2 x 3
    convs = [(4, 32), (8, 32), (8, 24), (6, 16), (4, 3)]
    params = 1 * 4 * 2 * 3 + sum(9 * cin * cout + cout for cin, cout in convs)
    pixels = [6 * 4**s for s in range(4)] + [32 * 48]
    macs = sum(p * 9 * cin * cout for p, (cin, cout) in zip(pixels, convs, strict=True))
    assert inr_complexity("xxs", width=48, height=32, frames=4) == (params, macs)
