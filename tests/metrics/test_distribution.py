"""Error distribution of videos: the residuals of real Y4M pairs and the verdict on them
(the fits themselves: tests/metrics/functional/test_distribution.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.errors import ConfigError, MetricError
from vqabench.io.video import YuvFrame, write_y4m
from vqabench.metrics.distribution import (
    error_distribution,
    video_residuals,
)


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
