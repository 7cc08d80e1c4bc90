"""What metrics accept (vqabench/metrics/inputs.py): paths of every kind, Videos, numpy
arrays with a declared format, YUV planes, torch tensors; typed errors for the rest.
Values are checked against scikit-image on the same samples, or against the same metric on
the explicitly converted Video."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

import vqabench
from tests.conftest import make_video
from vqabench import metrics
from vqabench.errors import ConfigError, VideoFormatError
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.video import open_video, read_all, to_y4m, write_y4m


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    ref = make_video(root / "ref.y4m", frames=6, seed=3)
    dis_mp4 = root / "dis.mp4"
    run_ffmpeg(
        [
            "-i",
            ref.path,
            "-c:v",
            "libx264",
            "-qp",
            "38",
            "-pix_fmt",
            "yuv420p",
            "-loglevel",
            "error",
            dis_mp4,
        ]
    )
    return root, ref, dis_mp4


def _skimage_psnr(ref_y: np.ndarray, dis_y: np.ndarray, peak: int = 255) -> float:
    return float(
        np.mean(
            [
                peak_signal_noise_ratio(r, d, data_range=peak)
                for r, d in zip(ref_y, dis_y, strict=True)
            ]
        )
    )


@pytest.mark.slow
def test_issue_example_path_strings_y4m_and_mp4(pair, tmp_path):
    """`metrics.create("vmaf").compute("ref.y4m", "dis.mp4")` (issue 13) works and equals
    VMAF on the explicitly converted Y4M."""
    root, ref, dis_mp4 = pair
    via_paths = metrics.create("vmaf").compute(str(ref.path), str(dis_mp4))
    explicit = metrics.create("vmaf").compute(ref, to_y4m(dis_mp4, tmp_path / "d.y4m"))
    assert via_paths == explicit
    assert 20 < via_paths.value < 100  # x264 qp 38 on 64x64 texture: visibly distorted


def test_raw_yuv_named_by_the_conventions(pair, tmp_path):
    _, ref, _ = pair
    clip = read_all(ref)
    raw = tmp_path / "clip_64x64_25fps_420.yuv"
    with open(raw, "wb") as f:
        for t in range(ref.frames):
            for plane in (clip.y[t], clip.u[t], clip.v[t]):
                f.write(plane.tobytes())
    # the raw file holds the Y4M's samples: the same result as the Y4M against itself
    assert metrics.create("psnr_yuv").compute(raw, ref) == metrics.create("psnr_yuv").compute(
        ref, ref
    )
    assert open_video(raw).fps == Fraction(25) and open_video(raw).frames == ref.frames


def test_gray_arrays_match_scikit_image(pair):
    _, ref, _ = pair
    rng = np.random.default_rng(0)
    ref_y = read_all(ref).y
    dis_y = np.clip(ref_y.astype(int) + rng.integers(-6, 7, ref_y.shape), 0, 255).astype(np.uint8)
    result = vqabench.compute("psnr_y", ref_y, dis_y, fmt="gray")
    assert result.value == pytest.approx(_skimage_psnr(ref_y, dis_y), abs=1e-9)
    assert len(result.per_frame) == ref.frames


def test_10_bit_planes_give_a_420_10_bit_video_and_skimage_psnr():
    rng = np.random.default_rng(1)
    y = rng.integers(64, 940, (3, 32, 48), dtype=np.uint16)
    u = rng.integers(64, 960, (3, 16, 24), dtype=np.uint16)
    dis = (np.clip(y.astype(int) + rng.integers(-20, 21, y.shape), 0, 1023).astype(np.uint16), u, u)
    result = metrics.create("psnr_y").compute((y, u, u), dis, bit_depth=10)
    assert result.value == pytest.approx(_skimage_psnr(y, dis[0], peak=1023), abs=1e-9)
    with pytest.raises(ConfigError, match=r"reference samples='64\.\.9\d\d' .*0\.\.255"):
        metrics.create("psnr_y").compute((y, u, u), dis)  # 10-bit samples, default 8 bits


def test_rgb_arrays_and_torch_tensors_equal_the_converted_video(tmp_path):
    from vqabench.io.video import rgb_to_yuv

    rng = np.random.default_rng(2)
    ref = rng.random((4, 32, 32, 3))
    dis = np.clip(ref + rng.normal(0, 0.05, ref.shape), 0, 1)
    by_array = metrics.create("ssim").compute(ref, dis, fmt="rgb")
    videos = [
        write_y4m(
            tmp_path / f"{n}.y4m",
            (rgb_to_yuv(f, pix_fmt="yuv444p") for f in a),
            width=32,
            height=32,
            fps=Fraction(25),
            pix_fmt="yuv444p",
        )
        for n, a in (("r", ref), ("d", dis))
    ]
    assert by_array == metrics.create("ssim").compute(*videos)
    # torch: channel-first (T, 3, H, W) float tensors, with gradients attached
    tr = torch.from_numpy(ref).permute(0, 3, 1, 2).requires_grad_(True)
    td = torch.from_numpy(dis).permute(0, 3, 1, 2)
    assert vqabench.compute("ssim", tr, td, fmt="rgb") == by_array
    # uint8 RGB: the same frames at 8 bits
    as_u8 = metrics.create("psnr_y").compute(
        (ref * 255).round().astype(np.uint8), (dis * 255).round().astype(np.uint8), fmt="rgb"
    )
    assert as_u8.value == pytest.approx(
        metrics.create("psnr_y").compute(ref, dis, fmt="rgb").value, abs=0.5
    )


def test_yuv_interleaved_and_video_passthrough(pair):
    _, ref, _ = pair
    clip = read_all(ref)
    up = np.repeat(np.repeat(clip.u, 2, axis=1), 2, axis=2)
    yuv = np.stack([clip.y, up, up], axis=-1)
    assert (
        metrics.create("psnr_y").compute(yuv, yuv, fmt="yuv").value
        == metrics.create("psnr_y").compute(ref, ref).value
    )


def test_anything_else_is_a_typed_error_naming_the_argument(pair):
    _, ref, _ = pair
    m = metrics.create("psnr_y")
    with pytest.raises(
        ConfigError,
        match=r"reference=int is not accepted: expected a Video, "
        r"a path .*numpy array or torch tensor",
    ):
        m.compute(3, ref)
    with pytest.raises(ConfigError, match=r"distorted=dict is not accepted"):
        m.compute(ref, {"frames": 1})
    with pytest.raises(
        ConfigError,
        match=r"fmt=None .*'rgb', 'yuv' or 'gray'.*nothing is "
        r"guessed",
    ):
        m.compute(np.zeros((2, 8, 8, 3)), ref)
    with pytest.raises(ConfigError, match=r"reference.shape=\(2, 8, 8\) .*\(T, H, W, 3\)"):
        m.compute(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), fmt="rgb")
    with pytest.raises(ConfigError, match=r"reference values=.*floats in \[0, 1\]"):
        m.compute(np.full((1, 8, 8, 3), 2.0), np.zeros((1, 8, 8, 3)), fmt="rgb")
    with pytest.raises(ConfigError, match=r"input options=\['colour'\]"):
        m.compute(ref, ref, colour="bt709")
    with pytest.raises(VideoFormatError, match="does not exist"):
        m.compute("missing.y4m", ref)
    with pytest.raises(ConfigError, match=r"fmt='bgr'"):
        vqabench.compute("psnr_y", np.zeros((1, 8, 8)), np.zeros((1, 8, 8)), fmt="bgr")


def test_videos_go_straight_through(pair, monkeypatch):
    """Two Videos never touch the conversion code (no copy, no temporary files)."""
    from vqabench.metrics import inputs

    _, ref, _ = pair
    monkeypatch.setattr(inputs, "as_videos", None)  # would fail if called
    same = metrics.create("psnr_y").compute(ref, open_video(ref.path))
    assert same.per_frame == (same.value,) * ref.frames
