"""Browser media for a study: every video is re-decoded from its bitstream and converted the
same way, to VP9 in WebM, lossless (``-lossless 1``) in 8-bit 4:2:0.

Why VP9/WebM: Debian's ``chromium`` package ships without proprietary codecs (no H.264/HEVC
in MP4), while VP9 in WebM plays in every Chromium, Firefox and Safari build. Lossless VP9
keeps every decoded sample of an 8-bit 4:2:0 video exactly; other formats are converted to
``yuv420p`` first (10-bit rounded to 8 bits without dithering, as the codecs' decoders
do; 4:4:4 chroma subsampled), which the spec
records per video (``exact``). The same arguments are used for every condition, the hidden
reference and the attention videos (:data:`MEDIA_ARGS` is stored in the study spec); with
one encoder thread and bit-exact muxing the same study gives the same bytes again.

Attention videos (obviously degraded, for observer screening) are the source downscaled by
:data:`ATTENTION_FACTOR` (area average) and scaled back up by pixel repetition.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vqabench import codecs
from vqabench.config import CodecSpec
from vqabench.io.atomic import atomic_path
from vqabench.io.ffmpeg import path_arg, run_ffmpeg
from vqabench.io.video import Video

__all__ = [
    "MEDIA_ARGS",
    "MEDIA_PIX_FMT",
    "ATTENTION_FACTOR",
    "to_webm",
    "decode_to_webm",
    "attention_webm",
]

MEDIA_PIX_FMT = "yuv420p"
#: ffmpeg output arguments of every study video (after ``-i INPUT``).
MEDIA_ARGS: tuple[str, ...] = (
    "-map",
    "0:v:0",
    "-an",
    "-pix_fmt",
    MEDIA_PIX_FMT,
    "-sws_dither",
    "none",
    "-c:v",
    "libvpx-vp9",
    "-lossless",
    "1",
    "-row-mt",
    "0",
    "-threads",
    "1",
    "-fps_mode",
    "passthrough",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-map_metadata",
    "-1",
    "-f",
    "webm",
)
ATTENTION_FACTOR = 8


def to_webm(video: Path, out: Path, *, vf: str | None = None) -> Path:
    """Convert ``video`` (Y4M or any container ffmpeg reads) to study WebM, atomically."""
    filters = ["-vf", vf] if vf else []
    with atomic_path(out, suffix=".webm") as tmp:
        run_ffmpeg(["-i", path_arg(video), *filters, *MEDIA_ARGS, path_arg(tmp)])
    return Path(out)


def decode_to_webm(bitstream: Path, spec: CodecSpec, source: Video, out: Path) -> Path:
    """Decode a run's bitstream with its codec (exactly as the run did) and convert it.

    Args:
        bitstream: the coded file kept in the run's ``bitstreams/``.
        spec: the codec as configured in the run (name and options).
        source: the codec's input video (for frame rate and sample format).
        out: the WebM file to write.

    Raises:
        FfmpegError / CodecError: decoding or conversion failed.
    """
    codec = codecs.create(spec.name, **dict(spec.options))
    fd, tmp = tempfile.mkstemp(prefix="vqabench-study-", suffix=".y4m")
    os.close(fd)
    try:
        codec.decode(Path(bitstream), Path(tmp), source)
        return to_webm(Path(tmp), out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def attention_webm(source: Video, out: Path) -> Path:
    """An obviously degraded version of ``source`` (blocky, 1/8 resolution)."""
    f = ATTENTION_FACTOR
    w, h = max(2, source.width // f // 2 * 2), max(2, source.height // f // 2 * 2)
    vf = f"scale={w}:{h}:flags=area,scale={source.width}:{source.height}:flags=neighbor"
    return to_webm(source.path, out, vf=vf)
