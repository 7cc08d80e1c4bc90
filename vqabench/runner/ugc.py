"""Two-stage UGC transcoding data: pristine source S -> reference R -> transcode D.

Stage 1 compresses S once, as a phone does, into a non-pristine reference R (default x264 at
QP 30, 37 and 42: groups High, Medium, Low). Stage 2 transcodes R, as a platform does, into D
(default: x264 at QP 32-42 step 2, AV1 by libaom and VP9 by libvpx at QP 38-63 step 5; six
points each, 18 transcodes per reference, 54 per source). Quality is judged against S.

AV1 is libaom (``aom-av1``) because its fixed-quantiser mode (``end-usage=q`` with
``cq-level = min-q = max-q``) and its 0-63 quantiser scale are those of libvpx VP9, so
"QP 38-63" means the same control for both; single-threaded it is deterministic.

Example:
    >>> ref = make_reference(seq.source, default_reference().codec, 37, Path("R.y4m"))
    >>> enc = transcode(ref.video, default_transcodes()[0], 32, Path("work"))
    >>> video_quality(seq.source, ref.video, enc.decoded)["vmaf_sd"]
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vqabench import codecs, metrics
from vqabench.codecs import Codec, EncodeResult, RatePoint
from vqabench.config import CodecSpec, ReferenceSpec
from vqabench.errors import CodecError
from vqabench.experiment import parse_codec_spec, parse_reference_spec
from vqabench.io.video import Video, open_video

__all__ = [
    "DEFAULT_REFERENCE",
    "DEFAULT_TRANSCODES",
    "ReferenceResult",
    "default_reference",
    "default_transcodes",
    "rate_points",
    "create_codec",
    "make_reference",
    "transcode",
    "video_quality",
]

#: Stage 1 (S -> R), as published for PT-Loss / RankDVQA-UGC training data.
DEFAULT_REFERENCE = "x264:qp=30,37,42"
#: Stage 2 (R -> D): 6 + 6 + 6 rate points.
DEFAULT_TRANSCODES = (
    "x264:qp=32,34,36,38,40,42",
    "aom-av1:qp=38,43,48,53,58,63",
    "vp9:qp=38,43,48,53,58,63",
)


def default_reference() -> ReferenceSpec:
    """The default reference stage (x264 QP 30/37/42, groups High/Medium/Low)."""
    return parse_reference_spec(DEFAULT_REFERENCE)


def default_transcodes() -> tuple[CodecSpec, ...]:
    """The default transcode ladders (x264, aom-av1, vp9; 18 rate points)."""
    return tuple(parse_codec_spec(text) for text in DEFAULT_TRANSCODES)


def rate_points(spec: CodecSpec) -> tuple[RatePoint, ...]:
    """The explicit rate points of a ladder (``RatePoint("qp", 32)`` ...)."""
    return tuple(RatePoint(spec.rate_param, v) for v in spec.values)


def create_codec(spec: CodecSpec) -> Codec:
    """The codec of a ladder with its options (preset, gop ...).

    Built-in ffmpeg codecs come straight from the registry, so a worker process does not
    import the optional learned codecs (and torch) to make an x264 encoder.
    """
    if spec.name in codecs.CODECS:
        return codecs.CODECS.get(spec.name)(**dict(spec.options))
    return codecs.create(spec.name, **dict(spec.options))


def _metric(name: str, **options: object) -> metrics.Metric:
    # vmaf and psnr_y are built in: skip loading the optional (torch) metric modules
    if name in metrics.METRICS:
        return metrics.METRICS.get(name)(**options)
    return metrics.create(name, **options)


@dataclass(frozen=True)
class ReferenceResult:
    """A reference R made from S.

    Attributes:
        video: the decoded reference (Y4M), the input of stage 2.
        bits: size of R's bitstream in bits (0 when R was already on disk).
        enc_s: encoding time in seconds (0 when R was already on disk).
    """

    video: Video
    bits: int
    enc_s: float


def make_reference(
    source: Video, spec: CodecSpec, value: int | float, dst: Path
) -> ReferenceResult:
    """Stage 1: encode S at one rate point of ``spec`` and keep the decoded R at ``dst``.

    An R already at ``dst`` is reused (it is only ever written whole, by rename).

    Args:
        source: the pristine source S (Y4M).
        spec: the reference codec ladder (its name and options; ``value`` is one point).
        value: the rate-point value (e.g. 37 for ``qp=37``).
        dst: where the decoded R goes (``.y4m``).

    Raises:
        CodecError, FfmpegError: the encoder or decoder failed.
    """
    dst = Path(dst)
    if dst.is_file():
        return ReferenceResult(open_video(dst), 0, 0.0)
    codec = create_codec(spec)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ref-", dir=dst.parent) as tmp:
        enc = codecs.run_codec(
            codec,
            source,
            RatePoint(spec.rate_param, value),
            Path(tmp) / f"r{codec.extension}",
            decode_dir=Path(tmp),
        )
        if enc.decoded is None:  # pragma: no cover - run_codec always decodes
            raise CodecError(f"{codec.name} at {value}: no decoded reference")
        os.replace(enc.decoded.path, dst)
    return ReferenceResult(open_video(dst), enc.bits, enc.enc_s)


def transcode(
    reference: Video, spec: CodecSpec, value: int | float, work_dir: Path
) -> EncodeResult:
    """Stage 2: encode R at one rate point and decode it to D (a Y4M under ``work_dir``).

    Args:
        reference: the reference R (Y4M).
        spec: the transcoding codec ladder.
        value: the rate-point value.
        work_dir: where the bitstream and the decoded D go; the caller removes both
            (``result.bitstream`` and ``result.decoded.path``).

    Raises:
        CodecError, FfmpegError: the encoder or decoder failed.
    """
    codec = create_codec(spec)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    rate = RatePoint(spec.rate_param, value)
    fd, bitstream = tempfile.mkstemp(prefix="d-", suffix=codec.extension, dir=work_dir)
    os.close(fd)
    return codecs.run_codec(codec, reference, rate, Path(bitstream), decode_dir=work_dir)


def video_quality(
    source: Video, reference: Video, distorted: Video, *, vmaf_model: str = "vmaf_v0.6.1"
) -> dict[str, float]:
    """VMAF and PSNR-Y of D against S (``*_sd``) and against R (``*_rd``).

    Arguments follow the (reference, distorted) order of every full-reference metric:
    ``vmaf_sd = VMAF(S, D)``, ``vmaf_rd = VMAF(R, D)``.

    Returns:
        ``{"vmaf_sd", "vmaf_rd", "psnr_sd", "psnr_rd"}`` (mean over frames; PSNR in dB).
    """
    vmaf = _metric("vmaf", model=vmaf_model)
    psnr = _metric("psnr_y")
    return {
        "vmaf_sd": vmaf.compute(source, distorted).value,
        "vmaf_rd": vmaf.compute(reference, distorted).value,
        "psnr_sd": psnr.compute(source, distorted).value,
        "psnr_rd": psnr.compute(reference, distorted).value,
    }
