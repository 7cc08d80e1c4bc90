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
from vqabench.io.video import read_all, read_frames


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


def _luma(video, dtype=np.float32):
    return torch.from_numpy(read_all(video).y.astype(dtype))[:, None]


@pytest.mark.parametrize("case", ["420p8_64x64", "444p10_171x165", "420p8_400x384"])
@pytest.mark.parametrize("downsample", [False, True])
@pytest.mark.slow
def test_ssim_equals_piq_and_skimage(golden_pairs, case, downsample):
    """SSIM equals piq (float32, as vqabench computed it before, and float64) and
    scikit-image's Gaussian SSIM on the same luma planes within 1e-5."""
    ref, dis = golden_pairs[case]
    peak = float((1 << ref.bit_depth) - 1)
    result = metrics.create("ssim", downsample=downsample).compute(ref, dis)
    for dtype in (np.float64, np.float32):
        direct = piq.ssim(
            _luma(dis, dtype),
            _luma(ref, dtype),
            data_range=peak,
            reduction="none",
            downsample=downsample,
        )
        np.testing.assert_allclose(result.per_frame, direct.numpy(), rtol=0, atol=1e-5)
    if downsample and min(ref.height, ref.width) >= 384:
        return  # scikit-image has no downsampling
    sk = [
        structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            data_range=peak,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for a, b in zip(read_all(ref).y, read_all(dis).y, strict=True)
    ]
    np.testing.assert_allclose(result.per_frame, sk, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("case", "scales"),
    [("420p8_64x64", 3), ("444p10_171x165", 5), ("420p8_192x176", 5), ("420p8_400x384", 4)],
)
@pytest.mark.slow
def test_ms_ssim_equals_piq(golden_pairs, case, scales):
    """MS-SSIM equals piq's (float32 and float64) on the same planes within 1e-5, odd sizes
    (replicate padding) included."""
    ref, dis = golden_pairs[case]
    peak = float((1 << ref.bit_depth) - 1)
    result = metrics.create("ms_ssim", scales=scales).compute(ref, dis)
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:scales])
    # piq in float64 is the exact value; piq in float32 (what vqabench computed before)
    # carries up to 1.6e-5 of rounding at the coarsest scale of small frames (192x176: a
    # 12x11 plane), hence its looser bound.
    for dtype, tol in ((np.float64, 1e-7), (np.float32, 2e-5)):
        direct = piq.multi_scale_ssim(
            _luma(dis, dtype),
            _luma(ref, dtype),
            data_range=peak,
            reduction="none",
            scale_weights=weights.to(torch.float64 if dtype == np.float64 else torch.float32),
        )
        np.testing.assert_allclose(result.per_frame, direct.numpy(), rtol=0, atol=tol)


def test_ssim_below_window_is_a_clear_error(tmp_path):
    small = make_video(tmp_path / "s.y4m", width=10, height=16, frames=2, pix_fmt="yuv444p")
    with pytest.raises(MetricError, match="at least 11x11, got 10x16"):
        metrics.create("ssim").compute(small, small)


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


def _one_job(ref, dis, specs):
    """Per-frame values of one job measuring ``specs`` ((name, options) pairs) together."""
    from vqabench.runner.jobs import MetricTask, measure

    tasks = tuple(
        MetricTask(f"k{i}", n, tuple(o.items()), metrics.create(n, **o).spec, "source")
        for i, (n, o) in enumerate(specs)
    )
    values, errors = measure(tasks, {"source": ref}, dis)
    assert not errors
    return [per_frame for _, _, per_frame in values]


def test_ssim_and_ms_ssim_in_one_job_share_full_resolution_statistics(
    tiny_video, tiny_noisy, monkeypatch
):
    """Asked together, SSIM and MS-SSIM filter the full-resolution statistics once a frame
    (not once each) and give the same per-frame values, bit for bit, as asked alone;
    MS-SSIM's inner scales form only the CS map, its last scale both maps."""
    from vqabench.metrics.functional import ssim as fssim

    original, calls = fssim.first_scale, []

    def counting(x, y, **kw):
        calls.append((x.shape, kw.get("luminance", True)))
        return original(x, y, **kw)

    monkeypatch.setattr(fssim, "first_scale", counting)  # every scale's pass goes through it
    ssim, ms = ("ssim", {}), ("ms_ssim", {"scales": 3})
    together = _one_job(tiny_video, tiny_noisy, [ssim, ms])
    joint_calls, calls[:] = list(calls), []
    alone = _one_job(tiny_video, tiny_noisy, [ssim]) + _one_job(tiny_video, tiny_noisy, [ms])
    assert together == alone  # exact: the shared pass is the same arithmetic
    frames = tiny_video.frames
    assert [c for c in joint_calls if c[0] == (64, 64)] == [((64, 64), True)] * frames
    assert [c for c in joint_calls if c[0] == (32, 32)] == [((32, 32), False)] * frames
    assert [c for c in joint_calls if c[0] == (16, 16)] == [((16, 16), True)] * frames
    assert len(joint_calls) == 3 * frames
    assert sum(c[0] == (64, 64) for c in calls) == 2 * frames  # alone: once per metric
    pairs = zip(read_all(tiny_video)[0], read_all(tiny_noisy)[0], strict=True)
    expected = [
        structural_similarity(
            r, d, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        for r, d in pairs
    ]
    np.testing.assert_allclose(together[0], expected, atol=1e-6)


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
        if (case, label) == ("420p8_192x176", "ms_ssim_5"):
            tol = 2e-5  # piq float32's own rounding at the 12x11 scale (test_ms_ssim_equals_piq)
        np.testing.assert_allclose(
            got.per_frame, pinned["per_frame"], rtol=0, atol=tol, err_msg=f"{case} {label}"
        )
        assert got.value == pytest.approx(pinned["value"], abs=tol), f"{case} {label}"


def test_psnr_peak_hm_is_hm_convention(tmp_path):
    """peak=hm uses 255 << (b - 8) = 1020 at 10 bits: the same MSE scores
    20*log10(1020/1023) dB lower than with peak=full; at 8 bits both peaks are 255."""
    ref = make_video(tmp_path / "r10.y4m", pix_fmt="yuv420p10le", frames=2)
    dis = add_noise(ref, tmp_path / "d10.y4m", sigma=8)
    full = metrics.create("psnr_y").compute(ref, dis)
    hm = metrics.create("psnr_y", peak="hm").compute(ref, dis)
    np.testing.assert_allclose(
        np.subtract(full.per_frame, hm.per_frame), 20 * np.log10(1023 / 1020), rtol=1e-12
    )
    assert metrics.create("psnr_y").options == {"max_db": 100.0}  # default keeps old keys
    assert metrics.create("psnr_y", peak="hm").options["peak"] == "hm"
    with pytest.raises(ConfigError, match="peak="):
        metrics.create("psnr_yuv", peak="255")


def test_same_functions_serve_arrays_and_videos(tiny_video, tiny_noisy):
    from vqabench.metrics.functional.frame_format import FrameFormat

    fmt = FrameFormat.of(tiny_video)
    for name in ("psnr_yuv", "ssim", "ms_ssim"):
        m = metrics.create(name, **({"scales": 3} if name == "ms_ssim" else {}))
        on_arrays = m.compute_frames(read_frames(tiny_video), read_frames(tiny_noisy), fmt)
        assert on_arrays == m.compute(tiny_video, tiny_noisy)
