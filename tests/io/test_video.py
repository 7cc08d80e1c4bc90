"""Video I/O: Y4M / raw YUV round trips checked against ffmpeg, name parsing, bad input."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from skimage.color import rgb2ycbcr

from tests.conftest import make_video
from vqabench.errors import ConfigError, VideoFormatError
from vqabench.io.ffmpeg import ffmpeg_path, run_ffmpeg
from vqabench.io.process import run_command
from vqabench.io.video import (
    open_video,
    parse_yuv_name,
    probe,
    read_all,
    read_frames,
    rgb_to_yuv,
    to_y4m,
    write_y4m,
    yuv_to_rgb,
)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuv420p10le", "yuv422p"])
def test_y4m_planes_equal_ffmpeg_raw_decode(tmp_path, pix_fmt):
    """Our Y4M writer and reader agree with ffmpeg's own reading of the file (raw dump)."""
    video = make_video(tmp_path / "a.y4m", width=48, height=32, frames=3, pix_fmt=pix_fmt)
    raw = tmp_path / "a.yuv"
    run_ffmpeg(["-i", video.path, "-f", "rawvideo", "-pix_fmt", pix_fmt, raw])
    ours = b"".join(p.tobytes() for f in read_frames(video) for p in f)
    assert raw.read_bytes() == ours
    reopened = open_video(raw, width=48, height=32, pix_fmt=pix_fmt)
    assert reopened.frames == 3
    for a, b in zip(read_frames(video), read_frames(reopened), strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)


def test_header_fields(tmp_path):
    video = make_video(
        tmp_path / "b.y4m",
        width=64,
        height=32,
        frames=5,
        fps=Fraction(30000, 1001),
        pix_fmt="yuv420p10le",
    )
    again = open_video(video.path)
    assert (again.width, again.height, again.frames, again.fps, again.bit_depth) == (
        64,
        32,
        5,
        Fraction(30000, 1001),
        10,
    )
    assert read_all(again).y.shape == (5, 32, 64)
    assert read_all(again).u.shape == (5, 16, 32)


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "Beauty_1920x1080_120fps_420_8bit_YUV.yuv",
            {"width": 1920, "height": 1080, "fps": Fraction(120), "pix_fmt": "yuv420p"},
        ),
        (
            "Campfire_3840x2160_30fps_10bit_420.yuv",
            {"width": 3840, "height": 2160, "fps": Fraction(30), "pix_fmt": "yuv420p10le"},
        ),
        ("BasketballDrill_832x480_50.yuv", {"width": 832, "height": 480, "pix_fmt": "yuv420p"}),
        (
            "Foo_1280x720_60fps_444.yuv",
            {"width": 1280, "height": 720, "fps": Fraction(60), "pix_fmt": "yuv444p"},
        ),
    ],
)
def test_parse_yuv_name(name, expected):
    parsed = parse_yuv_name(name)
    assert {k: parsed[k] for k in expected} == expected


def test_parse_yuv_name_without_size():
    with pytest.raises(VideoFormatError, match="carries no frame size"):
        parse_yuv_name("clip.yuv")


