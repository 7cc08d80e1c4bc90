"""Error-distribution analysis: synthetic Gaussian residuals are recognised as Gaussian and
Laplacian ones as Laplacian; Q–Q data agree with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vqabench.errors import ConfigError, MetricError
from vqabench.io.video import YuvFrame, write_y4m
from vqabench.metrics.distribution import (
    better_fit,
    error_distribution,
    fit_residuals,
    qq_data,
    video_residuals,
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
    (osm, osr), (_, _, r) = stats.probplot(x, sparams=(loc, scale), dist=stats.laplace)
    np.testing.assert_allclose(qq.theoretical, osm)
    assert qq.r2 == pytest.approx(r ** 2)
    assert qq.wasserstein == pytest.approx(stats.wasserstein_distance(osr, osm))
    assert qq.r2 > 0.99
    fit = fit_residuals(x)
    assert fit.gaussian.r2 < fit.laplace.r2 and fit.gaussian.wasserstein > fit.laplace.wasserstein


def _noise_video(path, noise, frames=4, size=32):
    out = []
    for i in range(frames):
        y = np.clip(np.rint(128 + noise[i]), 0, 255).astype(np.uint8)
        c = np.full((size // 2, size // 2), 128, np.uint8)
        out.append(YuvFrame(y, c, c))
    return write_y4m(path, out, width=size, height=size, fps=25)


def test_video_residual_fit(tmp_path):
    rng = np.random.default_rng(2)
    shape = (4, 32, 32)
    ref = _noise_video(tmp_path / "r.y4m", np.zeros(shape))
    gauss = _noise_video(tmp_path / "g.y4m", rng.normal(0, 8, shape))
    lap = _noise_video(tmp_path / "l.y4m", rng.laplace(0, 6, shape))
    res = video_residuals(ref, gauss)
    assert res.shape == (4 * 32 * 32,) and res.std() == pytest.approx(8, rel=0.1)
    assert error_distribution(reference=ref, distorted=gauss).better == "gaussian"
    assert error_distribution(reference=ref, distorted=lap).better == "laplace"
    with pytest.raises(ConfigError, match="plane='a'"):
        video_residuals(ref, gauss, plane="a")
    with pytest.raises(MetricError, match="constant"):
        error_distribution(reference=ref, distorted=ref)
