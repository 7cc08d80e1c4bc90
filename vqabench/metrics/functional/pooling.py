"""Pooling of per-frame values into one number (pure numpy; the shells re-export it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from vqabench.errors import MetricError, invalid

__all__ = ["Pooling", "POOLING", "pool"]

#: How per-frame values are pooled (the ``pooling`` option of the metrics that take one).
Pooling = Literal["mean", "harmonic_mean", "min", "median"]
POOLING: tuple[str, ...] = get_args(Pooling)


def pool(values: Sequence[float], method: str = "mean") -> float:
    """Pool per-frame values into one number.

    Args:
        values: per-frame values.
        method: ``mean`` (arithmetic), ``harmonic_mean`` (libvmaf's definition,
            ``n / sum(1 / (1 + x)) - 1``, robust to a few bad frames), ``min`` or ``median``.

    Raises:
        ConfigError: unknown method; MetricError: no values.
    """
    if method not in POOLING:
        raise invalid("pooling", method, " | ".join(POOLING))
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise MetricError("cannot pool an empty list of per-frame values")
    if method == "mean":
        return float(arr.mean())
    if method == "harmonic_mean":
        return float(arr.size / np.sum(1.0 / (1.0 + arr)) - 1.0)
    if method == "min":
        return float(arr.min())
    return float(np.median(arr))
