"""Quality metrics: one registry, one contract (:class:`Metric`).

Example:
    >>> from vqabench import metrics
    >>> m = metrics.create("psnr_yuv", weights=(6, 1, 1))
    >>> m.compute(reference=src, distorted=dec).value
"""

from __future__ import annotations

from vqabench.metrics import pixel, vmaf  # noqa: F401  (register built-in metrics)
from vqabench.metrics.base import METRICS, Metric, MetricResult, pool
from vqabench.options import parse_options

__all__ = ["create", "available", "get_class", "Metric", "MetricResult", "METRICS", "pool"]

_OPTIONAL_MODULES = ("vqabench.metrics.perceptual", "vqabench.metrics.learned",
                     "vqabench.metrics.sequence", "vqabench.metrics.temporal",
                     "vqabench.metrics.distribution")


def _load_optional() -> None:
    import importlib
    import importlib.util

    for mod in _OPTIONAL_MODULES:
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)


def get_class(name: str) -> type[Metric]:
    """The metric class registered as ``name`` (UnknownNameError with close matches).

    ``pyiqa:<name>`` gives any pyiqa image metric through one generic frame-wise adapter.
    """
    if name not in METRICS:  # built-ins need no optional module (and no torch import)
        _load_optional()
    if name.startswith("pyiqa:"):
        from vqabench.metrics.perceptual import pyiqa_class

        return pyiqa_class(name.removeprefix("pyiqa:"))
    return METRICS.get(name)


def create(name: str, **options: object) -> Metric:
    """Create the metric ``name``, its options checked by name and parsed to their declared
    types (:mod:`vqabench.options`: ``downsample="no"`` is False).

    Raises:
        UnknownNameError: no such metric. ConfigError: an unknown option or a bad value.
    """
    cls = get_class(name)
    return cls(**parse_options(cls, options, f"metric {name!r}"))


def available() -> list[str]:
    """Names of all registered metrics."""
    _load_optional()
    return METRICS.names()
