"""Tests for vqabench.evaluation.rq: known parameters, scipy's linregress, hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vqabench.errors import ConfigError
from vqabench.evaluation.rq import fit_rq, fit_rq_table, rate_deviation

RATES = np.array([250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0])


def test_logarithmic_recovers_parameters():
    f = fit_rq(RATES, 12.0 + 3.5 * np.log(RATES), model="logarithmic")
    assert f.params == pytest.approx((12.0, 3.5)) and f.r2 == pytest.approx(1.0)


def test_exponential_recovers_parameters():
    q = 98.0 - 60.0 * np.exp(-0.0009 * RATES)
    f = fit_rq(RATES, q, model="exponential")
    assert f.params == pytest.approx((98.0, 60.0, 0.0009), rel=1e-5)
    assert np.allclose(f.predict(RATES), q, atol=1e-6)


def test_linear_r2_matches_scipy_linregress():
    rng = np.random.default_rng(0)
    q = 30 + 0.002 * RATES + rng.normal(0, 1, RATES.size)
    f = fit_rq(RATES, q, model="linear")
    ref = stats.linregress(RATES, q)
    assert f.params == pytest.approx((ref.intercept, ref.slope))
    assert f.r2 == pytest.approx(ref.rvalue**2)


def test_too_few_points_and_errors():
    f = fit_rq(RATES[:3], [30, 33, 36], model="exponential")
    assert math.isnan(f.r2) and "at least 4" in f.reason
    with pytest.raises(ConfigError, match="model='cubic'"):
        fit_rq(RATES, RATES, model="cubic")
    with pytest.raises(ConfigError, match="rate_kbps"):
        fit_rq([0, 1, 2], [1, 2, 3])


def test_rate_deviation():
    dev = rate_deviation([1000, 2000], [900, 2500])
    assert dev.tolist() == pytest.approx([0.1, 0.25])
    with pytest.raises(ConfigError, match="target_kbps"):
        rate_deviation(0, 10)


def test_table_fits_each_curve():
    rows = [("A", "source", "source", "psnr_y", "x264", r, 10 + 2 * np.log(r)) for r in RATES]
    rows += [("B", "source", "source", "psnr_y", "x264", r, 5 + 3 * np.log(r)) for r in RATES]
    df = pd.DataFrame(rows, columns=["sequence", "reference", "anchor", "metric", "codec",
                                     "kbps", "value"])
    t = fit_rq_table(df, models=["logarithmic"]).set_index("sequence")
    assert t.loc["A", "b"] == pytest.approx(2.0) and t.loc["B", "a"] == pytest.approx(5.0)
    assert math.isnan(t.loc["A", "c"])
