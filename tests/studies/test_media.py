"""Study media through the bundled ffmpeg: 8-bit 4:2:0 survives the WebM exactly, 10-bit
equals ffmpeg's own undithered conversion, the same input gives the same bytes, a run's
bitstream is decoded as its codec decodes it, and attention videos are 8x8-block averages."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.base import RatePoint
from vqabench.config import CodecSpec
from vqabench.io.ffmpeg import path_arg, run_ffmpeg
from vqabench.io.video import read_all, to_y4m
from vqabench.studies.media import (
    ATTENTION_FACTOR,
    MEDIA_ARGS,
    attention_webm,
    decode_to_webm,
    to_webm,
)


def _decoded(webm, tmp_path, name="back.y4m"):
    return read_all(to_y4m(webm, tmp_path / name))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("media") / "src.y4m", frames=4)


def test_media_args_are_lossless_vp9_in_webm():
    args = list(MEDIA_ARGS)
    assert args[args.index("-c:v") + 1] == "libvpx-vp9"
    assert args[args.index("-lossless") + 1] == "1"
    assert args[args.index("-pix_fmt") + 1] == "yuv420p" and args[-2:] == ["-f", "webm"]


@pytest.mark.slow
def test_8_bit_420_is_kept_exactly_and_reproducibly(source, tmp_path):
    first = to_webm(source.path, tmp_path / "a.webm")
    again = to_webm(source.path, tmp_path / "b.webm")
    assert first.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML (Matroska/WebM) magic
    assert first.read_bytes() == again.read_bytes()
    got, want = _decoded(first, tmp_path), read_all(source)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.slow
def test_10_bit_equals_ffmpegs_undithered_conversion(tmp_path):
    src = make_video(tmp_path / "s10.y4m", frames=2, pix_fmt="yuv420p10le")
    got = _decoded(to_webm(src.path, tmp_path / "s10.webm"), tmp_path)
    direct = tmp_path / "direct.y4m"
    run_ffmpeg(
        [
            "-i",
            path_arg(src.path),
            "-pix_fmt",
            "yuv420p",
            "-sws_dither",
            "none",
            "-f",
            "yuv4mpegpipe",
            path_arg(direct),
        ]
    )
    want = read_all(to_y4m(direct, tmp_path / "direct_copy.y4m"))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # and it is the 10-bit video rounded to 8 bits: within half an 8-bit step (2 at 10 bits)
    assert np.abs(got.y.astype(int) * 4 - read_all(src).y.astype(int)).max() <= 2


@pytest.mark.slow
def test_decode_to_webm_equals_the_codecs_own_decode(source, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    codec = codecs.create("x264")
    bitstream = tmp_path / "x.mp4"
    codec.encode(source, bitstream, RatePoint("qp", 40))
    codec.decode(bitstream, tmp_path / "dec.y4m", source)
    spec = CodecSpec("x264", "qp", (40,))
    got = _decoded(decode_to_webm(bitstream, spec, source, tmp_path / "x.webm"), tmp_path)
    want = read_all(to_y4m(tmp_path / "dec.y4m", tmp_path / "dec_copy.y4m"))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert not np.array_equal(got.y, read_all(source).y)  # qp 40 is lossy: a real decode
    assert list(scratch.iterdir()) == []  # the intermediate Y4M is gone


def test_attention_video_is_block_averaged_luma(source, tmp_path):
    got = _decoded(attention_webm(source, tmp_path / "att.webm"), tmp_path).y.astype(float)
    f = ATTENTION_FACTOR
    luma = read_all(source).y.astype(float)
    t, h, w = luma.shape
    means = luma.reshape(t, h // f, f, w // f, f).mean(axis=(2, 4))
    blocks = np.repeat(np.repeat(means, f, axis=1), f, axis=2)
    # every 8x8 block is one value (pixel repetition), the block's mean to rounding
    assert np.ptp(got.reshape(t, h // f, f, w // f, f), axis=(2, 4)).max() == 0
    assert np.abs(got - blocks).max() <= 1.0
