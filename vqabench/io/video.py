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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from vqabench.errors import FfmpegError, VideoFormatError, invalid
from vqabench.io.atomic import atomic_path
from vqabench.io.ffmpeg import path_arg, run_ffmpeg

__all__ = [
    "Video",
    "YuvFrame",
    "PIX_FMTS",
    "open_video",
    "parse_yuv_name",
    "read_frames",
    "read_all",
    "write_y4m",
    "to_y4m",
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
    "420jpeg": "yuv420p", "420paldv": "yuv420p", "420mpeg2": "yuv420p", "420": "yuv420p",
    "422": "yuv422p", "444": "yuv444p",
    "420p10": "yuv420p10le", "422p10": "yuv422p10le", "444p10": "yuv444p10le",
}
_Y4M_TAG = {"yuv420p": "420jpeg", "yuv422p": "422", "yuv444p": "444",
            "yuv420p10le": "420p10", "yuv422p10le": "422p10", "yuv444p10le": "444p10"}
_RAW_SUFFIXES = {".yuv", ".raw"}


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
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    pix_fmt: str
    frames: int
    container: Literal["y4m", "yuv"] = "y4m"
    header_bytes: int = 0

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


_YUV_NAME = re.compile(r"(?P<w>\d{2,5})x(?P<h>\d{2,5})(?:[_-](?P<fps>\d+(?:\.\d+)?)(?:fps|p|Hz))?",
                       re.IGNORECASE)


def parse_yuv_name(name: str) -> dict:
    """Read size, frame rate and format from a file name such as
    ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv`` or ``Foo_3840x2160_50fps_10bit_420.yuv``.

    Returns:
        dict with ``width``, ``height`` and, when present, ``fps`` (Fraction) and ``pix_fmt``.

    Raises:
        VideoFormatError: if the name carries no ``WxH``.
    """
    stem = Path(name).name
    m = _YUV_NAME.search(stem)
    if not m:
        raise VideoFormatError(
            f"file name {stem!r} carries no frame size: expected a pattern like "
            "Name_1920x1080_50fps_420_8bit.yuv, or give width/height explicitly"
        )
    out: dict = {"width": int(m.group("w")), "height": int(m.group("h"))}
    if m.group("fps"):
        out["fps"] = Fraction(m.group("fps")).limit_denominator(1001)
    else:
        fm = re.search(r"[_-](\d+(?:\.\d+)?)(?:fps|Hz)", stem, re.IGNORECASE)
        if fm:
            out["fps"] = Fraction(fm.group(1)).limit_denominator(1001)
    bits = 10 if re.search(r"10[-_]?bit|p10", stem, re.IGNORECASE) else 8
    chroma = "444" if "444" in stem else "422" if "422" in stem else "420"
    out["pix_fmt"] = f"yuv{chroma}p" + ("10le" if bits == 10 else "")
    return out


def _parse_y4m_header(path: Path) -> Video:
    with open(path, "rb") as f:
        line = f.readline(4096)
        first_frame = f.read(6)
    if not line.startswith(b"YUV4MPEG2 "):
        raise VideoFormatError(f"{path}: not a Y4M file (header does not start with 'YUV4MPEG2 ')")
    if not line.endswith(b"\n"):
        raise VideoFormatError(f"{path}: Y4M header line has no end (no newline in the first "
                               "4096 bytes): truncated or not a Y4M file")
    fields = line.decode("ascii", "replace").split()[1:]
    width = height = None
    fps = Fraction(25)
    pix_fmt = "yuv420p"
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
            elif tag == "C":
                pix_fmt = _Y4M_COLORSPACE.get(val, "")
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
    video = Video(path, width, height, fps, pix_fmt, 0, "y4m", header)
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
    return replace(video, frames=frames)


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
    pix_fmt to yuv420p. Other containers must first go through :func:`to_y4m`.

    Raises:
        VideoFormatError: missing file, unknown format, truncated file, or a size that does
            not divide the file.
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
    meta: dict = {}
    if width is None or height is None:
        meta = parse_yuv_name(path.name)
    w = width or meta["width"]
    h = height or meta["height"]
    pf = pix_fmt or meta.get("pix_fmt", "yuv420p")
    _check_pix_fmt(pf)
    if fps is not None:
        rate = Fraction(fps).limit_denominator(1001)
    else:
        rate = meta.get("fps", Fraction(25))
    if w <= 0 or h <= 0:
        raise invalid("size", f"{w}x{h}", "positive width and height")
    video = Video(path, int(w), int(h), rate, pf, 0, "yuv", 0)
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
    return replace(video, frames=frames)


