"""Decode speed: the timed command is single-threaded to null, best of N, real decodes."""

from __future__ import annotations

import pytest

from vqabench import codecs
from vqabench.codecs.decodespeed import decode_cmd_null, decode_speed
from vqabench.errors import ConfigError


def test_command_is_single_thread_to_null(tmp_path):
    cmd = decode_cmd_null(tmp_path / "a.264", "h264")
    assert cmd[cmd.index("-threads") + 1] == "1" and cmd.index("-threads") < cmd.index("-i")
    assert cmd[-3:] == ["-f", "null", "-"]


@pytest.mark.slow
def test_best_of_n_counts_the_bitstreams_frames(tiny_video, tmp_path):
    codec = codecs.create("x264")
    path = tmp_path / "a.264"
    codec.encode(tiny_video, path, codecs.RatePoint("qp", 30))
    s = decode_speed(path, "h264", repeats=3)
    assert s.frames == tiny_video.frames and len(s.times_s) == 3
    assert s.best_s == min(s.times_s) and s.fps == tiny_video.frames / s.best_s
    with pytest.raises(ConfigError, match="repeats=0"):
        decode_speed(path, "h264", repeats=0)


def test_codec_decoder_is_refused_for_a_codec_without_one(tmp_path):
    from vqabench.codecs.decodespeed import codec_decode_speed

    with pytest.raises(ConfigError, match=r"codec.*x264.*decodes in this process"):
        codec_decode_speed(codecs.create("x264"), tmp_path / "a.264")
