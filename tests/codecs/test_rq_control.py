"""RQ-LVC rate control of quality-level codecs: the R-Q fit against numpy/scipy least squares,
the per-frame controller and the multi-pass bisection on hand-derived synthetic tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vqabench.codecs.rq_control import (
    bisect_level,
    choose_level,
    control_frames,
    fit_log_rq,
    level_for,
    probe_levels,
)
from vqabench.errors import ConfigError
from vqabench.evaluation.rq import fit_rq

LEVELS = [1, 2, 3, 4, 5, 6]
BITS = [2100.0, 3900.0, 8300.0, 15800.0, 33000.0, 61000.0]


def test_fit_equals_numpy_and_scipy_least_squares():
    alpha, beta = fit_log_rq(LEVELS, BITS)
    slope, intercept = np.polyfit(np.log(BITS), LEVELS, 1)
    reg = stats.linregress(np.log(BITS), LEVELS)
    assert alpha == pytest.approx(slope, rel=1e-12) == pytest.approx(reg.slope, rel=1e-12)
    assert beta == pytest.approx(intercept, rel=1e-12)
    # the same curve family as `vqabench rq`'s logarithmic quality-vs-rate model
    other = fit_rq(BITS, LEVELS, model="logarithmic")
    assert other.params == pytest.approx((beta, alpha), rel=1e-10)


def test_fit_refuses_bad_rates_and_has_no_slope_from_one_rate():
    with pytest.raises(ConfigError, match=r"bits.*finite rates > 0"):
        fit_log_rq([1, 2], [100.0, 0.0])
    assert all(math.isnan(v) for v in fit_log_rq([1, 2], [100.0, 100.0]))


def test_level_is_the_rounded_model_level_clipped():
    # Q = 2 ln R - 10: R = e^6 -> Q = 2; R = e^6.26 -> 2.52 -> 3; R = e^6.24 -> 2.48 -> 2
    assert level_for(math.exp(6.0), 2.0, -10.0, 1, 8) == 2
    assert level_for(math.exp(6.26), 2.0, -10.0, 1, 8) == 3
    assert level_for(math.exp(6.24), 2.0, -10.0, 1, 8) == 2
    assert level_for(math.exp(20.0), 2.0, -10.0, 1, 8) == 8
    assert level_for(1.0, 2.0, -10.0, 1, 8) == 1
    assert probe_levels(1, 8) == (1, 4, 8) and probe_levels(1, 6) == (1, 3, 6)


def test_controller_picks_the_hand_derived_levels():
    """Rates double per level (100, 200, 400 bits), so the fit is exact:
    Q = log2(R / 100) + 1. Budget 1000 bits for 4 frames:
    frame 0: target 250 -> Q* 2.32 -> 2 (200 bits);  frame 1: 800/3 = 266.7 -> 2.42 -> 2;
    frame 2: 600/2 = 300 -> 2.58 -> 3 (400 bits);  frame 3: 200/1 -> Q* = 2 -> 2."""
    table = {1: 100, 2: 200, 3: 400}
    calls = []

    def code(t, q):
        calls.append((t, q))
        return table[q]

    levels, bits, prior = control_frames(code, frames=4, budget_bits=1000, lo=1, hi=3)
    assert levels == [2, 2, 3, 2] and bits == [200, 200, 400, 200] and sum(bits) == 1000
    assert prior == [(1, 100.0), (2, 200.0), (3, 400.0)]
    assert calls[:3] == [(0, 1), (0, 2), (0, 3)]  # the probes of frame 0, then one per frame
    assert calls[3:] == [(0, 2), (1, 2), (2, 3), (3, 2)]


def test_controller_follows_a_step_in_content():
    """Budget 800 bits a frame; rates double per level (level 4: 800 bits) until frame 2,
    then cost four times as much (level 2: 800 bits). Frames 0-2 are coded at 4 (the step
    is seen only once frame 2 is coded), then the levels only fall, to 1-2, and the total
    stays within 15 % of the budget (the fit over every point reacts slowly: its old points
    still pull the model towards the first content)."""

    def code(t, q):
        return 100 * 2 ** (q - 1) * (4 if t >= 2 else 1)

    levels, bits, _ = control_frames(code, frames=24, budget_bits=24 * 800, lo=1, hi=8)
    assert levels[:3] == [4, 4, 4]
    assert all(b <= a for a, b in zip(levels[2:], levels[3:], strict=False))
    assert set(levels[-8:]) <= {1, 2}
    assert sum(bits) == pytest.approx(24 * 800, rel=0.15)


def test_unusable_fit_falls_back_to_the_nearest_observed_level():
    # rate falling with the level: alpha < 0, so the observed level nearest in log-rate
    points = [(1, 400.0), (2, 200.0), (3, 100.0)]
    assert choose_level(points, 190.0, 1, 3) == 2
    assert choose_level([(2, 300.0)], 1e6, 1, 8) == 2  # one rate only
    with pytest.raises(ConfigError, match=r"points"):
        choose_level([], 100.0, 1, 8)


def test_controller_refuses_bad_arguments():
    with pytest.raises(ConfigError, match=r"budget_bits.*> 0"):
        control_frames(lambda t, q: 1, frames=2, budget_bits=0, lo=1, hi=3)
    with pytest.raises(ConfigError, match=r"probes.*1\.\.3"):
        control_frames(lambda t, q: 1, frames=2, budget_bits=10, lo=1, hi=3, probes=[4])


@pytest.mark.parametrize(
    "target, expected", [(700, 4), (500, 3), (599, 3), (600, 3), (601, 4), (50, 1), (1e6, 8)]
)
def test_multipass_bisection_picks_the_closest_level(target, expected):
    totals = {q: 100 * 2 ** (q - 1) for q in range(1, 9)}  # 100, 200, 400, 800, ...
    level, tried = bisect_level(lambda q: totals[q], target, 1, 8)
    closest = min(totals, key=lambda q: (abs(totals[q] - target), q))
    assert level == expected == closest
    assert all(tried[q] == totals[q] for q in tried) and len(tried) <= 5


def test_multipass_codes_each_level_once():
    calls = []
    bisect_level(lambda q: calls.append(q) or 100 * q, 450, 1, 8)
    assert calls == [1, 8, 4, 6, 5] and len(set(calls)) == len(calls)
