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
