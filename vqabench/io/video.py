"""Video handles, Y4M / raw YUV reading and writing, and YUV <-> RGB conversion.

Inside vqabench every video is a Y4M file or a raw ``.yuv`` file described by a
:class:`Video`; other containers are converted to Y4M through ffmpeg (:func:`to_y4m`).
Frames are :class:`YuvFrame` tuples of numpy planes (``uint8`` for 8-bit, ``uint16`` for
10-bit, little-endian on disk).

Example:
    >>> video = open_video("Beauty_1920x1080_120fps_420_8bit_YUV.yuv")
    >>> for frame in read_frames(video, count=2):
    ...     frame.y.shape   # (1080, 1920)
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from vqabench.errors import FfmpegError, VideoFormatError, invalid
from vqabench.io.atomic import atomic_path
from vqabench.io.ffmpeg import path_arg, run_ffmpeg
from vqabench.io.yuvname import parse_name

if TYPE_CHECKING:  # numpy loads in the functions that use it: listing answers at once
    import numpy as np

__all__ = [
    "Video",
    "YuvFrame",
    "PIX_FMTS",
    "MATRICES",
    "RANGES",
    "default_matrix",
    "probe",
    "Probe",
    "yuv_to_rgb_coefficients",
    "yuv_to_rgb_torch",
    "set_colour_tags",
    "open_video",
    "parse_yuv_name",
    "read_frames",
    "read_all",
    "write_y4m",
    "to_y4m",
    "check_sample_range",
    "check_progressive",
    "frame_timing",
    "FIELD_ORDERS",
    "INTERLACED",
    "yuv_to_rgb",
    "rgb_to_yuv",
]

# pix_fmt -> (chroma subsampling x, y, bit depth)
PIX_FMTS: dict[str, tuple[int, int, int]] = {
    "yuv420p": (2, 2, 8),
    "yuv422p": (2, 1, 8),
    "yuv444p": (1, 1, 8),
    "yuv420p10le": (2, 2, 10),
    "yuv422p10le": (2, 1, 10),
    "yuv444p10le": (1, 1, 10),
}
_Y4M_COLORSPACE = {
    "420jpeg": "yuv420p",
    "420paldv": "yuv420p",
    "420mpeg2": "yuv420p",
    "420": "yuv420p",
    "422": "yuv422p",
    "444": "yuv444p",
    "420p10": "yuv420p10le",
    "422p10": "yuv422p10le",
    "444p10": "yuv444p10le",
}
_Y4M_TAG = {
    "yuv420p": "420jpeg",
    "yuv422p": "422",
    "yuv444p": "444",
    "yuv420p10le": "420p10",
    "yuv422p10le": "422p10",
    "yuv444p10le": "444p10",
}
_RAW_SUFFIXES = {".yuv", ".raw"}
#: YUV<->RGB matrices: (Kr, Kb) of BT.601, BT.709 and BT.2020 non-constant luminance.
MATRICES: dict[str, tuple[float, float]] = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
}
RANGES = ("limited", "full")
# ffmpeg's colorspace names -> ours (bt470bg and smpte170m are BT.601).
_FFMPEG_MATRIX = {
    "bt709": "bt709",
    "bt470bg": "bt601",
    "smpte170m": "bt601",
    "bt601": "bt601",
    "bt2020nc": "bt2020",
    "bt2020c": "bt2020",
    "bt2020": "bt2020",
}
_HD_LINES = 720
#: Field orders: Y4M's ``Ip``/``It``/``Ib``/``Im`` (and ffmpeg's "top first"...).
FIELD_ORDERS = ("progressive", "tff", "bff", "mixed")
_Y4M_INTERLACE = {"p": "progressive", "t": "tff", "b": "bff", "m": "mixed"}
_Y4M_INTERLACE_TAG = {v: k for k, v in _Y4M_INTERLACE.items()}
#: What to do with an interlaced source: refuse it (default) or code its frames (two woven
#: fields each) as progressive frames, on purpose.
INTERLACED = ("refuse", "progressive")


def default_matrix(height: int) -> str:
    """The matrix assumed when nothing states one: BT.601 for SD (< 720 lines), else BT.709."""
    return "bt601" if height < _HD_LINES else "bt709"


class YuvFrame(NamedTuple):
    """One frame as three planes (Y full size, U and V subsampled per the pix_fmt)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class Video:
    """A video file on disk with its format.

    Attributes:
        path: the file.
        width, height: luma size in pixels.
        fps: frame rate as an exact fraction.
        pix_fmt: ffmpeg pixel format name, one of :data:`PIX_FMTS`.
        frames: number of frames in the file.
        container: ``"y4m"`` or ``"yuv"`` (raw planar, no header).
        header_bytes: bytes before the first frame (Y4M stream header).
        color_range: ``"limited"`` (tv) or ``"full"`` (pc).
        color_matrix: YUV<->RGB matrix, one of :data:`MATRICES`; when nothing states it,
            BT.601 below 720 lines and BT.709 from 720 lines (what ffmpeg and players assume).
        origins: ``(field, where)`` pairs saying where fps, pix_fmt, color_range,
            color_matrix and field_order came from: ``header``, ``container``, ``name``,
            ``argument``, ``input`` (inherited from the codec input) or ``default``.
        field_order: one of :data:`FIELD_ORDERS`: ``progressive`` unless a Y4M header says
            ``It`` (``tff``), ``Ib`` (``bff``) or ``Im`` (``mixed``).
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    pix_fmt: str
    frames: int
    container: Literal["y4m", "yuv"] = "y4m"
    header_bytes: int = 0
    color_range: str = ""
    color_matrix: str = ""
    origins: tuple[tuple[str, str], ...] = ()
    field_order: str = "progressive"

    def __post_init__(self) -> None:
        # Unstated colour gets the usual convention, and says so in ``origins``.
        origins = dict(self.origins)
        if not self.color_range:
            object.__setattr__(self, "color_range", "limited")
            origins.setdefault("color_range", "default")
        if not self.color_matrix:
            object.__setattr__(self, "color_matrix", default_matrix(self.height))
            origins.setdefault("color_matrix", "default")
        if self.color_range not in RANGES:
            raise invalid("color_range", self.color_range, " | ".join(RANGES))
        if self.color_matrix not in MATRICES:
            raise invalid("color_matrix", self.color_matrix, " | ".join(MATRICES))
        if self.field_order not in FIELD_ORDERS:
            raise invalid("field_order", self.field_order, " | ".join(FIELD_ORDERS))
        object.__setattr__(self, "origins", tuple(sorted(origins.items())))

    def origin(self, field: str) -> str:
        """Where ``field`` (fps, pix_fmt, color_range, color_matrix) came from."""
        return dict(self.origins).get(field, "default")

    def assumptions(self) -> dict[str, str]:
        """Format, range, matrix, fps and field order with where each came from, for
        provenance."""
        fps = f"{self.fps.numerator}/{self.fps.denominator}"
        return {
            "pix_fmt": f"{self.pix_fmt} ({self.origin('pix_fmt')})",
            "fps": f"{fps} ({self.origin('fps')})",
            "color_range": f"{self.color_range} ({self.origin('color_range')})",
            "color_matrix": f"{self.color_matrix} ({self.origin('color_matrix')})",
            "field_order": f"{self.field_order} ({self.origin('field_order')})",
        }

    @property
    def bit_depth(self) -> int:
        """Bits per sample (8 or 10)."""
        return PIX_FMTS[self.pix_fmt][2]

    @property
    def chroma_shape(self) -> tuple[int, int]:
        """(height, width) of each chroma plane."""
        sx, sy = PIX_FMTS[self.pix_fmt][:2]
        return (-(-self.height // sy), -(-self.width // sx))

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame's planes (without the Y4M ``FRAME`` marker)."""
        ch, cw = self.chroma_shape
        bps = 2 if self.bit_depth > 8 else 1
        return (self.width * self.height + 2 * ch * cw) * bps

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / float(self.fps)


