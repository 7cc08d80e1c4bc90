"""Video I/O: Y4M / raw YUV round trips checked against ffmpeg, name parsing, bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from skimage.color import rgb2ycbcr

from tests.conftest import make_video
from vqabench.errors import VideoFormatError
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.video import (
    open_video,
    parse_yuv_name,
    read_all,
    read_frames,
    rgb_to_yuv,
    to_y4m,
    write_y4m,
    yuv_to_rgb,
)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuv420p10le", "yuv422p"])
def test_y4m_planes_equal_ffmpeg_raw_decode(tmp_path, pix_fmt):
    """Our Y4M writer and reader agree with ffmpeg's own reading of the file (raw dump)."""
    video = make_video(tmp_path / "a.y4m", width=48, height=32, frames=3, pix_fmt=pix_fmt)
    raw = tmp_path / "a.yuv"
    run_ffmpeg(["-i", video.path, "-f", "rawvideo", "-pix_fmt", pix_fmt, raw])
    ours = b"".join(p.tobytes() for f in read_frames(video) for p in f)
    assert raw.read_bytes() == ours
    reopened = open_video(raw, width=48, height=32, pix_fmt=pix_fmt)
    assert reopened.frames == 3
    for a, b in zip(read_frames(video), read_frames(reopened), strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)


def test_header_fields(tmp_path):
    video = make_video(tmp_path / "b.y4m", width=64, height=32, frames=5,
                       fps=Fraction(30000, 1001), pix_fmt="yuv420p10le")
    again = open_video(video.path)
    assert (again.width, again.height, again.frames, again.fps, again.bit_depth) == (
        64, 32, 5, Fraction(30000, 1001), 10)
    assert read_all(again).y.shape == (5, 32, 64)
    assert read_all(again).u.shape == (5, 16, 32)


@pytest.mark.parametrize("name, expected", [
    ("Beauty_1920x1080_120fps_420_8bit_YUV.yuv",
     {"width": 1920, "height": 1080, "fps": Fraction(120), "pix_fmt": "yuv420p"}),
    ("Campfire_3840x2160_30fps_10bit_420.yuv",
     {"width": 3840, "height": 2160, "fps": Fraction(30), "pix_fmt": "yuv420p10le"}),
    ("BasketballDrill_832x480_50.yuv", {"width": 832, "height": 480, "pix_fmt": "yuv420p"}),
    ("Foo_1280x720_60fps_444.yuv",
     {"width": 1280, "height": 720, "fps": Fraction(60), "pix_fmt": "yuv444p"}),
])
def test_parse_yuv_name(name, expected):
    parsed = parse_yuv_name(name)
    assert {k: parsed[k] for k in expected} == expected


def test_parse_yuv_name_without_size():
    with pytest.raises(VideoFormatError, match="carries no frame size"):
        parse_yuv_name("clip.yuv")


def test_raw_size_that_does_not_divide(tmp_path):
    path = tmp_path / "clip_64x64.yuv"
    path.write_bytes(bytes(64 * 64 * 3 // 2 * 2 + 100))
    with pytest.raises(VideoFormatError, match="not a multiple of the frame size 6144"):
        open_video(path)


def test_truncated_y4m(tmp_path):
    video = make_video(tmp_path / "t.y4m", frames=3)
    data = video.path.read_bytes()
    video.path.write_bytes(data[:-10])
    with pytest.raises(VideoFormatError, match="truncated Y4M file.*2 whole frames"):
        open_video(video.path)


@pytest.mark.parametrize("header, match", [
    (b"YUV4MPEG2 W64 H64 F25:1 Cmono12\nFRAME\n", "colour space Cmono12 is not supported"),
    (b"RIFF....", "not a Y4M file"),
    (b"YUV4MPEG2 W64 F25:1\nFRAME\n", "no valid W and H"),
    (b"YUV4MPEG2 W64 H64 F25:x\nFRAME\n", "malformed Y4M header field"),
    (b"YUV4MPEG2 W64 H64 F25:1 C420", "header line has no end"),
])
def test_bad_y4m_headers(tmp_path, header, match):
    path = tmp_path / "bad.y4m"
    path.write_bytes(header + bytes(64))
    with pytest.raises(VideoFormatError, match=match):
        open_video(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(VideoFormatError, match="does not exist"):
        open_video(tmp_path / "nope.y4m")
    (tmp_path / "x.mp4").write_bytes(b"x")
    with pytest.raises(VideoFormatError, match="to_y4m"):
        open_video(tmp_path / "x.mp4")


def test_to_y4m_from_container_keeps_frames_and_crops(tmp_path):
    """A lossless container round trip gives back exactly our frames."""
    video = make_video(tmp_path / "s.y4m", width=64, height=48, frames=6)
    mkv = tmp_path / "s.mkv"
    run_ffmpeg(["-i", video.path, "-c:v", "ffv1", mkv])
    back = to_y4m(mkv, tmp_path / "back.y4m", frames=4, start=1)
    assert back.frames == 4
    for a, b in zip(read_frames(video, start=1, count=4), read_frames(back), strict=True):
        np.testing.assert_array_equal(a.y, b.y)
    scaled = to_y4m(mkv, tmp_path / "scaled.y4m", size=(32, 32))
    assert (scaled.width, scaled.height, scaled.frames) == (32, 32, 6)


def test_to_y4m_unreadable(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoFormatError, match="cannot read video"):
        to_y4m(bad, tmp_path / "out.y4m")
    assert not (tmp_path / "out.y4m").exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_rgb_to_yuv_bt601_matches_skimage():
    """BT.601 limited range equals scikit-image's rgb2ycbcr (ITU-R BT.601, 16..235)."""
    rng = np.random.default_rng(3)
    rgb = rng.random((8, 8, 3))
    ours = rgb_to_yuv(rgb, pix_fmt="yuv444p", matrix="bt601")
    ref = np.clip(np.rint(rgb2ycbcr(rgb)), 0, 255)
    for i in range(3):
        np.testing.assert_allclose(ours[i], ref[..., i], atol=1)


def test_yuv_rgb_round_trip_bt709():
    rng = np.random.default_rng(4)
    rgb = rng.random((16, 16, 3))
    back = yuv_to_rgb(rgb_to_yuv(rgb, pix_fmt="yuv444p"))
    np.testing.assert_allclose(back, rgb, atol=3 / 219)


def test_write_y4m_is_atomic_on_bad_frame(tmp_path):
    frames = [rgb_to_yuv(np.zeros((16, 16, 3))), rgb_to_yuv(np.zeros((8, 8, 3)))]
    with pytest.raises(VideoFormatError, match="plane shape"):
        write_y4m(tmp_path / "x.y4m", frames, width=16, height=16, fps=25)
    assert list(tmp_path.iterdir()) == []
