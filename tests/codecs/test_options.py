"""Codec option tables (vqabench/codecs/options.py) against the bundled ffmpeg's own help."""

from __future__ import annotations

import re
import subprocess

import pytest

from vqabench import codecs
from vqabench.codecs.options import PRESET_RANGES, VVENC_PRESETS, X26X_PRESETS, check_preset
from vqabench.errors import ConfigError
from vqabench.io.ffmpeg import ffmpeg_path

# codec -> (ffmpeg encoder, the ffmpeg option our ``preset`` becomes)
_FFMPEG_OPTION = {
    "vp9": ("libvpx-vp9", "cpu-used"),
    "aom-av1": ("libaom-av1", "cpu-used"),
    "svt-av1": ("libsvtav1", "preset"),
    "vvenc": ("libvvenc", "preset"),
}


def _encoder_help(encoder: str) -> str:
    return subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-h", f"encoder={encoder}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("codec", sorted(_FFMPEG_OPTION))
def test_integer_ranges_are_the_ones_ffmpeg_states(codec):
    encoder, option = _FFMPEG_OPTION[codec]
    text = _encoder_help(encoder)
    m = re.search(rf"^\s+-{option}\s+<int>.*\(from (-?\d+) to (-?\d+)\)", text, re.M)
    assert m, text
    assert PRESET_RANGES[codec][1] == (int(m.group(1)), int(m.group(2)))


def test_vvenc_names_are_ffmpeg_constants():
    text = _encoder_help("libvvenc").split("-preset", 1)[1].split("\n  -", 1)[0]
    names = re.findall(r"^\s{5}(\w+)\s+(\d)\s+E", text, re.M)
    assert tuple(n for n, _ in names) == VVENC_PRESETS
    assert [int(v) for _, v in names] == [0, 1, 2, 3, 4]


def test_x264_rejects_what_the_table_rejects(tiny_video, tmp_path):
    """ffmpeg itself fails on preset=fastest: the table refuses it before any work."""
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(tiny_video.path),
        "-c:v",
        "libx264",
        "-preset",
        "fastest",
        "-f",
        "h264",
        str(tmp_path / "a.264"),
    ]
    assert subprocess.run(cmd, capture_output=True).returncode != 0
    with pytest.raises(ConfigError, match=r"preset='fastest' is not allowed.*did you mean"):
        codecs.create("x264", preset="fastest")


@pytest.mark.parametrize(
    "codec, value, expected",
    [
        ("x264", "veryslow", "veryslow"),
        ("x265", "ultrafast", "ultrafast"),
        ("svt-av1", -2, -2),
        ("svt-av1", "13", 13),
        ("vp9", -8, -8),
        ("aom-av1", 8, 8),
        ("vvenc", "slower", "slower"),
        ("vvenc", 0, 0),
    ],
)
def test_allowed_presets(codec, value, expected):
    assert check_preset(codec, value) == expected


@pytest.mark.parametrize(
    "codec, value, match",
    [
        ("x264", "fastest", "did you mean 'faster'"),
        ("x265", 5, "expected ultrafast"),
        ("svt-av1", 14, r"integers -2\.\.13"),
        ("aom-av1", 9, r"integers 0\.\.8"),
        ("vp9", "good", r"integers -8\.\.8"),
        ("vvenc", "slowe", "did you mean 'slower'"),
    ],
)
def test_refused_presets_name_codec_value_and_allowed(codec, value, match):
    with pytest.raises(ConfigError, match=rf"codec '{codec}': preset=.*{match}"):
        codecs.create(codec, preset=value)


def test_every_default_preset_is_allowed():
    for name in PRESET_RANGES:
        cls = codecs.get_class(name)
        assert check_preset(name, cls.default_preset) == cls.default_preset
    assert X26X_PRESETS.index("medium") == 5
