"""Tests for vqabench.evaluation.correlation against scipy.stats and synthetic ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vqabench.errors import ConfigError
from vqabench.evaluation.correlation import (
    compare_metrics,
    comparison_table,
    correlation,
    correlation_by,
    fit_logistic,
    items_from_results,
    logistic4,
    logistic5,
    parse_metric_ref,
    williams_test,
)


def test_package_exports_the_function_not_the_submodule():
    """``from vqabench.evaluation import correlation`` is the function ``__all__`` lists,
    even after the submodule of the same name was imported (it is, at the top of this file,
    which made the package attribute the submodule)."""
    import sys

    import vqabench.evaluation as evaluation
    from vqabench.evaluation import correlation as exported

    assert "correlation" in evaluation.__all__
    assert exported is correlation is evaluation.correlation
    assert sys.modules["vqabench.evaluation.correlation"].correlation is correlation
    x, y = _data()
    assert exported(x, y, bootstrap=0).srocc == pytest.approx(stats.spearmanr(x, y)[0])


def _data(n=60, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, n)
    y = 1 + 4 / (1 + np.exp(-(x - 50) / 12)) + rng.normal(0, 0.3, n)
    return x, y


def test_matches_scipy_without_fit():
    x, y = _data()
    r = correlation(x, y)
    assert r.srocc == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert r.krocc == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert r.plcc == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert r.rmse == pytest.approx(np.sqrt(np.mean((x - y) ** 2)), abs=1e-12)
    assert np.isnan(r.outlier_ratio) and r.fit == "none" and r.n == 60


def test_logistic4_recovers_known_parameters():
    x = np.linspace(0, 100, 40)
    truth = (5.0, 1.0, 55.0, 9.0)
    b = fit_logistic(x, logistic4(x, *truth), kind="logistic4")
    assert b[0] == pytest.approx(5.0, abs=1e-4) and b[1] == pytest.approx(1.0, abs=1e-4)
    assert b[2] == pytest.approx(55.0, abs=1e-3) and abs(b[3]) == pytest.approx(9.0, abs=1e-3)


def test_logistic5_recovers_known_parameters_and_decreasing_data():
    x = np.linspace(0, 1, 50)
    truth = (-3.0, 8.0, 0.4, 0.5, 3.0)  # decreasing, like DMOS against a similarity score
    y = logistic5(x, *truth)
    b = fit_logistic(x, y, kind="logistic5")
    assert np.allclose(logistic5(x, *b), y, atol=1e-6)
    assert b == pytest.approx(truth, abs=1e-3)


def test_plcc_after_fit_is_pearson_of_mapped_values():
    x, y = _data()
    r = correlation(x, y, fit="logistic4")
    mapped = logistic4(x, *r.fit_params)
    assert r.plcc == pytest.approx(stats.pearsonr(mapped, y).statistic, abs=1e-12)
    assert r.plcc > correlation(x, y).plcc  # the S-shape is captured by the mapping
    assert r.rmse == pytest.approx(0.3, abs=0.08)  # the noise level of the synthetic labels
    assert r.srocc == correlation(x, y).srocc  # rank statistics ignore the mapping


def test_outlier_ratio_counts_items_beyond_two_std():
    pred = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    labels = np.array([1.0, 2.5, 3.0, 4.0, 7.0])
    r = correlation(pred, labels, label_std=[0.5, 0.2, 0.5, 0.5, 0.5])
    assert r.outlier_ratio == pytest.approx(2 / 5)  # 0.5 > 0.4 and 2.0 > 1.0


@pytest.mark.slow
def test_bootstrap_ci_is_seeded_and_brackets_estimate():
    x, y = _data()
    a = correlation(x, y, bootstrap=300, seed=7)
    b = correlation(x, y, bootstrap=300, seed=7)
    assert a.ci == b.ci
    for name in ("srocc", "krocc", "plcc", "rmse"):
        lo, hi = a.ci[name]
        assert lo < getattr(a, name) < hi
    # Fisher-z interval of the Pearson correlation, as an independent yardstick for the width
    z, se = np.arctanh(a.plcc), 1 / np.sqrt(a.n - 3)
    fisher = np.tanh([z - 1.96 * se, z + 1.96 * se])
    assert a.ci["plcc"][0] == pytest.approx(fisher[0], abs=0.03)


@pytest.mark.slow
def test_williams_null_is_calibrated():
    # Two equally good metrics: Williams' test should reject ~5 % of the time at alpha=0.05.
    rng = np.random.default_rng(3)
    rejections = 0
    reps = 400
    for _ in range(reps):
        y = rng.normal(size=40)
        a = y + rng.normal(size=40)
        b = y + rng.normal(size=40)
        _, p = williams_test(
            np.corrcoef(y, a)[0, 1], np.corrcoef(y, b)[0, 1], np.corrcoef(a, b)[0, 1], 40
        )
        rejections += p < 0.05
    assert 0.02 <= rejections / reps <= 0.09


@pytest.mark.slow
def test_compare_metrics_detects_better_metric_and_identity():
    rng = np.random.default_rng(5)
    y = rng.normal(size=80)
    good, bad = y + 0.3 * rng.normal(size=80), y + 1.5 * rng.normal(size=80)
    c = compare_metrics(good, bad, y, statistic="plcc", bootstrap=500)
    assert c.difference == pytest.approx(
        stats.pearsonr(good, y).statistic - stats.pearsonr(bad, y).statistic, abs=1e-12
    )
    assert c.p_williams < 1e-3 and c.p_bootstrap < 0.01 and c.ci[0] > 0
    same = compare_metrics(good, good, y, bootstrap=100)
    assert same.difference == 0 and same.p_williams == 1.0


def test_errors():
    with pytest.raises(ConfigError, match="labels"):
        correlation([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="fit='cubic'"):
        correlation([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], fit="cubic")
    with pytest.raises(ConfigError, match="at least 3"):
        correlation([1, 2], [1, 2])


def _results(n=12, seed=3):
    """Tidy results of n items (2 codecs): psnr_y and vmaf against source, vmaf against
    reference, with a known relation to the hidden truth."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(1, 5, n)
    rows = []
    for i, t in enumerate(truth):
        key = {
            "sequence": f"S{i % 3}",
            "reference": "source",
            "codec": ("x264", "x265")[i % 2],
            "rate_point": f"qp={20 + i}",
            "group": ("High", "Low")[i % 2],
        }
        psnr = 25 + 3 * t + rng.normal()
        rows += [
            {**key, "metric": "psnr_y", "anchor": "source", "value": psnr},
            {**key, "metric": "vmaf", "anchor": "source", "value": 20 * t},
            {**key, "metric": "vmaf", "anchor": "reference", "value": 90 - 20 * t},
        ]
    scores = pd.DataFrame(
        [
            {k: r[k] for k in ("sequence", "reference", "codec", "rate_point")}
            | {"metric": "mos", "value": t}
            for r, t in zip(rows[::3], truth, strict=True)
        ]
    )
    return pd.DataFrame(rows), scores, truth


