"""VBench's protocol (vqabench.metrics.functional.sequence) on hand-computed features and
frames, and the normalisation bounds pinned from VBench's ``cal_final_score.py``."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.errors import MetricError
from vqabench.metrics.functional.sequence import (
    VBENCH_MIN_MAX,
    consistency_scores,
    motion_smoothness_scores,
    vbench_normalize,
)


def test_consistency_protocol_by_hand():
    # f1: 45° from f0 and f0 -> (cos45 + cos45)/2; f2: 45° from f1, 90° from f0 -> (cos45+0)/2
    value, per_frame = consistency_scores(np.array([[1.0, 0], [1, 1], [0, 2]]))
    c = np.sqrt(0.5)
    assert per_frame == pytest.approx((c, c / 2))
    assert value == pytest.approx(0.75 * c)
    # negative similarity is clipped at 0, not subtracted
    assert consistency_scores(np.array([[1.0, 0], [-1, 0]]))[0] == 0.0
    with pytest.raises(MetricError, match="frames >= 2"):
        consistency_scores(np.ones((1, 4)))


def test_motion_smoothness_protocol_by_hand():
    frames = [np.full((2, 2, 3), v, dtype=float) for v in (0, 10, 20, 40, 40)]
    # interpolating by the mean: frame1 exact (0 error), frame3 estimate 30 vs 40 (error 10)
    value, per = motion_smoothness_scores(frames, lambda a, b: (a + b) / 2)
    assert per == pytest.approx((1.0, (255 - 10) / 255))
    assert value == pytest.approx((1.0 + 245 / 255) / 2)
    with pytest.raises(MetricError, match="at least 3 frames"):
        motion_smoothness_scores(frames[:2], lambda a, b: a)


def test_vbench_normalisation_bounds():
    assert vbench_normalize(1.0, "subject_consistency") == pytest.approx(1.0)
    assert vbench_normalize(0.1462, "subject_consistency") == pytest.approx(0.0)


def test_consistency_ignores_feature_scale_and_rejects_zero_vectors():
    f = np.array([[1.0, 0], [1, 1], [0, 2]])
    assert consistency_scores(f * [[3.0], [0.5], [7.0]]) == consistency_scores(f)
    assert consistency_scores(np.ones((4, 3))) == (1.0, (1.0, 1.0, 1.0))
    with pytest.raises(MetricError, match="all-zero feature vector"):
        consistency_scores(np.array([[1.0, 0], [0, 0]]))


def test_motion_smoothness_streams_and_skips_a_trailing_odd_frame():
    frames = [np.full((2, 2, 3), v, dtype=float) for v in (0, 10, 20, 40)]
    seen = []

    def mean(a, b):
        seen.append((a[0, 0, 0], b[0, 0, 0]))
        return (a + b) / 2

    # frames 0, 1, 2 give one score; frame 3 has no even successor to interpolate from
    assert motion_smoothness_scores(iter(frames), mean) == (1.0, (1.0,))
    assert seen == [(0.0, 20.0)]


def test_vbench_bounds_are_the_published_ones():
    # VBench cal_final_score.py NORMALIZE_DIC (min, max) of the dimensions used here
    assert VBENCH_MIN_MAX["subject_consistency"] == (0.1462, 1.0)
    assert VBENCH_MIN_MAX["background_consistency"] == (0.2615, 1.0)
    assert VBENCH_MIN_MAX["temporal_flickering"] == (0.6293, 1.0)
    assert VBENCH_MIN_MAX["motion_smoothness"] == (0.706, 0.9975)
    assert vbench_normalize(0.9, "motion_smoothness") == pytest.approx((0.9 - 0.706) / 0.2915)
