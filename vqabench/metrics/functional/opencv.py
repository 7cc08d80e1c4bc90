"""OpenCV for the pixel metrics, imported once and lazily (``import vqabench`` stays light)."""

from __future__ import annotations

import functools
import os

__all__ = ["opencv"]


@functools.lru_cache(maxsize=1)
def opencv():
    """The ``cv2`` module, with the thread count of the job's slot (``VQABENCH_THREADS``, set
    by the runner's thread policy) when one is set."""
    import cv2

    threads = os.environ.get("VQABENCH_THREADS", "")
    if threads.isdigit():
        cv2.setNumThreads(int(threads))
    return cv2