def _check_pix_fmt(pix_fmt: str) -> None:
    if pix_fmt not in PIX_FMTS:
        raise VideoFormatError(
            f"pix_fmt={pix_fmt!r} is not supported: expected one of {', '.join(PIX_FMTS)}"
        )


def _check_size_fits(size: tuple[int, int], pix_fmt: str) -> None:
    """Refuse a target size that ``pix_fmt``'s chroma subsampling cannot hold whole (ffmpeg's
    crop would silently round 351x287 down to 350x286 for 4:2:0)."""
    sx, sy = PIX_FMTS[pix_fmt][:2]
    if size[0] % sx or size[1] % sy:
        sides = "width and height" if sy > 1 else "width"
        raise invalid(
            "size",
            f"{size[0]}x{size[1]}",
            f"an even {sides} for {pix_fmt} ({sx}x{sy} chroma subsampling)",
        )


def parse_yuv_name(name: str) -> dict:
    """Read size, frame rate and format from a file name such as
    ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv`` or ``BasketballDrive_1920x1080_50.yuv``
    (the conventions :mod:`vqabench.io.yuvname` reads).

    Returns:
        dict with ``width``, ``height``, ``pix_fmt`` (4:2:0 8-bit where the name says nothing)
        and, when the name gives them, ``fps`` (Fraction), ``frames``, ``matrix`` and
        ``color_range``; ``stated`` lists the keys the name itself gave.

    Raises:
        VideoFormatError: if the name carries no ``WxH`` or its tokens contradict each other.
    """
    parsed = parse_name(name)
    out: dict = {"width": parsed.width, "height": parsed.height, "pix_fmt": parsed.pix_fmt}
    stated = ["width", "height"]
    if parsed.chroma or parsed.bit_depth:
        stated.append("pix_fmt")
    for key in ("fps", "frames", "matrix", "color_range"):
        if getattr(parsed, key) is not None:
            out[key] = getattr(parsed, key)
            stated.append(key)
    out["stated"] = tuple(stated)
    return out


def _y4m_colour(path: Path, value: str, colour: dict, origins: dict) -> None:
    """Read ``XCOLORRANGE=FULL|LIMITED`` (ffmpeg's tag) and ``XCOLORMATRIX=BT709|BT601|
    BT2020`` (vqabench's; other tools ignore it) into ``colour``."""
    key, _, val = value.partition("=")
    if key == "COLORRANGE":
        rng = {"FULL": "full", "LIMITED": "limited"}.get(val.upper())
        if rng is None:
            raise VideoFormatError(f"{path}: Y4M XCOLORRANGE={val!r} is not FULL or LIMITED")
        colour["color_range"], origins["color_range"] = rng, "header"
    elif key == "COLORMATRIX":
        if val.lower() not in MATRICES:
            raise VideoFormatError(
                f"{path}: Y4M XCOLORMATRIX={val!r} is not one of "
                + ", ".join(m.upper() for m in MATRICES)
            )
        colour["color_matrix"], origins["color_matrix"] = val.lower(), "header"