def test_raw_size_that_does_not_divide(tmp_path):
    path = tmp_path / "clip_64x64.yuv"
    path.write_bytes(bytes(64 * 64 * 3 // 2 * 2 + 100))
    with pytest.raises(VideoFormatError, match="not a multiple of the frame size 6144"):
        open_video(path)


def test_truncated_y4m(tmp_path):
    video = make_video(tmp_path / "t.y4m", frames=3)
    data = video.path.read_bytes()
    video.path.write_bytes(data[:-10])
    with pytest.raises(VideoFormatError, match="truncated Y4M file.*2 whole frames"):
        open_video(video.path)


@pytest.mark.parametrize(
    "header, match",
    [
        (b"YUV4MPEG2 W64 H64 F25:1 Cmono12\nFRAME\n", "colour space Cmono12 is not supported"),
        (b"RIFF....", "not a Y4M file"),
        (b"YUV4MPEG2 W64 F25:1\nFRAME\n", "no valid W and H"),
        (b"YUV4MPEG2 W64 H64 F25:x\nFRAME\n", "malformed Y4M header field"),
        (b"YUV4MPEG2 W64 H64 F25:1 C420", "header line has no end"),
    ],
)
def test_bad_y4m_headers(tmp_path, header, match):
    path = tmp_path / "bad.y4m"
    path.write_bytes(header + bytes(64))
    with pytest.raises(VideoFormatError, match=match):
        open_video(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(VideoFormatError, match="does not exist"):
        open_video(tmp_path / "nope.y4m")
    (tmp_path / "x.mp4").write_bytes(b"x")
    with pytest.raises(VideoFormatError, match="to_y4m"):
        open_video(tmp_path / "x.mp4")


@pytest.mark.slow
def test_to_y4m_from_container_keeps_frames_and_crops(tmp_path):
    """A lossless container round trip gives back exactly our frames."""
    video = make_video(tmp_path / "s.y4m", width=64, height=48, frames=6)
    mkv = tmp_path / "s.mkv"
    run_ffmpeg(["-i", video.path, "-c:v", "ffv1", mkv])
    back = to_y4m(mkv, tmp_path / "back.y4m", frames=4, start=1)
    assert back.frames == 4
    for a, b in zip(read_frames(video, start=1, count=4), read_frames(back), strict=True):
        np.testing.assert_array_equal(a.y, b.y)
    scaled = to_y4m(mkv, tmp_path / "scaled.y4m", size=(32, 32))
    assert (scaled.width, scaled.height, scaled.frames) == (32, 32, 6)


@pytest.mark.parametrize(
    "pix_fmt, size, allowed",
    [
        ("yuv420p", (351, 287), "an even width and height for yuv420p (2x2 chroma subsampling)"),
        ("yuv420p", (352, 287), "an even width and height for yuv420p"),
        ("yuv422p", (351, 288), "an even width for yuv422p (2x1 chroma subsampling)"),
    ],
)
def test_to_y4m_refuses_a_size_the_chroma_cannot_hold(tmp_path, pix_fmt, size, allowed):
    """Before: ffmpeg's crop rounded 351x287 down to 350x286 while the run said 351x287."""
    video = make_video(tmp_path / "s.y4m", width=64, height=48, frames=2, pix_fmt=pix_fmt)
    dst = tmp_path / "out.y4m"
    with pytest.raises(
        ConfigError,
        match=re.escape(f"size='{size[0]}x{size[1]}' is not allowed: expected {allowed}"),
    ):
        to_y4m(video.path, dst, size=size)
    assert not dst.exists() and not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("pix_fmt, size", [("yuv444p", (35, 27)), ("yuv422p", (36, 27))])
def test_to_y4m_gives_exactly_the_size_the_chroma_allows(tmp_path, pix_fmt, size):
    video = make_video(tmp_path / "s.y4m", width=64, height=48, frames=2, pix_fmt=pix_fmt)
    out = to_y4m(video.path, tmp_path / "out.y4m", size=size)
    header = (tmp_path / "out.y4m").read_bytes().split(b"\n", 1)[0].split()
    assert (out.width, out.height) == size
    assert f"W{size[0]}".encode() in header and f"H{size[1]}".encode() in header


def test_to_y4m_unreadable(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoFormatError, match="cannot read video"):
        to_y4m(bad, tmp_path / "out.y4m")
    assert not (tmp_path / "out.y4m").exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_rgb_to_yuv_bt601_matches_skimage():
    """BT.601 limited range equals scikit-image's rgb2ycbcr (ITU-R BT.601, 16..235)."""
    rng = np.random.default_rng(3)
    rgb = rng.random((8, 8, 3))
    ours = rgb_to_yuv(rgb, pix_fmt="yuv444p", matrix="bt601")
    ref = np.clip(np.rint(rgb2ycbcr(rgb)), 0, 255)
    for i in range(3):
        np.testing.assert_allclose(ours[i], ref[..., i], atol=1)


def test_yuv_rgb_round_trip_bt709():
    rng = np.random.default_rng(4)
    rgb = rng.random((16, 16, 3))
    back = yuv_to_rgb(rgb_to_yuv(rgb, pix_fmt="yuv444p"))
    np.testing.assert_allclose(back, rgb, atol=3 / 219)


def test_write_y4m_is_atomic_on_bad_frame(tmp_path):
    frames = [rgb_to_yuv(np.zeros((16, 16, 3))), rgb_to_yuv(np.zeros((8, 8, 3)))]
    with pytest.raises(VideoFormatError, match="plane shape"):
        write_y4m(tmp_path / "x.y4m", frames, width=16, height=16, fps=25)
    assert list(tmp_path.iterdir()) == []


# --- colour (issue 12.3) -------------------------------------------------------------------


def _ffmpeg_rgb(tmp_path, frame, pix_fmt, matrix, color_range):
    """ffmpeg's own YUV -> RGB (swscale, accurate rounding) of one frame, as floats."""
    h, w = frame.y.shape
    src = write_y4m(tmp_path / "c.y4m", [frame], width=w, height=h, fps=25, pix_fmt=pix_fmt)
    out = tmp_path / "c.rgb"
    ff_matrix = {"bt601": "bt601", "bt709": "bt709", "bt2020": "bt2020"}[matrix]
    rng = {"limited": "tv", "full": "pc"}[color_range]
    run_ffmpeg(
        [
            "-i",
            src.path,
            "-vf",
            f"scale=in_color_matrix={ff_matrix}:in_range={rng}:out_range=pc:"
            "flags=accurate_rnd+full_chroma_int+bitexact+neighbor",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            out,
        ]
    )
    # rgb24: swscale's deeper RGB outputs scale 8-bit input by 256, not 257
    return np.fromfile(out, dtype=np.uint8).reshape(h, w, 3) / 255.0


@pytest.mark.parametrize(
    ("matrix", "color_range", "pix_fmt"),
    [
        ("bt601", "limited", "yuv444p"),
        ("bt709", "limited", "yuv444p"),
        ("bt709", "full", "yuv444p"),
        ("bt2020", "limited", "yuv444p10le"),
        ("bt601", "full", "yuv444p10le"),
    ],
)
def test_yuv_to_rgb_matches_ffmpeg_swscale(tmp_path, matrix, color_range, pix_fmt):
    """Our conversion (one coefficient definition) against ffmpeg's scale filter on the same
    frame, for every matrix and both ranges."""
    rgb = np.clip(np.random.default_rng(3).random((16, 16, 3)), 0.05, 0.95)
    frame = rgb_to_yuv(rgb, pix_fmt=pix_fmt, matrix=matrix, color_range=color_range)
    bits = 10 if "10" in pix_fmt else 8
    ours = yuv_to_rgb(frame, bit_depth=bits, matrix=matrix, color_range=color_range)
    theirs = _ffmpeg_rgb(tmp_path, frame, pix_fmt, matrix, color_range)
    # ffmpeg's output is rounded to 8 bits; at 10-bit full range swscale scales by 1020
    # (8-bit steps), BT.2100 and we by 1023: up to ~1.1 code values apart
    tol = 1.0 if (bits, color_range) != (10, "full") else 1.5
    assert np.abs(ours - theirs).max() <= tol / 255
    # a wrong matrix is far off: the test can fail
    other = "bt709" if matrix != "bt709" else "bt601"
    assert (
        np.abs(
            yuv_to_rgb(frame, bit_depth=bits, matrix=other, color_range=color_range) - theirs
        ).max()
        > 0.02
    )


@pytest.mark.parametrize("matrix", ["bt601", "bt709", "bt2020"])
@pytest.mark.parametrize("color_range", ["limited", "full"])
def test_torch_and_numpy_conversions_agree(matrix, color_range):
    import torch

    from vqabench.io.video import yuv_to_rgb_torch

    rgb = np.random.default_rng(4).random((8, 12, 3))
    frame = rgb_to_yuv(rgb, pix_fmt="yuv420p10le", matrix=matrix, color_range=color_range)
    ours = yuv_to_rgb(frame, bit_depth=10, matrix=matrix, color_range=color_range)
    planes = [torch.from_numpy(p.astype(np.float64)) for p in frame]
    theirs = yuv_to_rgb_torch(*planes, bit_depth=10, matrix=matrix, color_range=color_range)
    np.testing.assert_allclose(theirs.permute(1, 2, 0).numpy(), ours, atol=1e-12)


def test_lpips_input_rgb_pinned_before_the_colour_change():
    """Today's (e889f54) RGB of mini Carphone frame 0 is reproduced with BT.709; Carphone is
    SD (144 lines) without a stated matrix, so it is now read as BT.601, which differs."""
    import json
    from pathlib import Path

    from vqabench.io.video import YuvFrame

    gold = json.loads(
        (Path(__file__).parents[1] / "expected" / "carphone_frame0_rgb.json").read_text()
    )
    frame = YuvFrame(*(np.array(gold[k], dtype=np.uint8) for k in ("y_crop", "u_crop", "v_crop")))
    pinned = np.array(gold["rgb_crop_rows_64_72_cols_120_128"])
    np.testing.assert_allclose(yuv_to_rgb(frame, matrix="bt709"), pinned, atol=1e-6)
    assert np.abs(yuv_to_rgb(frame, matrix="bt601") - pinned).max() > 0.005


def test_y4m_colour_tags_round_trip_and_defaults(tmp_path):
    frames = [rgb_to_yuv(np.full((16, 16, 3), 0.5))]
    full = write_y4m(
        tmp_path / "f.y4m", frames, width=16, height=16, fps=25, color_range="full", matrix="bt2020"
    )
    assert b"XCOLORRANGE=FULL XCOLORMATRIX=BT2020" in full.path.read_bytes()[:100]
    back = open_video(full.path)
    assert (back.color_range, back.color_matrix) == ("full", "bt2020")
    assert back.origin("color_range") == back.origin("color_matrix") == "header"
    plain = open_video(write_y4m(tmp_path / "p.y4m", frames, width=16, height=16, fps=25).path)
    assert (plain.color_range, plain.color_matrix) == ("limited", "bt601")  # SD convention
    assert plain.origin("color_matrix") == "default"
    hd = write_y4m(
        tmp_path / "hd.y4m", [rgb_to_yuv(np.zeros((720, 16, 3)))], width=16, height=720, fps=25
    )
    assert hd.color_matrix == "bt709"
    ffmpeg_made = tmp_path / "ff.y4m"  # ffmpeg's own XCOLORRANGE tag is read too
    run_ffmpeg(["-i", full.path, "-f", "yuv4mpegpipe", ffmpeg_made])
    assert open_video(ffmpeg_made).color_range == "full"


def _x264_mp4(tmp_path, name, *args, frames=8, pix_fmt="yuv420p"):
    out = tmp_path / name
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=25",
            "-frames:v",
            frames,
            "-pix_fmt",
            pix_fmt,
            *args,
            "-c:v",
            "libx264",
            "-g",
            "4",
            out,
        ]
    )
    return out


def test_container_colour_and_format_are_kept(tmp_path):
    """A full-range BT.601 4:4:4 phone-style clip keeps its format and colour through
    to_y4m (today: converted to 4:2:0 and read as BT.709 limited)."""
    src = _x264_mp4(
        tmp_path, "phone.mp4", "-color_range", "pc", "-colorspace", "bt470bg", pix_fmt="yuv444p"
    )
    info = probe(src)
    assert (info.color_range, info.color_matrix, info.packets) == ("full", "bt601", 8)
    video = to_y4m(src, tmp_path / "phone.y4m")
    assert (video.pix_fmt, video.color_range, video.color_matrix) == ("yuv444p", "full", "bt601")
    assert video.origin("color_range") == "container"
    again = open_video(video.path)  # the header carries it
    assert (again.color_range, again.color_matrix) == ("full", "bt601")


@pytest.mark.slow
def test_partly_corrupt_source_is_refused(tmp_path):
    """Zeroed bytes mid-stream ('Invalid NAL unit size'): refused, not silently shortened."""
    good = _x264_mp4(tmp_path, "good.mp4")
    data = bytearray(good.read_bytes())
    mdat = data.find(b"mdat")
    at = mdat + 8 + (len(data) - mdat) // 3
    data[at : at + 300] = bytes(300)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    assert to_y4m(good, tmp_path / "good.y4m").frames == 8
    with pytest.raises(VideoFormatError, match="does not decode cleanly|decoded .* frames"):
        to_y4m(bad, tmp_path / "bad.y4m")
    assert not (tmp_path / "bad.y4m").exists()


def test_raw_yuv_origins(tmp_path):
    raw = tmp_path / "Foo_16x16_50_bt709_fullRange.yuv"
    raw.write_bytes(bytes(16 * 16 * 3 // 2 * 2))
    video = open_video(raw)
    assert (video.fps, video.color_range, video.color_matrix) == (50, "full", "bt709")
    assert dict(video.origins) == {
        "fps": "name",
        "pix_fmt": "default",
        "color_range": "name",
        "color_matrix": "name",
    }


# --- issue 29: samples out of range, variable frame rate, interlaced sources -------------


def _raw_bytes(video) -> bytes:
    return b"".join(p.tobytes() for f in read_frames(video) for p in f)


def test_8bit_data_in_a_10bit_file_is_refused(tmp_path):
    """8-bit frames in a file named _10bit: only the size used to be checked, so the words
    (two 8-bit samples each, up to 65535) gave PSNR-Y -29 dB. Now refused, as 8-bit data."""
    eight = make_video(tmp_path / "e.y4m", frames=4, seed=3)
    data = _raw_bytes(eight)
    raw = tmp_path / "Clip_64x64_25fps_420_10bit.yuv"
    raw.write_bytes(data)
    peak = int(np.frombuffer(data[: eight.frame_bytes * 2], "<u2").max())  # frame 0 as words
    assert peak > 1023
    with pytest.raises(
        VideoFormatError,
        match=rf"frame 0 has samples up to {peak}, above 1023"
        r".*looks like 8-bit data; read it as yuv420p",
    ):
        open_video(raw)
    as_8bit = tmp_path / "Clip_64x64_25fps_420_8bit.yuv"  # the advice works
    raw.rename(as_8bit)
    assert open_video(as_8bit).frames == 4


def test_8bit_data_under_a_10bit_y4m_header_is_refused(tmp_path):
    eight = make_video(tmp_path / "e.y4m", frames=2, seed=4)
    bad = tmp_path / "bad.y4m"
    data = eight.path.read_bytes().replace(b"C420jpeg", b"C420p10", 1)
    header, _, body = data.partition(b"\n")
    frames = body.split(b"FRAME\n")[1:]
    bad.write_bytes(header + b"\nFRAME\n" + b"".join(frames))  # one 10-bit frame
    with pytest.raises(VideoFormatError, match="looks like 8-bit data.*C420jpeg"):
        open_video(bad)


def test_msb_aligned_p010_data_is_refused_with_a_conversion_that_works(tmp_path):
    """P010 (semi-planar, value << 6): refused as MSB-aligned, and the ffmpeg command the
    error gives turns it back into our 10-bit frames exactly."""
    ten = make_video(
        tmp_path / "t.y4m", width=32, height=16, frames=3, seed=5, pix_fmt="yuv420p10le"
    )
    p010 = tmp_path / "Clip_32x16_25fps_420_10bit.yuv"
    with open(p010, "wb") as f:
        for frame in read_frames(ten):
            uv = np.stack([frame.u, frame.v], axis=-1).reshape(frame.u.shape[0], -1)
            f.write((frame.y << 6).astype("<u2").tobytes() + (uv << 6).astype("<u2").tobytes())
    with pytest.raises(VideoFormatError, match=r"looks MSB-aligned \(P010\)") as err:
        open_video(p010)
    command = str(err.value).split("convert with: ffmpeg ")[1].split(" (")[0].split()
    assert command[:4] == ["-f", "rawvideo", "-pix_fmt", "p010le"]
    fixed = tmp_path / "fixed.y4m"
    assert command[-1] == "OUT.y4m"
    run_ffmpeg([p010 if a == p010.name else fixed if a == "OUT.y4m" else a for a in command])
    for a, b in zip(read_frames(ten), read_frames(open_video(fixed)), strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)


def test_the_range_probe_reads_first_middle_and_last_frame(tmp_path):
    ten = make_video(tmp_path / "t.y4m", frames=5, seed=6, pix_fmt="yuv420p10le")
    data = bytearray(ten.path.read_bytes())
    last = len(data) - ten.frame_bytes  # frame 4's first luma sample := 4000
    data[last : last + 2] = (4000).to_bytes(2, "little")
    ten.path.write_bytes(bytes(data))
    with pytest.raises(VideoFormatError, match="frame 4 has samples up to 4000.*not 10-bit"):
        open_video(ten.path)


def test_interlaced_y4m_field_order_is_read_and_recorded(tmp_path):
    from vqabench.io.video import check_progressive

    video = make_video(tmp_path / "p.y4m", frames=2)
    assert video.field_order == "progressive"
    assert open_video(video.path).assumptions()["field_order"] == "progressive (header)"
    for tag, order in (("t", "tff"), ("b", "bff"), ("m", "mixed")):
        path = tmp_path / f"i{tag}.y4m"
        path.write_bytes(video.path.read_bytes().replace(b" Ip ", f" I{tag} ".encode(), 1))
        inter = open_video(path)
        assert (inter.field_order, inter.assumptions()["field_order"]) == (
            order,
            f"{order} (header)",
        )
        with pytest.raises(
            VideoFormatError,
            match=rf"i{tag}.y4m: interlaced source \(field "
            rf"order {order}, Y4M I{tag}\).*interlaced='progressive'",
        ):
            check_progressive(inter)
        kept = check_progressive(inter, "progressive")
        assert kept.assumptions()["field_order"] == (
            f"{order} (header, coded as progressive (interlaced='progressive'))"
        )
    (tmp_path / "ix.y4m").write_bytes(video.path.read_bytes().replace(b" Ip ", b" Ix ", 1))
    with pytest.raises(VideoFormatError, match="interlace field Ix is not one of"):
        open_video(tmp_path / "ix.y4m")


def test_interlaced_container_converts_with_its_field_order(tmp_path):
    """ffmpeg's stream line 'yuv420p(tv, top coded first (swapped))' used to be unreadable
    ('no video stream'); the field order now reaches the Y4M header and the assumptions."""
    mkv = tmp_path / "tff.mkv"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=25",
            "-frames:v",
            4,
            "-vf",
            "setfield=tff",
            "-c:v",
            "libx264",
            "-flags",
            "+ildct+ilme",
            mkv,
        ]
    )
    video = to_y4m(mkv, tmp_path / "tff.y4m")
    assert (video.frames, video.field_order) == (4, "tff")
    assert video.assumptions()["field_order"] == "tff (container)"


def _vfr_mkv(path):
    """The issue's clip: 16 frames in 0.97 s in a mkv whose stream says 30 fps."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=30",
            "-frames:v",
            16,
            "-vf",
            "setpts=N*0.0645/TB",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            path,
        ]
    )
    return path


@pytest.mark.slow
def test_variable_frame_rate_is_refused_or_converted_on_purpose(tmp_path):
    mkv = _vfr_mkv(tmp_path / "vfr.mkv")
    info = probe(mkv)
    assert info.fps == 30 and len(info.pts_s) == 16
    # independent reading of the same timestamps: ffmpeg's showinfo filter (decodes)
    shown = run_command(
        [ffmpeg_path(), "-i", mkv, "-vf", "showinfo", "-f", "null", "-"], check=False
    ).stderr
    times = sorted(float(t) for t in re.findall(r"pts_time:([\d.]+)", shown))
    assert info.pts_s == pytest.approx(times, abs=1e-9)
    measured = 15 / (times[-1] - times[0])
    with pytest.raises(
        VideoFormatError,
        match=rf"variable frame rate: 16 frames in "
        rf"{times[-1] - times[0]:.3f} s \({measured:.3f} fps measured\) where the "
        r"container says 30/1 fps.*fps=N",
    ):
        to_y4m(mkv, tmp_path / "out.y4m")
    assert not (tmp_path / "out.y4m").exists()
    video = to_y4m(mkv, tmp_path / "out.y4m", resample_fps=30)
    ref = tmp_path / "ref.y4m"  # ffmpeg's fps filter run directly
    run_ffmpeg(["-i", mkv, "-vf", "fps=30", "-f", "yuv4mpegpipe", ref])
    assert (video.fps, video.frames) == (30, open_video(ref).frames)
    assert video.assumptions()["fps"] == (
        f"30/1 (converted from variable rate, measured {measured:.3f} fps by ffmpeg's fps filter)"
    )


@pytest.mark.parametrize(
    "pts_ms, nominal, expected",
    [
        ([round(i * 1001 / 30) for i in range(300)], Fraction(30000, 1001), True),  # ms-rounded
        ([40 * i for i in range(10)], Fraction(25), True),
        ([40 * i for i in range(10) if i != 5], Fraction(25), False),  # a dropped frame
        ([40 * i for i in range(10)], Fraction(30), False),  # steady, but not the stated rate
        ([0, 33, *range(100, 1000, 67)], Fraction(30), False),  # the clip
        ([0, 0, 40], Fraction(25), False),  # a repeated timestamp
    ],
)
def test_frame_timing(pts_ms, nominal, expected):
    from vqabench.io.video import frame_timing

    pts = tuple(t / 1000 for t in pts_ms)
    measured, constant = frame_timing(pts, nominal, tick_s=0.001)
    assert constant is expected
    assert measured == pytest.approx((len(pts) - 1) / (pts[-1] - pts[0]))
