"""Pooling of per-frame values (vqabench/metrics/functional/pooling.py), values derived by
hand and checked against the standard library."""

from __future__ import annotations

import statistics

import pytest

from vqabench.errors import ConfigError, MetricError
from vqabench.metrics.functional.pooling import POOLING, pool


def test_pool_by_every_method():
    values = [10.0, 20.0, 90.0, 40.0]
    assert pool(values) == 40.0
    assert pool(values, "min") == 10.0
    assert pool(values, "median") == 30.0 == statistics.median(values)
    # libvmaf's harmonic mean: n / sum(1 / (1 + x)) - 1
    assert pool([0.0, 100.0], "harmonic_mean") == pytest.approx(2 / (1 + 1 / 101) - 1)
    assert pool([7.0] * 5, "harmonic_mean") == pytest.approx(7.0)
    assert set(POOLING) == {"mean", "harmonic_mean", "min", "median"}
    with pytest.raises(ConfigError, match=r"pooling='max' .*mean \| harmonic_mean"):
        pool(values, "max")
    with pytest.raises(MetricError, match="empty"):
        pool([], "median")