def _frame_from_bytes(video: Video, buf: bytes) -> YuvFrame:
    dtype = np.dtype("<u2") if video.bit_depth > 8 else np.dtype(np.uint8)
    data = np.frombuffer(buf, dtype=dtype)
    ny = video.width * video.height
    ch, cw = video.chroma_shape
    nc = ch * cw
    y = data[:ny].reshape(video.height, video.width)
    u = data[ny:ny + nc].reshape(ch, cw)
    v = data[ny + nc:ny + 2 * nc].reshape(ch, cw)
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
    frames = list(read_frames(video, start=start, count=count))
    return YuvFrame(*(np.stack([fr[i] for fr in frames]) for i in range(3)))


def write_y4m(
    path: str | os.PathLike,
    frames: Iterable[YuvFrame],
    *,
    width: int,
    height: int,
    fps: Fraction | float,
    pix_fmt: str = "yuv420p",
) -> Video:
    """Write frames to a Y4M file atomically (temp file, then rename).

    Raises:
        VideoFormatError: unsupported pix_fmt or a frame whose planes do not match.
    """
    _check_pix_fmt(pix_fmt)
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    template = Video(path, width, height, rate, pix_fmt, 0)
    dtype = np.dtype("<u2") if template.bit_depth > 8 else np.dtype(np.uint8)
    header = (f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 "
              f"C{_Y4M_TAG[pix_fmt]}\n").encode()
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
) -> Video:
    """Convert any video ffmpeg reads (or a raw YUV ``Video``) to Y4M, atomically.

    Args:
        src: input file (container, Y4M or raw YUV).
        dst: output ``.y4m`` path.
        frames: keep at most this many frames (after ``start``).
        start: first frame to keep.
        size: (width, height) to scale to, or None to keep the size. The picture is scaled
            (Lanczos) to cover the target and centre-cropped, so aspect ratio is kept.
        pix_fmt: output pixel format; default yuv420p (yuv420p10le for 10-bit raw input).
        fps: override the frame rate of a container input.
        raw_format: how to read ``src`` when it is raw YUV (from :func:`open_video`).

    Raises:
        VideoFormatError: when ffmpeg cannot read the input or no frames remain.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise VideoFormatError(f"video={str(src)!r} does not exist or is not a file")
    args: list[str] = []
    if raw_format is not None and raw_format.container == "yuv":
        r = raw_format.fps
        args += ["-f", "rawvideo", "-pix_fmt", raw_format.pix_fmt,
                 "-s", f"{raw_format.width}x{raw_format.height}",
                 "-r", f"{r.numerator}/{r.denominator}"]
    elif fps is not None:
        r = Fraction(fps).limit_denominator(1001)
        args += ["-r", f"{r.numerator}/{r.denominator}"]
    args += ["-i", path_arg(src), "-map", "0:v:0", "-an"]
    filters = []
    if start:
        filters.append(f"select=gte(n\\,{int(start)}),setpts=PTS-STARTPTS")
    if size is not None:
        w, h = int(size[0]), int(size[1])
        filters.append(f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,"
                       f"crop={w}:{h},setsar=1")
    if filters:
        args += ["-vf", ",".join(filters)]
    if frames is not None:
        args += ["-frames:v", str(int(frames))]
    out_fmt = pix_fmt or (raw_format.pix_fmt if raw_format is not None else "yuv420p")
    _check_pix_fmt(out_fmt)
    args += ["-pix_fmt", out_fmt, "-fps_mode", "passthrough", "-strict", "-1", "-f", "yuv4mpegpipe"]
    with atomic_path(dst) as tmp:
        try:
            run_ffmpeg([*args, path_arg(tmp)])
        except FfmpegError as exc:
            raise VideoFormatError(f"cannot read video {str(src)!r}: {exc}") from exc
        if tmp.stat().st_size == 0:
            raise VideoFormatError(f"cannot read video {str(src)!r}: no frames decoded")
    return open_video(dst)


# --- colour conversion ------------------------------------------------------------------

_KR_KB = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}


def _coefficients(matrix: str) -> tuple[float, float]:
    if matrix not in _KR_KB:
        raise invalid("matrix", matrix, "'bt709' or 'bt601'")
    return _KR_KB[matrix]


def _upsample(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    ry, rx = -(-shape[0] // plane.shape[0]), -(-shape[1] // plane.shape[1])
    return np.repeat(np.repeat(plane, ry, axis=0), rx, axis=1)[: shape[0], : shape[1]]


def yuv_to_rgb(
    frame: YuvFrame, *, bit_depth: int = 8, matrix: str = "bt709", full_range: bool = False
) -> np.ndarray:
    """Convert a YUV frame to RGB floats in [0, 1], shape (H, W, 3).

    Chroma is upsampled by sample repetition (nearest), which is what a metric that works on
    RGB needs to see the codec's chroma as coded. Limited ("tv") range by default.
    """
    kr, kb = _coefficients(matrix)
    kg = 1.0 - kr - kb
    scale = float(1 << (bit_depth - 8))
    y = frame.y.astype(np.float64) / scale
    u = _upsample(frame.u, frame.y.shape).astype(np.float64) / scale
    v = _upsample(frame.v, frame.y.shape).astype(np.float64) / scale
    if full_range:
        yn, un, vn = y / 255.0, (u - 128.0) / 255.0, (v - 128.0) / 255.0
    else:
        yn, un, vn = (y - 16.0) / 219.0, (u - 128.0) / 224.0, (v - 128.0) / 224.0
    r = yn + 2 * (1 - kr) * vn
    b = yn + 2 * (1 - kb) * un
    g = (yn - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b], axis=-1), 0.0, 1.0)


def rgb_to_yuv(
    rgb: np.ndarray,
    *,
    pix_fmt: str = "yuv420p",
    matrix: str = "bt709",
    full_range: bool = False,
) -> YuvFrame:
    """Convert RGB floats in [0, 1], shape (H, W, 3), to a YUV frame of ``pix_fmt``.

    Chroma is subsampled by averaging (2x2 for 4:2:0); sizes must be even for 4:2:0/4:2:2.

    Raises:
        VideoFormatError: unsupported pix_fmt or odd size for subsampled chroma.
    """
    _check_pix_fmt(pix_fmt)
    sx, sy, bits = PIX_FMTS[pix_fmt]
    h, w = rgb.shape[:2]
    if h % sy or w % sx:
        raise VideoFormatError(f"size {w}x{h} must be divisible by ({sx}, {sy}) for {pix_fmt}")
    kr, kb = _coefficients(matrix)
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    yn = kr * r + (1 - kr - kb) * g + kb * b
    un = (b - yn) / (2 * (1 - kb))
    vn = (r - yn) / (2 * (1 - kr))
    scale = float(1 << (bits - 8))
    if full_range:
        y, u, v = yn * 255.0, un * 255.0 + 128.0, vn * 255.0 + 128.0
    else:
        y, u, v = yn * 219.0 + 16.0, un * 224.0 + 128.0, vn * 224.0 + 128.0

    def sub(p: np.ndarray) -> np.ndarray:
        return p.reshape(h // sy, sy, w // sx, sx).mean(axis=(1, 3))

    dtype = np.uint16 if bits > 8 else np.uint8
    hi = (1 << bits) - 1

    def quant(p: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(p * scale), 0, hi).astype(dtype)

    return YuvFrame(quant(y), quant(sub(u)), quant(sub(v)))
