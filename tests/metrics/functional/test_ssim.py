"""SSIM and MS-SSIM of planes (vqabench.metrics.functional.ssim) against scikit-image's
``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``
and piq called directly, the accumulator, and the size rules."""

from __future__ import annotations

import numpy as np
import piq
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from vqabench.errors import MetricError
from vqabench.io.video import YuvFrame
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.ssim import (
    SsimState,
    _avg_pool,
    _halve,
    check_ssim_size,
    downsample_factor,
    ms_ssim_min_side,
    ms_ssim_plane,
    ms_ssim_update,
    prepare_plane,
    ssim_compute,
    ssim_plane,
    ssim_stats,
    ssim_update,
)


def _pair(shape, bit_depth=8, sigma=6.0, seed=0):
    """A smooth texture and a noisy copy, integer samples at ``bit_depth``."""
    rng = np.random.default_rng(seed)
    top = (1 << bit_depth) - 1
    ref = gaussian_filter(rng.random(shape), 2.0)
    ref = (ref - ref.min()) / np.ptp(ref) * top
    dis = ref + rng.normal(0, sigma * top / 255, shape)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return (
        np.clip(np.rint(ref), 0, top).astype(dtype),
        np.clip(np.rint(dis), 0, top).astype(dtype),
    )


def _skimage(ref, dis, bit_depth):
    return structural_similarity(
        ref.astype(np.float64),
        dis.astype(np.float64),
        data_range=(1 << bit_depth) - 1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )


@pytest.mark.parametrize(
    ("shape", "bit_depth"),
    [((64, 64), 8), ((37, 53), 8), ((48, 80), 10), ((11, 11), 8), ((11, 30), 10)],
)
def test_ssim_plane_equals_skimage(shape, bit_depth):
    """11x11 is the window: one output sample (OpenCV 5 reads a 1x1 array beside a number
    as a scalar, which once left the local means shifted there)."""
    ref, dis = _pair(shape, bit_depth)
    got = ssim_plane(prepare_plane(ref, bit_depth), prepare_plane(dis, bit_depth))
    assert got == pytest.approx(_skimage(ref, dis, bit_depth), abs=1e-6)
    assert ssim_plane(prepare_plane(ref, bit_depth), prepare_plane(ref, bit_depth)) == (
        pytest.approx(1.0, abs=1e-6)
    )


@pytest.mark.parametrize("shape", [(21, 11), (22, 40), (23, 40), (131, 29), (40, 1000)])
def test_ssim_of_tall_and_wide_planes_equals_skimage(shape):
    """The compiled pass keeps the window's 11 rows in a ring: heights where it wraps once
    (21, 22), at every offset (23, 131), and a wide plane, against scikit-image."""
    ref, dis = _pair(shape, seed=3)
    x, y = prepare_plane(ref, 8), prepare_plane(dis, 8)
    assert ssim_stats(x, y).ssim == pytest.approx(_skimage(ref, dis, 8), abs=1e-6)


def test_ssim_of_a_nan_sample_is_nan():
    """A NaN sample reaches the mean (the kernel may reassociate sums, never drop NaNs)."""
    ref, dis = _pair((30, 30))
    x, y = prepare_plane(ref, 8), prepare_plane(dis, 8)
    y[15, 15] = np.nan
    stats = ssim_stats(x, y)
    assert np.isnan(stats.ssim) and np.isnan(stats.cs)


def test_ssim_stats_refuses_mismatched_or_tiny_planes():
    x = np.zeros((20, 20), dtype=np.float32)
    with pytest.raises(MetricError, match=r"one shape, got \(20, 20\) and \(20, 21\)"):
        ssim_stats(x, np.zeros((20, 21), dtype=np.float32))
    with pytest.raises(MetricError, match="at least 11x11, got 20x10"):
        ssim_stats(x[:10], x[:10])


def test_ssim_stats_cs_equals_piq():
    ref, dis = _pair((40, 48))
    x, y = prepare_plane(ref, 8), prepare_plane(dis, 8)
    stats = ssim_stats(x, y)
    t = [torch.from_numpy(a.astype(np.float64))[None, None] for a in (dis, ref)]
    ssim, cs = piq.ssim(*t, data_range=255.0, full=True, downsample=False)
    assert (stats.ssim, stats.cs) == pytest.approx((float(ssim), float(cs)), abs=1e-6)


@pytest.mark.parametrize("shape", [(11, 11), (40, 48), (203, 37)])
def test_cs_only_statistics_are_the_full_ones_bit_for_bit(shape):
    """MS-SSIM's inner scales form only the CS map: the same CS mean to the last bit as
    the full statistics (one-sample plane, small and tall planes), piq's CS within 1e-6,
    and no SSIM mean (NaN, so that nothing can use one by mistake)."""
    ref, dis = _pair(shape, seed=5)
    x, y = prepare_plane(ref, 8), prepare_plane(dis, 8)
    full, cs_only = ssim_stats(x, y), ssim_stats(x, y, luminance=False)
    assert cs_only.cs == full.cs
    assert np.isnan(cs_only.ssim) and not np.isnan(full.ssim)
    t = [torch.from_numpy(a.astype(np.float64))[None, None] for a in (dis, ref)]
    _, cs = piq.ssim(*t, data_range=255.0, full=True, downsample=False)
    assert cs_only.cs == pytest.approx(float(cs), abs=1e-6)


