"""Farneback flow, backward warping and mid-frame interpolation against hand-derived shifts
(numpy slicing) on smooth textures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from vqabench.metrics.functional.flow import (
    farneback_flow,
    interpolate_midframe,
    to_gray_u8,
    warp,
)


@pytest.fixture(scope="module")
def texture():
    """A smooth random texture in 8-bit units, 64x96."""
    t = gaussian_filter(np.random.default_rng(0).random((64, 96)), 3.0)
    return 30 + 200 * (t - t.min()) / np.ptp(t)


def test_to_gray_u8_uses_bt709_weights_and_clips():
    rgb = np.array([[[100.0, 200.0, 50.0], [300.0, 300.0, 300.0], [-5.0, 0.0, 0.0]]])
    # 0.2126*100 + 0.7152*200 + 0.0722*50 = 167.91 -> 168
    np.testing.assert_array_equal(to_gray_u8(rgb), [[168, 255, 0]])
    np.testing.assert_array_equal(to_gray_u8(np.array([[1.4, 1.6]])), [[1, 2]])


def test_warp_by_integer_and_half_pixel_flow():
    img = np.arange(8 * 10, dtype=np.float64).reshape(8, 10)
    flow = np.zeros((8, 10, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, 1.0
    out = warp(img, flow)  # out(x, y) = img(x + 2, y + 1)
    np.testing.assert_array_equal(out[:-1, :-2], img[1:, 2:])
    np.testing.assert_array_equal(out[-1, :-2], img[-1, 2:])  # border replicated
    flow[..., 0], flow[..., 1] = 0.5, 0.0
    np.testing.assert_allclose(
        warp(img, flow)[:, :-1], (img[:, :-1] + img[:, 1:]) / 2, atol=1e-3
    )  # OpenCV's bilinear weights are 1/32 steps
    assert warp(img[..., None].repeat(3, axis=2), flow).shape == (8, 10, 3)


def test_farneback_recovers_a_known_shift(texture):
    a = texture[:, 8:72]
    b = texture[:, 6:70]  # b(x) = a(x - 2): a(x) = b(x + 2), flow (+2, 0)
    flow = farneback_flow(a, b)
    inner = flow[8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(2.0, abs=0.05)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.05)
    # warp(b, flow(a, b)) ~ a: far closer than b itself
    err_warped = np.abs(warp(b, flow) - a)[8:-8, 8:-8].mean()
    assert err_warped < 0.1 * np.abs(b - a)[8:-8, 8:-8].mean()


def test_interpolated_midframe_is_the_middle(texture):
    f0, f1, f2 = texture[:, 10:74], texture[:, 8:72], texture[:, 6:70]  # 2 px per frame
    mid = interpolate_midframe(f0, f2)
    assert mid.shape == f1.shape and mid.dtype == np.float32
    err = np.abs(mid - f1)[8:-8, 8:-8].mean()
    assert err < 0.1 * np.abs(f0 - f1)[8:-8, 8:-8].mean()
    # a still pair gives itself back inside the frame (Farneback's flow on identical images
    # is not exactly 0 at the border: up to 0.11 px there)
    still = interpolate_midframe(f1, f1)
    np.testing.assert_allclose(still[8:-8, 8:-8], f1[8:-8, 8:-8], atol=1e-3)
