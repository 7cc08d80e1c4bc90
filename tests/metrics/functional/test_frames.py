"""Frames as arrays for the learned and temporal metrics: BT.709 limited-range RGB against
hand-derived code values, luma in 8-bit units at 10 bits, batching and frame pairs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench.errors import ConfigError
from vqabench.io.video import Video, YuvFrame, read_frames
from vqabench.metrics.functional.frames import (
    batch_for_size,
    frame_rgb,
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