@pytest.mark.slow
def test_items_from_results_joins_labels_on_the_tidy_keys():
    results, scores, truth = _results()
    items = items_from_results(
        results, ["psnr_y", "vmaf@reference"], label=scores.iloc[::-1]
    )  # order does not matter
    assert len(items) == 12
    assert np.allclose(items["label"], truth)
    assert np.allclose(items["vmaf@reference"], 90 - 20 * truth)
    proxy = items_from_results(results, ["psnr_y"], label="vmaf@source")
    assert np.allclose(proxy["label"], 20 * truth)
    partial = items_from_results(results, ["psnr_y"], label=scores.iloc[:5])
    assert len(partial) == 5  # items without a label are left out
    with pytest.raises(ConfigError, match="metrics='ssim@source'.*psnr_y@source"):
        items_from_results(results, ["ssim"], label=scores)
    assert parse_metric_ref("vmaf@reference") == ("vmaf", "reference")
    with pytest.raises(ConfigError, match="NAME@ANCHOR"):
        parse_metric_ref("@source")


@pytest.mark.slow
def test_correlation_by_group_matches_scipy_per_group():
    results, scores, _ = _results(n=20)
    items = items_from_results(results, ["psnr_y", "vmaf@reference"], label=scores)
    table = correlation_by(items, metrics=["psnr_y", "vmaf@reference"], by="codec", fit=None)
    assert list(table["codec"]) == ["all", "all", "x264", "x264", "x265", "x265"]
    for _, row in table.iterrows():
        part = items if row["codec"] == "all" else items[items["codec"] == row["codec"]]
        assert row["n"] == len(part)
        assert row["srocc"] == pytest.approx(stats.spearmanr(part[row["metric"]], part["label"])[0])
    # a decreasing metric correlates negatively: no silent sign flip
    assert np.allclose(table[table["metric"] == "vmaf@reference"]["srocc"], -1)
    small = correlation_by(items.iloc[:4], metrics=["psnr_y"], fit="logistic4")
    assert np.isnan(small["plcc"].iloc[0]) and "at least 5 items" in small["note"].iloc[0]


