"""R–Q figure (vqabench/reports/rqplot.py): the drawn curve is the fitted model.

In the synthetic run (tests/reports/conftest.py) PSNR-Y is exactly logarithmic in rate:
``q = 30 + 3 * log2(kbps / (1000 * f))``, so the best model is the logarithmic one with R² = 1
and its curve is that formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vqabench.evaluation.rq import fit_rq, fit_rq_table
from vqabench.reports.rqplot import CURVE_POINTS, rq_figure


def _fit_lines(fig):
    return {
        line.get_gid()[4:]: line
        for line in fig.axes[0].get_lines()
        if (line.get_gid() or "").startswith("fit:")
    }


def test_drawn_curve_is_the_model_prediction(run_dir):
    results = pd.read_csv(run_dir / "results.csv")
    fig = rq_figure(results, sequence="A", metric="psnr_y")
    lines = _fit_lines(fig)
    assert sorted(lines) == ["x264", "x265"]
    for codec, f in (("x264", 1.0), ("x265", 0.8)):
        x, y = (np.asarray(v, dtype=float) for v in lines[codec].get_data())
        assert x.size == CURVE_POINTS
        assert np.isclose(x.min(), 1000.0 * f) and np.isclose(x.max(), 8000.0 * f)
        np.testing.assert_allclose(y, 30.0 + 3.0 * np.log2(x / (1000.0 * f)), atol=1e-9)
        cell = results[
            (results.sequence == "A") & (results.metric == "psnr_y") & (results.codec == codec)
        ]
        model = fit_rq(cell["kbps"], cell["value"], model="logarithmic")
        np.testing.assert_allclose(y, model.predict(x), rtol=0, atol=1e-12)
        assert lines[codec].get_label() == f"{codec}: logarithmic, R²=1.0000"


def test_legend_r2_is_the_best_of_the_rq_table(run_dir):
    results = pd.read_csv(run_dir / "results.csv")
    fig = rq_figure(results, sequence="B", metric="lpips")
    table = fit_rq_table(results)
    for codec, line in _fit_lines(fig).items():
        rows = table[(table.sequence == "B") & (table.metric == "lpips") & (table.codec == codec)]
        best = rows.loc[rows["r2"].idxmax()]
        assert line.get_label() == f"{codec}: {best['model']}, R²={best['r2']:.4f}"
