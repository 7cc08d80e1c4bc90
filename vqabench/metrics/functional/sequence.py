"""Pure functions behind the VBench-style sequence metrics (numpy in, numbers out).

The published protocol (Huang et al., "VBench: Comprehensive Benchmark Suite for Video
Generative Models", CVPR 2024, and its reference code):

* consistency (subject: DINO ViT-B/16 features; background: CLIP ViT-B/32 features): for each
  frame ``t >= 1`` the mean of ``max(0, cos(f_t, f_{t-1}))`` and ``max(0, cos(f_t, f_0))``;
  the video's score is the mean over those frames;
* motion smoothness: interpolate each odd frame from its even neighbours and score
  ``(255 - mean |interpolated - actual|) / 255`` on 8-bit RGB;
* the published leaderboard maps each dimension to [0, 1] with fixed min/max values
  (:data:`VBENCH_MIN_MAX`, from VBench's ``cal_final_score.py``).

Example:
    >>> value, per_frame = consistency_scores(features)   # features: (frames, dims)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from vqabench.errors import MetricError

__all__ = ["VBENCH_MIN_MAX", "consistency_scores", "motion_smoothness_scores", "vbench_normalize"]

# Normalisation bounds of VBench's final score (cal_final_score.py, NORMALIZE_DIC).
VBENCH_MIN_MAX: dict[str, tuple[float, float]] = {
    "subject_consistency": (0.1462, 1.0),
    "background_consistency": (0.2615, 1.0),
    "temporal_flickering": (0.6293, 1.0),
    "motion_smoothness": (0.706, 0.9975),
    "imaging_quality": (0.0, 1.0),
}


def consistency_scores(features: np.ndarray) -> tuple[float, tuple[float, ...]]:
    """VBench consistency of a sequence of per-frame feature vectors.

    Args:
        features: (frames, dims) array, frames >= 2 (need not be normalised).

    Returns:
        ``(value, per_frame)`` where ``per_frame[t-1]`` is frame t's score, t = 1..frames-1,
        and ``value`` their mean. 1.0 for identical frames.

    Raises:
        MetricError: fewer than two frames, or a zero feature vector.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise MetricError(f"consistency needs (frames >= 2, dims) features, got {f.shape}")
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise MetricError("consistency: a frame has an all-zero feature vector")
    f = f / norms
    to_prev = np.clip(np.sum(f[1:] * f[:-1], axis=1), 0.0, None)
    to_first = np.clip(f[1:] @ f[0], 0.0, None)
    per_frame = np.minimum(0.5 * (to_prev + to_first), 1.0)
    return float(per_frame.mean()), tuple(float(v) for v in per_frame)


def motion_smoothness_scores(
    frames: Iterable[np.ndarray],
    interpolate: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[float, tuple[float, ...]]:
    """VBench motion smoothness with a given frame interpolator (streams the frames).

    Args:
        frames: RGB frames in 8-bit units, (H, W, 3) each, at least 3.
        interpolate: ``(frame_2k, frame_2k+2) -> estimate of frame_2k+1``.

    Returns:
        ``(value, per_frame)``: one score ``(255 - mean abs error) / 255`` per interpolated odd
        frame, and their mean (the mean absolute error over all of them, as published).

    Raises:
        MetricError: fewer than 3 frames.
    """
    scores: list[float] = []
    even: np.ndarray | None = None
    odd: np.ndarray | None = None
    count = 0
    for index, frame in enumerate(frames):
        count = index + 1
        if index % 2:
            odd = frame
            continue
        if even is not None and odd is not None:
            estimate = np.asarray(interpolate(even, frame), dtype=np.float64)
            err = float(np.mean(np.abs(estimate - np.asarray(odd, dtype=np.float64))))
            scores.append((255.0 - err) / 255.0)
        even = frame
    if not scores:
        raise MetricError(f"motion smoothness needs at least 3 frames, got {count}")
    return float(np.mean(scores)), tuple(scores)


def vbench_normalize(value: float, dimension: str) -> float:
    """Map a raw VBench score to [0, 1] with the published min/max of ``dimension``."""
    lo, hi = VBENCH_MIN_MAX[dimension]
    return (value - lo) / (hi - lo)
