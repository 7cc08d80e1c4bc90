"""Encoder library versions (vqabench/codecs/versions.py) against what the bitstreams say."""

from __future__ import annotations

import re
import subprocess

import pytest

from vqabench.codecs.versions import ENCODER_PATTERNS, encoder_version
from vqabench.io.ffmpeg import ffmpeg_path


def _sei_text(encoder: str, muxer: str) -> str:
    """The user-data SEI x264/x265 write into their own bitstream (default settings)."""
    out = subprocess.run(
        [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64:rate=25",
            "-frames:v",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            encoder,
            "-f",
            muxer,
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return out.decode("latin-1")


def test_x264_version_is_the_core_in_its_sei():
    core = re.search(r"x264 - core (\d+)", _sei_text("libx264", "h264")).group(1)
    assert encoder_version("libx264") == f"core {core}"


def test_x265_version_is_the_one_in_its_sei():
    sei = re.search(r"x265 \(build \d+\) - (\S+):", _sei_text("libx265", "hevc")).group(1)
    assert encoder_version("libx265") == sei


@pytest.mark.parametrize("encoder", ["libvpx-vp9", "libaom-av1", "libsvtav1", "libvvenc"])
@pytest.mark.slow
def test_other_encoders_state_a_dotted_version(encoder):
    assert re.fullmatch(r"v?\d+\.\d+\S*", encoder_version(encoder))


def test_unknown_encoder_has_no_version():
    assert encoder_version("libnothing") == "" and "libnothing" not in ENCODER_PATTERNS
