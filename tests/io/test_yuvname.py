"""Raw YUV file names: a table of the conventions in use and their expected reading."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vqabench.errors import VideoFormatError
from vqabench.io.video import parse_yuv_name
from vqabench.io.yuvname import parse_name

# name -> (width, height, fps or None, pix_fmt, frames or None)
TABLE = [
    # JCT-VC / JVET CTC: the bare number after WxH is the frame rate
    ("BasketballDrive_1920x1080_50.yuv", 1920, 1080, Fraction(50), "yuv420p", None),
    ("RaceHorses_832x480_30.yuv", 832, 480, Fraction(30), "yuv420p", None),
    ("NebutaFestival_2560x1600_60_10bit_crop.yuv", 2560, 1600, Fraction(60), "yuv420p10le", None),
    ("Tango2_3840x2160_60fps_10bit_420.yuv", 3840, 2160, Fraction(60), "yuv420p10le", None),
    (
        "Campfire_3840x2160_30fps_bt709_420_videoRange.yuv",
        3840,
        2160,
        Fraction(30),
        "yuv420p",
        None,
    ),
    # UVG
    ("Beauty_1920x1080_120fps_420_8bit_YUV.yuv", 1920, 1080, Fraction(120), "yuv420p", None),
    (
        "Bosphorus_3840x2160_120fps_420_10bit_YUV.yuv",
        3840,
        2160,
        Fraction(120),
        "yuv420p10le",
        None,
    ),
    # MCL-JCV
    ("videoSRC01_1920x1080_30.yuv", 1920, 1080, Fraction(30), "yuv420p", None),
    # BVI
    ("BVI_Foo_1920x1080_60fps_10bit_420.yuv", 1920, 1080, Fraction(60), "yuv420p10le", None),
    ("Foo_1920x1080_420p10.yuv", 1920, 1080, None, "yuv420p10le", None),
    ("Foo_3840x2160_50fps_yuv444p10le.yuv", 3840, 2160, Fraction(50), "yuv444p10le", None),
    # Vooya style
    ("Foo_1280x720_50_420_10bit.yuv", 1280, 720, Fraction(50), "yuv420p10le", None),
    ("Foo_1280x720_25_444_8-bit.yuv", 1280, 720, Fraction(25), "yuv444p", None),
    # frame counts, fractional rates
    ("Foo_1920x1080_4440frames.yuv", 1920, 1080, None, "yuv420p", 4440),
    ("Foo_1920x1080_29.97fps_300f.yuv", 1920, 1080, Fraction(30000, 1001), "yuv420p", 300),
    ("Foo_352x288.yuv", 352, 288, None, "yuv420p", None),
]


@pytest.mark.parametrize(("name", "width", "height", "fps", "pix_fmt", "frames"), TABLE)
def test_name_table(name, width, height, fps, pix_fmt, frames):
    got = parse_name(name)
    assert (got.width, got.height, got.fps, got.pix_fmt, got.frames) == (
        width,
        height,
        fps,
        pix_fmt,
        frames,
    )


def test_known_bugs_of_the_old_parser_are_gone():
    """420 fps, 4:4:4 from a frame count, and 25 fps for the CTC naming (issue 12.2)."""
    assert "fps" not in parse_yuv_name("Foo_1920x1080_420p10.yuv")
    assert parse_yuv_name("Foo_1920x1080_4440frames.yuv")["pix_fmt"] == "yuv420p"
    assert parse_yuv_name("BasketballDrive_1920x1080_50.yuv")["fps"] == 50


def test_colour_tokens():
    got = parse_name("Campfire_3840x2160_30fps_bt709_420_videoRange.yuv")
    assert (got.matrix, got.color_range) == ("bt709", "limited")
    assert parse_name("Phone_1080x1920_30fps_fullRange_bt601.yuv").color_range == "full"


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("Foo_1920x1080_8bit_420_10bit.yuv", "bit depth"),
        ("Foo_1920x1080_420_444.yuv", "chroma"),
        ("Foo_1920x1080_50fps_60fps.yuv", "fps"),
        ("Foo_1920x1080_1280x720.yuv", "size"),
        ("Foo_1920x1080_420p10_8bit.yuv", "bit depth"),
    ],
)
def test_contradicting_tokens_are_refused(name, what):
    with pytest.raises(VideoFormatError, match=f"contradicts itself.*different {what}"):
        parse_name(name)


def test_no_size_advice_names_something_that_exists():
    with pytest.raises(VideoFormatError, match="rename it to a pattern like.*convert it to .y4m"):
        parse_name("clip.yuv")
