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

#: Metrics whose modules load on first use (pyiqa-style lazy entries): listing names
#: imports neither torch nor the network code.
_LAZY = {
    "lpips": "perceptual:Lpips",
    "dists": "perceptual:Dists",
    "pt_loss": "learned:PtLossMetric",
    "rankdvqa_ugc": "learned:RankDvqaUgcMetric",
    "subject_consistency": "sequence:SubjectConsistency",
    "background_consistency": "sequence:BackgroundConsistency",
    "consistency_pixel": "sequence:ConsistencyPixel",
    "motion_smoothness": "sequence:MotionSmoothness",
    "motion_smoothness_flow": "sequence:MotionSmoothnessFlow",
    "imaging_quality": "sequence:ImagingQuality",
    "flicker_warp": "temporal:FlickerWarp",
    "lpips_temporal": "temporal:LpipsTemporal",
}
for _name, _target in _LAZY.items():
    METRICS.add_lazy(_name, f"vqabench.metrics.{_target}")


def get_class(name: str) -> type[Metric]:
    """The metric class registered as ``name`` (UnknownNameError with close matches).

    ``pyiqa:<name>`` gives any pyiqa image metric through one generic frame-wise adapter.
    """
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
    """Names of all registered metrics (none of them is imported)."""
    return METRICS.names()
