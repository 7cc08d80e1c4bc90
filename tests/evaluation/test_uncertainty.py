"""Tests for vqabench.evaluation.uncertainty: bootstrap intervals and the Wilcoxon test.

Curves with a known spread: test codec rates are the anchor's times (1 + d_i) at every
quality, so the per-sequence BD-rate is exactly 100 * d_i and the spread of the d_i is known.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vqabench.errors import ConfigError
from vqabench.evaluation.aggregate import per_sequence_bd_rate, summarize_bd_rate
from vqabench.evaluation.uncertainty import add_uncertainty, bootstrap_ci, wilcoxon_p


def _results(deltas: dict[str, float], groups: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for seq, d in deltas.items():
        for codec, f in (("x264", 1.0), ("x265", 1.0 + d)):
            for i in range(4):
                rows.append(
                    {
                        "sequence": seq,
                        "reference": "source",
                        "codec": codec,
                        "rate_point": f"qp={22 + 5 * i}",
                        "kbps": 1000.0 * 2**-i * f,
                        "metric": "psnr_y",
                        "value": 40.0 - 3 * i,
                        "anchor": "source",
                        "group": (groups or {}).get(seq, ""),
                    }
                )
    return pd.DataFrame(rows)


def test_bd_rates_with_known_spread_get_the_bootstrap_interval_of_their_mean():
    rng = np.random.default_rng(7)
    d = rng.normal(-0.2, 0.05, size=12)  # BD-rates -20 % +- 5 %
    per = per_sequence_bd_rate(
        _results({f"s{i:02d}": x for i, x in enumerate(d)}), anchor_codec="x264"
    )
    assert per["bd_rate"].to_numpy() == pytest.approx(100 * d, abs=1e-9)
    summary = add_uncertainty(summarize_bd_rate(per), per, seed=3)
    (row,) = summary.itertuples()
    direct = stats.bootstrap(
        (per["bd_rate"].to_numpy(),),
        np.mean,
        method="percentile",
        n_resamples=9999,
        rng=np.random.default_rng(3),
    )
    assert (row.ci_low, row.ci_high) == pytest.approx(
        (direct.confidence_interval.low, direct.confidence_interval.high), rel=1e-12
    )
    assert row.n_sequences == 12 and row.ci_low < row.bd_rate < row.ci_high
    # all 12 negative: exact two-sided signed-rank p = 2 / 2**12
    assert row.wilcoxon_p == pytest.approx(2 / 2**12, rel=1e-12)


@pytest.mark.slow
def test_interval_width_follows_the_spread():
    """Many sequences: the percentile interval of the mean approaches mean +- z * sd / sqrt(n)."""
    rng = np.random.default_rng(0)
    values = rng.normal(-10.0, 4.0, size=400)
    low, high = bootstrap_ci(values, seed=1)
    half = stats.norm.ppf(0.975) * values.std(ddof=1) / math.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(half, rel=0.06)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.1 * half)


def test_bootstrap_is_seeded_and_reproducible():
    values = [-12.0, -8.5, -15.2, -3.1, -9.9, -11.0]
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(values, seed=5)
    assert bootstrap_ci(values, seed=5) != bootstrap_ci(values, seed=6)


def test_degenerate_inputs():
    assert all(math.isnan(v) for v in bootstrap_ci([-3.0]))
    assert bootstrap_ci([-3.0, -3.0, math.nan]) == (-3.0, -3.0)
    assert math.isnan(wilcoxon_p([0.0, 0.0, 5.0]))
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ConfigError, match="n_resamples"):
        bootstrap_ci([1.0, 2.0], n_resamples=10)


def test_wilcoxon_matches_scipy_with_mixed_signs():
    values = [-12.0, 3.0, -7.5, -1.0, 4.5, -9.0, -2.2]
    assert wilcoxon_p(values) == stats.wilcoxon(values).pvalue
    # hand-derived: ranks of |x| = 7,3,5,1,4,6,2; W+ = 3+4 = 7; exact two-sided p = 2 P(W <= 7)
    counts = [1] + [0] * 28  # counts[k]: subsets of ranks 1..7 summing to k
    for r in range(1, 8):
        counts = [counts[k] + (counts[k - r] if k >= r else 0) for k in range(29)]
    assert wilcoxon_p(values) == pytest.approx(2 * sum(counts[:8]) / 2**7, rel=1e-12)


def test_groups_use_their_own_sequences():
    deltas = {"a": -0.1, "b": -0.2, "c": -0.35, "d": 0.15, "e": 0.3}
    groups = {"a": "Low", "b": "Low", "c": "Low", "d": "High", "e": "High"}
    per = per_sequence_bd_rate(_results(deltas, groups), anchor_codec="x264")
    summary = add_uncertainty(summarize_bd_rate(per), per).set_index("group")
    assert summary.loc["Low", "n_sequences"] == 3 and summary.loc["High", "n_sequences"] == 2
    # two values: every resample mean is 15, 22.5 or 30; the 2.5/97.5 % points are the ends
    assert summary.loc["High", "ci_low"] == pytest.approx(15.0, abs=1e-9)
    assert summary.loc["High", "ci_high"] == pytest.approx(30.0, abs=1e-9)
    # exact, no ties: |x| ranks 10:1 15:2 20:3 30:4 35:5, W+ = 2 + 4 = 6; 13 of the 32 sign
    # patterns have W+ <= 6, so the two-sided p = 2 * 13 / 32
    assert summary.loc["Overall", "wilcoxon_p"] == pytest.approx(26 / 32, abs=1e-12)
    assert summary.loc["Overall", "wilcoxon_p"] == stats.wilcoxon(per["bd_rate"]).pvalue
