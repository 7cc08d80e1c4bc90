"""OpenCV for the pixel metrics, imported once and lazily (``import vqabench`` stays light)."""

from __future__ import annotations

import functools

__all__ = ["opencv"]


@functools.lru_cache(maxsize=1)
def opencv():
    """The ``cv2`` module, imported when first needed; its thread count is the process's (the
    runner's job slot sets it, :func:`vqabench.runner.executors.thread_budget`)."""
    import cv2

    return cv2
