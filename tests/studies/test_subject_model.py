"""SUREAL subject model (maximum likelihood) and BT.500 screening: by hand, on synthetic
panels with known truth, and against Netflix's ``sureal`` package (test-only reference)."""

from __future__ import annotations

import contextlib
import io
import types

import numpy as np
import pytest
from scipy import stats

from vqabench.errors import ConfigError
from vqabench.studies import scaling
from vqabench.studies.subject_model import subject_model_mle


def _panel(seed: int, subjects: int = 20, conditions: int = 12):
    """Ratings ``x + b + v * e`` with known x, b (mean 0) and v."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1.5, 4.5, conditions)
    b = rng.normal(0, 0.4, subjects)
    b -= b.mean()
    v = rng.uniform(0.3, 1.2, subjects)
    u = x[None, :] + b[:, None] + v[:, None] * rng.standard_normal((subjects, conditions))
    return u, x, b, v


def test_mle_by_hand():
    """Two subjects, two conditions, x = (2, 4), b = (0.3, -0.3), residuals +-0.5 that cancel
    per condition and per subject: the MLE is the truth, v = 0.5 (rms of the residuals),
    sd(x) = 1 / sqrt(2 / 0.25), sd(b) = 0.5 / sqrt(2), v's interval 0.5 * sqrt(2 / chi2)."""
    u = np.array([[2.8, 3.8], [1.2, 4.2]])
    fit = subject_model_mle(u)
    assert fit.quality == pytest.approx([2, 4], abs=1e-9)
    assert fit.bias == pytest.approx([0.3, -0.3], abs=1e-9)
    assert fit.inconsistency == pytest.approx([0.5, 0.5], abs=1e-9)
    z = stats.norm.ppf(0.975)
    assert fit.quality_hi - fit.quality == pytest.approx([z / np.sqrt(8)] * 2)
    assert fit.bias_hi - fit.bias == pytest.approx([z * 0.5 / np.sqrt(2)] * 2)
    assert fit.inconsistency_lo == pytest.approx([0.5 * np.sqrt(2 / stats.chi2.ppf(0.975, 2))] * 2)
    assert fit.inconsistency_hi == pytest.approx([0.5 * np.sqrt(2 / stats.chi2.ppf(0.025, 2))] * 2)
    # log-likelihood: 4 residuals of 0.5 with sd 0.5
    assert fit.log_likelihood == pytest.approx(4 * stats.norm.logpdf(0.5, scale=0.5))


def test_mle_recovers_known_quality_bias_and_inconsistency():
    """40 subjects x 30 conditions: x within its 95 % interval in about 95 % of conditions,
    bias and inconsistency close to the truth; MOS (equal weights) is further from x."""
    u, x, b, v = _panel(3, subjects=40, conditions=30)
    fit = subject_model_mle(u)
    inside = (fit.quality_lo <= x) & (x <= fit.quality_hi)
    assert inside.mean() >= 0.85
    assert np.abs(fit.quality - x).max() < 0.35
    assert np.abs(fit.bias - b).max() < 0.45
    assert np.corrcoef(fit.inconsistency, v)[0, 1] > 0.9
    assert np.abs(fit.inconsistency - v).max() < 0.35
    assert np.mean((fit.quality - x) ** 2) < np.mean((u.mean(axis=0) - x) ** 2)


def test_mle_refusals():
    with pytest.raises(ConfigError, match=r"subject p[01] fitted exactly"):
        # p0 and p1 agree up to a constant: their v -> 0, no maximum
        subject_model_mle(
            np.array([[1.0, 3, 5], [2, 4, 6], [1, 5, 3]]), subjects=["p0", "p1", "p2"]
        )
    with pytest.raises(ConfigError, match="at least 2 subjects"):
        subject_model_mle(np.array([[1.0, 2, 3]]))
    with pytest.raises(ConfigError, match="connect every subject"):
        subject_model_mle(
            np.array(
                [
                    [1.0, 2, np.nan, np.nan],
                    [2, 1, np.nan, np.nan],
                    [np.nan, np.nan, 3, 4],
                    [np.nan, np.nan, 5, 3],
                ]
            )
        )
    with pytest.raises(ConfigError, match="max_iter"):
        subject_model_mle(_panel(0)[0], max_iter=2)


