"""Q–Q plots (vqabench/reports/qq.py): a PNG is written atomically with both fits drawn."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.metrics.functional.distribution import fit_residuals
from vqabench.reports.qq import plot_qq


@pytest.mark.slow
def test_plot_qq_writes_png(tmp_path):
    fit = fit_residuals(np.random.default_rng(3).normal(size=3_000))
    fig = plot_qq(fit, tmp_path / "out" / "qq.png")
    data = (tmp_path / "out" / "qq.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    assert len(fig.axes) == 2 and "gaussian" in fig.axes[0].get_title()
    assert not list((tmp_path / "out").glob(".tmp-*"))


def test_error_distribution_on_paths_equals_on_videos(tmp_path):
    """A path is read as the opened Video: same residuals, so the same R² and W1 on both
    Q–Q panels."""
    from tests.conftest import add_noise, make_video
    from vqabench.metrics.distribution import error_distribution

    ref = make_video(tmp_path / "ref.y4m", width=32, height=32, frames=2)
    dis = add_noise(ref, tmp_path / "dis.y4m", sigma=3.0)
    on_videos = error_distribution(ref, dis)
    on_paths = error_distribution(str(ref.path), dis.path)
    for a, b in ((on_videos.gaussian, on_paths.gaussian), (on_videos.laplace, on_paths.laplace)):
        assert a.r2 == b.r2 and a.wasserstein == b.wasserstein
    assert on_paths.n_samples == 2 * 32 * 32 and on_paths.gaussian.scale > 2.0


def test_error_distribution_missing_path_is_a_typed_one_line_error(tmp_path):
    from tests.conftest import make_video
    from vqabench.errors import VideoFormatError
    from vqabench.metrics.distribution import error_distribution

    ref = make_video(tmp_path / "ref.y4m", width=32, height=32, frames=2)
    missing = tmp_path / "nope.y4m"
    with pytest.raises(VideoFormatError) as info:
        error_distribution(ref, missing)
    assert str(missing) in str(info.value) and "\n" not in str(info.value)
