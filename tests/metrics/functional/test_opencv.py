"""OpenCV for the pixel metrics (vqabench/metrics/functional/opencv.py)."""

from __future__ import annotations

import numpy as np

from vqabench.metrics.functional.opencv import opencv


def test_opencv_is_cv2_imported_once():
    cv2 = opencv()
    assert opencv() is cv2
    a = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    b = np.array([[1, 0], [6, 4]], dtype=np.uint8)
    assert round(cv2.norm(a, b, cv2.NORM_L2SQR)) == 2**2 + 3**2  # hand-derived


def test_opencv_keeps_the_thread_count_the_process_set(monkeypatch):
    """Threads are set by the runner's job slot, never read from the environment here."""
    cv2 = opencv()
    saved = cv2.getNumThreads()
    monkeypatch.setenv("VQABENCH_THREADS", "1")
    cv2.setNumThreads(3)
    opencv.cache_clear()
    try:
        assert opencv().getNumThreads() == 3
    finally:
        cv2.setNumThreads(saved)
        opencv.cache_clear()