def _sureal_dataset(u: np.ndarray):
    from sureal.dataset_reader import RawDatasetReader

    ds = types.SimpleNamespace(
        dataset_name="synthetic",
        ref_score=5.0,
        ref_videos=[{"content_id": 0, "content_name": "c", "path": "c"}],
        dis_videos=[
            {"content_id": 0, "asset_id": j, "os": list(u[:, j]), "path": f"d{j}"}
            for j in range(u.shape[1])
        ],
    )
    return RawDatasetReader(ds)


@pytest.mark.slow  # sureal takes ~10 s (2700 damped iterations)
def test_mle_equals_sureal():
    """Same estimates and intervals as sureal 0.9.0 MLE_CO (model without content ambiguity),
    with a missing rating; sureal stops at a change of 1e-8 per damped step, hence 1e-4."""
    pytest.importorskip("sureal")
    from sureal.subjective_model import MaximumLikelihoodEstimationModelContentOblivious

    u = _panel(1)[0]
    u[3, 5] = np.nan
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        ref = MaximumLikelihoodEstimationModelContentOblivious(_sureal_dataset(u)).run_modeling()
    fit = subject_model_mle(u)
    assert fit.quality == pytest.approx(ref["quality_scores"], abs=1e-4)
    assert fit.bias == pytest.approx(ref["observer_bias"], abs=1e-4)
    assert fit.inconsistency == pytest.approx(ref["observer_inconsistency"], abs=1e-4)
    z = stats.norm.ppf(0.975)
    assert (fit.quality_hi - fit.quality) / z == pytest.approx(ref["quality_scores_std"], abs=1e-4)
    assert (fit.bias_hi - fit.bias) / z == pytest.approx(ref["observer_bias_std"], abs=1e-4)
    lo, hi = ref["observer_inconsistency_ci95"]  # distances below and above v
    assert fit.inconsistency - fit.inconsistency_lo == pytest.approx(lo, abs=1e-4)
    assert fit.inconsistency_hi - fit.inconsistency == pytest.approx(hi, abs=1e-4)


def _rounded_panel(seed: int) -> np.ndarray:
    """20 subjects x 12 conditions on the 1-5 scale, two of them erratic (alternately 1.5
    above and below their usual rating)."""
    rng = np.random.default_rng(seed)
    u = (
        rng.uniform(2, 4, 12)[None, :]
        + rng.normal(0, 0.2, 20)[:, None]
        + rng.uniform(0.2, 0.5, 20)[:, None] * rng.standard_normal((20, 12))
    )
    u[4] += np.where(np.arange(12) % 2 == 0, 1.5, -1.5)
    u[9] += np.where(np.arange(12) % 2 == 0, -1.5, 1.5)
    return np.clip(np.rint(u), 1, 5)


@pytest.mark.parametrize("seed", range(1, 8))
def test_bt500_rejects_the_subjects_sureal_rejects(seed):
    """sureal's SR_MOS (BT.500 screening) on rounded panels with two erratic subjects: with
    sureal's standard deviation (``ddof=0``) the same subjects are rejected and the others
    give the same MOS; BT.500's own (``ddof=1``, the default) rejects a subset of them (its
    wider limits count fewer scores outside)."""
    pytest.importorskip("sureal")
    from sureal.subjective_model import SubjrejMosModel

    u = _rounded_panel(seed)
    with np.errstate(all="ignore"):
        ref = SubjrejMosModel(_sureal_dataset(u)).run_modeling()
    ids = [f"s{i}" for i in range(20)]
    ours = scaling.bt500_screening(u, ids, ddof=0)
    assert [s.rejected for s in ours] == ref["observer_rejected"]
    kept = [not s.rejected for s in ours]
    assert u[kept].mean(axis=0) == pytest.approx(ref["quality_scores"], abs=1e-12)
    standard = {s.participant for s in scaling.bt500_screening(u, ids) if s.rejected}
    assert standard <= {s.participant for s in ours if s.rejected} <= {"s4", "s9"}


def test_bt500_standard_deviation_differs_from_sureal_by_hand():
    """Panel seed 1: subject s9 has P=2, Q=1 of 12 with BT.500's s (n - 1), 3 / 12 = 0.25 >
    0.05 but |P - Q| / (P + Q) = 1/3 >= 0.3: kept; sureal's narrower limits (n) reject it."""
    u = _rounded_panel(1)
    ids = [f"s{i}" for i in range(20)]
    standard = scaling.bt500_screening(u, ids)[9]
    assert (standard.p, standard.q, standard.rejected) == (2, 1, False)
    assert scaling.bt500_screening(u, ids, ddof=0)[9].rejected
    with pytest.raises(ConfigError, match="ddof"):
        scaling.bt500_screening(u, ids, ddof=2)
