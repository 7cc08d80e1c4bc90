"""Decoding speed, measured apart from a run's decode-to-file: single thread, to null.

``ffmpeg -threads 1 -f FMT -i BITSTREAM -map 0:v:0 -f null -`` with ffmpeg's default decoder
for the format, run ``repeats`` times; the best (smallest) wall time counts, and
``fps = frames / best_s``. The time includes starting ffmpeg (tens of milliseconds), so
figures mean something only on realistic sizes (720p/1080p, tens of frames); on tiny clips
they measure the process start. The frame count is the bitstream's own
(:func:`~vqabench.codecs.framesizes.cached_frames`).

Example:
    >>> decode_speed(Path("qp32.264"), "h264", repeats=5).fps
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vqabench.codecs.framesizes import cached_frames
from vqabench.errors import FfmpegError, invalid
from vqabench.io.ffmpeg import ffmpeg_path, path_arg
from vqabench.io.process import run_command

__all__ = ["DecodeSpeed", "decode_cmd_null", "decode_speed"]


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
    return [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1",
            "-f", fmt, "-i", path_arg(Path(bitstream)), "-map", "0:v:0", "-f", "null", "-"]


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
