"""Conventional codecs through the bundled ffmpeg: x264, x265, vp9, aom-av1, svt-av1, vvenc.

Each codec writes a raw elementary stream where one exists (Annex-B H.264/HEVC/VVC, AV1
low-overhead OBUs) so that rates count the codec's bits; VP9 has no raw format and goes in
IVF (32-byte file header + 12 bytes per frame, documented overhead).

Fixed-quantiser modes, on each encoder's native scale:

=========  ========  ==================================================================
codec      ``qp``    how a fixed quantiser is achieved
=========  ========  ==================================================================
x264       0-51      ``-qp N`` (x264 CQP; P/B frames get the usual ip/pb offsets)
x265       0-51      ``-qp N`` (x265 CQP, ``aq-mode=0``; no informational SEI)
vvenc      0-63      ``-qp N`` with ``-qpa 0`` (no perceptual QP adaptation)
vp9        0-63      libvpx end-usage=q, ``cq-level = min-q = max-q = N``, aq-mode 0
aom-av1    0-63      libaom end-usage=q, ``cq-level = min-q = max-q = N``, aq-mode 0
svt-av1    1-63      SVT-AV1 CQP (``rc=0``), ``-qp N``, adaptive quantisation off
=========  ========  ==================================================================

``crf`` (constant rate factor / constant quality) is offered where the encoder has it. The
defaults aim at random-access-like coding: B-frames/hierarchical prediction on, one intra
frame every ``gop`` frames (default 32), no scene-cut I-frames, one thread per encoder for
deterministic bitstreams (parallelism comes from running jobs side by side).
"""

from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.errors import invalid
from vqabench.io.ffmpeg import ffmpeg_info, ffmpeg_path, path_arg
from vqabench.io.video import Video

__all__ = ["FfmpegCodec", "X264", "X265", "Vp9", "AomAv1", "SvtAv1", "Vvenc"]


@functools.lru_cache(maxsize=1)
def _ffmpeg_version() -> str:
    return f"ffmpeg {ffmpeg_info().version}"


def _rate(fps: Fraction) -> str:
    return f"{fps.numerator}/{fps.denominator}"


class FfmpegCodec(Codec):
    """A codec driven by one ffmpeg encoder; decoding uses ffmpeg's decoder for the format.

    Args:
        preset: encoder speed preset (encoder-specific names or numbers; see each class).
        gop: intra period in frames (one I-frame every ``gop`` frames).
        threads: encoder threads; 1 (default) gives deterministic bitstreams.
        extra: extra ffmpeg output arguments appended verbatim (as a list, no shell).
    """

    encoder: ClassVar[str]
    muxer: ClassVar[str]
    default_preset: ClassVar[str | int]

    def __init__(self, *, preset: str | int | None = None, gop: int = 32, threads: int = 1,
                 extra: list[str] | tuple[str, ...] = ()):
        self.preset = self.default_preset if preset is None else preset
        if int(gop) != gop or gop < 1:
            raise invalid("gop", gop, "an integer >= 1 (frames between intra frames)")
        if int(threads) != threads or threads < 0:
            raise invalid("threads", threads, "an integer >= 0 (0 = encoder decides)")
        if isinstance(extra, str):
            raise invalid("extra", extra, "a list of arguments, not one string")
        self.gop, self.threads, self.extra = int(gop), int(threads), tuple(str(a) for a in extra)

    @property
    def options(self) -> dict:
        return {"preset": self.preset, "gop": self.gop, "threads": self.threads,
                "extra": list(self.extra)}

    def version(self) -> str:
        return _ffmpeg_version()

    def rate_args(self, rate: RatePoint) -> list[str]:
        """Arguments that set the rate point."""
        return [f"-{rate.param}", str(rate.value)]

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        """Encoder-specific arguments (preset, GOP, threads)."""
        raise NotImplementedError

    def encode_cmd(self, source: Video, bitstream: Path, rate: RatePoint) -> list[str]:
        return [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
                "-i", path_arg(source.path), "-map", "0:v:0", "-an",
                "-c:v", self.encoder, *self.encoder_args(source, rate), *self.rate_args(rate),
                *self.extra, "-f", self.muxer, path_arg(bitstream)]

    def decode_cmd(self, bitstream: Path, output: Path, source: Video) -> list[str]:
        # Raw streams carry no reliable frame rate: give the source's, and never drop or
        # duplicate frames on output.
        rate_in = [] if self.muxer == "ivf" else ["-framerate", _rate(source.fps)]
        return [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
                "-threads", "1", *rate_in, "-f", self.muxer, "-i", path_arg(bitstream),
                "-map", "0:v:0", "-fps_mode", "passthrough", "-pix_fmt", source.pix_fmt,
                "-strict", "-1", "-f", "yuv4mpegpipe", path_arg(output)]