def _parse_y4m_header(path: Path) -> Video:
    with open(path, "rb") as f:
        line = f.readline(4096)
        first_frame = f.read(6)
    if not line.startswith(b"YUV4MPEG2 "):
        raise VideoFormatError(f"{path}: not a Y4M file (header does not start with 'YUV4MPEG2 ')")
    if not line.endswith(b"\n"):
        raise VideoFormatError(
            f"{path}: Y4M header line has no end (no newline in the first "
            "4096 bytes): truncated or not a Y4M file"
        )
    fields = line.decode("ascii", "replace").split()[1:]
    width = height = None
    fps = Fraction(25)
    pix_fmt = "yuv420p"
    field_order = "progressive"
    colour = {"color_range": "", "color_matrix": ""}
    origins = {"fps": "default", "pix_fmt": "default"}
    for fld in fields:
        tag, val = fld[0], fld[1:]
        try:
            if tag == "W":
                width = int(val)
            elif tag == "H":
                height = int(val)
            elif tag == "F":
                num, den = val.split(":")
                fps = Fraction(int(num), int(den))
                origins["fps"] = "header"
            elif tag == "C":
                pix_fmt = _Y4M_COLORSPACE.get(val, "")
                origins["pix_fmt"] = "header"
            elif tag == "X":
                _y4m_colour(path, val, colour, origins)
            elif tag == "I":
                if val not in _Y4M_INTERLACE:
                    raise VideoFormatError(
                        f"{path}: Y4M interlace field I{val} is not one of Ip, It, Ib, Im"
                    )
                field_order, origins["field_order"] = _Y4M_INTERLACE[val], "header"
        except VideoFormatError:
            raise
        except (ValueError, ZeroDivisionError) as exc:
            raise VideoFormatError(f"{path}: malformed Y4M header field {fld!r}") from exc
        if not pix_fmt:
            raise VideoFormatError(
                f"{path}: Y4M colour space C{val} is not supported: expected one of "
                + ", ".join("C" + k for k in _Y4M_COLORSPACE)
            )
    if not width or not height or width <= 0 or height <= 0:
        raise VideoFormatError(f"{path}: Y4M header has no valid W and H fields")
    if fps <= 0:
        raise VideoFormatError(f"{path}: Y4M frame rate must be positive, got {fps}")
    header = len(line)
    video = Video(
        path,
        width,
        height,
        fps,
        pix_fmt,
        0,
        "y4m",
        header,
        colour["color_range"],
        colour["color_matrix"],
        tuple(origins.items()),
        field_order,
    )
    size = path.stat().st_size - header
    if size == 0:
        raise VideoFormatError(f"{path}: Y4M file has no frames")
    if first_frame[:5] != b"FRAME":
        raise VideoFormatError(f"{path}: Y4M file has no FRAME marker after the header")
    # ffmpeg and most tools write bare 'FRAME\n' markers; frame parameters are rare.
    per_frame = video.frame_bytes + 6
    frames, rest = divmod(size, per_frame)
    if rest:
        raise VideoFormatError(
            f"{path}: truncated Y4M file: {size} bytes after the header is not a whole number "
            f"of {per_frame}-byte frames ({width}x{height} {pix_fmt}); {frames} whole frames"
        )
    video = replace(video, frames=frames)
    check_sample_range(video)
    return video


