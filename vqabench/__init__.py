"""vqabench: benchmark video codecs and video quality metrics.

Codecs and metrics run for real (ffmpeg with libvmaf, x264, x265, libvpx, libaom, SVT-AV1,
VVenC); results are tidy tables keyed by content hash; BD-rate and reports come from
:mod:`vqabench.evaluation` and :mod:`vqabench.reports`.
"""

from vqabench.errors import VqabenchError

__version__ = "0.1.0"
__all__ = ["VqabenchError", "__version__"]
