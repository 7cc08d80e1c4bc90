"""Frame-level rates read with trace_headers, checked against the file and ffmpeg's decoder."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.framesizes import (
    bitstream_format,
    cached_frames,
    payload_bits,
    probe_frames,
    record_frames,
)
from vqabench.errors import ConfigError
from vqabench.io.ffmpeg import ffmpeg_path

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)

FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("fs") / "clip.y4m", frames=FRAMES, seed=3)


@pytest.fixture(scope="module")
def streams(clip, tmp_path_factory):
    """One fixed-QP bitstream per codec (GOP 8, so two intra frames in 12)."""
    root = tmp_path_factory.mktemp("bs")
    out = {}
    for name, qp in (
        ("x264", 30),
        ("x265", 30),
        ("vp9", 30),
        ("aom-av1", 30),
        ("svt-av1", 40),
        ("vvenc", 32),
    ):
        codec = codecs.create(name, gop=8)
        path = root / f"{name}{codec.extension}"
        codec.encode(clip, path, codecs.RatePoint("qp", qp))
        out[name] = (path, bitstream_format(codec))
    return out


def _decoder_types(path, fmt):
    """Frame types as ffmpeg's decoder reports them, in output (display) order."""
    proc = subprocess.run(
        [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-f",
            fmt,
            "-i",
            str(path),
            "-vf",
            "showinfo",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
    )
    return re.findall(r"\btype:([IPB])\b", proc.stderr)


@pytest.mark.parametrize("name", ["x264", "x265", "vvenc", "aom-av1", "svt-av1"])
@pytest.mark.slow
def test_sizes_add_up_to_the_whole_raw_stream(streams, name):
    path, fmt = streams[name]
    frames = probe_frames(path, fmt)
    assert len(frames) == FRAMES
    assert sum(f.bits for f in frames) == 8 * path.stat().st_size
    assert sorted(f.decode_index for f in frames) == list(range(FRAMES))


def test_ivf_sizes_add_up_to_the_file_less_its_headers(streams):
    path, fmt = streams["vp9"]
    data = path.read_bytes()
    n_header = int.from_bytes(data[24:28], "little")  # IVF file header: frame count
    assert n_header == FRAMES
    frames = probe_frames(path, fmt)
    assert sum(f.bits for f in frames) == 8 * (len(data) - 32 - 12 * n_header)
    assert payload_bits(path, fmt) == 8 * (len(data) - 32 - 12 * n_header)


@pytest.mark.parametrize("name", ["x264", "x265", "vp9", "aom-av1", "svt-av1", "vvenc"])
def test_frame_types_match_the_decoder_in_display_order(streams, name):
    path, fmt = streams[name]
    mine = "".join(f.type for f in probe_frames(path, fmt))
    assert mine == "".join(_decoder_types(path, fmt))
    if name in ("x264", "x265", "vp9", "aom-av1", "vvenc"):
        assert mine[0] == "I" and mine[8] == "I"  # GOP 8: intra at display frames 0 and 8


def test_vvc_leading_pictures_come_before_their_idr_in_display_order(clip, tmp_path):
    """libvvenc without ``POC0IDR=1`` codes an IDR first whose POC is ``IntraPeriod - 1``,
    followed (in decode order) by its leading pictures (RADL, B slices) that are displayed
    before it: display frame 0 is truly a B frame, not a mislabelled intra frame."""
    path = tmp_path / "lead.266"
    subprocess.run(
        [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(clip.path),
            "-pix_fmt",
            "yuv420p10le",
            "-c:v",
            "libvvenc",
            "-preset",
            "0",
            "-vvenc-params",
            "IntraPeriod=8:threads=1",
            "-f",
            "vvc",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    frames = probe_frames(path, "vvc")
    types = "".join(f.type for f in frames)
    assert types == "".join(_decoder_types(path, "vvc"))
    assert types.index("I") == 7 and frames[7].decode_index == 0 and types[:7] == "B" * 7


@pytest.mark.parametrize("name", ["x264", "x265"])
def test_h26x_cqp_frame_qps_follow_the_ip_pb_ratios(streams, name):
    # CQP 30 with the default ipratio 1.40 and pbratio 1.30 (x264 and x265): QP offsets are
    # 6 * log2(ratio) = 2.91 and 2.27, so I = 27, P = 30, B = 32 (B frames used as reference
    # in the pyramid sit halfway, 31).
    path, fmt = streams[name]
    frames = probe_frames(path, fmt)
    assert {f.qp for f in frames if f.type == "I"} == {27}
    assert {f.qp for f in frames if f.type == "P"} <= {30}
    assert {f.qp for f in frames if f.type == "B"} <= {31, 32}
    assert any(f.qp == 32 for f in frames)


def test_vp9_fixed_quantiser_frame_qp_is_its_qindex(streams):
    # libvpx maps quantiser 30 to qindex 120 (quantizer_to_qindex: 4 * q below 63).
    path, fmt = streams["vp9"]
    assert {f.qp for f in probe_frames(path, fmt)} == {120}


def test_sidecar_is_reused_and_refreshed_when_the_bitstream_changes(streams, tmp_path):
    src, fmt = streams["x264"]
    path = tmp_path / "a.264"
    path.write_bytes(src.read_bytes())
    frames = record_frames(path, fmt, frames=FRAMES)
    side = tmp_path / "a.264.frames.json"
    data = json.loads(side.read_text())
    assert [b for b, *_ in data["frames"]] == [f.bits for f in frames]
    data["frames"][0][0] = 1  # a kept result is used as it is ...
    side.write_text(json.dumps(data))
    assert cached_frames(path, fmt)[0].bits == 1
    path.write_bytes(streams["x265"][0].read_bytes())  # ... until the bitstream changes
    assert [f.bits for f in cached_frames(path, "hevc")] == [
        f.bits for f in probe_frames(streams["x265"][0], "hevc")
    ]


def test_unknown_format_is_refused(streams):
    with pytest.raises(ConfigError, match="fmt='mp4' is not allowed"):
        probe_frames(streams["x264"][0], "mp4")
