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
        "40",
        "40",
        "40",
        "0",
    ]
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
@pytest.mark.slow
def test_real_encode_decode(name, tiny_video, tmp_path):
    """Bits equal 8 x file size, decoded video matches the source's shape, and a finer
    quantiser gives higher PSNR with more bits."""
    codec = codecs.create(name)
    lo_q, hi_q = (22, 42) if name in ("x264", "x265", "vvenc") else (20, 55)
    psnr = metrics.create("psnr_y")
    results = {}
    for q in (lo_q, hi_q):
        bs = tmp_path / f"q{q}{codec.extension}"
        res = codecs.run_codec(
            codec, tiny_video, codecs.RatePoint("qp", q), bs, decode_dir=tmp_path
        )
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


# --- target bit rate (kbps) -------------------------------------------------------------


def test_two_pass_commands_share_one_stats_file(tiny_video, tmp_path):
    stats = tmp_path / "stats"
    rate = codecs.RatePoint("kbps", 312.456)
    for name in ("x264", "vp9", "aom-av1", "vvenc", "svt-av1"):
        first, second = codecs.create(name).encode_passes(tiny_video, tmp_path / "o", rate, stats)
        assert _args_after(first, "-pass") == "1" and _args_after(second, "-pass") == "2"
        assert _args_after(first, "-passlogfile") == _args_after(second, "-passlogfile")
        assert _args_after(first, "-b:v") == _args_after(second, "-b:v") == "312456"  # bit/s
        assert first[-3:] == ["-f", "null", "-"] and "-crf" not in second + first
    first, second = codecs.create("x265").encode_passes(tiny_video, tmp_path / "o", rate, stats)
    assert _args_after(first, "-x265-params").endswith(f":pass=1:stats={stats}")
    assert _args_after(second, "-x265-params").endswith(f":pass=2:stats={stats}")
    (_, svt) = codecs.create("svt-av1").encode_passes(tiny_video, tmp_path / "o", rate, stats)
    assert "rc=1" in _args_after(svt, "-svtav1-params").split(":")
    with pytest.raises(CodecError, match="2-pass encode"):
        codecs.create("x264").encode_cmd(tiny_video, tmp_path / "o", rate)


def test_kbps_zero_is_refused():
    with pytest.raises(
        CodecError,
        match=r"'kbps=0' is not allowed: kbps must be a number in "
        r"1..200000",
    ):
        codecs.create("x265").check_rate_point(codecs.RatePoint("kbps", 0))


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_kbps_points_are_monotone_and_leave_no_pass_files(name, tmp_path, monkeypatch):
    from tests.conftest import make_video

    clip = make_video(tmp_path / "clip.y4m", width=128, height=72, frames=16, seed=4)
    monkeypatch.chdir(tmp_path)  # a pass file written to the working directory would show
    scratch = tmp_path / "scratch"
    codec = codecs.create(name)
    actual = []
    for kbps in (40, 80, 160):
        result = codecs.run_codec(
            codec,
            clip,
            codecs.RatePoint("kbps", kbps),
            tmp_path / f"k{kbps}{codec.extension}",
            decode_dir=scratch,
        )
        result.decoded.path.unlink()
        actual.append(result.bits * 25 / 16 / 1000)
    assert actual == sorted(actual) and actual[0] < actual[-1], actual
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clip.y4m",
        *sorted(f"k{k}{codec.extension}" for k in (160, 40, 80)),
        "scratch",
    ]


