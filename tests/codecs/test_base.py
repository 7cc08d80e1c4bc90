"""The codec contract (vqabench/codecs/base.py): explicit rate points, range checks, specs,
and run_codec's atomic bitstream, bit count and decoded-video checks, with a stand-in codec
whose commands copy files (so every number has a hand-derived value)."""

from __future__ import annotations

import json
import sys
from typing import ClassVar

import pytest

from tests.conftest import make_video
from vqabench.codecs.base import Codec, RatePoint, parse_rate_point, run_codec
from vqabench.errors import CodecError, ConfigError, FfmpegError
from vqabench.io.video import open_video, read_all

_COPY = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"


class CopyCodec(Codec):
    """'Encodes' by copying the Y4M, 'decodes' by copying it back."""

    name = "copy"
    extension = ".y4m"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {"qp": (0, 51)}
    native_pix_fmts: ClassVar[tuple[str, ...]] = ("yuv420p",)

    def __init__(self, decode_script: str = _COPY):
        self.decode_script = decode_script

    def encode_cmd(self, source, bitstream, rate):
        return [sys.executable, "-c", _COPY, str(source.path), str(bitstream)]

    def decode_cmd(self, bitstream, output, source):
        return [sys.executable, "-c", self.decode_script, str(bitstream), str(output)]


def test_parse_rate_point():
    assert parse_rate_point("qp=32") == RatePoint("qp", 32)
    assert parse_rate_point(" crf = 27.5 ") == RatePoint("crf", 27.5)
    assert parse_rate_point("model=s") == RatePoint("model", "s")
    assert RatePoint("qp", 32).label == str(RatePoint("qp", 32)) == "qp=32"
    for bad in ("32", "qp=", "=3", "qp=1=2"):
        with pytest.raises(ConfigError, match="param=value"):
            parse_rate_point(bad)


def test_check_rate_point_names_the_allowed_controls():
    codec = CopyCodec()
    codec.check_rate_point(RatePoint("qp", 0))
    codec.check_rate_point(RatePoint("qp", 51))
    with pytest.raises(CodecError, match=r"'crf=20' is not allowed: expected one of qp=0..51"):
        codec.check_rate_point(RatePoint("crf", 20))
    with pytest.raises(CodecError, match=r"qp must be a number in 0..51"):
        codec.check_rate_point(RatePoint("qp", 52))
    with pytest.raises(CodecError, match=r"qp must be a number"):
        codec.check_rate_point(RatePoint("qp", "high"))


def test_spec_is_stable_json_of_name_version_options():
    assert json.loads(CopyCodec().spec) == {"name": "copy", "version": "unknown", "options": {}}
    assert CopyCodec().spec == CopyCodec().spec


@pytest.mark.slow
def test_run_codec_bits_are_eight_times_the_file_size(tmp_path):
    src = make_video(tmp_path / "src.y4m", frames=3)
    bitstream = tmp_path / "out" / "a.y4m"
    bitstream.parent.mkdir()
    result = run_codec(CopyCodec(), src, RatePoint("qp", 30), bitstream, decode_dir=tmp_path)
    assert result.bits == 8 * src.path.stat().st_size == 8 * bitstream.stat().st_size
    assert result.decoded.path.parent == tmp_path
    assert (read_all(result.decoded).y == read_all(src).y).all()
    assert not list(bitstream.parent.glob(".tmp-*"))  # written under a temporary name
    again = run_codec(CopyCodec(), src, RatePoint("qp", 30), bitstream, encode=False)
    assert again.enc_s == 0.0 and again.bits == result.bits
    again.decoded.path.unlink()


@pytest.mark.slow
def test_run_codec_refuses_a_decoded_video_that_does_not_match(tmp_path):
    src = make_video(tmp_path / "src.y4m", frames=4)
    short = make_video(tmp_path / "short.y4m", frames=2)
    codec = CopyCodec(f"import shutil, sys; shutil.copyfile({str(short.path)!r}, sys.argv[2])")
    with pytest.raises(
        CodecError,
        match=r"decoded 64x64 with 2 frames, source is 64x64 with "
        r"4 frames",
    ):
        run_codec(codec, src, RatePoint("qp", 30), tmp_path / "b.y4m", decode_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.y4m", "short.y4m", "src.y4m"]


@pytest.mark.slow
def test_run_codec_failures(tmp_path):
    src = make_video(tmp_path / "src.y4m", frames=2)
    failing = CopyCodec("import sys; sys.stderr.write('broken stream'); sys.exit(1)")
    with pytest.raises(FfmpegError, match="broken stream"):
        run_codec(failing, src, RatePoint("qp", 30), tmp_path / "c.y4m", decode_dir=tmp_path)
    with pytest.raises(CodecError, match="not allowed"):  # checked before any command runs
        run_codec(CopyCodec(), src, RatePoint("qp", 99), tmp_path / "d.y4m")
    assert not (tmp_path / "d.y4m").exists()
    assert open_video(src.path).frames == 2
