"""Tests for vqabench.evaluation.bdrate.

Pinned reference values and where they come from:

- JCTVC-E137 curves, pchip: -0.465215420752807 % and -1.8779823450567612 %. These are the
  JCT-VC Excel sheet results for the two curve pairs of JCTVC-E137, as pinned in
  Netflix/vmaf ``python/test/bd_rate_calculator_test.py`` (class BDrateCalculatorJCTVCTest,
  commit 38e905d144835520ba4850fd37b1542cbf6fe5be; stored there as fractions, x100 here).
  The same numbers are pinned by AOSP's videoquality ``BdRateCalculatorTest.java``
  (``calculate_dataFromJCTVCE137_1/2``).
- VCEG-M33 curves, cubic: BD-rate -13.261773 %, BD-PSNR 0.800713 dB, from the asserts in
  tbr/bjontegaard_cpp ``example.cpp`` (commit 12f944b9012f074c90b1cb3d4fed02b8663b50d4,
  "VCEG-M33 numbers"), a C++/Eigen polynomial-fit implementation.
- FAU example curves (x265 presets), akima and pchip: computed with the ``bjontegaard``
  package 1.3.0 from PyPI (FAU-LMS/bjontegaard, the reference implementation of the Akima
  variant), data from its README/``example_usage.py`` test case 1 and 3:
  ``bjontegaard.bd_rate(ra, qa, rt, qt, method="akima")`` -> -4.425245156997493,
  ``method="pchip"`` -> -4.417485350589045, ``bd_psnr(..., method="akima")`` ->
  0.11940927028529469; six points akima -> -4.510764119475064.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vqabench.errors import ConfigError, VqabenchError
from vqabench.evaluation import (
    BDRateError,
    BDWarning,
    bd_quality,
    bd_quality_result,
    bd_rate,
    bd_rate_result,
)

E137_1 = (
    [108048.8736, 61279.976, 33905.6656, 18883.6928],
    [43.6471, 40.3953, 37.247, 34.2911],
    [108061.2784, 61299.9936, 33928.7472, 18910.912],
    [43.6768, 40.4232, 37.2761, 34.3147],
)
E137_2 = (
    [40433.8848, 7622.7456, 2394.488, 1017.6184],
    [37.5761, 35.3756, 33.8977, 32.0603],
    [40370.12, 7587.0024, 2390.0944, 1017.0984],
    [37.5982, 35.4025, 33.9194, 32.0822],
)
M33 = (
    [90.33, 181.03, 332.99, 547.79],
    [27.95, 31.17, 34.44, 38.11],
    [127.1719, 186.14, 307.2924, 481.5588],
    [29.9286, 32.4165, 34.7013, 37.4561],
)
FAU1 = (
    [9487.76, 4593.60, 2486.44, 1358.24],
    [40.037, 38.615, 36.845, 34.851],
    [9787.80, 4469.00, 2451.52, 1356.24],
    [40.121, 38.651, 36.970, 34.987],
)
FAU3 = (
    [82472.76, 26875.24, 9487.76, 4593.6, 2486.44, 1358.24],
    [43.825, 41.404, 40.037, 38.615, 36.845, 34.851],
    [99896.96, 33952.04, 9787.8, 4469.0, 2451.52, 1356.24],
    [44.731, 41.875, 40.121, 38.651, 36.970, 34.987],
)


# --- pinned reference values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("curves", "expected"), [(E137_1, -0.465215420752807), (E137_2, -1.8779823450567612)]
)
def test_pchip_matches_jctvc_excel_sheet(curves, expected):
    assert bd_rate(*curves, method="pchip") == pytest.approx(expected, abs=1e-9)


def test_cubic_matches_vceg_m33_numbers():
    with pytest.warns(BDWarning, match="small quality overlap"):  # 74 % overlap
        assert bd_rate(*M33, method="cubic") == pytest.approx(-13.261773, abs=5e-7)
    with pytest.warns(BDWarning, match="small log-rate overlap"):
        assert bd_quality(*M33, method="cubic") == pytest.approx(0.800713, abs=5e-7)


def test_akima_and_pchip_match_bjontegaard_package():
    assert bd_rate(*FAU1, method="akima") == pytest.approx(-4.425245156997493, abs=1e-9)
    assert bd_rate(*FAU1, method="pchip") == pytest.approx(-4.417485350589045, abs=1e-9)
    assert bd_quality(*FAU1, method="akima") == pytest.approx(0.11940927028529469, abs=1e-9)
    assert bd_rate(*FAU3, method="akima") == pytest.approx(-4.510764119475064, abs=1e-9)


# --- independent computations -----------------------------------------------------------------


def _akima_integral(x, y, lo, hi):
    """Akima (1970) slopes + exact integration of the Hermite cubics, written out here."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    m = np.diff(y) / np.diff(x)
    m = np.concatenate(
        [[3 * m[0] - 2 * m[1], 2 * m[0] - m[1]], m, [2 * m[-1] - m[-2], 3 * m[-1] - 2 * m[-2]]]
    )
    w1, w2 = np.abs(np.diff(m))[2:], np.abs(np.diff(m))[:-2]
    d = np.where(
        w1 + w2 > 0,
        (w1 * m[1:-2] + w2 * m[2:-1]) / np.where(w1 + w2 > 0, w1 + w2, 1),
        (m[1:-2] + m[2:-1]) / 2,
    )
    total = 0.0
    for i in range(len(x) - 1):
        h, delta = x[i + 1] - x[i], m[i + 2]
        c2 = (3 * delta - 2 * d[i] - d[i + 1]) / h
        c3 = (d[i] - 2 * delta + d[i + 1]) / h**2
        s0, s1 = np.clip([x[i], x[i + 1]], lo, hi) - x[i]
        total += sum(
            c * (s1 ** (k + 1) - s0 ** (k + 1)) / (k + 1)
            for k, c in enumerate([y[i], d[i], c2, c3])
        )
    return total


