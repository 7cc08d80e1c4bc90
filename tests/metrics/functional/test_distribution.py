"""Residual distribution fits (vqabench.metrics.functional.distribution): synthetic Gaussian
and Laplacian residuals are told apart, Q–Q data equal scipy's, errors name the argument."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vqabench.errors import ConfigError, MetricError
from vqabench.metrics.functional.distribution import (
    better_fit,
    fit_residuals,
    qq_data,
    residuals,
)


@pytest.mark.parametrize("criterion", ["wasserstein", "r2"])
def test_synthetic_residuals_recognised(criterion):
    rng = np.random.default_rng(0)
    assert better_fit(rng.normal(0.3, 2.0, 20_000), criterion=criterion) == "gaussian"
    assert better_fit(rng.laplace(-0.2, 1.5, 20_000), criterion=criterion) == "laplace"


def test_qq_data_matches_scipy():
    x = np.random.default_rng(1).laplace(1.0, 2.0, 5_000)
    qq = qq_data(x, "laplace")
    loc, scale = stats.laplace.fit(x)
    assert (qq.loc, qq.scale) == pytest.approx((loc, scale))
    assert (qq.loc, qq.scale) == pytest.approx((1.0, 2.0), rel=0.06)
    (osm, osr), (slope, intercept, r) = stats.probplot(x, sparams=(loc, scale), dist=stats.laplace)
    np.testing.assert_allclose(qq.theoretical, osm)
    np.testing.assert_array_equal(qq.ordered, np.sort(x))
    assert (qq.slope, qq.intercept) == pytest.approx((slope, intercept))
    assert qq.r2 == pytest.approx(r**2)
    assert qq.wasserstein == pytest.approx(stats.wasserstein_distance(osr, osm))
    fit = fit_residuals(x)
    assert fit.gaussian.r2 < fit.laplace.r2 and fit.gaussian.wasserstein > fit.laplace.wasserstein
    assert fit["laplace"] is fit.laplace and fit.n_samples == 5_000


def test_gaussian_fit_is_mean_and_population_std():
    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 100])
    qq = qq_data(x, "gaussian")
    assert (qq.loc, qq.scale) == pytest.approx((x.mean(), x.std(ddof=0)))
    lap = qq_data(x, "laplace")  # median and mean absolute deviation from it
    assert (lap.loc, lap.scale) == pytest.approx((3.5, np.mean(np.abs(x - 3.5))))


def test_residuals_are_distorted_minus_reference():
    ref = np.array([[10, 20], [30, 40]], np.uint8)
    dis = np.array([[12, 18], [30, 45]], np.uint8)
    np.testing.assert_array_equal(residuals(ref, dis), [2.0, -2.0, 0.0, 5.0])
    with pytest.raises(MetricError, match=r"reference \(2, 2\) and distorted \(4,\) differ"):
        residuals(ref, dis.ravel())


def test_subsampling_and_non_finite_values():
    x = np.random.default_rng(2).normal(size=1000)
    assert fit_residuals(x, max_samples=100).n_samples == 100
    assert fit_residuals(x, max_samples=100, seed=1).gaussian.loc != (
        fit_residuals(x, max_samples=100, seed=2).gaussian.loc
    )
    with_nan = np.concatenate([x, [np.nan, np.inf]])
    assert fit_residuals(with_nan, max_samples=None).gaussian.loc == pytest.approx(x.mean())


def test_bad_input_names_the_argument():
    x = np.random.default_rng(3).normal(size=100)
    with pytest.raises(ConfigError, match="criterion='ks' is not allowed"):
        fit_residuals(x, criterion="ks")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="family='cauchy' is not allowed"):
        qq_data(x, "cauchy")  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="at least 8 finite residuals, got 7"):
        fit_residuals(x[:7])
    with pytest.raises(MetricError, match="constant"):
        fit_residuals(np.ones(20))
