"""Uncertainty of a mean BD-rate over sequences: bootstrap interval and a paired test.

A mean BD-rate is an average over a handful of sequences; how far it would move on other
content is what a reader needs to weigh it. Two numbers go with every mean:

- a **bootstrap confidence interval** of the mean: the sequences are resampled with
  replacement (``scipy.stats.bootstrap``, percentile method, seeded, so the interval is
  reproducible to the last digit for a given seed, number of resamples and input order);
- the **Wilcoxon signed-rank test** (``scipy.stats.wilcoxon``, two-sided) of the codec against
  the anchor over the same sequences. A per-sequence BD-rate is already the paired difference
  of the two codecs on that sequence (0 = equal), so the test asks whether its median is 0.
  With fewer than 20 sequences and no ties scipy uses the exact distribution.

Both need at least two sequences (NaN otherwise; the count is reported next to them).

Example:
    >>> ci = bootstrap_ci([-10.0, -12.0, -9.0, -11.0], seed=0)
    >>> round(wilcoxon_p([-10.0, -12.0, -9.0, -11.0]), 4)   # 2 / 2**4
    0.125
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vqabench.errors import invalid

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_RESAMPLES",
    "DEFAULT_CONFIDENCE",
    "bootstrap_ci",
    "wilcoxon_p",
    "add_uncertainty",
]

DEFAULT_SEED = 0
DEFAULT_RESAMPLES = 9999
DEFAULT_CONFIDENCE = 0.95


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def _check(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise invalid("confidence", confidence, "a number strictly between 0 and 1")
    if int(n_resamples) != n_resamples or n_resamples < 100:
        raise invalid("n_resamples", n_resamples, "an integer >= 100")


def bootstrap_ci(
    values: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaN values are left out).

    Args:
        values: per-sequence BD-rates (percent).
        confidence: coverage of the interval (0.95 = 95 %).
        n_resamples: bootstrap resamples.
        seed: seed of the resampling (``numpy.random.default_rng(seed)``).

    Returns:
        (low, high); (NaN, NaN) with fewer than two finite values; (v, v) when all are v.

    Raises:
        ConfigError: confidence outside (0, 1) or fewer than 100 resamples.
    """
    from scipy.stats import bootstrap

    _check(confidence, n_resamples)
    arr = _finite(values)
    if arr.size < 2:
        return (math.nan, math.nan)
    if np.all(arr == arr[0]):  # scipy warns and returns NaN on a degenerate sample
        return (float(arr[0]), float(arr[0]))
    res = bootstrap(
        (arr,),
        np.mean,
        n_resamples=int(n_resamples),
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
        vectorized=True,
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def wilcoxon_p(values: Sequence[float]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test that the median BD-rate is 0.

    Zeros are dropped (``zero_method="wilcox"``); NaN values are left out. NaN with fewer
    than two non-zero values.
    """
    from scipy.stats import wilcoxon

    arr = _finite(values)
    if np.count_nonzero(arr) < 2:
        return math.nan
    return float(wilcoxon(arr, zero_method="wilcox", alternative="two-sided").pvalue)


def add_uncertainty(
    summary: pd.DataFrame,
    per_sequence: pd.DataFrame,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Add ``ci_low``, ``ci_high`` and ``wilcoxon_p`` to every row of a BD-rate summary.

    Each summary row (``reference, anchor, metric, codec, group``) is matched with the
    per-sequence BD-rates it averages (every sequence for ``Overall``, the group's otherwise);
    the same defined values give its mean, its interval and its test, so ``n_sequences`` is
    the number behind all three.

    Args:
        summary: output of :func:`~vqabench.evaluation.aggregate.summarize_bd_rate`.
        per_sequence: output of :func:`~vqabench.evaluation.aggregate.per_sequence_bd_rate`.
        confidence, n_resamples, seed: see :func:`bootstrap_ci`.

    Returns:
        A copy of ``summary`` with the three columns (NaN where undefined).
    """
    from vqabench.evaluation.aggregate import OVERALL

    _check(confidence, n_resamples)
    keys = ["reference", "anchor", "metric", "codec"]
    ok = per_sequence[per_sequence["reason"] == ""]
    cells = {k: g for k, g in ok.groupby(keys, sort=False)}
    lows, highs, ps = [], [], []
    for row in summary.itertuples(index=False):
        cell = cells.get(tuple(getattr(row, k) for k in keys))
        if cell is not None and row.group != OVERALL:
            cell = cell[cell["group"] == row.group]
        values = [] if cell is None else cell["bd_rate"].to_list()
        low, high = bootstrap_ci(values, confidence=confidence, n_resamples=n_resamples, seed=seed)
        lows.append(low)
        highs.append(high)
        ps.append(wilcoxon_p(values))
    return summary.assign(ci_low=lows, ci_high=highs, wilcoxon_p=ps)