def test_akima_matches_hand_written_akima():
    ra, qa, rt, qt = (np.asarray(v) for v in FAU3)
    oa, ot = np.argsort(qa), np.argsort(qt)
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    ia = _akima_integral(qa[oa], np.log10(ra[oa]), lo, hi)
    it = _akima_integral(qt[ot], np.log10(rt[ot]), lo, hi)
    expected = (10 ** ((it - ia) / (hi - lo)) - 1) * 100
    assert bd_rate_result(*FAU3, method="akima").value == pytest.approx(expected, abs=1e-10)


def test_cubic_matches_numpy_polyfit_by_hand():
    ra, qa, rt, qt = (np.asarray(v) for v in E137_2)
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    pa, pt = (np.polyint(np.polyfit(q, np.log(r), 3)) for q, r in ((qa, ra), (qt, rt)))
    diff = np.polyval(pt, hi) - np.polyval(pt, lo) - np.polyval(pa, hi) + np.polyval(pa, lo)
    expected = (math.exp(diff / (hi - lo)) - 1) * 100
    # polyfit on raw PSNR values is ill-conditioned at ~1e-10; agree to 1e-8
    assert bd_rate(*E137_2, method="cubic") == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("method", ["pchip", "cubic", "akima"])
def test_known_shift_on_straight_lines(method):
    # log10(rate) linear in quality: the test curve needs exactly 10 % fewer bits everywhere,
    # and at equal rate it is 3 dB / log10(2) * log10(1/0.9) better.
    rate = np.array([100.0, 200.0, 400.0, 800.0])
    quality = np.array([30.0, 33.0, 36.0, 39.0])
    assert bd_rate(rate, quality, 0.9 * rate, quality, method=method) == pytest.approx(-10.0)
    assert bd_quality(rate, quality, 0.9 * rate, quality, method=method) == pytest.approx(
        3.0 / math.log10(2.0) * math.log10(1 / 0.9)
    )


def test_order_of_points_does_not_matter():
    ra, qa, rt, qt = E137_1
    shuffled = bd_rate(
        ra[::-1], qa[::-1], [rt[i] for i in (2, 0, 3, 1)], [qt[i] for i in (2, 0, 3, 1)]
    )
    assert shuffled == pytest.approx(-0.465215420752807, abs=1e-9)


# --- documented edge cases --------------------------------------------------------------------


def test_lower_is_better_metric_gives_same_bd_rate_as_its_negation():
    # An LPIPS-like curve: falls as rate rises. Negated, it is an ordinary curve.
    ra, qa, rt, qt = (np.asarray(v) for v in E137_1)
    lp_a, lp_t = 50.0 - qa, 50.0 - qt
    assert bd_rate(ra, lp_a, rt, lp_t, higher_is_better=False) == pytest.approx(
        -0.465215420752807, abs=1e-9
    )
    # BD-quality is test minus anchor in the metric's own units: lower = better here.
    assert bd_quality(ra, lp_a, rt, lp_t, higher_is_better=False) == pytest.approx(
        -bd_quality(*E137_1), abs=1e-12
    )


def test_lower_is_better_metric_without_flag_is_refused_not_wrong():
    ra, qa, rt, qt = (np.asarray(v) for v in E137_1)
    res = bd_rate_result(ra, 1 - qa / 50, rt, 1 - qt / 50)
    assert math.isnan(res.value)
    assert "higher_is_better=False" in res.reason
    with pytest.raises(BDRateError, match="lower-is-better"):
        bd_rate(ra, 1 - qa / 50, rt, 1 - qt / 50)


