"""Versions of the encoder libraries inside the ffmpeg build (x264 core, x265, libvpx...).

ffmpeg's ``-version`` names its own build only; each library says its version when it
opens: x264 writes it into the bitstream (an SEI message, ``x264 - core 165``), the
others log it at ``-loglevel verbose`` (``x265 [info]: HEVC encoder version 4.1``,
``[libvpx-vp9 @ ...] v1.15.0``, ``SVT-AV1 Encoder Lib v3.0.0``, ``libvvenc version: 1.13``).
:func:`encoder_versions` encodes one 64x64 test frame with each encoder to read them.
"""

from __future__ import annotations

import functools
import re

from vqabench.errors import FfmpegError
from vqabench.io.ffmpeg import ffmpeg_path
from vqabench.io.process import run_command

__all__ = ["ENCODER_PATTERNS", "encoder_version", "encoder_versions"]

#: ffmpeg encoder -> (muxer, regex whose group 1 is the version, in stdout + stderr)
ENCODER_PATTERNS: dict[str, tuple[str, str]] = {
    "libx264": ("h264", r"x264 - (core \d+(?: r\d+\S*)?)"),
    "libx265": ("hevc", r"HEVC encoder version (\S+)"),
    "libvpx-vp9": ("ivf", r"\[libvpx-vp9 @ [^\]]+\] v(\d\S*)"),
    "libaom-av1": ("obu", r"\[libaom-av1 @ [^\]]+\] v?(\d+\.\d+\S*)"),
    "libsvtav1": ("obu", r"SVT-AV1 Encoder Lib (v?\d\S*)"),
    "libvvenc": ("vvc", r"libvvenc version: (\S+)"),
}


@functools.cache
def encoder_version(encoder: str) -> str:
    """Library version of one ffmpeg encoder (``"libx264"``...), ``""`` when unknown."""
    if encoder not in ENCODER_PATTERNS:
        return ""
    muxer, pattern = ENCODER_PATTERNS[encoder]
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "verbose",
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
    ]
    try:  # the bitstream goes to stdout: x264 and x265 write their version into its SEI
        proc = run_command(cmd, timeout_s=60, check=False, errors="replace")
    except (OSError, FfmpegError):  # FfmpegError: timed out
        return ""
    text = proc.stdout + proc.stderr
    m = re.search(pattern, text)
    return m.group(1) if m else ""


def encoder_versions(encoders: tuple[str, ...] = tuple(ENCODER_PATTERNS)) -> dict[str, str]:
    """``{encoder: version}`` of ``encoders`` (``""`` for an encoder that did not say)."""
    return {e: encoder_version(e) for e in encoders}
