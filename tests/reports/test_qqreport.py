"""vqabench/reports/qqreport.py: the Q–Q figure of a run's residual fit and its caption."""

from __future__ import annotations

from tests.conftest import make_video
from vqabench.metrics.distribution import error_distribution
from vqabench.reports.qqreport import RunResidualFit, caption, qq_figure


def test_caption_and_figure_state_the_fits_numbers(tmp_path):
    """The caption gives both fits' R² and W1 as the helper computed them, and the figure
    title names the better fit."""
    ref = make_video(tmp_path / "ref.y4m", width=32, height=32, frames=2, seed=1)
    dis = make_video(tmp_path / "dis.y4m", width=32, height=32, frames=2, seed=2)
    fit = error_distribution(ref.path, dis.path)
    item = RunResidualFit("Alpha", "x264", "qp=32", fit)
    g, lap = fit.gaussian, fit.laplace
    assert caption(item) == (
        f"Residual Q–Q (decoded − source, Y): Alpha, x264 qp=32: Gaussian R²={g.r2:.4f}, "
        f"W1={g.wasserstein:.4g}; Laplace R²={lap.r2:.4f}, W1={lap.wasserstein:.4g}; "
        f"{fit.better} fits better"
    )
    figure = qq_figure(None, item=item)
    assert f"{fit.better} fits better" in figure.texts[0].get_text() + " ".join(
        ax.get_title() for ax in figure.axes
    )