@pytest.mark.slow
def test_comparison_table_is_compare_metrics_per_group():
    results, scores, _ = _results(n=20)
    items = items_from_results(results, ["psnr_y", "vmaf@reference"], label=scores)
    table = comparison_table(
        items, metrics=["psnr_y", "vmaf@reference"], by="group", bootstrap=200, seed=2
    )
    assert list(table["group"]) == ["all", "High", "Low"]
    high = items[items["group"] == "High"]
    direct = compare_metrics(
        high["psnr_y"], high["vmaf@reference"], high["label"], bootstrap=200, seed=2
    )
    row = table.iloc[1]
    assert (row["difference"], row["p_williams"], row["p_bootstrap"]) == pytest.approx(
        (direct.difference, direct.p_williams, direct.p_bootstrap)
    )


def test_cluster_bootstrap_of_duplicated_items_is_the_item_bootstrap_of_the_originals():
    """Resampling 12 groups of 20 identical items draws the same multiplicities as
    resampling the 12 distinct items (one generator stream; the labels sort in item order),
    and SROCC/PLCC are unchanged by repeating every item 20 times, so the intervals must be
    equal, and far wider than the item bootstrap of the 240 repeated items."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=0.5, size=12)
    labels = np.repeat([f"g{i:02d}" for i in range(12)], 20)
    items = correlation(x, y, bootstrap=300, seed=4)
    clustered = correlation(
        np.repeat(x, 20), np.repeat(y, 20), bootstrap=300, seed=4, groups=labels
    )
    for stat in ("srocc", "plcc"):
        np.testing.assert_allclose(clustered.ci[stat], items.ci[stat], atol=1e-12)
    naive = correlation(np.repeat(x, 20), np.repeat(y, 20), bootstrap=300, seed=4)
    width = np.diff(clustered.ci["srocc"])[0]
    assert width > 2.5 * np.diff(naive.ci["srocc"])[0] and width < 1.0
    a, b = x + rng.normal(scale=0.1, size=12), rng.normal(size=12)
    direct = compare_metrics(a, b, y, bootstrap=300, seed=2)
    grouped = compare_metrics(
        np.repeat(a, 20), np.repeat(b, 20), np.repeat(y, 20), bootstrap=300, seed=2, groups=labels
    )
    np.testing.assert_allclose(grouped.ci, direct.ci, atol=1e-12)
    assert grouped.p_bootstrap == direct.p_bootstrap


def test_singleton_groups_resample_like_items_and_bad_groups_are_refused():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    plain = correlation(x, y, bootstrap=100, seed=5)
    singles = correlation(x, y, bootstrap=100, seed=5, groups=[f"{i:02d}" for i in range(30)])
    assert singles.ci == plain.ci
    with pytest.raises(ConfigError, match="one group label per item"):
        correlation(x, y, bootstrap=10, groups=["a"] * 29)
    with pytest.raises(ConfigError, match="two groups or more"):
        compare_metrics(x, y, y, bootstrap=10, groups=["a"] * 30)


def test_comparison_with_a_constant_metric_has_no_interval():
    y = np.arange(10.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = compare_metrics(y, np.ones(10), y, bootstrap=20)
    assert np.isnan(c.difference) and np.isnan(c.ci).all() and np.isnan(c.p_bootstrap)