@CODECS.register("x264")
class X264(FfmpegCodec):
    """H.264/AVC by x264. ``qp`` 0-51 (CQP) or ``crf`` 0-51. Preset default ``medium``."""

    name = "x264"
    encoder = "libx264"
    muxer = "h264"
    extension = ".264"
    default_preset = "medium"
    rate_params = {"qp": (0, 51), "crf": (0, 51)}

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        return ["-preset", str(self.preset), "-g", str(self.gop), "-keyint_min", str(self.gop),
                "-sc_threshold", "0", "-threads", str(self.threads)]


@CODECS.register("x265")
class X265(FfmpegCodec):
    """HEVC by x265. ``qp`` 0-51 (CQP, aq-mode off) or ``crf`` 0-51. Preset ``medium``."""

    name = "x265"
    encoder = "libx265"
    muxer = "hevc"
    extension = ".265"
    default_preset = "medium"
    rate_params = {"qp": (0, 51), "crf": (0, 51)}

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        pools = "none" if self.threads == 1 else (str(self.threads) if self.threads else "*")
        params = [f"keyint={self.gop}", f"min-keyint={self.gop}", "scenecut=0",
                  f"pools={pools}", f"frame-threads={max(self.threads, 1) if self.threads else 0}",
                  "info=0", "log-level=error"]
        if rate.param == "qp":
            params.append("aq-mode=0")
        return ["-preset", str(self.preset), "-x265-params", ":".join(params)]


@CODECS.register("vvenc")
class Vvenc(FfmpegCodec):
    """VVC/H.266 by Fraunhofer VVenC. ``qp`` 0-63 with perceptual QPA off. Preset 1 (fast;
    0 faster ... 4 slower)."""

    name = "vvenc"
    encoder = "libvvenc"
    muxer = "vvc"
    extension = ".266"
    default_preset = 1
    rate_params = {"qp": (0, 63)}

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        return ["-preset", str(self.preset), "-qpa", "0", "-g", str(self.gop),
                "-vvenc-params", f"threads={self.threads}"]


class _LibaomLike(FfmpegCodec):
    """Shared arguments of libvpx-vp9 and libaom-av1 (same rate-control vocabulary)."""

    rate_params = {"qp": (0, 63), "crf": (0, 63)}
    lag_in_frames: ClassVar[int] = 25

    def rate_args(self, rate: RatePoint) -> list[str]:
        q = str(rate.value)
        if rate.param == "qp":  # fixed quantiser: cq-level pinned between min-q and max-q
            return ["-crf", q, "-b:v", "0", "-qmin", q, "-qmax", q, "-aq-mode", "0"]
        return ["-crf", q, "-b:v", "0"]

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        return ["-cpu-used", str(self.preset), "-g", str(self.gop), "-keyint_min", str(self.gop),
                "-lag-in-frames", str(self.lag_in_frames), "-row-mt", "0",
                "-threads", str(self.threads)]


@CODECS.register("vp9")
class Vp9(_LibaomLike):
    """VP9 by libvpx (good quality, ``cpu-used`` preset default 4). ``qp`` 0-63 is libvpx's
    quantiser scale (fixed: end-usage=q with min-q = max-q = cq-level), ``crf`` 0-63 is
    constrained quality. Bitstream in IVF."""

    name = "vp9"
    encoder = "libvpx-vp9"
    muxer = "ivf"
    extension = ".ivf"
    default_preset = 4

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        return [*super().encoder_args(source, rate), "-deadline", "good", "-auto-alt-ref", "1"]


@CODECS.register("aom-av1")
class AomAv1(_LibaomLike):
    """AV1 by libaom (``cpu-used`` preset default 6). ``qp`` 0-63 fixed as for vp9; ``crf``
    0-63 constant quality. Bitstream as AV1 low-overhead OBUs."""

    name = "aom-av1"
    encoder = "libaom-av1"
    muxer = "obu"
    extension = ".obu"
    default_preset = 6
    lag_in_frames = 19


@CODECS.register("svt-av1")
class SvtAv1(FfmpegCodec):
    """AV1 by SVT-AV1 (preset default 8 of -1..13). ``qp`` 1-63 in CQP mode (rc=0, adaptive
    quantisation off) or ``crf`` 1-63. Bitstream as AV1 low-overhead OBUs."""

    name = "svt-av1"
    encoder = "libsvtav1"
    muxer = "obu"
    extension = ".obu"
    default_preset = 8
    rate_params = {"qp": (1, 63), "crf": (1, 63)}

    def rate_args(self, rate: RatePoint) -> list[str]:
        return [f"-{rate.param}", str(rate.value)]

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        params = [f"keyint={self.gop}", "scd=0", f"lp={max(self.threads, 1)}"]
        if rate.param == "qp":
            params += ["rc=0", "aq-mode=0"]
        return ["-preset", str(self.preset), "-svtav1-params", ":".join(params)]
