"""Flicker functions against hand-derived cases: zero flow (plain frame differences), a
known integer flow, and a constant offset that is no flicker."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.metrics.functional.temporal import (
    temporal_change_difference,
    warped_flicker,
    warped_residual,
)

ZERO = np.zeros((6, 8, 2), np.float32)


def test_zero_flow_residual_is_the_frame_difference():
    rng = np.random.default_rng(0)
    prev, nxt = rng.uniform(0, 255, (2, 6, 8))
    np.testing.assert_allclose(warped_residual(prev, nxt, ZERO), nxt - prev, atol=1e-4)


def test_warped_flicker_by_hand():
    s = np.full((6, 8), 100.0)
    # D brightens by 4 between frames while S does not: |4 - 0| everywhere
    assert warped_flicker(s, s, s, s + 4, ZERO) == pytest.approx(4.0)
    # half the pixels pump by 6: mean 3
    d_next = s.copy()
    d_next[:, :4] += 6
    assert warped_flicker(s, s, s, d_next, ZERO) == pytest.approx(3.0)
    # a constant offset on both frames is no flicker, nor is D = S
    assert warped_flicker(s, s + 2, s + 10, s + 12, ZERO) == pytest.approx(0.0, abs=1e-5)


def test_motion_compensated_by_the_source_flow():
    x = np.arange(12, dtype=np.float64)
    ramp = np.tile(10 * x, (6, 1))
    s_prev, s_next = ramp[:, :8], ramp[:, 2:10]  # S_{t+1}(x) = S_t(x + 2)
    flow = np.zeros((6, 8, 2), np.float32)
    flow[..., 0] = 2.0  # from S_{t+1} to S_t
    # with the warp the residual vanishes (except where the warp reads past the border)
    np.testing.assert_allclose(warped_residual(s_prev, s_next, flow)[:, :6], 0.0, atol=1e-3)
    # an error pattern that moves with the content (e_{t+1}(x) = e_t(x + 2)) is no flicker
    # with the source's flow, except in the 2 of 8 columns where the warp replicates the
    # border (e_t(7) = -4 against e_{t+1} = +4 there): mean 8 * 2 / 8 = 2; with zero flow
    # |e(x + 2) - e(x)| = 8 on every pixel
    err = np.tile(np.where(x % 4 < 2, 4.0, -4.0), (6, 1))
    e_prev, e_next = err[:, :8], err[:, 2:10]
    moving = warped_flicker(s_prev, s_next, s_prev + e_prev, s_next + e_next, flow)
    assert moving == pytest.approx(2.0, abs=1e-3)
    assert warped_flicker(s_prev, s_prev, s_prev + e_prev, s_prev + e_next, ZERO) == (
        pytest.approx(8.0)
    )


def test_temporal_change_difference():
    np.testing.assert_array_equal(
        temporal_change_difference([1, 2, 3], [1.5, 0, 3]), [0.5, 2.0, 0.0]
    )
