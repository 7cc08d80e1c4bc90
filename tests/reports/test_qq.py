"""Q–Q plots (vqabench/reports/qq.py): a PNG is written atomically with both fits drawn."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.metrics.distribution import fit_residuals
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


@pytest.mark.slow
def test_report_all_has_the_residual_qq_with_the_helpers_numbers(tmp_path):
    """``figures="all"`` adds a Q–Q figure per sequence (anchor codec, middle rate point);
    report.md gives R² and W1 equal to the helper's on the bitstream decoded by ffmpeg
    directly. The default summary set has none."""
    from tests.conftest import make_video
    from vqabench.experiment import load_config
    from vqabench.io.ffmpeg import run_ffmpeg
    from vqabench.metrics.distribution import error_distribution
    from vqabench.reports.report import build_report
    from vqabench.runner.run import run

    data = tmp_path / "data"
    source = make_video(data / "Alpha.y4m", width=64, height=64, frames=3, seed=4)
    out = tmp_path / "run"
    run(load_config(None, dataset=str(data), codecs=["x264:qp=27,32,37"], metrics="psnr_y",
                    jobs=1, out=str(out)))
    report = build_report(out, out_dir=tmp_path / "all", formats=("png",), figures="all")
    assert (tmp_path / "all" / "qq_Alpha.png").read_bytes()[:4] == b"\x89PNG"
    decoded = tmp_path / "decoded.y4m"
    run_ffmpeg(["-loglevel", "error", "-i", str(out / "bitstreams/Alpha/x264/qp32.264"),
                "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", str(decoded)])
    fit = error_distribution(source.path, decoded)
    g, lap = fit.gaussian, fit.laplace
    assert fit.n_samples == 3 * 64 * 64 and g.wasserstein > 0
    md = report.markdown.read_text()
    assert (f"Alpha, x264 qp=32: Gaussian R²={g.r2:.4f}, W1={g.wasserstein:.4g}; Laplace "
            f"R²={lap.r2:.4f}, W1={lap.wasserstein:.4g}") in md
    summary = build_report(out, out_dir=tmp_path / "summary", formats=("png",))
    assert not [p for p in summary.figures if p.name.startswith(("qq_", "rq_"))]
