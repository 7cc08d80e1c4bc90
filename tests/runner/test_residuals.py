"""vqabench/runner/residuals.py: the residual fits of a run's Q–Q figures, drawn by the
report."""

from __future__ import annotations

import pytest


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
    from vqabench.runner.residuals import run_residual_fits
    from vqabench.runner.run import run

    data = tmp_path / "data"
    source = make_video(data / "Alpha.y4m", width=64, height=64, frames=3, seed=4)
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(data),
            codecs=["x264:qp=27,32,37"],
            metrics="psnr_y",
            jobs=1,
            out=str(out),
        )
    )
    report = build_report(
        out,
        out_dir=tmp_path / "all",
        formats=("png",),
        figures="all",
        residual_fits=run_residual_fits,
    )
    assert (tmp_path / "all" / "qq_Alpha.png").read_bytes()[:4] == b"\x89PNG"
    decoded = tmp_path / "decoded.y4m"
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-i",
            str(out / "bitstreams/Alpha/x264/qp32.264"),
            "-f",
            "yuv4mpegpipe",
            "-pix_fmt",
            "yuv420p",
            str(decoded),
        ]
    )
    fit = error_distribution(source.path, decoded)
    g, lap = fit.gaussian, fit.laplace
    assert fit.n_samples == 3 * 64 * 64 and g.wasserstein > 0
    md = report.markdown.read_text()
    assert (
        f"Alpha, x264 qp=32: Gaussian R²={g.r2:.4f}, W1={g.wasserstein:.4g}; Laplace "
        f"R²={lap.r2:.4f}, W1={lap.wasserstein:.4g}"
    ) in md
    summary = build_report(
        out, out_dir=tmp_path / "summary", formats=("png",), residual_fits=run_residual_fits
    )
    assert not [p for p in summary.figures if p.name.startswith(("qq_", "rq_"))]