def open_video(
    path: str | os.PathLike,
    *,
    width: int | None = None,
    height: int | None = None,
    fps: float | Fraction | None = None,
    pix_fmt: str | None = None,
) -> Video:
    """Open a Y4M or raw YUV file.

    For ``.yuv`` files the size, frame rate and format come from the arguments or, where
    they are not given, from the file name (:func:`parse_yuv_name`); fps defaults to 25 and
    pix_fmt to yuv420p. Other containers must first go through :func:`to_y4m`. A 10-bit
    file is probed for samples above 1023 (:func:`check_sample_range`: three frames).

    Raises:
        VideoFormatError: missing file, unknown format, truncated file, a size that does
            not divide the file, or 10-bit samples out of range.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoFormatError(f"video={str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".y4m":
        return _parse_y4m_header(path)
    if suffix not in _RAW_SUFFIXES:
        raise VideoFormatError(
            f"video={str(path)!r}: open_video reads .y4m and .yuv; convert other containers "
            "with vqabench.io.video.to_y4m"
        )
    meta: dict = {"stated": ()}
    if width is None or height is None or pix_fmt is None or fps is None:
        try:
            meta = parse_yuv_name(path.name)
        except VideoFormatError:
            if width is None or height is None:
                raise
    stated = set(meta["stated"])
    w = width or meta["width"]
    h = height or meta["height"]
    pf = pix_fmt or meta.get("pix_fmt", "yuv420p")
    _check_pix_fmt(pf)
    if fps is not None:
        rate = Fraction(fps).limit_denominator(1001)
    else:
        rate = meta.get("fps", Fraction(25))

    def where(key: str, given: object) -> str:
        return "argument" if given is not None else "name" if key in stated else "default"

    origins = (
        ("fps", where("fps", fps)),
        ("pix_fmt", where("pix_fmt", pix_fmt)),
        *(
            (f, "name")
            for f, k in (("color_range", "color_range"), ("color_matrix", "matrix"))
            if k in meta
        ),
    )
    if w <= 0 or h <= 0:
        raise invalid("size", f"{w}x{h}", "positive width and height")
    video = Video(
        path,
        int(w),
        int(h),
        rate,
        pf,
        0,
        "yuv",
        0,
        meta.get("color_range", ""),
        meta.get("matrix", ""),
        origins,
    )
    size = path.stat().st_size
    frames, rest = divmod(size, video.frame_bytes)
    if size == 0:
        raise VideoFormatError(f"{path}: raw YUV file is empty")
    if rest:
        raise VideoFormatError(
            f"{path}: file size {size} bytes is not a multiple of the frame size "
            f"{video.frame_bytes} bytes for {w}x{h} {pf}; check the size, pixel format or "
            "whether the file is truncated"
        )
    video = replace(video, frames=frames)
    check_sample_range(video)
    return video


def _frame_from_bytes(video: Video, buf: bytes) -> YuvFrame:
    import numpy as np

    dtype = np.dtype("<u2") if video.bit_depth > 8 else np.dtype(np.uint8)
    data = np.frombuffer(buf, dtype=dtype)
    ny = video.width * video.height
    ch, cw = video.chroma_shape
    nc = ch * cw
    y = data[:ny].reshape(video.height, video.width)
    u = data[ny : ny + nc].reshape(ch, cw)
    v = data[ny + nc : ny + 2 * nc].reshape(ch, cw)
    return YuvFrame(y, u, v)


def read_frames(video: Video, *, start: int = 0, count: int | None = None) -> Iterator[YuvFrame]:
    """Yield frames ``start .. start+count-1`` of a Y4M or raw YUV video.

    Raises:
        ConfigError: if start/count fall outside the video.
        VideoFormatError: if the file changed underneath (missing FRAME marker, short read).
    """
    if start < 0 or start >= video.frames:
        raise invalid("start", start, f"a frame index in 0..{video.frames - 1}")
    end = video.frames if count is None else start + count
    if count is not None and (count < 1 or end > video.frames):
        raise invalid("count", count, f"1..{video.frames - start} frames from frame {start}")
    marker = 6 if video.container == "y4m" else 0
    per_frame = video.frame_bytes + marker
    with open(video.path, "rb") as f:
        f.seek(video.header_bytes + start * per_frame)
        for index in range(start, end):
            if marker:
                head = f.read(marker)
                if head[:5] != b"FRAME":
                    raise VideoFormatError(f"{video.path}: frame {index} has no FRAME marker")
            buf = f.read(video.frame_bytes)
            if len(buf) != video.frame_bytes:
                raise VideoFormatError(f"{video.path}: short read at frame {index}")
            yield _frame_from_bytes(video, buf)


def read_all(video: Video, *, start: int = 0, count: int | None = None) -> YuvFrame:
    """All requested frames stacked: planes of shape (frames, H, W)."""
    import numpy as np

    frames = list(read_frames(video, start=start, count=count))
    return YuvFrame(*(np.stack([fr[i] for fr in frames]) for i in range(3)))


def _range_diagnosis(video: Video, frame: YuvFrame) -> str:
    """Why a high-bit-depth frame has samples above ``2^b - 1``, and how to fix it."""
    import numpy as np

    planes = [np.asarray(p, dtype=np.uint16) for p in frame]
    spare = (1 << (16 - video.bit_depth)) - 1  # bits below an MSB-aligned sample
    w, h = video.width, video.height
    rate = f"{video.fps.numerator}/{video.fps.denominator}"
    if all(not np.any(p & spare) for p in planes):
        semi = {"yuv420p10le": "p010le", "yuv422p10le": "p210le", "yuv444p10le": "p410le"}[
            video.pix_fmt
        ]
        planar = video.pix_fmt.replace("10le", "16le")
        return (
            f"every sample is a multiple of {spare + 1}: looks MSB-aligned (P010); convert "
            f"with: ffmpeg -f rawvideo -pix_fmt {semi} -s {w}x{h} -r {rate} -i "
            f"{video.path.name} -pix_fmt {video.pix_fmt} -strict -1 OUT.y4m (-pix_fmt "
            f"{planar} for separate planes)"
        )
    luma = planes[0]
    if float(np.median(np.abs((luma >> 8).astype(np.int32) - (luma & 0xFF)))) <= 8:
        eight = video.pix_fmt.replace("10le", "")
        return (
            "the two bytes of most 16-bit words are close 8-bit values: looks like 8-bit "
            f"data; read it as {eight} ('_8bit' in a raw file's name, or pix_fmt="
            f"{eight!r}; C{_Y4M_TAG[eight]} in a Y4M header)"
        )
    return (
        f"not {video.bit_depth}-bit samples (12- or 16-bit data, another layout, or a "
        f"corrupt file?); convert it to {video.pix_fmt} with ffmpeg"
    )


def check_sample_range(video: Video) -> None:
    """Refuse a high-bit-depth video with samples above ``2^b - 1`` (1023 at 10 bits).

    Only the file size is checked when a video is opened, so 8-bit data in a file named
    ``_10bit`` or MSB-aligned (P010-style, ``value << 6``) data would be read as 10-bit
    samples up to 65535 and give negative PSNRs. This cheap probe reads the first, middle
    and last frame; 8-bit videos cannot exceed their range and are not read.

    Raises:
        VideoFormatError: naming the file, the frame, the largest sample, and what the data
            looks like (8-bit, MSB-aligned P010 with the ffmpeg command that converts it,
            or neither).
    """
    if video.bit_depth <= 8 or video.frames < 1:
        return
    top = (1 << video.bit_depth) - 1
    for index in sorted({0, video.frames // 2, video.frames - 1}):
        frame = next(read_frames(video, start=index, count=1))
        peak = max(int(p.max(initial=0)) for p in frame)
        if peak > top:
            raise VideoFormatError(
                f"{video.path}: frame {index} has samples up to {peak}, above {top}, the "
                f"largest {video.bit_depth}-bit value of {video.pix_fmt}; "
                + _range_diagnosis(video, frame)
            )


def _colour_tags(color_range: str | None, matrix: str | None) -> str:
    tags = f" XCOLORRANGE={color_range.upper()}" if color_range else ""
    return tags + (f" XCOLORMATRIX={matrix.upper()}" if matrix else "")


def write_y4m(
    path: str | os.PathLike,
    frames: Iterable[YuvFrame],
    *,
    width: int,
    height: int,
    fps: Fraction | float,
    pix_fmt: str = "yuv420p",
    color_range: str | None = None,
    matrix: str | None = None,
) -> Video:
    """Write frames to a Y4M file atomically (temp file, then rename).

    Args:
        color_range: ``"limited"`` or ``"full"``, written as ``XCOLORRANGE``; None writes
            no tag (readers then assume limited).
        matrix: written as ``XCOLORMATRIX``; None writes no tag (readers then assume the
            size convention of :func:`default_matrix`).

    Raises:
        VideoFormatError: unsupported pix_fmt or a frame whose planes do not match.
    """
    import numpy as np

    _check_pix_fmt(pix_fmt)
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    origins = {"fps": "header", "pix_fmt": "header"}
    origins.update(
        {k: "header" for k, v in (("color_range", color_range), ("color_matrix", matrix)) if v}
    )
    template = Video(
        path,
        width,
        height,
        rate,
        pix_fmt,
        0,
        "y4m",
        0,
        color_range or "",
        matrix or "",
        tuple(origins.items()),
    )
    dtype = np.dtype("<u2") if template.bit_depth > 8 else np.dtype(np.uint8)
    header = (
        f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 "
        f"C{_Y4M_TAG[pix_fmt]}{_colour_tags(color_range, matrix)}\n"
    ).encode()
    shapes = [(height, width), template.chroma_shape, template.chroma_shape]
    count = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header)
        for frame in frames:
            f.write(b"FRAME\n")
            for plane, shape in zip(frame, shapes, strict=True):
                if plane.shape != shape:
                    raise VideoFormatError(
                        f"frame {count}: plane shape {plane.shape} does not match {shape} "
                        f"for {width}x{height} {pix_fmt}"
                    )
                f.write(np.ascontiguousarray(plane, dtype=dtype).tobytes())
            count += 1
        if count == 0:
            raise VideoFormatError(f"{path}: no frames to write")
    return replace(template, frames=count, header_bytes=len(header))


@dataclass(frozen=True)
class Probe:
    """What ffmpeg reports about a container's first video stream (see :func:`probe`).

    Attributes:
        pix_fmt: ffmpeg pixel format name as decoded (``yuvj420p``, ``yuv420p10le``...).
        width, height: coded picture size.
        color_range: ``"full"``, ``"limited"`` or ``""`` (not stated).
        color_matrix: one of :data:`MATRICES` or ``""`` (not stated or not one of them).
        primaries: ffmpeg's name of the colour primaries, ``""`` when not stated.
        packets: video packets in the container (one per frame), 0 when unknown.
        pts_s: presentation times of the packets in seconds, sorted; empty when the
            container has none (raw elementary streams: constant rate by construction).
        tick_s: the stream's time base in seconds (the rounding of ``pts_s``).
        fps: the frame rate the stream states (ffmpeg's ``fps``, else ``tbr``), None when
            it states none.
    """

    pix_fmt: str
    width: int
    height: int
    color_range: str
    color_matrix: str
    primaries: str
    packets: int
    pts_s: tuple[float, ...] = ()
    tick_s: float = 0.0
    fps: Fraction | None = None


_STREAM = re.compile(
    r"Stream #\d+:\d+.*?: Video: .*?, (?P<pf>[a-z0-9]+)"
    r"(?:\((?P<attrs>(?:[^()]|\([^()]*\))*)\))?, (?P<w>\d+)x(?P<h>\d+)"
    r"(?:.*?, (?P<fps>[\d.]+) fps)?(?:.*?, (?P<tbr>[\d.]+) tbr)?"
)


def probe(path: str | os.PathLike) -> Probe:
    """Format, colour description and packet count of a container's first video stream.

    Uses the bundled ffmpeg (no ffprobe): the stream line of ``ffmpeg -i`` and the packets
    of a stream copy to the ``framecrc`` muxer (no decoding): their count and timestamps.

    Raises:
        VideoFormatError: ffmpeg cannot read the file or it has no video stream.
    """
    try:
        proc = run_ffmpeg(
            ["-i", path_arg(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
        )
    except FfmpegError as exc:
        raise VideoFormatError(f"cannot read video {str(path)!r}: {exc}") from exc
    m = _STREAM.search(proc.stderr)
    if m is None:
        raise VideoFormatError(f"cannot read video {str(path)!r}: ffmpeg reports no video stream")
    attrs = [a.strip() for a in (m.group("attrs") or "").split(",")]
    rng = "full" if "pc" in attrs else "limited" if "tv" in attrs else ""
    space = primaries = ""
    for a in attrs:
        if a in _FFMPEG_MATRIX or "/" in a:
            parts = a.split("/")
            space, primaries = parts[0], parts[1] if len(parts) > 1 else parts[0]
    if m.group("pf").startswith("yuvj"):
        rng = "full"
    counts = re.findall(r"frame=\s*(\d+)", proc.stderr)
    pts_s, tick_s = _packet_times(proc.stdout or "")
    return Probe(
        m.group("pf"),
        int(m.group("w")),
        int(m.group("h")),
        rng,
        _FFMPEG_MATRIX.get(space, ""),
        "" if primaries == "unknown" else primaries,
        int(counts[-1]) if counts else 0,
        pts_s,
        tick_s,
        _stated_fps(m.group("fps") or m.group("tbr")),
    )


def _stated_fps(text: str | None) -> Fraction | None:
    """ffmpeg's printed rate (``30``, ``29.97``) as a fraction (30000/1001 for 29.97)."""
    if not text or not float(text) > 0:
        return None
    rate = Fraction(text)
    ntsc = Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)
    return ntsc if rate.denominator > 1 and abs(rate - ntsc) < Fraction(1, 100) else rate


