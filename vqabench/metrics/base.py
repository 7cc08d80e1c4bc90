"""The metric contract every metric keeps (see DESIGN.md).

A metric is a thin class holding validated options; the numbers come from pure functions in
:mod:`vqabench.metrics.functional` or from the wrapped library. Full-reference metrics take
``(reference, distorted)`` in that order, everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.io.video import Video
from vqabench.registry import Registry

__all__ = ["Metric", "MetricResult", "METRICS", "Kind", "pool", "check_pair", "POOLING"]

Kind = Literal["full-reference", "no-reference", "sequence"]
POOLING = ("mean", "harmonic_mean", "min", "median")

METRICS: Registry[type[Metric]] = Registry("metric")


@dataclass(frozen=True)
class MetricResult:
    """The pooled value of a metric and its per-frame values (empty for sequence metrics)."""

    value: float
    per_frame: tuple[float, ...] = ()


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


def check_pair(reference: Video, distorted: Video) -> None:
    """Raise MetricError unless two videos have the same size, format and frame count."""
    ref_fmt = (reference.width, reference.height, reference.pix_fmt)
    dis_fmt = (distorted.width, distorted.height, distorted.pix_fmt)
    if ref_fmt != dis_fmt:
        raise MetricError(
            f"reference {ref_fmt} and distorted {dis_fmt} differ in size or pixel format"
        )
    if reference.frames != distorted.frames:
        raise MetricError(
            f"reference has {reference.frames} frames and distorted has {distorted.frames}"
        )


class Metric:
    """Base class: subclasses set the class attributes and implement :meth:`compute`.

    Attributes:
        name: registry name.
        higher_is_better: direction of quality.
        kind: full-reference, no-reference or sequence.
        differentiable: whether a torch loss can be built from it.
        version: bump when the computation changes, so stored results are recomputed.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = "full-reference"
    differentiable: ClassVar[bool] = False
    version: ClassVar[str] = "1"

    def __init__(self, **options: object):
        if options:
            raise invalid(f"{self.name} options", sorted(options), "no options")

    @property
    def options(self) -> dict:
        """The options that determine the result (part of the job key)."""
        return {}

    @property
    def spec(self) -> str:
        """Stable text identifying name, version and options (hashed into job keys)."""
        return json.dumps({"name": self.name, "version": self.version, "options": self.options},
                          sort_keys=True, default=str)

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """Compute quality of ``distorted`` against ``reference`` (in that order)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


def finite_or_error(value: float, what: str) -> float:
    """Return value, or raise MetricError if it is NaN."""
    if math.isnan(value):
        raise MetricError(f"{what} is NaN")
    return value
