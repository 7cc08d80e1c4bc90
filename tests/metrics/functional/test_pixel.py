"""PSNR as pure functions (vqabench.metrics.functional.pixel) against scikit-image's
``peak_signal_noise_ratio`` and hand-derived cases: the accumulator, 8/10-bit, 4:2:0/4:4:4,
both peak conventions, the cap, and errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from vqabench.errors import ConfigError, MetricError
from vqabench.io.video import YuvFrame
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.pixel import (
    PsnrState,
    mse,
    peak_value,
    plane_mses,
    plane_psnr,
    psnr_compute,
    psnr_fold,
    psnr_from_mse,
    psnr_update,
    weighted_psnr,
)


def _frames(fmt: FrameFormat, count: int = 3, size: tuple[int, int] = (16, 24), seed: int = 0):
    """``count`` (reference, distorted) YuvFrame pairs of random samples in format ``fmt``."""
    rng = np.random.default_rng(seed)
    top = (1 << fmt.bit_depth) - 1
    dtype = np.uint8 if fmt.bit_depth == 8 else np.uint16
    sx, sy = fmt.subsampling
    shapes = (size, (size[0] // sy, size[1] // sx), (size[0] // sy, size[1] // sx))
    pairs = []
    for k in range(count):
        ref = [rng.integers(0, top + 1, s) for s in shapes]
        dis = [np.clip(p + rng.normal(0, 3 + 2 * k, p.shape).round(), 0, top) for p in ref]
        pairs.append(
            (YuvFrame(*(p.astype(dtype) for p in ref)), YuvFrame(*(p.astype(dtype) for p in dis)))
        )
    return pairs


@pytest.mark.parametrize(
    ("fmt", "weights"),
    [
        (FrameFormat(8, (2, 2)), (1, 0, 0)),
        (FrameFormat(8, (2, 2)), (0, 1, 0)),
        (FrameFormat(8, (2, 2)), (6, 1, 1)),
        (FrameFormat(10, (1, 1)), (6, 1, 1)),  # 10-bit 4:4:4
        (FrameFormat(10, (2, 2)), (0, 0, 1)),
    ],
)
def test_accumulated_per_frame_values_equal_skimage(fmt, weights):
    pairs = _frames(fmt)
    state = PsnrState()
    for ref, dis in pairs:
        state = psnr_update(state, ref, dis, fmt)
    value, per_frame = psnr_compute(state, fmt, weights=weights)
    top = (1 << fmt.bit_depth) - 1
    expected = []
    for ref, dis in pairs:
        y, u, v = (
            peak_signal_noise_ratio(r, d, data_range=top) for r, d in zip(ref, dis, strict=True)
        )
        expected.append((weights[0] * y + weights[1] * u + weights[2] * v) / sum(weights))
    np.testing.assert_allclose(per_frame, expected, rtol=1e-12)
    assert value == pytest.approx(np.mean(expected), rel=1e-12)
    # the one-shot per-plane function gives the same frame values
    if weights == (1, 0, 0):
        assert per_frame == pytest.approx(
            [plane_psnr(r.y, d.y, bit_depth=fmt.bit_depth) for r, d in pairs], rel=1e-12
        )


def test_fold_of_plane_mses_equals_update():
    fmt = FrameFormat(8)
    pairs = _frames(fmt, count=2)
    by_update, by_fold = PsnrState(), PsnrState()
    for ref, dis in pairs:
        by_update = psnr_update(by_update, ref, dis, fmt)
        by_fold = psnr_fold(by_fold, plane_mses(ref, dis))
    assert by_update == by_fold and len(by_fold.mses) == 2


def test_hm_peak_equals_skimage_with_1020():
    fmt = FrameFormat(10)
    pairs = _frames(fmt, count=2)
    state = PsnrState()
    for ref, dis in pairs:
        state = psnr_update(state, ref, dis, fmt)
    _, per_frame = psnr_compute(state, fmt, peak="hm")
    expected = [peak_signal_noise_ratio(r.y, d.y, data_range=1020) for r, d in pairs]
    np.testing.assert_allclose(per_frame, expected, rtol=1e-12)


def test_hand_derived_values():
    ref = np.zeros((2, 2), np.uint8)
    dis = np.array([[1, 2], [3, 4]], np.uint8)
    assert mse(ref, dis) == (1 + 4 + 9 + 16) / 4
    assert plane_psnr(ref, dis) == pytest.approx(10 * np.log10(255**2 / 7.5), rel=1e-12)
    assert peak_value(8) == 255 and peak_value(10) == 1023 and peak_value(10, "hm") == 1020
    assert peak_value(12, "hm") == 4080 and peak_value(16) == 65535
    assert weighted_psnr(40.0, 30.0, 20.0) == (6 * 40 + 30 + 20) / 8
    assert weighted_psnr(40.0, 30.0, 20.0, (1, 0, 0)) == 40.0


def test_identical_frames_are_capped_at_max_db():
    assert psnr_from_mse(0.0, bit_depth=8) == 100.0
    assert psnr_from_mse(0.0, bit_depth=10, max_db=99.99) == 99.99
    # a tiny error above the cap is capped too: 10*log10(255**2 / 1e-9) = 138.1 dB
    assert psnr_from_mse(1e-9, bit_depth=8) == 100.0
    fmt = FrameFormat(8, (1, 1))
    ref = YuvFrame(*(np.full((4, 4), 9, np.uint8),) * 3)
    value, per_frame = psnr_compute(psnr_update(PsnrState(), ref, ref, fmt), fmt)
    assert (value, per_frame) == (100.0, (100.0,))


def test_bad_input_names_the_argument():
    with pytest.raises(ConfigError, match=r"peak='255' is not allowed: expected full \| hm"):
        peak_value(8, "255")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bit_depth=7 is not allowed"):
        psnr_from_mse(1.0, bit_depth=7)
    with pytest.raises(ConfigError, match=r"distorted.shape=\(2, 3\)"):
        mse(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(MetricError, match="empty"):
        psnr_compute(PsnrState(), FrameFormat(8))


def test_plane_psnr_needs_bit_depth_for_wide_samples():
    ref = np.full((4, 4), 1000, dtype=np.uint16)
    dis = ref - np.uint16(4)
    with pytest.raises(ConfigError, match="bit_depth=None"):
        plane_psnr(ref, dis)
    with pytest.raises(ConfigError, match="samples above 255"):
        plane_psnr(ref, dis, bit_depth=8)
    assert plane_psnr(ref, dis, bit_depth=10) == pytest.approx(10 * np.log10(1023**2 / 16))


@pytest.mark.parametrize(
    ("dtype", "top", "shape"),
    [
        (np.uint8, 255, (720, 1280)),
        (np.uint8, 255, (3, 5)),
        (np.uint16, 1023, (1080, 1920)),
        (np.uint16, 65535, (1080, 1920)),  # SSE above 2**48: the float64 path
    ],
)
@pytest.mark.slow
def test_mse_is_the_exact_sum_of_squares(dtype, top, shape):
    rng = np.random.default_rng(7)
    for _ in range(3):
        a = rng.integers(0, top + 1, shape).astype(dtype)
        b = rng.integers(0, top + 1, shape).astype(dtype)
        d = a.astype(np.int64) - b
        assert mse(a, b) == int((d * d).sum()) / a.size


def test_out_of_range_samples_never_give_a_negative_psnr():
    """Issue 29: 8-bit data read as 10-bit words scored PSNR-Y -29.24 dB. A plane MSE above
    1023^2 is impossible for 10-bit samples: refused, not reported as a negative number."""
    fmt = FrameFormat(10, (2, 2))
    good = YuvFrame(np.full((4, 4), 1023, np.uint16), *(np.zeros((2, 2), np.uint16),) * 2)
    worst = YuvFrame(np.zeros((4, 4), np.uint16), *(np.zeros((2, 2), np.uint16),) * 2)
    value, _ = psnr_compute(psnr_update(PsnrState(), good, worst, fmt), fmt)
    assert value == 0.0  # the largest in-range error: exactly 0 dB, still a value
    words = YuvFrame(np.full((4, 4), 30000, np.uint16), *(np.zeros((2, 2), np.uint16),) * 2)
    state = psnr_update(psnr_update(PsnrState(), good, worst, fmt), words, worst, fmt)
    assert 10 * np.log10(1023**2 / 30000**2) < -29  # what was reported before
    with pytest.raises(MetricError, match=r"frame 1: the Y plane's MSE 9e\+08 exceeds 1023\^2"):
        psnr_compute(state, fmt)
