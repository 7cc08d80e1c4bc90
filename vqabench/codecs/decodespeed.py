"""Decoding speed, measured apart from a run's decode-to-file: single thread, to null.

``ffmpeg -threads 1 -f FMT -i BITSTREAM -map 0:v:0 -f null -`` with ffmpeg's default decoder
for the format, run ``repeats`` times; the best (smallest) wall time counts, and
``fps = frames / best_s``. The time includes starting ffmpeg (tens of milliseconds), so
figures mean something only on realistic sizes (720p/1080p, tens of frames); on tiny clips
they measure the process start. The frame count is the bitstream's own
(:func:`~vqabench.codecs.framesizes.cached_frames`).

Learned codecs (:func:`codec_decode_speed`) are timed through their own decoder in this
process, the same way: ``repeats`` decodes, best wall time, ``fps = frames / best_s``, one
torch thread (the codecs' default ``threads=1``). What is timed is the decode to the
model's output, discarded: reading the file, entropy decoding and the synthesis network
(compressai: to RGB; inr: rendering the frames from the stored network); the conversion to
YUV and the Y4M write of a run's decode are not. Loading compressai's networks (once per
quality) happens before the clock, as the decoder would hold them; starting ffmpeg is inside
the conventional codecs' time, so on tiny clips the comparison favours the learned codecs.

Example:
    >>> decode_speed(Path("qp32.264"), "h264", repeats=5).fps
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vqabench.codecs.framesizes import cached_frames
from vqabench.errors import FfmpegError, invalid
from vqabench.io.ffmpeg import ffmpeg_path, path_arg
from vqabench.io.process import run_command

__all__ = ["DecodeSpeed", "decode_cmd_null", "decode_speed", "codec_decode_speed"]


@dataclass(frozen=True)
class DecodeSpeed:
    """Best-of-``repeats`` single-thread decode of one bitstream.

    Attributes:
        frames: frames decoded.
        best_s: smallest wall time in seconds.
        times_s: every wall time, in run order.
        fps: ``frames / best_s``.
    """

    frames: int
    best_s: float
    times_s: tuple[float, ...]

    @property
    def fps(self) -> float:
        """Frames per second of the best run."""
        return self.frames / self.best_s


def decode_cmd_null(bitstream: Path, fmt: str) -> list[str]:
    """The timed command: decode ``bitstream`` single-threaded and discard the frames."""
    return [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-f",
        fmt,
        "-i",
        path_arg(Path(bitstream)),
        "-map",
        "0:v:0",
        "-f",
        "null",
        "-",
    ]


def decode_speed(bitstream: Path, fmt: str, *, repeats: int = 3) -> DecodeSpeed:
    """Time the single-thread decode of ``bitstream`` (module docstring).

    Raises:
        ConfigError: ``repeats`` < 1 or a format without a frame reader; FfmpegError: the
            decode fails.
    """
    if int(repeats) != repeats or repeats < 1:
        raise invalid("repeats", repeats, "an integer >= 1")
    frames = len(cached_frames(Path(bitstream), fmt))
    cmd = decode_cmd_null(bitstream, fmt)
    times = [run_command(cmd, error=FfmpegError).elapsed_s for _ in range(int(repeats))]
    return DecodeSpeed(frames, min(times), tuple(times))


def codec_decode_speed(codec: object, bitstream: Path, *, repeats: int = 3) -> DecodeSpeed:
    """Time a learned codec's own decoder on ``bitstream`` (module docstring).

    Args:
        codec: a codec with ``decode_null(bitstream) -> frames`` (compressai, inr); its
            ``load_for(bitstream)``, when it has one, runs first, untimed.
        bitstream: the coded file.
        repeats: timed decodes; the best counts.

    Raises:
        ConfigError: ``repeats`` < 1, or a codec without its own decoder.
    """
    if int(repeats) != repeats or repeats < 1:
        raise invalid("repeats", repeats, "an integer >= 1")
    decode = getattr(codec, "decode_null", None)
    if decode is None:
        raise invalid(
            "codec",
            getattr(codec, "name", codec),
            "a codec that decodes in this process (compressai, inr)",
        )
    prepare = getattr(codec, "load_for", None)
    if prepare is not None:
        prepare(Path(bitstream))
    times, frames = [], 0
    for _ in range(int(repeats)):
        start = time.perf_counter()
        frames = int(decode(Path(bitstream)))
        times.append(time.perf_counter() - start)
    return DecodeSpeed(frames, min(times), tuple(times))