_NO_PTS = -(1 << 63)  # AV_NOPTS_VALUE as framecrc prints it


def _packet_times(framecrc: str) -> tuple[tuple[float, ...], float]:
    """Sorted presentation times (s) and the time base (s) from ``framecrc`` lines
    (``#tb 0: 1/1000`` then ``0, dts, pts, duration, size, crc``); no times when any packet
    has none."""
    tb = re.search(r"^#tb 0: (\d+)/(\d+)", framecrc, re.M)
    if tb is None or int(tb.group(2)) == 0:
        return (), 0.0
    tick = Fraction(int(tb.group(1)), int(tb.group(2)))
    pts = []
    for line in framecrc.splitlines():
        cols = line.split(",")
        if line.startswith("#") or len(cols) < 3 or not cols[2].strip().lstrip("-").isdigit():
            continue
        if int(cols[2]) == _NO_PTS:
            return (), float(tick)
        pts.append(int(cols[2]))
    return tuple(float(t * tick) for t in sorted(pts)), float(tick)


def frame_timing(
    pts_s: tuple[float, ...], nominal_fps: Fraction, *, tick_s: float = 0.0
) -> tuple[float, bool]:
    """The frame rate that presentation times measure, and whether they are the constant
    ``nominal_fps`` a Y4M file (and every rate in vqabench) assumes.

    Constant means: every interval within half a nominal period of it (no frame dropped,
    repeated or re-timed), and the mean rate within 1 % of the nominal one, allowing the
    time base's rounding (``tick_s``) at both ends.

    Returns:
        (measured fps = (frames - 1) / (last - first time), constant); with fewer than two
        times, (nominal, True).
    """
    if len(pts_s) < 2 or pts_s[-1] <= pts_s[0]:
        return float(nominal_fps), len(pts_s) < 2
    period = 1.0 / float(nominal_fps)
    span = pts_s[-1] - pts_s[0]
    intervals = [b - a for a, b in zip(pts_s, pts_s[1:], strict=False)]
    expected = (len(pts_s) - 1) * period
    steady = all(abs(d - period) <= 0.5 * period for d in intervals)
    constant = steady and abs(span - expected) <= 0.01 * expected + 2 * tick_s
    return (len(pts_s) - 1) / span, constant