def test_gop_minus_one_commands(tiny_video):
    """ffmpeg's ``-g -1`` would leave x264 at its default keyint 250 and libvpx at 128 (seen
    with the bundled ffmpeg on 300 frames), so -1 is spelt out per encoder."""

    def cmd(name: str) -> list[str]:
        return codecs.create(name, gop=-1).encode_cmd(
            tiny_video, Path("o"), codecs.RatePoint("qp", 30)
        )

    assert _args_after(cmd("x264"), "-x264-params") == "keyint=infinite"
    assert "-g" not in cmd("x264") and "-keyint_min" not in cmd("x264")
    assert _args_after(cmd("x265"), "-x265-params").startswith("keyint=-1:scenecut=0")
    assert _args_after(cmd("svt-av1"), "-svtav1-params").startswith("keyint=-1:")
    for name in ("vp9", "aom-av1"):
        assert _args_after(cmd(name), "-g") == _args_after(cmd(name), "-keyint_min") == "1000000"
    assert _args_after(cmd("vvenc"), "-vvenc-params").startswith("IntraPeriod=-1:POC0IDR=1:")
    assert "-g" not in cmd("vvenc")  # libvvenc ignores it


def _intra_frames(bitstream: Path, muxer: str) -> list[int]:
    """Indices of I frames as ffmpeg's decoder reports them (``-vf showinfo``)."""
    import re
    import subprocess

    from vqabench.io.ffmpeg import ffmpeg_path

    log = subprocess.run(
        [
            ffmpeg_path(),
            "-hide_banner",
            "-f",
            muxer,
            "-i",
            str(bitstream),
            "-vf",
            "showinfo",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return [i for i, t in enumerate(re.findall(r" type:(\w)", log)) if t == "I"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["x264", "x265", "vp9", "aom-av1", "svt-av1", "vvenc"])
def test_gop_minus_one_codes_one_intra_frame(name, tmp_path):
    from tests.conftest import make_video

    source = make_video(tmp_path / "src.y4m", frames=40, seed=3)
    fast = {
        "x264": "ultrafast",
        "x265": "ultrafast",
        "vp9": 8,
        "aom-av1": 8,
        "svt-av1": 12,
        "vvenc": 0,
    }
    found = {}
    for gop in (16, -1):
        codec = codecs.create(name, preset=fast[name], gop=gop)
        bitstream = tmp_path / f"gop{gop}{codec.extension}"
        codec.encode(source, bitstream, codecs.RatePoint("qp", 40))
        found[gop] = _intra_frames(bitstream, codec.muxer)
    assert found[16][:3] == [0, 16, 32] and found[-1] == [0]


@pytest.mark.slow
def test_vvenc_codes_an_intra_frame_every_gop_frames_from_frame_0(tmp_path):
    """libvvenc ignores ``-g``: the old ``-g N`` gave intra frames at 23 and 47 of 64 (about
    one second at 25 fps) for every N. Intra frames read two ways: vqabench's own reader
    and ffmpeg's decoder."""
    from tests.conftest import make_video
    from vqabench.codecs.framesizes import probe_frames

    source = make_video(tmp_path / "src.y4m", frames=64, seed=5)
    for gop, expected in ((16, [0, 16, 32, 48]), (20, [0, 20, 40, 60]), (32, [0, 32])):
        codec = codecs.create("vvenc", preset=0, gop=gop)
        bitstream = tmp_path / f"gop{gop}.266"
        codec.encode(source, bitstream, codecs.RatePoint("qp", 37))
        mine = [i for i, f in enumerate(probe_frames(bitstream, "vvc")) if f.type == "I"]
        assert mine == _intra_frames(bitstream, "vvc") == expected, gop


def test_vvenc_job_keys_changed_with_its_intra_period():
    """Stored vvenc results coded with the old intra period (about one second whatever the
    gop) are not reused: vvenc's identity carries a revision; other codecs' keys stay."""
    import json

    def old_spec(codec: codecs.Codec) -> str:
        return json.dumps(
            {"name": codec.name, "version": codec.version(), "options": codec.options},
            sort_keys=True,
            default=str,
        )

    vvenc = codecs.create("vvenc")
    assert vvenc.spec != old_spec(vvenc) and json.loads(vvenc.spec)["revision"] == 1
    for name in ("x264", "x265", "vp9", "aom-av1", "svt-av1"):
        assert codecs.create(name).spec == old_spec(codecs.create(name))
