"""Codecs: command lists (no binaries needed) and real encodes through the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqabench import codecs, metrics
from vqabench.errors import CodecError, ConfigError, UnknownNameError

ALL = ["x264", "x265", "vp9", "aom-av1", "svt-av1", "vvenc"]


def _args_after(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_x264_qp_goes_to_qp_not_crf(tiny_video):
    cmd = codecs.create("x264").encode_cmd(tiny_video, Path("o.264"), codecs.RatePoint("qp", 32))
    assert _args_after(cmd, "-qp") == "32" and "-crf" not in cmd
    cmd = codecs.create("x264").encode_cmd(tiny_video, Path("o.264"), codecs.RatePoint("crf", 23))
    assert _args_after(cmd, "-crf") == "23" and "-qp" not in cmd
    assert _args_after(cmd, "-g") == "32" and _args_after(cmd, "-threads") == "1"


def test_vp9_fixed_quantiser_pins_min_and_max(tiny_video):
    cmd = codecs.create("vp9").encode_cmd(tiny_video, Path("o.ivf"), codecs.RatePoint("qp", 40))
    assert [_args_after(cmd, f) for f in ("-crf", "-qmin", "-qmax", "-b:v")] == [
        "40", "40", "40", "0"]
    assert cmd[-3:-1] == ["-f", "ivf"]


def test_rate_point_validation():
    x264 = codecs.create("x264")
    with pytest.raises(CodecError, match=r"qp must be a number in 0..51"):
        x264.check_rate_point(codecs.RatePoint("qp", 60))
    with pytest.raises(CodecError, match=r"expected one of qp=0..51, crf=0..51"):
        x264.check_rate_point(codecs.RatePoint("bitrate", 500))
    with pytest.raises(ConfigError, match="param=value"):
        codecs.parse_rate_point("32")
    assert codecs.parse_rate_point("qp=32") == codecs.RatePoint("qp", 32)


def test_unknown_codec_and_bad_option():
    with pytest.raises(UnknownNameError, match="did you mean .*'x264'"):
        codecs.create("x246")
    with pytest.raises(ConfigError, match="gop=0"):
        codecs.create("x265", gop=0)


@pytest.mark.parametrize("name", ALL)
def test_real_encode_decode(name, tiny_video, tmp_path):
    """Bits equal 8 x file size, decoded video matches the source's shape, and a finer
    quantiser gives higher PSNR with more bits."""
    codec = codecs.create(name)
    lo_q, hi_q = (22, 42) if name in ("x264", "x265", "vvenc") else (20, 55)
    psnr = metrics.create("psnr_y")
    results = {}
    for q in (lo_q, hi_q):
        bs = tmp_path / f"q{q}{codec.extension}"
        res = codecs.run_codec(codec, tiny_video, codecs.RatePoint("qp", q), bs,
                               decode_dir=tmp_path)
        assert res.bits == 8 * bs.stat().st_size > 0
        assert res.decoded.frames == tiny_video.frames
        results[q] = (res.bits, psnr.compute(tiny_video, res.decoded).value)
        res.decoded.path.unlink()
    assert results[lo_q][0] > results[hi_q][0]
    assert results[lo_q][1] > results[hi_q][1] + 2.0
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob("vqabench-dec-*"))


def test_x264_is_deterministic(tiny_video, tmp_path):
    codec = codecs.create("x264")
    a = codecs.run_codec(codec, tiny_video, codecs.RatePoint("qp", 30), tmp_path / "a.264")
    b = codecs.run_codec(codec, tiny_video, codecs.RatePoint("qp", 30), tmp_path / "b.264")
    assert (tmp_path / "a.264").read_bytes() == (tmp_path / "b.264").read_bytes()
    a.decoded.path.unlink()
    b.decoded.path.unlink()


def test_encoder_failure_leaves_no_partial_bitstream(tiny_video, tmp_path):
    from vqabench.errors import FfmpegError

    codec = codecs.create("x264", extra=["-profile:v", "no-such-profile"])
    with pytest.raises(FfmpegError):
        codecs.run_codec(codec, tiny_video, codecs.RatePoint("qp", 30), tmp_path / "x.264")
    assert list(tmp_path.iterdir()) == []