@pytest.mark.parametrize(
    ("shape", "scales"), [((64, 72), 3), ((45, 43), 3), ((90, 83), 4), ((176, 171), 5)]
)  # last scale 11x11
def test_ms_ssim_plane_equals_piq_float64(shape, scales):
    ref, dis = _pair(shape)
    got = ms_ssim_plane(prepare_plane(ref, 8), prepare_plane(dis, 8), scales=scales)
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:scales], dtype=torch.float64)
    t = [torch.from_numpy(a.astype(np.float64))[None, None] for a in (dis, ref)]
    direct = piq.multi_scale_ssim(*t, data_range=255.0, scale_weights=weights)
    assert got == pytest.approx(float(direct), abs=1e-6)


def test_accumulator_per_frame_values_and_mean():
    """ssim_update / ms_ssim_update fold the luma value of each frame; 4:4:4 10-bit."""
    fmt = FrameFormat(10, (1, 1))
    frames = []
    for seed in range(3):
        ref, dis = _pair((48, 48), 10, sigma=4 + 4 * seed, seed=seed)
        chroma = np.full_like(ref, 512)
        frames.append((YuvFrame(ref, chroma, chroma), YuvFrame(dis, chroma, chroma)))
    state = SsimState()
    ms_state = SsimState()
    for ref, dis in frames:
        state = ssim_update(state, ref, dis, fmt)
        ms_state = ms_ssim_update(ms_state, ref, dis, fmt, scales=2)
    value, per_frame = ssim_compute(state)
    expected = [_skimage(r.y, d.y, 10) for r, d in frames]
    np.testing.assert_allclose(per_frame, expected, rtol=0, atol=1e-6)
    assert value == pytest.approx(np.mean(expected), abs=1e-6)
    assert per_frame[0] > per_frame[1] > per_frame[2]  # more noise, lower SSIM
    ms_one_shot = [
        ms_ssim_plane(prepare_plane(r.y, 10), prepare_plane(d.y, 10), scales=2) for r, d in frames
    ]
    assert ssim_compute(ms_state)[1] == tuple(ms_one_shot)
    with pytest.raises(MetricError, match="empty"):
        ssim_compute(SsimState())


def test_downsample_equals_piq():
    ref, dis = _pair((384, 400))  # min side 384: factor round(1.5) = 2
    x, y = prepare_plane(ref, 8), prepare_plane(dis, 8)
    t = [torch.from_numpy(a.astype(np.float32))[None, None] for a in (dis, ref)]
    direct = float(piq.ssim(*t, data_range=255.0, downsample=True))
    assert ssim_plane(x, y, downsample=True) == pytest.approx(direct, abs=1e-5)
    assert ssim_plane(x, y, downsample=True) != pytest.approx(ssim_plane(x, y), abs=1e-4)


def test_size_rules_by_hand():
    # Wang's max(1, round(min(H, W) / 256)), Python rounding as in piq: 640/256 = 2.5 -> 2
    assert [downsample_factor(h, 10_000) for h in (100, 144, 383, 384, 640, 720, 1080)] == [
        1,
        1,
        1,
        2,
        2,
        3,
        4,
    ]
    # 10 * 2**(scales - 1) + 1: the coarsest scale still holds the 11x11 window
    assert [ms_ssim_min_side(s) for s in (1, 3, 5)] == [11, 41, 161]
    check_ssim_size(11, 11)
    with pytest.raises(MetricError, match="ms_ssim needs frames of at least 11x11, got 64x10"):
        check_ssim_size(64, 10, what="ms_ssim")


def test_halving_is_torchs_average_pooling_bit_for_bit():
    """MS-SSIM's 2x2 pooling (after piq's edge padding of odd sizes) against torch's
    avg_pool2d on the same padded plane: the same float32 bits, odd and even sizes."""
    plane = np.random.default_rng(4).random((181, 203)).astype(np.float32)
    for shape in ((181, 203), (180, 202), (181, 202)):
        part = plane[: shape[0], : shape[1]]
        for pad in (0, 1):
            padded = np.pad(part, ((pad, 0), (pad, 0)), mode="edge")
            pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(padded)[None, None], 2)
            np.testing.assert_array_equal(_halve(part, pad), pooled[0, 0].numpy())


def test_average_pooling_is_torchs_bit_for_bit():
    plane = np.random.default_rng(3).random((181, 203)).astype(np.float32)
    for f in (2, 3):
        pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(plane)[None, None], f)
        np.testing.assert_array_equal(_avg_pool(plane, f), pooled[0, 0].numpy())
