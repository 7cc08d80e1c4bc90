"""Frames as arrays for the learned and temporal metrics: BT.709 limited-range RGB against
hand-derived code values, luma in 8-bit units at 10 bits, batching and frame pairs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench.errors import ConfigError
from vqabench.io.video import MATRICES, PIX_FMTS, RANGES, Video, YuvFrame, read_frames, yuv_to_rgb
from vqabench.metrics.functional import frames as frames_module
from vqabench.metrics.functional.frames import (
    batch_for_size,
    frame_rgb,
    frame_rgb8,
    frames_per_batch,
    luma,
    luma_frames,
    rgb_batches,
    rgb_pairs,
)


def _flat(y: int, u: int, v: int, dtype=np.uint8) -> YuvFrame:
    return YuvFrame(np.full((4, 4), y, dtype), np.full((2, 2), u, dtype), np.full((2, 2), v, dtype))


@pytest.mark.parametrize(("bits", "k"), [(8, 1), (10, 4)])
def test_frame_rgb_hand_derived_bt709_limited(bits, k):
    dtype = np.uint8 if bits == 8 else np.uint16
    black, white = _flat(16 * k, 128 * k, 128 * k, dtype), _flat(235 * k, 128 * k, 128 * k, dtype)
    np.testing.assert_allclose(frame_rgb(black, bits), 0.0, atol=1e-7)
    np.testing.assert_allclose(frame_rgb(white, bits), 1.0, atol=1e-6)
    # Y = 16, Cr at its top (V = 240): R = 2 (1 - Kr) * 0.5 = 1 - 0.2126; G < 0 clips; B = 0
    red = frame_rgb(_flat(16 * k, 128 * k, 240 * k, dtype), bits)
    np.testing.assert_allclose(red[0, 0], [0.7874, 0.0, 0.0], atol=1e-6)
    assert red.dtype == np.float32 and red.shape == (4, 4, 3)
    # full range: Y = 2**b - 1 is white, Y = 0 black; mid grey 128 (8-bit) is 128/255
    grey = frame_rgb(_flat(128 * k, 128 * k, 128 * k, dtype), bits, color_range="full")
    np.testing.assert_allclose(grey, 128 * k / ((1 << bits) - 1), atol=1e-6)


def test_luma_is_in_8_bit_units():
    assert luma(_flat(940, 512, 512, np.uint16), 10)[0, 0] == 235.0
    assert luma(_flat(17, 128, 128), 8).dtype == np.float64


def test_default_batch_holds_at_most_one_1080p_frame():
    def video(w, h):
        return Video(Path("x.y4m"), w, h, Fraction(25), "yuv420p", 10)

    # 1920*1080 // (w*h) frames, between 1 and 8
    assert [
        frames_per_batch(None, video(w, h))
        for w, h in [(256, 144), (640, 360), (1280, 720), (1920, 1080), (3840, 2160)]
    ] == [8, 8, 2, 1, 1]
    assert frames_per_batch(5, video(1920, 1080)) == 5
    assert [batch_for_size(None, w, h) for w, h in [(64, 64), (1280, 720), (2560, 1440)]] == [
        8,
        2,
        1,
    ]
    assert batch_for_size(3, 3840, 2160) == 3


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(
        tmp_path_factory.mktemp("frames") / "c.y4m",
        width=32,
        height=16,
        frames=5,
        pix_fmt="yuv420p10le",
    )


def test_batches_and_pairs_hold_the_frames_in_order(clip):
    frames = [
        frame_rgb(f, 10, matrix=clip.color_matrix, color_range=clip.color_range)
        for f in read_frames(clip)
    ]
    batches = list(rgb_batches(clip, 2))
    assert [b.shape for b in batches] == [(2, 16, 32, 3), (2, 16, 32, 3), (1, 16, 32, 3)]
    np.testing.assert_array_equal(np.concatenate(batches), np.stack(frames))
    pairs = list(rgb_pairs(clip, 3))
    assert [a.shape[0] for a, _ in pairs] == [3, 1]  # 4 consecutive pairs of 5 frames
    firsts = np.concatenate([a for a, _ in pairs])
    seconds = np.concatenate([b for _, b in pairs])
    np.testing.assert_array_equal(firsts, np.stack(frames[:-1]))
    np.testing.assert_array_equal(seconds, np.stack(frames[1:]))
    lumas = list(luma_frames(clip))
    np.testing.assert_array_equal(lumas[2], next(read_frames(clip, start=2)).y / 4.0)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_batch_size_names_the_argument(clip, bad):
    with pytest.raises(ConfigError, match=f"batch_size={bad!r} is not allowed"):
        next(rgb_batches(clip, bad))
    with pytest.raises(ConfigError, match="batch_size="):
        next(rgb_pairs(clip, bad))


def _rgb8_old(frame: YuvFrame, bits: int, matrix: str, color_range: str) -> np.ndarray:
    """8-bit RGB as the learned metrics computed it before the table (0.2.0's
    ``_rgb8_window``): float64 conversion, float32, times 255, rounded half to even."""
    rgb = yuv_to_rgb(frame, bit_depth=bits, matrix=matrix, color_range=color_range)
    return np.rint(rgb.astype(np.float32) * 255.0).astype(np.uint8)


def _random_frame(rng, pix_fmt: str, width: int, height: int) -> YuvFrame:
    sx, sy, bits = PIX_FMTS[pix_fmt]
    chroma = (-(-height // sy), -(-width // sx))
    dtype = np.uint8 if bits == 8 else np.uint16
    y, u, v = (
        rng.integers(0, 1 << bits, s, dtype=dtype) for s in [(height, width), chroma, chroma]
    )
    return YuvFrame(y, u, v)


@pytest.mark.parametrize("pix_fmt", sorted(PIX_FMTS))
@pytest.mark.parametrize(("width", "height"), [(16, 8), (7, 5), (1, 1)])
def test_frame_rgb8_equals_the_float_conversion_bit_for_bit(pix_fmt, width, height):
    # random code values over the whole 0..2^b-1 range, even and odd sizes (chroma cropped)
    rng = np.random.default_rng(width * height)
    bits = PIX_FMTS[pix_fmt][2]
    for matrix in MATRICES:
        for color_range in RANGES:
            frame = _random_frame(rng, pix_fmt, width, height)
            got = frame_rgb8(frame, bits, matrix=matrix, color_range=color_range)
            assert got.dtype == np.uint8 and got.shape == (height, width, 3)
            np.testing.assert_array_equal(got, _rgb8_old(frame, bits, matrix, color_range))


def test_frame_rgb8_hand_derived_and_writes_into_out():
    white = frame_rgb8(_flat(235, 128, 128), 8)
    assert (frame_rgb8(_flat(16, 128, 128), 8) == 0).all() and (white == 255).all()
    # Y = 16, V = 240 (BT.709 limited): R = 255 * (1 - 0.2126) = 200.787 -> 201; G, B clip to 0
    assert frame_rgb8(_flat(16, 128, 240), 8)[0, 0].tolist() == [201, 0, 0]
    assert (frame_rgb8(_flat(128, 128, 128), 8, color_range="full") == 128).all()
    out = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    second = out[1]
    assert frame_rgb8(_flat(235, 128, 128), 8, out=second) is second
    assert (out[1] == 255).all() and (out[0] == 0).all()
    with pytest.raises(ConfigError, match="out="):
        frame_rgb8(_flat(235, 128, 128), 8, out=out[:, 0])
    with pytest.raises(ConfigError, match="matrix='bt2100'"):
        frame_rgb8(_flat(235, 128, 128), 8, matrix="bt2100")


def test_rgb8_table_holds_only_the_chroma_pairs_seen(monkeypatch):
    monkeypatch.setattr(frames_module, "_RGB_TABLES", {})
    frame = YuvFrame(
        np.arange(16, dtype=np.uint8).reshape(4, 4),
        np.array([[1, 1], [2, 2]], dtype=np.uint8),
        np.array([[7, 9], [7, 9]], dtype=np.uint8),
    )
    frame_rgb8(frame, 8, matrix="bt601", color_range="full")
    frame_rgb(frame, 8, matrix="bt601", color_range="full")
    tables = frames_module._RGB_TABLES
    assert sorted(t.rgb.dtype.name for t in tables.values()) == ["float32", "uint8"]
    for table in tables.values():
        assert np.flatnonzero(table.known).tolist() == [
            (1 << 8) | 7,
            (1 << 8) | 9,
            (2 << 8) | 7,
            (2 << 8) | 9,
        ]


def _rgb_old(frame: YuvFrame, bits: int, matrix: str, color_range: str) -> np.ndarray:
    """Float RGB as 0.2.0 computed it: the float64 conversion as float32."""
    return yuv_to_rgb(frame, bit_depth=bits, matrix=matrix, color_range=color_range).astype(
        np.float32
    )


@pytest.mark.parametrize("pix_fmt", sorted(PIX_FMTS))
def test_frame_rgb_equals_the_float_conversion_bit_for_bit(pix_fmt):
    # 8-bit frames come from the float table, 10-bit ones are computed: both as 0.2.0
    rng = np.random.default_rng(3)
    bits = PIX_FMTS[pix_fmt][2]
    for matrix in MATRICES:
        for color_range in RANGES:
            for width, height in [(16, 8), (7, 5), (1, 1)]:
                frame = _random_frame(rng, pix_fmt, width, height)
                got = frame_rgb(frame, bits, matrix=matrix, color_range=color_range)
                assert got.dtype == np.float32 and got.shape == (height, width, 3)
                np.testing.assert_array_equal(got, _rgb_old(frame, bits, matrix, color_range))


@pytest.mark.slow
@pytest.mark.parametrize("color_range", RANGES)
@pytest.mark.parametrize("matrix", sorted(MATRICES))
def test_rgb8_table_equals_whole_frame_conversion_for_every_triple(matrix, color_range):
    # Every (Y, U, V) of 8 bits: the table, filled 64 chroma pairs (16384 pixels) at a time,
    # against the conversion of 4:4:4 frames 1280 pixels wide holding all 2^24 triples in a
    # shuffled order, so each triple sits elsewhere in its frame than in the table's fill:
    # the lookup is exact only if the conversion's bits do not depend on a pixel's position.
    # Both tables: float32 RGB (LPIPS, DISTS) and 8-bit RGB (PT-Loss, RankDVQA-UGC).
    table = frames_module._RgbTable(matrix, color_range)
    table.fill(np.arange(1 << 16))
    floats = frames_module._RgbTable(matrix, color_range, np.float32)
    floats.fill(np.arange(1 << 16))
    order = np.random.default_rng(0).permutation(1 << 24)
    whole = (1 << 24) // 1280 * 1280
    rows = [order[:whole].reshape(-1, 1280), order[whole:].reshape(1, -1)]
    frames = [*np.array_split(rows[0], range(720, rows[0].shape[0], 720)), rows[1]]
    assert [f.shape for f in frames[-3:]] == [(720, 1280), (147, 1280), (1, 256)]
    for index in frames:
        frame = YuvFrame(*((index >> s & 255).astype(np.uint8) for s in (0, 16, 8)))
        rgb = _rgb_old(frame, 8, matrix, color_range)
        np.testing.assert_array_equal(floats.rgb[index], rgb)
        np.testing.assert_array_equal(table.rgb[index], np.rint(rgb * 255.0).astype(np.uint8))
