"""Conventional codecs through the bundled ffmpeg: x264, x265, vp9, aom-av1, svt-av1, vvenc.

Each codec writes a raw elementary stream where one exists (Annex-B H.264/HEVC/VVC, AV1
low-overhead OBUs) so that rates count the codec's bits; VP9 has no raw format and goes in
IVF (32-byte file header + 12 bytes per frame, documented overhead).

Fixed-quantiser modes. ``qp`` is the HEVC/VVC-convention quantiser (the QP of HM/VTM, x265
and VVenC: the same ``qp`` means the same step size relative to the sample range at every bit
depth); each codec maps it to its encoder's native value (:meth:`FfmpegCodec.native_rate`,
recorded in results.csv as ``native_rate_point``):

=========  ========  =========================================  ===========================
codec      ``qp``    how a fixed quantiser is achieved          native value at b bits
=========  ========  =========================================  ===========================
x264       0-51      ``-qp N`` (x264 CQP; P/B frames get the    ``qp + 6 * (b - 8)``: x264's
                     usual ip/pb offsets)                       QP is H.264's QP'Y, offset by
                                                                QpBdOffset at high bit depth
x265       0-51      ``-qp N`` (x265 CQP, ``aq-mode=0``)        ``qp`` (HEVC convention)
vvenc      0-63      ``-qp N`` with ``-qpa 0``                  ``qp`` (VVC convention)
vp9        0-63      libvpx end-usage=q, ``cq-level = min-q =   ``qp``: a quantiser *index*;
                     max-q = N``, aq-mode 0                     libvpx's tables scale the
                                                                step with bit depth
aom-av1    0-63      libaom end-usage=q, as vp9                 ``qp`` (as vp9)
svt-av1    1-63      SVT-AV1 CQP (``rc=0``), ``-qp N``, aq off  ``qp`` (as vp9)
=========  ========  =========================================  ===========================

Coded format: every codec lists the input formats it codes as they are
(``native_pix_fmts``, from ``ffmpeg -h encoder=...`` of the bundled build); the encode asks
for the input's format explicitly (``-pix_fmt``) and a format outside that list is refused
before encoding, unless the codec option ``pix_fmt=`` asks for a conversion. VVenC takes
only 10-bit 4:2:0: 8-bit 4:2:0 is coded at 10 bits (a lossless left shift, as the VTM CTC
code 8-bit content at internal bit depth 10), and ``coded_pix_fmt`` says so.

Picture sizes: what each encoder codes (``min_size``, ``max_size``, ``whole_chroma``), found
by encoding and decoding 2 frames of lavfi sources at each boundary with the bundled ffmpeg
n9.0.2 (x265 4.3+49, libvpx 1.17.0, libaom 3.15.1, SVT-AV1 4.2.0, VVenC 1.15; 2026-12-07).
Anything outside is refused before any job (:meth:`Codec.check_size`), where ffmpeg would
only say "Nothing was written into output file":

=========  =======  ============  ===========  ==============================================
codec      min      max           even sizes   what happens outside
=========  =======  ============  ===========  ==============================================
x264       1x1      16384x16384   chroma       "invalid width x height"; 4:2:0 odd: "width
                                               not divisible by 2"
x265       16x16    65536x65536   chroma       "Image size is too small (14x14)"; 131072:
                                               "Cannot open libx265 encoder"
vvenc      32x32    25328x25328   chroma       above 25328 (VVC level 6.3: 25332) an empty
                                               bitstream; below 32x32 (16x16, 8x32, 32x10)
                                               failures on ordinary content
vp9        1x1      65536x65536   no           65538: "g_w out of range [1..65536]"
aom-av1    1x1      65536x16384   no           taller: ffmpeg's av1_metadata cannot write
                                               the OBUs; 65538: "g_w out of range"
svt-av1    2x2      16384x8704    no           1x2, 2x1 and 16386 wide or 8706 tall fail
=========  =======  ============  ===========  ==============================================

"chroma": width and height are whole multiples of the chroma subsampling (4:2:0 even width
and height, 4:2:2 even width); VP9 and AV1 code odd sizes of subsampled formats.

``kbps`` (target bit rate in kbit/s, 1-200000) uses each encoder's rate control, passing
``-b:v`` (bits per second, the target rounded to 1 bit/s), unconstrained (no VBV):

=========  ==========================================================================
codec      ``kbps``: how the target is met
=========  ==========================================================================
x264       two-pass ABR: ``-pass 1`` (output discarded) then ``-pass 2``
x265       two-pass ABR: ``-x265-params pass=1:stats=F`` then ``pass=2``
vvenc      two-pass rate control: ``-pass 1`` then ``-pass 2`` (libvvenc stats file)
vp9        two-pass VBR (libvpx end-usage=vbr): ``-pass 1`` then ``-pass 2``
aom-av1    two-pass VBR (libaom end-usage=vbr): ``-pass 1`` then ``-pass 2``
svt-av1    two-pass VBR (``rc=1``): ``-pass 1`` then ``-pass 2`` (the bundled libsvtav1
           takes ffmpeg's pass flags and stats file)
=========  ==========================================================================

The first pass's statistics file lives in a temporary folder inside the ``scratch_dir``
given to :meth:`FfmpegCodec.encode_in` (a run's ``.tmp``), removed after the encode; the
reported ``enc_s`` is the time of all passes together.

``crf`` (constant rate factor / constant quality) is offered where the encoder has it. The
defaults aim at random-access-like coding: B-frames/hierarchical prediction on, one intra
frame every ``gop`` frames (default 32), no scene-cut I-frames, one thread per encoder for
deterministic bitstreams (parallelism comes from running jobs side by side).

``gop=-1`` is one intra frame, then only inter frames (the CTC "intra period -1"), checked
with the bundled ffmpeg on 300 frames (frame types from ``-vf showinfo``): x264
``-x264-params keyint=infinite`` (ffmpeg's ``-g -1`` would leave x264's default of 250),
x265 ``keyint=-1``, svt-av1 ``keyint=-1``, vp9 and aom-av1 ``-g`` = ``-keyint_min`` =
1000000 (libvpx's default for ``-g -1`` is a key frame every 128 frames), vvenc
``IntraPeriod=-1``.

vvenc's intra period goes in ``-vvenc-params IntraPeriod=gop:POC0IDR=1``: libvvenc ignores
ffmpeg's ``-g`` and takes its intra period from ``-period`` (seconds, default 1), and
without ``POC0IDR=1`` VVenC codes its first picture as an IDR at display frame ``gop - 1``
whose leading pictures (RADL, B slices) are displayed before it. Checked with the bundled
ffmpeg (VVenC 1.15, 64 and 300 frames of 64x64 at 25 fps; frame types from ``-vf showinfo``
and :func:`vqabench.codecs.framesizes.probe_frames`, which agree): ``-g 8``, ``-g 32`` and
``-g 64``, used before, all gave intra frames at display 23, 47 (24 apart: one second at
VVenC's GOP granularity); every ``gop`` tried (1, 2, 7, 8, 16, 20, 24, 32, 33, 36, 50, 100,
128, 10^6) and -1 gives intra frames at exactly 0, gop, 2 gop, ... (an IDR, then CRA
pictures; VVenC warns that gop = 32 N + 1..4 codes less efficiently, and codes it).
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.codecs.options import check_preset
from vqabench.errors import CodecError, FfmpegError, invalid
from vqabench.io.ffmpeg import ffmpeg_path, ffmpeg_version, path_arg
from vqabench.io.process import run_command
from vqabench.io.video import PIX_FMTS, Video

__all__ = [
    "ALL_PIX_FMTS",
    "INFINITE_GOP",
    "KBPS_RANGE",
    "FfmpegCodec",
    "X264",
    "X265",
    "Vp9",
    "AomAv1",
    "SvtAv1",
    "Vvenc",
]


#: The formats vqabench reads and writes (4:2:0, 4:2:2, 4:4:4 at 8 and 10 bits).
ALL_PIX_FMTS: tuple[str, ...] = tuple(PIX_FMTS)


KBPS_RANGE: tuple[float, float] = (1, 200_000)
#: ``gop`` value meaning one intra frame, then only inter frames.
INFINITE_GOP = -1
#: ``-g`` = ``-keyint_min`` of vp9 and aom-av1 for ``gop=-1``: no key frame after the first
#: for a million frames (libaom's encode time grows with this number: INT_MAX took 15 s
#: more for 40 frames of 64x64; a million adds milliseconds).
_NO_MORE_KEYFRAMES = str(1_000_000)


def _bps(rate: RatePoint) -> str:
    """``-b:v`` value (bits per second) of a ``kbps`` rate point."""
    return str(round(float(rate.value) * 1000))


def _rate(fps: Fraction) -> str:
    return f"{fps.numerator}/{fps.denominator}"


class FfmpegCodec(Codec):
    """A codec driven by one ffmpeg encoder; decoding uses ffmpeg's decoder for the format.

    Args:
        preset: encoder speed preset (encoder-specific names or numbers; see each class).
        gop: intra period in frames (one I-frame every ``gop`` frames, the first at frame
            0); -1: only the first frame is intra.
        threads: encoder threads; 1 (default) gives deterministic bitstreams.
        extra: extra ffmpeg output arguments appended verbatim (as a list, no shell).
        pix_fmt: convert every input to this format before coding (one of
            ``native_pix_fmts``); default None: code the input's own format or refuse it.
    """

    encoder: ClassVar[str]
    muxer: ClassVar[str]
    default_preset: ClassVar[str | int]

    def __init__(
        self,
        *,
        preset: str | int | None = None,
        gop: int = 32,
        threads: int = 1,
        extra: list[str] | tuple[str, ...] = (),
        pix_fmt: str | None = None,
    ):
        self.preset = check_preset(self.name, self.default_preset if preset is None else preset)
        if pix_fmt is not None and pix_fmt not in self.native_pix_fmts:
            raise CodecError(
                f"{self.name}: pix_fmt={pix_fmt!r} is not allowed: expected one "
                f"of the formats it codes ({', '.join(self.native_pix_fmts)})"
            )
        self.pix_fmt = pix_fmt
        if int(gop) != gop or (gop < 1 and gop != INFINITE_GOP):
            raise invalid(
                "gop",
                gop,
                "an integer >= 1 (frames between intra frames) or -1 "
                "(one intra frame, then only inter frames)",
            )
        if int(threads) != threads or threads < 0:
            raise invalid("threads", threads, "an integer >= 0 (0 = encoder decides)")
        if isinstance(extra, str):
            raise invalid("extra", extra, "a list of arguments, not one string")
        self.gop, self.threads, self.extra = int(gop), int(threads), tuple(str(a) for a in extra)

    @property
    def options(self) -> dict:
        opts = {
            "preset": self.preset,
            "gop": self.gop,
            "threads": self.threads,
            "extra": list(self.extra),
        }
        return opts if self.pix_fmt is None else {**opts, "pix_fmt": self.pix_fmt}

    def version(self) -> str:
        return ffmpeg_version()

    def rate_args(self, rate: RatePoint) -> list[str]:
        """Arguments that set the rate point."""
        if rate.param == "kbps":
            return ["-b:v", _bps(rate)]
        return [f"-{rate.param}", str(rate.value)]

    def pass_args(self, pass_no: int, stats: Path) -> list[str]:
        """Arguments that select pass ``pass_no`` (1 or 2) with statistics file ``stats``."""
        return ["-pass", str(pass_no), "-passlogfile", path_arg(stats)]

    def encode_passes(
        self, source: Video, bitstream: Path, rate: RatePoint, stats: Path
    ) -> list[list[str]]:
        """Commands of a two-pass ``kbps`` encode, in order: the first pass (output
        discarded) and the second."""
        head = self._encode_head(source, rate)
        return [
            [*head, *self.pass_args(1, stats), *self.extra, "-f", "null", "-"],
            [*head, *self.pass_args(2, stats), *self.extra, "-f", self.muxer, path_arg(bitstream)],
        ]

    def encode_in(
        self, source: Video, bitstream: Path, rate: RatePoint, *, scratch_dir: Path | None = None
    ) -> float:
        """Encode; a ``kbps`` point runs :meth:`encode_passes` with the statistics file in a
        temporary folder under ``scratch_dir`` (removed afterwards). Returns the wall time
        of all passes."""
        if rate.param != "kbps":
            return self.encode(source, bitstream, rate)
        if scratch_dir is not None:
            Path(scratch_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="vqabench-pass-", dir=scratch_dir) as tmp:
            stats = Path(tmp).absolute() / "stats"
            return sum(
                self._run_encoder(cmd) for cmd in self.encode_passes(source, bitstream, rate, stats)
            )

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        """Encoder-specific arguments (preset, GOP, threads)."""
        raise NotImplementedError

    def pix_fmt_args(self, source: Video) -> list[str]:
        """``-pix_fmt`` of the coded format (refuses a format the codec does not code)."""
        return ["-pix_fmt", self.coded_pix_fmt(source.pix_fmt)]

    def _encode_head(self, source: Video, rate: RatePoint) -> list[str]:
        # Warnings stay visible (encode() refuses a conversion ffmpeg chose by itself).
        native = self.native_rate(rate, self.coded_pix_fmt(source.pix_fmt))
        return [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "warning",
            "-i",
            path_arg(source.path),
            "-map",
            "0:v:0",
            "-an",
            *self.pix_fmt_args(source),
            "-c:v",
            self.encoder,
            *self.encoder_args(source, native),
            *self.rate_args(native),
        ]

    def encode_cmd(self, source: Video, bitstream: Path, rate: RatePoint) -> list[str]:
        if rate.param == "kbps":
            raise CodecError(
                f"{self.name}: kbps is a 2-pass encode; build its commands with "
                "encode_passes() (encode_in() runs them)"
            )
        return [
            *self._encode_head(source, rate),
            *self.extra,
            "-f",
            self.muxer,
            path_arg(bitstream),
        ]

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        return self._run_encoder(self.encode_cmd(source, bitstream, rate))

    def _run_encoder(self, cmd: list[str]) -> float:
        """Run one encoder command; refuse a coded format ffmpeg chose by itself."""
        proc = run_command(cmd, error=FfmpegError)
        swapped = [ln for ln in proc.stderr.splitlines() if "auto-selecting format" in ln]
        if swapped:
            raise CodecError(f"{self.name}: ffmpeg changed the coded format: {swapped[0].strip()}")
        return proc.elapsed_s

    def decode_cmd(self, bitstream: Path, output: Path, source: Video) -> list[str]:
        # Raw streams carry no reliable frame rate: give the source's, and never drop or
        # duplicate frames on output. Back to the source's format with plain rounding, as
        # HM/VTM write 8-bit output from 10-bit coding (swscale would dither by default).
        rate_in = [] if self.muxer == "ivf" else ["-framerate", _rate(source.fps)]
        return [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-threads",
            "1",
            *rate_in,
            "-f",
            self.muxer,
            "-i",
            path_arg(bitstream),
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            source.pix_fmt,
            "-sws_dither",
            "none",
            "-strict",
            "-1",
            "-f",
            "yuv4mpegpipe",
            path_arg(output),
        ]


class _X26x(FfmpegCodec):
    """What x264 and x265 share: the QP/CRF range 0-51, every input format, preset
    ``medium``, whole chroma samples."""

    default_preset = "medium"
    rate_params = {"qp": (0, 51), "crf": (0, 51), "kbps": KBPS_RANGE}
    native_pix_fmts = ALL_PIX_FMTS
    whole_chroma = True


@CODECS.register("x264")
class X264(_X26x):
    """H.264/AVC by x264. ``qp`` 0-51 (CQP) or ``crf`` 0-51. Preset default ``medium``."""

    name = "x264"
    max_size = (16384, 16384)
    encoder, muxer, extension = "libx264", "h264", ".264"

    def native_rate(self, rate: RatePoint, coded_pix_fmt: str) -> RatePoint:
        """x264's ``-qp`` is H.264's QP'Y = QP + QpBdOffset (6 per bit above 8): the HEVC-
        convention ``qp`` becomes ``qp + 6 * (bit_depth - 8)``. ``crf`` needs no offset
        (x264 applies it internally)."""
        if rate.param != "qp":
            return rate
        return RatePoint("qp", int(rate.value) + 6 * (PIX_FMTS[coded_pix_fmt][2] - 8))

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        keyint = (
            ["-x264-params", "keyint=infinite"]
            if self.gop == INFINITE_GOP
            else ["-g", str(self.gop), "-keyint_min", str(self.gop)]
        )
        return [
            "-preset",
            str(self.preset),
            *keyint,
            "-sc_threshold",
            "0",
            "-threads",
            str(self.threads),
        ]


@CODECS.register("x265")
class X265(_X26x):
    """HEVC by x265. ``qp`` 0-51 (CQP, aq-mode off) or ``crf`` 0-51. Preset ``medium``."""

    name = "x265"
    min_size, max_size = (16, 16), (65536, 65536)
    encoder, muxer, extension = "libx265", "hevc", ".265"

    def pass_args(self, pass_no: int, stats: Path) -> list[str]:
        return []  # x265 takes pass and stats file in -x265-params (see encode_passes)

    def encode_passes(
        self, source: Video, bitstream: Path, rate: RatePoint, stats: Path
    ) -> list[list[str]]:
        if ":" in str(stats) or "=" in str(stats):
            raise CodecError(
                f"{self.name}: the two-pass statistics path {str(stats)!r} "
                "contains ':' or '=', which -x265-params cannot carry"
            )
        cmds = super().encode_passes(source, bitstream, rate, stats)
        for pass_no, cmd in enumerate(cmds, start=1):
            i = cmd.index("-x265-params") + 1
            cmd[i] += f":pass={pass_no}:stats={stats}"
        return cmds

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        pools = "none" if self.threads == 1 else (str(self.threads) if self.threads else "*")
        keyint = (
            [f"keyint={self.gop}"]
            if self.gop == INFINITE_GOP
            else [f"keyint={self.gop}", f"min-keyint={self.gop}"]
        )
        params = [
            *keyint,
            "scenecut=0",
            f"pools={pools}",
            f"frame-threads={max(self.threads, 1) if self.threads else 0}",
            "info=0",
            "log-level=error",
        ]
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
    rate_params = {"qp": (0, 63), "kbps": KBPS_RANGE}
    native_pix_fmts = ("yuv420p10le",)
    widened_pix_fmts = {"yuv420p": "yuv420p10le"}
    min_size, max_size, whole_chroma = (32, 32), (25328, 25328), True
    # 1: the intra period is ``gop`` frames from frame 0 (it was about one second: ``-g``)
    revision = 1

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        """Intra period ``gop`` (or -1) from frame 0: ``IntraPeriod`` and ``POC0IDR`` in
        ``-vvenc-params`` (libvvenc ignores ``-g``; see the module docstring)."""
        params = [f"IntraPeriod={self.gop}", "POC0IDR=1", f"threads={self.threads}"]
        return ["-preset", str(self.preset), "-qpa", "0", "-vvenc-params", ":".join(params)]


class _LibaomLike(FfmpegCodec):
    """Shared arguments of libvpx-vp9 and libaom-av1 (same rate-control vocabulary)."""

    rate_params = {"qp": (0, 63), "crf": (0, 63), "kbps": KBPS_RANGE}
    native_pix_fmts = ALL_PIX_FMTS
    max_size = (65536, 65536)
    lag_in_frames: ClassVar[int] = 25

    def rate_args(self, rate: RatePoint) -> list[str]:
        if rate.param == "kbps":  # end-usage=vbr (libvpx/libaom default without -crf)
            return ["-b:v", _bps(rate)]
        q = str(rate.value)
        if rate.param == "qp":  # fixed quantiser: cq-level pinned between min-q and max-q
            return ["-crf", q, "-b:v", "0", "-qmin", q, "-qmax", q, "-aq-mode", "0"]
        return ["-crf", q, "-b:v", "0"]

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        keyint = _NO_MORE_KEYFRAMES if self.gop == INFINITE_GOP else str(self.gop)
        return [
            "-cpu-used",
            str(self.preset),
            "-g",
            keyint,
            "-keyint_min",
            keyint,
            "-lag-in-frames",
            str(self.lag_in_frames),
            "-row-mt",
            "0",
            "-threads",
            str(self.threads),
        ]


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
    max_size = (65536, 16384)


@CODECS.register("svt-av1")
class SvtAv1(FfmpegCodec):
    """AV1 by SVT-AV1 (preset default 8 of -1..13). ``qp`` 1-63 in CQP mode (rc=0, adaptive
    quantisation off) or ``crf`` 1-63. Bitstream as AV1 low-overhead OBUs."""

    name = "svt-av1"
    encoder = "libsvtav1"
    muxer = "obu"
    extension = ".obu"
    default_preset = 8
    rate_params = {"qp": (1, 63), "crf": (1, 63), "kbps": KBPS_RANGE}
    native_pix_fmts = ("yuv420p", "yuv420p10le")
    min_size, max_size = (2, 2), (16384, 8704)

    def rate_args(self, rate: RatePoint) -> list[str]:
        if rate.param == "kbps":
            return ["-b:v", _bps(rate)]
        return [f"-{rate.param}", str(rate.value)]

    def encoder_args(self, source: Video, rate: RatePoint) -> list[str]:
        params = [f"keyint={self.gop}", "scd=0", f"lp={max(self.threads, 1)}"]
        if rate.param == "qp":
            params += ["rc=0", "aq-mode=0"]
        elif rate.param == "kbps":
            params.append("rc=1")  # VBR
        return ["-preset", str(self.preset), "-svtav1-params", ":".join(params)]