def _y4m_format(info: Probe) -> str:
    """Our pix_fmt for a decoded format: kept when we have it (``yuvj*`` is its ``yuv*``),
    else 4:2:0 at 8 or 10 bits."""
    pf = info.pix_fmt.replace("yuvj", "yuv")
    if pf in PIX_FMTS:
        return pf
    return "yuv420p10le" if re.search(r"p(9|1[0-6])", pf) else "yuv420p"


def set_colour_tags(path: str | os.PathLike, color_range: str, matrix: str) -> None:
    """Rewrite the Y4M header of ``path`` to carry ``XCOLORRANGE`` / ``XCOLORMATRIX``
    (replacing any it has); the frames are copied unchanged."""
    path = Path(path)
    with open(path, "rb") as f:
        line = f.readline(4096)
        fields = [
            t
            for t in line.decode("ascii").split()
            if not t.startswith(("XCOLORRANGE=", "XCOLORMATRIX="))
        ]
        head = (" ".join(fields) + _colour_tags(color_range, matrix) + "\n").encode()
        fixed = path.with_name(path.name + ".hdr")
        with open(fixed, "wb") as out:
            out.write(head)
            shutil.copyfileobj(f, out, 1 << 20)
    os.replace(fixed, path)


def check_progressive(video: Video, interlaced: str = "refuse", *, name: str = "") -> Video:
    """Refuse an interlaced video unless the user codes it as progressive on purpose.

    The codecs code every frame as one progressive picture, so an interlaced source (Y4M
    ``It``, ``Ib`` or ``Im``; a container's field order comes through :func:`to_y4m` into the
    Y4M header) would be benchmarked as something it is not.

    Args:
        video: the source.
        interlaced: ``"refuse"`` (default) or ``"progressive"``: code its frames (two woven
            fields each) as progressive pictures; the field order stays recorded in
            :meth:`Video.assumptions` either way.
        name: how the error names the file (default: its path).

    Returns:
        ``video``; with ``"progressive"`` and an interlaced source, its ``field_order``
        origin says that it is coded as progressive on purpose.

    Raises:
        ConfigError: an ``interlaced`` value that is not one of :data:`INTERLACED`.
        VideoFormatError: an interlaced source with ``interlaced="refuse"``.
    """
    if interlaced not in INTERLACED:
        raise invalid("interlaced", interlaced, " | ".join(INTERLACED))
    if video.field_order == "progressive":
        return video
    if interlaced == "refuse":
        raise VideoFormatError(
            f"{name or video.path}: interlaced source (field order {video.field_order}, "
            f"Y4M I{_Y4M_INTERLACE_TAG[video.field_order]}); the codecs code progressive "
            "pictures: deinterlace it first (e.g. ffmpeg -i IN -vf bwdif=mode=send_frame "
            "OUT.y4m) or set interlaced='progressive' (dataset option, --interlaced "
            "progressive) to code its woven frames as progressive on purpose"
        )
    origins = {
        **dict(video.origins),
        "field_order": f"{video.origin('field_order')}, "
        "coded as progressive (interlaced='progressive')",
    }
    return replace(video, origins=tuple(origins.items()))


def _decode_errors(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.strip()]


