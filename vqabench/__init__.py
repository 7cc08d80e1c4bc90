"""vqabench: benchmark video codecs and video quality metrics.

Codecs and metrics run for real (ffmpeg with libvmaf, x264, x265, libvpx, libaom, SVT-AV1,
VVenC); results are tidy tables keyed by content hash; BD-rate and reports come from
:mod:`vqabench.evaluation` and :mod:`vqabench.reports`.

Example:
    >>> import vqabench
    >>> vqabench.compute("psnr_y", reference="ref.y4m", distorted="dis.mp4").value
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vqabench.errors import VqabenchError

if TYPE_CHECKING:
    from vqabench.metrics.base import MetricResult

__version__ = "0.2.0"
__all__ = ["VqabenchError", "__version__", "compute", "list_codecs", "list_metrics"]


def list_metrics() -> list[str]:
    """Names of all registered metrics, sorted (:func:`vqabench.metrics.available`)."""
    from vqabench import metrics

    return metrics.available()


def list_codecs() -> list[str]:
    """Names of all registered codecs, sorted (:func:`vqabench.codecs.available`)."""
    from vqabench import codecs

    return codecs.available()


def compute(name: str, reference: Any, distorted: Any, **options: Any) -> MetricResult:
    """Compute metric ``name`` of ``distorted`` against ``reference`` (in that order).

    ``(reference, distorted)``: the pristine or anchor video first, the opposite of
    pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by keyword. Paths that
    look swapped from a run directory's layout (a bitstream as ``reference``, its source as
    ``distorted``) give a UserWarning (:func:`vqabench.metrics.inputs.swapped_warning`).

    Args:
        name: a registered metric (``vqabench metrics list``) or ``pyiqa:NAME``.
        reference: the reference (source) video: a path (any container ffmpeg reads, Y4M,
            raw YUV named by the conventions), a ``Video``, a numpy array or torch tensor
            (T, H, W[, C]) with ``fmt=``, or YUV planes; None for no-reference metrics.
        distorted: the distorted (decoded) video, in the same forms.
        **options: input options (``fmt``, ``pix_fmt``, ``bit_depth``, ``fps``, ``width``,
            ``height``; see :mod:`vqabench.metrics.inputs`); the rest are metric options.

    Returns:
        ``MetricResult(value, per_frame)``.

    Raises:
        ConfigError: an unknown option or an input of a type not accepted.
        UnknownNameError: an unknown metric name (with close matches).

    Example:
        >>> vqabench.compute("vmaf", reference="ref.y4m", distorted="dis.mp4").value
        >>> vqabench.compute("ssim", reference=ref_rgb, distorted=dis_rgb, fmt="rgb").value
    """
    from vqabench import metrics
    from vqabench.metrics.inputs import INPUT_OPTIONS

    inputs = {k: options.pop(k) for k in INPUT_OPTIONS if k in options}
    return metrics.create(name, **options).compute(reference, distorted, **inputs)
