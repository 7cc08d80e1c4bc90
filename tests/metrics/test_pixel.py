"""PSNR against scikit-image, SSIM and MS-SSIM against piq called directly (and skimage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import piq
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tests.conftest import add_noise, make_video
from vqabench import metrics
from vqabench.errors import ConfigError, MetricError
from vqabench.io.video import read_all


def _skimage_psnr(ref, dis, plane, peak=255):
    r, d = read_all(ref)[plane], read_all(dis)[plane]
    return [peak_signal_noise_ratio(a, b, data_range=peak) for a, b in zip(r, d, strict=True)]


def test_psnr_y_matches_skimage(tiny_video, tiny_noisy):
    result = metrics.create("psnr_y").compute(reference=tiny_video, distorted=tiny_noisy)
    expected = _skimage_psnr(tiny_video, tiny_noisy, 0)
    np.testing.assert_allclose(result.per_frame, expected, rtol=1e-12)
    assert result.value == pytest.approx(np.mean(expected), rel=1e-12)
    assert 34 < result.value < 38  # sigma 4 noise: 20*log10(255/4) = 36.1 dB


@pytest.mark.parametrize("weights", [(6, 1, 1), (8, 1, 1), (14, 1, 1), (4, 1, 1)])
def test_psnr_yuv_weights(tiny_video, tiny_noisy, weights):
    y, u, v = (np.array(_skimage_psnr(tiny_video, tiny_noisy, i)) for i in range(3))
    wy, wu, wv = weights
    expected = np.mean((wy * y + wu * u + wv * v) / (wy + wu + wv))
    got = metrics.create("psnr_yuv", weights=weights).compute(tiny_video, tiny_noisy).value
    assert got == pytest.approx(expected, rel=1e-12)


def test_psnr_yuv_weights_from_text():
    assert metrics.create("psnr_yuv", weights="14:1:1").weights == (14.0, 1.0, 1.0)
    with pytest.raises(ConfigError, match="weights="):
        metrics.create("psnr_yuv", weights=(1, 1))


def test_psnr_10bit_uses_peak_1023(tmp_path):
    ref = make_video(tmp_path / "r10.y4m", pix_fmt="yuv420p10le", frames=3)
    dis = add_noise(ref, tmp_path / "d10.y4m", sigma=8)
    got = metrics.create("psnr_y").compute(ref, dis)
    np.testing.assert_allclose(got.per_frame, _skimage_psnr(ref, dis, 0, peak=1023), rtol=1e-12)


def test_identical_frames_are_capped(tiny_video):
    assert metrics.create("psnr_y", max_db=99.0).compute(tiny_video, tiny_video).value == 99.0


def test_ssim_equals_piq_and_skimage(tiny_video, tiny_noisy):
    result = metrics.create("ssim").compute(tiny_video, tiny_noisy)
    ref = torch.from_numpy(read_all(tiny_video).y.astype(np.float32))[:, None]
    dis = torch.from_numpy(read_all(tiny_noisy).y.astype(np.float32))[:, None]
    direct = piq.ssim(dis, ref, data_range=255.0, reduction="none", downsample=False)
    np.testing.assert_allclose(result.per_frame, direct.numpy(), rtol=1e-6)
    # An independent implementation (Gaussian window, population covariance) agrees closely.
    sk = [structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
          for a, b in zip(read_all(tiny_video).y, read_all(tiny_noisy).y, strict=True)]
    np.testing.assert_allclose(result.per_frame, sk, atol=2e-3)


def test_ms_ssim_equals_piq(tiny_video, tiny_noisy):
    result = metrics.create("ms_ssim", scales=3).compute(tiny_video, tiny_noisy)
    ref = torch.from_numpy(read_all(tiny_video).y.astype(np.float32))[:, None]
    dis = torch.from_numpy(read_all(tiny_noisy).y.astype(np.float32))[:, None]
    weights = torch.tensor([0.0448, 0.2856, 0.3001])
    direct = piq.multi_scale_ssim(dis, ref, data_range=255.0, reduction="none",
                                  scale_weights=weights)
    np.testing.assert_allclose(result.per_frame, direct.numpy(), rtol=1e-6)


def test_ms_ssim_too_small_is_a_clear_error(tiny_video):
    with pytest.raises(MetricError, match="at least 161x161 pixels, got 64x64"):
        metrics.create("ms_ssim").compute(tiny_video, tiny_video)


def test_mismatched_pair(tiny_video, tmp_path):
    other = make_video(tmp_path / "o.y4m", width=32, height=32)
    with pytest.raises(MetricError, match="differ in size"):
        metrics.create("psnr_y").compute(tiny_video, other)


def test_metric_contract_attributes():
    for name in ("psnr_y", "psnr_yuv", "ssim", "ms_ssim", "vmaf"):
        m = metrics.create(name)
        assert m.kind == "full-reference" and m.higher_is_better
        assert name in metrics.available()


_GOLDEN = json.loads((Path(__file__).parents[1] / "expected" / "pixel_golden.json").read_text())


@pytest.fixture(scope="module")
def golden_pairs(tmp_path_factory):
    """The golden cases' videos, rebuilt exactly as tests/expected/make_pixel_golden.py does."""
    from tests.expected.make_pixel_golden import CASES, video_pair

    folder = tmp_path_factory.mktemp("golden")
    return {case[0]: video_pair(case, folder) for case in CASES}


@pytest.mark.parametrize("case", sorted(_GOLDEN["cases"]))
def test_pixel_metrics_equal_pinned_values(golden_pairs, case):
    """Every pixel metric keeps the numbers pinned before the engine rewrite (piq, numpy):
    PSNR within 1e-6 dB, SSIM and MS-SSIM within 1e-5; 8/10-bit, 4:2:0/4:4:4, odd sizes."""
    ref, dis = golden_pairs[case]
    for label, pinned in _GOLDEN["cases"][case]["metrics"].items():
        got = metrics.create(pinned["metric"], **pinned["options"]).compute(ref, dis)
        tol = 1e-6 if pinned["metric"].startswith("psnr") else 1e-5
        np.testing.assert_allclose(got.per_frame, pinned["per_frame"], rtol=0, atol=tol,
                                   err_msg=f"{case} {label}")
        assert got.value == pytest.approx(pinned["value"], abs=tol), f"{case} {label}"