def to_y4m(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    frames: int | None = None,
    start: int = 0,
    size: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    fps: Fraction | float | None = None,
    raw_format: Video | None = None,
    resample_fps: Fraction | float | None = None,
) -> Video:
    """Convert any video ffmpeg reads (or a raw YUV ``Video``) to Y4M, atomically.

    The output keeps the input's pixel format where it is one of :data:`PIX_FMTS`
    (``yuvj*`` = full range), and its colour range and matrix (``XCOLORRANGE``,
    ``XCOLORMATRIX`` in the header). A container whose decoding reports errors, or gives
    fewer frames than it holds packets, is refused: a partly decoded source is never
    benchmarked silently. So is a container whose timestamps are not the constant rate the
    Y4M header would state (:func:`frame_timing`: variable rate, dropped or repeated
    frames), unless ``fps`` or ``resample_fps`` says what to do with them.

    Args:
        src: input file (container, Y4M or raw YUV).
        dst: output ``.y4m`` path.
        frames: keep at most this many frames (after ``start``).
        start: first frame to keep.
        size: (width, height) to scale to, or None to keep the size. The picture is scaled
            (Lanczos) to cover the target and centre-cropped, so aspect ratio is kept. It must
            hold the output's chroma whole (4:2:0 even width and height, 4:2:2 even width).
        pix_fmt: output pixel format; default the input's (see above).
        fps: override the frame rate of a container input (its timestamps are ignored).
        raw_format: how to read ``src`` when it is raw YUV (from :func:`open_video`).
        resample_fps: convert to this constant rate with ffmpeg's ``fps`` filter (frames
            dropped or repeated by their timestamps; ``frames`` and ``start`` count output
            frames), recorded as the fps origin ``converted from ...``: the way to
            benchmark a variable-rate container on purpose.

    Raises:
        VideoFormatError: when ffmpeg cannot read the input, reports decoding errors, has a
            variable frame rate (and neither ``fps`` nor ``resample_fps``), or fewer frames
            than expected remain.
        ConfigError: a ``size`` the output's chroma subsampling cannot hold whole.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise VideoFormatError(f"video={str(src)!r} does not exist or is not a file")
    args: list[str] = ["-loglevel", "error"]
    known: Video | None = None
    info: Probe | None = None
    if raw_format is not None and raw_format.container == "yuv":
        known = raw_format
        r = raw_format.fps
        args += [
            "-f",
            "rawvideo",
            "-pix_fmt",
            raw_format.pix_fmt,
            "-s",
            f"{raw_format.width}x{raw_format.height}",
            "-r",
            f"{r.numerator}/{r.denominator}",
        ]
    else:
        if src.suffix.lower() == ".y4m":
            known = open_video(src)
        else:
            info = probe(src)
        if fps is not None:
            r = Fraction(fps).limit_denominator(1001)
            args += ["-r", f"{r.numerator}/{r.denominator}"]
    args += ["-i", path_arg(src), "-map", "0:v:0", "-an"]
    filters = []
    if resample_fps is not None:
        target = Fraction(resample_fps).limit_denominator(1001)
        if target <= 0:
            raise invalid("fps", resample_fps, "a positive frame rate")
        filters.append(f"fps={target.numerator}/{target.denominator}")
    if start:
        filters.append(f"select=gte(n\\,{int(start)}),setpts=PTS-STARTPTS")
    if size is not None:
        w, h = int(size[0]), int(size[1])
        filters.append(
            f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,"
            f"crop={w}:{h},setsar=1"
        )
    if filters:
        args += ["-vf", ",".join(filters)]
    if frames is not None:
        args += ["-frames:v", str(int(frames))]
    if info is not None:
        out_fmt, rng, matrix = pix_fmt or _y4m_format(info), info.color_range, info.color_matrix
        origin = {
            "color_range": "container" if rng else "default",
            "color_matrix": "container" if matrix else "default",
        }
        in_height = info.height
    elif known is not None:
        out_fmt, rng, matrix = pix_fmt or known.pix_fmt, known.color_range, known.color_matrix
        origin = {k: known.origin(k) for k in ("color_range", "color_matrix")}
        in_height = known.height
    _check_pix_fmt(out_fmt)
    if size is not None:
        _check_size_fits(size, out_fmt)
    args += ["-pix_fmt", out_fmt, "-fps_mode", "passthrough", "-strict", "-1", "-f", "yuv4mpegpipe"]
    with atomic_path(dst) as tmp:
        try:
            proc = run_ffmpeg([*args, path_arg(tmp)])
        except FfmpegError as exc:
            raise VideoFormatError(f"cannot read video {str(src)!r}: {exc}") from exc
        errors = _decode_errors(proc.stderr)
        if errors and info is not None:
            raise VideoFormatError(
                f"video {str(src)!r} does not decode cleanly ({len(errors)} decoder error "
                f"line(s), first: {errors[0]!r}); refusing a partly decoded source: repair or "
                "re-export it"
            )
        if tmp.stat().st_size == 0:
            raise VideoFormatError(f"cannot read video {str(src)!r}: no frames decoded")
        # Pinned in the header, so a later resize cannot change what an unstated matrix
        # means: the convention applies to the input's size, not the output's.
        set_colour_tags(tmp, rng or "limited", matrix or default_matrix(in_height))
        made = open_video(tmp)
        pts_s = info.pts_s if info is not None else ()
        nominal = made.fps  # with resample_fps the target: judge by the stated rate
        if resample_fps is not None:
            nominal = (info.fps if info is not None else None) or made.fps
        measured, constant = frame_timing(
            pts_s, nominal, tick_s=info.tick_s if info is not None else 0.0
        )
        if not constant and fps is None and resample_fps is None:
            r = made.fps
            raise VideoFormatError(
                f"video {str(src)!r} has a variable frame rate: {len(info.pts_s)} frames in "
                f"{info.pts_s[-1] - info.pts_s[0]:.3f} s ({measured:.3f} fps measured) where "
                f"the container says {r.numerator}/{r.denominator} fps, so kbps would be "
                f"wrong; convert it on purpose with the dataset option fps=N (--fps N: "
                f"ffmpeg's fps filter, e.g. fps={round(measured)}) or re-encode it at a "
                "constant rate"
            )
        if info is not None and info.packets and resample_fps is None:
            expected = max(info.packets - start, 0)
            expected = expected if frames is None else min(expected, int(frames))
            if made.frames < expected:
                raise VideoFormatError(
                    f"video {str(src)!r}: decoded {made.frames} frames, the container holds "
                    f"{info.packets} (expected {expected} from frame {start}); refusing a "
                    "partly decoded source"
                )
    video = open_video(dst)
    first = known.origin if known is not None else (lambda _key: "container")
    origin["fps"] = "argument" if fps is not None else first("fps")
    if resample_fps is not None:
        was = known.fps if known is not None else nominal
        rate = (
            f"{was.numerator}/{was.denominator} fps"
            if constant
            else f"variable rate, measured {measured:.3f} fps"
        )
        origin["fps"] = f"converted from {rate} by ffmpeg's fps filter"
    origin["pix_fmt"] = "argument" if pix_fmt is not None else first("pix_fmt")
    origin["field_order"] = first("field_order")
    if info is not None and pix_fmt is None and out_fmt != info.pix_fmt.replace("yuvj", "yuv"):
        origin["pix_fmt"] = f"converted from {info.pix_fmt}"
    return replace(video, origins=tuple(origin.items()))


# --- colour conversion ------------------------------------------------------------------


def _range_constants(color_range: str, bit_depth: int) -> tuple[float, float, float, float]:
    """(luma offset, luma span, chroma centre, chroma span) in code values.

    Limited range: 16/219 and 128/224 scaled by ``2^(b-8)`` (BT.601/709/2020); full range:
    0 / ``2^b - 1`` and centre ``2^(b-1)`` over ``2^b - 1`` (as ffmpeg's swscale)."""
    if color_range not in RANGES:
        raise invalid("color_range", color_range, " | ".join(RANGES))
    k = float(1 << (bit_depth - 8))
    if color_range == "full":
        top = float((1 << bit_depth) - 1)
        return 0.0, top, 128.0 * k, top
    return 16.0 * k, 219.0 * k, 128.0 * k, 224.0 * k


def yuv_to_rgb_coefficients(
    matrix: str = "bt709", color_range: str = "limited", bit_depth: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one definition of YUV -> RGB used by the numpy and the torch conversion.

    ``rgb = M @ ((yuv - offset) / span)`` with, for ``(Kr, Kb)`` of the matrix and
    ``Kg = 1 - Kr - Kb``::

        M = [[1, 0,                  2(1-Kr)],
             [1, -2Kb(1-Kb)/Kg,     -2Kr(1-Kr)/Kg],
             [1, 2(1-Kb),            0]]

    Returns:
        (offset (3,), span (3,), M (3, 3)) as float64 arrays.

    Raises:
        ConfigError: unknown matrix or range.
    """
    import numpy as np

    if matrix not in MATRICES:
        raise invalid("matrix", matrix, " | ".join(MATRICES))
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    y0, ys, c0, cs = _range_constants(color_range, bit_depth)
    m = np.array(
        [
            [1.0, 0.0, 2 * (1 - kr)],
            [1.0, -2 * kb * (1 - kb) / kg, -2 * kr * (1 - kr) / kg],
            [1.0, 2 * (1 - kb), 0.0],
        ]
    )
    return np.array([y0, c0, c0]), np.array([ys, cs, cs]), m


def _upsample(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import numpy as np

    ry, rx = -(-shape[0] // plane.shape[0]), -(-shape[1] // plane.shape[1])
    return np.repeat(np.repeat(plane, ry, axis=0), rx, axis=1)[: shape[0], : shape[1]]


def _range_of(full_range: bool | None, color_range: str | None) -> str:
    if color_range is not None:
        return color_range
    return "full" if full_range else "limited"


def yuv_to_rgb(
    frame: YuvFrame,
    *,
    bit_depth: int = 8,
    matrix: str = "bt709",
    full_range: bool = False,
    color_range: str | None = None,
) -> np.ndarray:
    """Convert a YUV frame to RGB floats in [0, 1], shape (H, W, 3).

    Chroma is upsampled by sample repetition (nearest), which is what a metric that works on
    RGB needs to see the codec's chroma as coded. Limited ("tv") range by default;
    ``color_range`` (``"limited"`` | ``"full"``) overrides ``full_range``. Coefficients:
    :func:`yuv_to_rgb_coefficients`.
    """
    import numpy as np

    offset, span, m = yuv_to_rgb_coefficients(matrix, _range_of(full_range, color_range), bit_depth)
    yuv = np.stack(
        [frame.y, _upsample(frame.u, frame.y.shape), _upsample(frame.v, frame.y.shape)], axis=-1
    ).astype(np.float64)
    return np.clip(((yuv - offset) / span) @ m.T, 0.0, 1.0)


def yuv_to_rgb_torch(
    y,
    u,
    v,
    *,
    bit_depth: int = 8,
    matrix: str = "bt709",  # noqa: ANN001
    color_range: str = "limited",
):  # noqa: ANN201
    """Torch twin of :func:`yuv_to_rgb` (same coefficients): planes of code values (float
    tensors ``(..., H, W)``, chroma possibly subsampled) -> RGB ``(..., 3, H, W)`` in [0, 1],
    differentiable (clamped)."""
    import torch

    offset, span, m = (
        torch.as_tensor(a, dtype=y.dtype, device=y.device)
        for a in yuv_to_rgb_coefficients(matrix, color_range, bit_depth)
    )
    h, w = y.shape[-2:]

    def up(p):  # noqa: ANN001, ANN202
        ry, rx = -(-h // p.shape[-2]), -(-w // p.shape[-1])
        return p.repeat_interleave(ry, dim=-2).repeat_interleave(rx, dim=-1)[..., :h, :w]

    yuv = torch.stack([y, up(u), up(v)], dim=-1)
    rgb = ((yuv - offset) / span) @ m.T
    return rgb.clamp(0.0, 1.0).movedim(-1, -3)


def rgb_to_yuv(
    rgb: np.ndarray,
    *,
    pix_fmt: str = "yuv420p",
    matrix: str = "bt709",
    full_range: bool = False,
    color_range: str | None = None,
) -> YuvFrame:
    """Convert RGB floats in [0, 1], shape (H, W, 3), to a YUV frame of ``pix_fmt``.

    Chroma is subsampled by averaging (2x2 for 4:2:0); sizes must be even for 4:2:0/4:2:2.
    The inverse of :func:`yuv_to_rgb` (same coefficients).

    Raises:
        VideoFormatError: unsupported pix_fmt or odd size for subsampled chroma.
    """
    import numpy as np

    _check_pix_fmt(pix_fmt)
    sx, sy, bits = PIX_FMTS[pix_fmt]
    h, w = rgb.shape[:2]
    if h % sy or w % sx:
        raise VideoFormatError(f"size {w}x{h} must be divisible by ({sx}, {sy}) for {pix_fmt}")
    if matrix not in MATRICES:
        raise invalid("matrix", matrix, " | ".join(MATRICES))
    kr, kb = MATRICES[matrix]
    y0, ys, c0, cs = _range_constants(_range_of(full_range, color_range), bits)
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    yn = kr * r + (1 - kr - kb) * g + kb * b
    un = (b - yn) / (2 * (1 - kb))
    vn = (r - yn) / (2 * (1 - kr))

    def sub(p: np.ndarray) -> np.ndarray:
        return p.reshape(h // sy, sy, w // sx, sx).mean(axis=(1, 3))

    dtype = np.uint16 if bits > 8 else np.uint8
    hi = (1 << bits) - 1

    def quant(p: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(p), 0, hi).astype(dtype)

    return YuvFrame(quant(yn * ys + y0), quant(sub(un * cs + c0)), quant(sub(vn * cs + c0)))
