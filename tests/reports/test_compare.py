"""vqabench/reports/compare.py: the choices of the visual comparison (rate points, crop) and
its figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.io.video import YuvFrame, yuv_to_rgb
from vqabench.reports.compare import (
    ComparePick,
    ComparePoint,
    compare_figure,
    compare_request,
    compared,
    crop_side,
    pick_points,
    texture_crop,
)


def _brute_force(luma: np.ndarray, side: int) -> tuple[int, int]:
    """The crop by definition: every window on the 8-pixel grid, mean of np.var of its
    8x8 blocks, the first maximum in raster order."""
    best, at = -1.0, (0, 0)
    for top in range(0, luma.shape[0] - side + 1, 8):
        for left in range(0, luma.shape[1] - side + 1, 8):
            win = luma[top : top + side, left : left + side].astype(float)
            score = np.mean(
                [
                    np.var(win[i : i + 8, j : j + 8])
                    for i in range(0, side, 8)
                    for j in range(0, side, 8)
                ]
            )
            if score > best + 1e-9:
                best, at = score, (top, left)
    return at


def test_texture_crop_finds_the_textured_patch_and_agrees_with_the_definition():
    rng = np.random.default_rng(3)
    luma = np.full((72, 128), 120, np.uint8)
    luma[24:56, 40:72] = rng.integers(0, 256, (32, 32))  # noise patch, flat around it
    assert texture_crop(luma, 32) == (24, 40)
    for seed in range(3):  # natural-ish: smooth ramps plus noise of varying strength
        img = np.add.outer(np.arange(64), np.arange(96)) + np.random.default_rng(seed).normal(
            0, 1, (64, 96)
        ) * np.linspace(1, 20, 96)
        assert texture_crop(img, 24) == _brute_force(img, 24)


def test_crop_side_is_half_the_smaller_side_on_the_grid():
    assert crop_side(144, 256) == 72
    assert crop_side(1080, 1920) == 256
    assert crop_side(64, 64) == 32
    assert crop_side(10, 10) == 8


def _results() -> pd.DataFrame:
    rows = []
    for codec, bpps in (("x264", (0.1, 0.2, 0.4, 0.8)), ("svt-av1", (0.05, 0.13, 0.3, 0.9))):
        for i, bpp in enumerate(bpps):
            for seq in ("A", "B"):
                for metric, value in (("psnr_y", 30.0 + i), ("vmaf", 60.0 + 10 * i)):
                    rows.append(
                        {
                            "sequence": seq,
                            "reference": "source",
                            "codec": codec,
                            "rate_point": f"qp={40 - 5 * i}",
                            "bits": 1,
                            "bpp": bpp,
                            "kbps": 100 * bpp,
                            "metric": metric,
                            "value": value,
                            "anchor": "source",
                            "bitstream": f"bitstreams/{seq}/{codec}/{i}",
                        }
                    )
    return pd.DataFrame(rows)


def test_pick_points_takes_the_pair_of_closest_bpp():
    """|ln(0.8/0.9)| = 0.118 is the smallest gap (0.1/0.13: 0.262, 0.4/0.3: 0.288)."""
    pick = pick_points(_results(), compare_request("x264,svt-av1"))
    a, b = pick.points
    assert pick.sequence == "A"  # the run's first
    assert (a.codec, a.rate_point, a.bpp) == ("x264", "qp=25", 0.8)
    assert (b.codec, b.rate_point, b.bpp) == ("svt-av1", "qp=25", 0.9)
    assert a.quality == {"psnr_y": 33.0, "vmaf": 90.0}
    assert a.facts() == ["0.8000 bpp", "PSNR-Y 33.00 dB", "VMAF 90.0"]
    assert pick_points(_results(), compare_request("x264,svt-av1", sequence="B")).sequence == "B"


def test_pick_points_prefers_the_lowest_rate_pair_within_ten_percent():
    """0.1 vs 0.105 (5 %) and 0.8 vs 0.81 (1.2 %) are both about equal rate: the lower rate
    wins although 0.8/0.81 is closer; 0.4 vs 0.46 (15 %) is not close enough."""
    rows = _results()
    rows.loc[(rows["codec"] == "svt-av1") & (rows["bpp"] == 0.05), "bpp"] = 0.105
    rows.loc[(rows["codec"] == "svt-av1") & (rows["bpp"] == 0.9), "bpp"] = 0.81
    rows.loc[(rows["codec"] == "svt-av1") & (rows["bpp"] == 0.3), "bpp"] = 0.46
    a, b = pick_points(rows, compare_request("x264,svt-av1")).points
    assert (a.bpp, b.bpp) == (0.1, 0.105)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("x264,x264", {}), "compare='x264,x264'"),
        (("x264", {}), "compare='x264'"),
        ((None, {"sequence": "A"}), "sequence='A'"),
        ((None, {"frame": 3}), "frame=3"),
        (("x264,vp9", {"frame": -1}), "frame=-1"),
    ],
)
def test_compare_request_refuses_what_it_cannot_do(args, named):
    text, options = args
    with pytest.raises(ConfigError, match=named):
        compare_request(text, **options)
    assert compare_request(None) is None


def test_pick_points_refuses_unknown_codecs_and_sequences():
    with pytest.raises(ConfigError, match=r"compare='x264,vp9'.*x264, svt-av1"):
        pick_points(_results(), compare_request("x264,vp9"))
    with pytest.raises(ConfigError, match=r"sequence='Z'.*A, B"):
        pick_points(_results(), compare_request("x264,svt-av1", sequence="Z"))
    ugc = _results().assign(reference="x264_qp37")
    with pytest.raises(ConfigError, match="from the source"):
        pick_points(ugc, compare_request("x264,svt-av1"))


class _Video:  # the fields compared() reads of a Video
    def __init__(self, width, height):
        self.width, self.height, self.frames, self.bit_depth = width, height, 5, 8
        self.color_matrix, self.color_range = "bt709", "limited"


@pytest.mark.slow
def test_compared_frames_and_figure_show_the_crop_of_each_frame():
    rng = np.random.default_rng(0)

    def frame(seed):
        r = np.random.default_rng(seed)
        return YuvFrame(
            r.integers(16, 236, (48, 80), dtype=np.uint8),
            r.integers(16, 240, (24, 40), dtype=np.uint8),
            r.integers(16, 240, (24, 40), dtype=np.uint8),
        )

    src = YuvFrame(
        np.full((48, 80), 100, np.uint8),
        np.full((24, 40), 128, np.uint8),
        np.full((24, 40), 128, np.uint8),
    )
    src.y[16:40, 48:72] = rng.integers(16, 236, (24, 24))
    pick = ComparePick(
        "A",
        (
            ComparePoint("x264", "qp=32", 0.1, 10.0, "a", {"psnr_y": 31.0}),
            ComparePoint("x265", "qp=30", 0.11, 11.0, "b", {}),
        ),
    )
    item = compared(
        pick,
        frame=2,
        source=(_Video(80, 48), src),
        decoded=[(_Video(80, 48), frame(1)), (_Video(80, 48), frame(2))],
    )
    assert item.crop == (16, 48, 24)  # side min(48, 80) // 2 = 24, at the noise
    fig = compare_figure(None, item=item)
    images = [ax.images[0].get_array() for ax in fig.axes]
    np.testing.assert_allclose(images[0], yuv_to_rgb(src))
    np.testing.assert_allclose(images[2], yuv_to_rgb(frame(1))[16:40, 48:72])
    np.testing.assert_allclose(images[3], yuv_to_rgb(frame(2))[16:40, 48:72])
    assert [ax.get_title() for ax in fig.axes] == ["A", "Source", "x264 qp=32", "x265 qp=30"]
    assert fig.axes[2].get_xlabel() == "0.1000 bpp\nPSNR-Y 31.00 dB"
    assert math.isclose(fig.get_size_inches()[0], 7.0)
    with pytest.raises(ConfigError, match="decoded size='40x48'"):
        compared(
            pick,
            frame=2,
            source=(_Video(80, 48), src),
            decoded=[(_Video(40, 48), frame(1)), (_Video(80, 48), frame(2))],
        )
