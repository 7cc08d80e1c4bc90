"""Tests for vqabench.evaluation.rq: known parameters, scipy's linregress, hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vqabench.errors import ConfigError
from vqabench.evaluation.rq import (
    fit_rate_parameter,
    fit_rp_table,
    fit_rq,
    fit_rq_table,
    rate_deviation,
    rate_parameter_points,
    rp_table,
)

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)

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
    df = pd.DataFrame(
        rows, columns=["sequence", "reference", "anchor", "metric", "codec", "kbps", "value"]
    )
    t = fit_rq_table(df, models=["logarithmic"]).set_index("sequence")
    assert t.loc["A", "b"] == pytest.approx(2.0) and t.loc["B", "a"] == pytest.approx(5.0)
    assert math.isnan(t.loc["A", "c"])


# --- rate against the coding parameter (RQ-LVC models) ------------------------------------

QPS = np.array([22.0, 27.0, 32.0, 37.0, 42.0])


@pytest.mark.parametrize(
    "model, rate, params",
    [
        ("linear", 900.0 - 20.0 * QPS, (900.0, -20.0)),
        ("exponential", 5000.0 * np.exp(-0.11 * QPS), (5000.0, -0.11)),
        ("logarithmic", 3000.0 - 700.0 * np.log(QPS), (3000.0, -700.0)),
    ],
)
def test_rate_parameter_models_recover_their_parameters(model, rate, params):
    f = fit_rate_parameter(QPS, rate, model=model)
    assert f.params == pytest.approx(params) and f.r2 == pytest.approx(1.0)


def test_rate_parameter_fits_refuse_what_they_cannot_fit():
    assert "p > 0" in fit_rate_parameter([0, 10], [5, 3], model="logarithmic").reason
    assert "R > 0" in fit_rate_parameter([1, 10], [0, 3], model="exponential").reason
    assert "distinct" in fit_rate_parameter([5, 5], [1, 3], model="linear").reason
    with pytest.raises(ConfigError, match="model='cubic'"):
        fit_rate_parameter(QPS, QPS, model="cubic")


def _by_hand(p, r, model):
    """numpy least squares on the linearised model; R² on the rate itself."""
    x = np.log(p) if model == "logarithmic" else p
    y = np.log(r) if model == "exponential" else r
    (c0, c1), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    pred = np.exp(c0 + c1 * p) if model == "exponential" else c0 + c1 * x
    return 1 - np.sum((r - pred) ** 2) / np.sum((r - r.mean()) ** 2)


@pytest.fixture(scope="module")
def qp_run(tmp_path_factory):
    from tests.conftest import make_video
    from vqabench.experiment import load_config
    from vqabench.runner.run import run

    root = tmp_path_factory.mktemp("rqdata")
    make_video(root / "Alpha.y4m", frames=6, seed=1)
    make_video(root / "Beta.y4m", frames=6, seed=2)
    out = root / "run"
    run(
        load_config(
            None,
            dataset=str(root),
            codecs=["x264:qp=22,27,32,37"],
            metrics="psnr_y",
            jobs=1,
            out=str(out),
        )
    )
    return out


@pytest.mark.parametrize("level", ["sequence", "frame"])
@pytest.mark.slow
def test_rp_table_on_a_run_reproduces_by_hand(qp_run, level):
    results = pd.read_csv(qp_run / "results.csv")
    per_frame = pd.read_csv(qp_run / "per_frame.csv")
    fits = fit_rp_table(rate_parameter_points(results, per_frame, level=level))
    table = rp_table(fits)
    assert list(table.columns) == [
        "Codec",
        "Sequence",
        "linear",
        "exponential",
        "logarithmic",
        "Best",
    ]
    assert list(table["Sequence"]) == ["Alpha", "Beta", "Average"]
    expected = {}
    for seq in ("Alpha", "Beta"):
        if level == "sequence":
            cell = results[results["sequence"] == seq]
            p, r = cell["rate_point"].str[3:].astype(float), cell["kbps"]
        else:
            cell = per_frame[per_frame["sequence"] == seq]
            p, r = cell["rate_point"].str[3:].astype(float), cell["frame_bits"]
            assert len(cell) == 4 * 6
        for model in ("linear", "exponential", "logarithmic"):
            expected[seq, model] = _by_hand(p.to_numpy(), r.to_numpy(float), model)
            row = table[table["Sequence"] == seq].iloc[0]
            assert row[model] == pytest.approx(expected[seq, model], rel=1e-9)
        best = max(("linear", "exponential", "logarithmic"), key=lambda m: expected[seq, m])
        assert table[table["Sequence"] == seq].iloc[0]["Best"] == best
    avg = table[table["Sequence"] == "Average"].iloc[0]
    assert avg["logarithmic"] == pytest.approx(
        (expected["Alpha", "logarithmic"] + expected["Beta", "logarithmic"]) / 2
    )


def test_frame_level_needs_frame_sizes(qp_run):
    results = pd.read_csv(qp_run / "results.csv")
    with pytest.raises(ConfigError, match="frame_bits"):
        rate_parameter_points(results, None, level="frame")
