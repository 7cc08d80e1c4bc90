"""The codec contract: codecs *build* command lists; :func:`run_codec` executes and times them.

A rate point is explicit about its control (``qp=32``, ``crf=40``, ``model=s``): a bare
number never crosses an API, because 32 means different things to different encoders.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from vqabench.errors import CodecError, FfmpegError, invalid
from vqabench.io.atomic import atomic_path
from vqabench.io.process import run_command
from vqabench.io.video import PIX_FMTS, Video, open_video, set_colour_tags
from vqabench.registry import Registry

__all__ = [
    "Codec",
    "RatePoint",
    "EncodeResult",
    "CODECS",
    "run_codec",
    "parse_rate_point",
    "keep_decoded",
]

CODECS: Registry[type[Codec]] = Registry("codec")


@dataclass(frozen=True)
class RatePoint:
    """One point of a rate ladder: a rate-control parameter and its value."""

    param: str
    value: int | float | str

    @property
    def label(self) -> str:
        """Text form, e.g. ``qp=32``; used in results and file names."""
        return f"{self.param}={self.value}"

    def __str__(self) -> str:
        return self.label


def parse_rate_point(text: str) -> RatePoint:
    """Parse ``qp=32`` into a RatePoint (numbers become int or float).

    Raises:
        ConfigError: if the text is not ``param=value``.
    """
    if text.count("=") != 1 or not text.split("=")[0].strip() or not text.split("=")[1].strip():
        raise invalid("rate_point", text, "param=value, e.g. qp=32 or crf=40")
    param, raw = (s.strip() for s in text.split("="))
    value: int | float | str
    try:
        value = int(raw)
    except ValueError:
        try:
            value = float(raw)
        except ValueError:
            value = raw
    return RatePoint(param, value)


@dataclass(frozen=True)
class EncodeResult:
    """What one encode + decode produced.

    Attributes:
        bitstream: path of the coded file.
        bits: 8 x its size in bytes.
        enc_s: encoding wall time in seconds.
        dec_s: decoding wall time in seconds.
        decoded: the decoded video (a temporary Y4M the caller removes), or None.
    """

    bitstream: Path
    bits: int
    enc_s: float
    dec_s: float
    decoded: Video | None = None


class Codec:
    """Base class. Subclasses set the class attributes and build command lists.

    Attributes:
        name: registry name.
        extension: bitstream file suffix (raw elementary streams where the format has one,
            so that bits are the codec's bits, not a container's).
        rate_params: allowed rate-control parameters and their inclusive value ranges.
    """

    name: ClassVar[str]
    extension: ClassVar[str] = ".bin"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {}
    #: Input formats (ffmpeg pix_fmt names) the codec codes as they are.
    native_pix_fmts: ClassVar[tuple[str, ...]] = ()
    #: Formats coded at a higher bit depth without loss (samples shifted left, chroma
    #: untouched), e.g. 8-bit 4:2:0 by an encoder whose only input is 10-bit 4:2:0.
    widened_pix_fmts: ClassVar[dict[str, str]] = {}
    #: Suffixes of files the encoder writes next to its bitstream (``NAME<suffix>``, e.g. a
    #: training curve); :func:`run_codec` moves them with the bitstream to its final name.
    sidecar_suffixes: ClassVar[tuple[str, ...]] = ()
    #: pix_fmt the user asked to convert every input to (codec option ``pix_fmt=``), or None.
    pix_fmt: str | None = None
    #: Smallest and largest picture (width, height) the encoder codes (None: no limit).
    min_size: ClassVar[tuple[int, int]] = (1, 1)
    max_size: ClassVar[tuple[int, int] | None] = None
    #: True when width and height must be whole multiples of the coded format's chroma
    #: subsampling (even for 4:2:0): H.264, HEVC and VVC; VP9 and AV1 code odd sizes.
    whole_chroma: ClassVar[bool] = False
    #: Bump when the commands a codec builds change its output for the same name, version
    #: and options, so that stored results are recomputed (part of the job key when > 0).
    revision: ClassVar[int] = 0

    def coded_pix_fmt(self, source_pix_fmt: str) -> str:
        """The format the bitstream codes for an input of ``source_pix_fmt``.

        Raises:
            CodecError: the codec cannot code that format as it is and no ``pix_fmt=``
                conversion was asked for (one line: codec, format, what it codes).
        """
        if self.pix_fmt is not None:
            return self.pix_fmt
        if source_pix_fmt in self.native_pix_fmts:
            return source_pix_fmt
        if source_pix_fmt in self.widened_pix_fmts:
            return self.widened_pix_fmts[source_pix_fmt]
        supported = ", ".join([*self.native_pix_fmts, *self.widened_pix_fmts])
        raise CodecError(
            f"{self.name} cannot code {source_pix_fmt} as it is (it codes {supported}); "
            f"convert on purpose with the codec option pix_fmt=<one of those>, e.g. "
            f"{self.name}:...:pix_fmt={self.native_pix_fmts[0] if self.native_pix_fmts else '?'}"
        )

    def check_size(self, width: int, height: int, coded_pix_fmt: str | None = None) -> None:
        """Refuse a picture size the encoder cannot code (:attr:`min_size`,
        :attr:`max_size`, :attr:`whole_chroma`); ``coded_pix_fmt=None`` checks only the limits.

        Raises:
            CodecError: one line naming the codec, the size and the rule it breaks.

        Example:
            >>> create("x264").check_size(351, 287, "yuv420p")  # raises: even sizes only
        """
        (lo_w, lo_h), rule = self.min_size, ""
        if width < lo_w or height < lo_h:
            rule = f"it codes at least {lo_w}x{lo_h}"
        elif self.max_size and (width > self.max_size[0] or height > self.max_size[1]):
            rule = f"it codes at most {self.max_size[0]}x{self.max_size[1]}"
        elif self.whole_chroma and coded_pix_fmt in PIX_FMTS:
            sx, sy = PIX_FMTS[coded_pix_fmt][:2]
            if width % sx or height % sy:
                sides = "width and height" if sy > 1 else "width"
                rule = f"{coded_pix_fmt} needs an even {sides} ({sx}x{sy} chroma subsampling)"
        if rule:
            raise CodecError(f"{self.name} cannot code {width}x{height}: {rule}")

    def native_rate(self, rate: RatePoint, coded_pix_fmt: str) -> RatePoint:
        """The rate point as the encoder itself takes it for ``coded_pix_fmt`` (``qp`` is
        the HEVC/VVC-convention quantiser at every bit depth; see each codec)."""
        return rate

    def check_rate_point(self, rate: RatePoint) -> None:
        """Raise CodecError unless ``rate`` is a supported control with a value in range."""
        if rate.param not in self.rate_params:
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: expected one of "
                + ", ".join(f"{p}={int(lo)}..{int(hi)}" for p, (lo, hi) in self.rate_params.items())
            )
        lo, hi = self.rate_params[rate.param]
        if not isinstance(rate.value, int | float) or not lo <= rate.value <= hi:
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: {rate.param} must be "
                f"a number in {lo:g}..{hi:g}"
            )

    @property
    def options(self) -> dict:
        """Options that determine the bitstream (part of the job key)."""
        return {}

    def version(self) -> str:
        """Version text of the implementation (part of the job key)."""
        return "unknown"

    @property
    def spec(self) -> str:
        """Stable text of name, version, options and :attr:`revision` (when > 0; codecs
        never revised keep their earlier keys), hashed into job keys."""
        identity = {"name": self.name, "version": self.version(), "options": self.options}
        if self.revision:
            identity["revision"] = self.revision
        return json.dumps(identity, sort_keys=True, default=str)

    def encode_cmd(self, source: Video, bitstream: Path, rate: RatePoint) -> list[str]:
        """Argument list (executable first) that encodes ``source`` into ``bitstream``."""
        raise NotImplementedError

    def decode_cmd(self, bitstream: Path, output: Path, source: Video) -> list[str]:
        """Argument list that decodes ``bitstream`` into the Y4M file ``output``."""
        raise NotImplementedError

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Encode and return the wall time in seconds (override for non-command codecs)."""
        return _timed(self.encode_cmd(source, bitstream, rate))

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Decode and return the wall time in seconds (override for non-command codecs)."""
        return _timed(self.decode_cmd(bitstream, output, source))

    def encode_in(
        self, source: Video, bitstream: Path, rate: RatePoint, *, scratch_dir: Path | None = None
    ) -> float:
        """:meth:`encode` with a folder for temporary files (multi-pass statistics).

        The default ignores ``scratch_dir``; codecs with multi-pass rate control override it
        and remove what they write there.
        """
        return self.encode(source, bitstream, rate)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


def _timed(cmd: list[str]) -> float:
    return run_command(cmd, error=FfmpegError).elapsed_s


def _as_input(decoded: Video, source: Video) -> Video:
    """The decoded video with the input's colour description: a codec codes samples, so the
    decoded samples mean what the input's meant, whatever the bitstream signals. Held in the
    handle only (no copy of the file to rewrite its header); a decoded video that is kept
    (a reference R) gets the tags written by :func:`keep_decoded`."""
    origins = {**dict(decoded.origins), "color_range": "input", "color_matrix": "input"}
    return replace(
        decoded,
        color_range=source.color_range,
        color_matrix=source.color_matrix,
        origins=tuple(origins.items()),
    )


def keep_decoded(decoded: Video, path: Path) -> Path:
    """Move a decoded video to ``path`` (atomically, same file system), its Y4M header
    carrying the colour the handle states, so that it describes itself when reopened."""
    set_colour_tags(decoded.path, decoded.color_range, decoded.color_matrix)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(decoded.path, path)
    return path


def run_codec(
    codec: Codec,
    source: Video,
    rate: RatePoint,
    bitstream: Path,
    *,
    decode_dir: Path | None = None,
    encode: bool = True,
) -> EncodeResult:
    """Encode ``source`` at ``rate`` into ``bitstream`` (atomically), then decode it.

    Args:
        codec: the codec.
        source: Y4M input.
        rate: rate point.
        bitstream: where the coded file goes; written under a temporary name and renamed, so
            a crash never leaves a partial bitstream under the final name.
        decode_dir: directory for the decoded Y4M and for multi-pass statistics files
            (default: system temp); the caller removes ``result.decoded.path`` when done.
        encode: False to reuse an existing bitstream (only decode); enc_s is then 0.

    Raises:
        CodecError: bad rate point, a source format or size the codec does not code (raised
            before encoding), empty bitstream, or decoded video that does not match the source's
            frame count and size.
        FfmpegError: when the encoder or decoder fails.
    """
    codec.check_rate_point(rate)
    # refuses a format or a size it cannot code, before encoding
    codec.check_size(source.width, source.height, codec.coded_pix_fmt(source.pix_fmt))
    bitstream = Path(bitstream)
    enc_s = 0.0
    if encode:
        with atomic_path(bitstream, suffix=codec.extension) as tmp:
            sidecars = [
                (tmp.with_name(tmp.name + sfx), bitstream.with_name(bitstream.name + sfx))
                for sfx in codec.sidecar_suffixes
            ]
            try:
                enc_s = codec.encode_in(source, tmp, rate, scratch_dir=decode_dir)
                if tmp.stat().st_size == 0:
                    raise CodecError(f"{codec.name} at {rate.label} wrote an empty bitstream")
                for made, final in sidecars:
                    if made.is_file():
                        os.replace(made, final)
            finally:
                for made, _ in sidecars:
                    made.unlink(missing_ok=True)
    bits = 8 * bitstream.stat().st_size
    fd, out = tempfile.mkstemp(prefix="vqabench-dec-", suffix=".y4m", dir=decode_dir)
    os.close(fd)
    try:
        dec_s = codec.decode(bitstream, Path(out), source)
        decoded = _as_input(open_video(out), source)
        if (decoded.width, decoded.height, decoded.frames) != (
            source.width,
            source.height,
            source.frames,
        ):
            raise CodecError(
                f"{codec.name} at {rate.label}: decoded {decoded.width}x{decoded.height} with "
                f"{decoded.frames} frames, source is {source.width}x{source.height} with "
                f"{source.frames} frames"
            )
    except BaseException:
        Path(out).unlink(missing_ok=True)
        raise
    return EncodeResult(bitstream, bits, enc_s, dec_s, decoded)