@pytest.mark.parametrize("n", [2, 3])
def test_fewer_than_four_points_is_nan_with_reason(n):
    ra, qa, rt, qt = E137_1
    res = bd_rate_result(ra[:n], qa[:n], rt, qt)
    assert math.isnan(res.value) and "at least 4" in res.reason
    with pytest.raises(BDRateError, match="at least 4"):
        bd_rate(ra[:n], qa[:n], rt, qt)


def test_min_points_can_be_lowered_for_pchip_but_not_cubic():
    # Two points per curve with log-rate linear in quality: 10 % saving, exactly.
    assert bd_rate([100, 800], [30, 39], [90, 720], [30, 39], min_points=2) == pytest.approx(-10)
    with pytest.raises(ConfigError, match="min_points"):
        bd_rate([100, 800], [30, 39], [90, 720], [30, 39], method="cubic", min_points=2)


def test_duplicate_points_are_merged():
    ra, qa, rt, qt = E137_1
    res = bd_rate_result(list(ra) + [ra[0]], list(qa) + [qa[0]], rt, qt)
    assert res.value == pytest.approx(-0.465215420752807, abs=1e-9)
    assert any("duplicate" in n for n in res.notes)
    # a duplicate does not count towards the 4 points
    assert "at least 4" in bd_rate_result(ra[:3] + [ra[0]], qa[:3] + [qa[0]], rt, qt).reason


def test_same_rate_two_qualities_is_refused():
    ra, qa, rt, qt = E137_1
    res = bd_rate_result(list(ra) + [ra[0]], list(qa) + [qa[0] + 1], rt, qt)
    assert "same rate" in res.reason


def test_non_monotonic_curve_rejected_or_pareto():
    rate = [100, 200, 300, 400, 800, 1600]
    quality = [30, 33, 32.5, 35, 38, 41]  # the 300-kbps point is worse than the 200 one
    res = bd_rate_result(rate, quality, rate, quality)
    assert math.isnan(res.value) and "not strictly monotonic" in res.reason
    res = bd_rate_result(rate, quality, [0.8 * r for r in rate], quality, nonmonotonic="pareto")
    assert res.value == pytest.approx(-20.0)
    assert any("dropped 1 dominated" in n for n in res.notes)


def test_saturated_vmaf_curve():
    rate = [500, 1000, 2000, 4000, 8000]
    vmaf = [80.0, 92.0, 98.0, 100.0, 100.0]  # saturated at the top
    res = bd_rate_result(rate, vmaf, rate, vmaf)
    assert "not strictly monotonic" in res.reason
    # pareto keeps 500..4000; identical curves then give exactly 0 %
    with pytest.warns(BDWarning, match="dropped 1 dominated"):
        assert bd_rate(rate, vmaf, rate, vmaf, nonmonotonic="pareto") == pytest.approx(0.0)
    flat = bd_rate_result(rate, [100.0] * 5, rate, vmaf)
    assert "flat" in flat.reason


def test_no_overlap_is_nan_with_reason():
    res = bd_rate_result(
        [100, 200, 400, 800], [30, 31, 32, 33], [100, 200, 400, 800], [40, 41, 42, 43]
    )
    assert math.isnan(res.value) and "do not overlap" in res.reason
    assert res.overlap == 0.0
    with pytest.raises(BDRateError, match="do not overlap"):
        bd_rate([100, 200, 400, 800], [30, 31, 32, 33], [100, 200, 400, 800], [40, 41, 42, 43])


def test_small_overlap_warns_and_min_overlap_refuses():
    ra, qa = [100, 200, 400, 800], [30, 32, 34, 36]
    rt, qt = [100, 200, 400, 800], [35, 37, 39, 41]  # overlap 1 dB of an 11 dB union
    res = bd_rate_result(ra, qa, rt, qt)
    assert res.overlap == pytest.approx(1 / 11)
    assert res.ok and any("small quality overlap" in n for n in res.notes)
    with pytest.warns(BDWarning, match="small quality overlap"):
        bd_rate(ra, qa, rt, qt)
    assert "below min_overlap" in bd_rate_result(ra, qa, rt, qt, min_overlap=0.5).reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "spline"}, "method='spline'"),
        ({"nonmonotonic": "drop"}, "nonmonotonic"),
        ({"min_overlap": 1.5}, "min_overlap"),
    ],
)
def test_invalid_options_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        bd_rate(*E137_1, **kwargs)


def test_malformed_curves_are_config_errors():
    ra, qa, rt, qt = E137_1
    with pytest.raises(ConfigError, match="rate_anchor"):
        bd_rate([0.0, *ra[1:]], qa, rt, qt)
    with pytest.raises(ConfigError, match="quality_test"):
        bd_rate(ra, qa, rt, qt[:3])
    with pytest.raises(ConfigError, match="inf"):
        bd_quality_result(ra, [math.inf, *qa[1:]], rt, qt)
    assert issubclass(BDRateError, VqabenchError)
