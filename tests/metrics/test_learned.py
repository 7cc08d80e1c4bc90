"""pt_loss / rankdvqa_ugc metrics: whole-video tiling and soft-minimum pooling, checked
against the model applied by hand to patches cut with numpy slicing, a hand-derived case with a
stub scorer for the overlapping last tiles, and values pinned before the tiling changed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import add_noise, make_video
from tests.models.test_ranking import SMALL, make_pairs_dir
from vqabench import metrics
from vqabench.errors import ConfigError, MetricError, WeightsUnavailableError
from vqabench.io.video import YuvFrame, read_frames, write_y4m, yuv_to_rgb
from vqabench.metrics.learned import (
    covering_tiles,
    first_cover_counts,
    tile_starts,
    weighted_soft_minimum,
)
from vqabench.models import checkpoint_path, load_checkpoint, pool_patch_scores
from vqabench.models.ranking import train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    make_pairs_dir(root, n_sources=3)
    out = root / "pt.pt"
    torch.manual_seed(0)
    train("pt_loss", root, out, epochs=1, steps_per_epoch=1, batch_size=2, device="cpu", **SMALL)
    return out


def _clip(video):
    frames = [
        np.rint(yuv_to_rgb(f, matrix=video.color_matrix, color_range=video.color_range) * 255) / 255
        for f in read_frames(video)
    ]
    return np.stack(frames).astype(np.float32)  # (T, H, W, 3)


@pytest.mark.slow
def test_value_equals_hand_tiled_model_scores(checkpoint, tmp_path):
    ref = make_video(tmp_path / "r.y4m", width=64, height=64, frames=8)
    dis = add_noise(ref, tmp_path / "d.y4m", sigma=6)
    metric = metrics.create("pt_loss", checkpoint=str(checkpoint), patch="32x32x4", temperature=0.5)
    got = metric.compute(reference=ref, distorted=dis)
    model = load_checkpoint(checkpoint)
    r, d = _clip(ref), _clip(dis)
    scores = []
    with torch.no_grad():
        for t in (0, 4):
            for y in (0, 32):
                for x in (0, 32):

                    def cut(a, t=t, y=y, x=x):
                        return torch.from_numpy(a[t : t + 4, y : y + 32, x : x + 32]).permute(
                            3, 0, 1, 2
                        )[None]

                    scores.append(float(model(cut(r), cut(d))))
    s = np.array(scores)
    w = np.exp(-s / 0.5) / np.exp(-s / 0.5).sum()
    assert got.value == pytest.approx(float((w * s).sum()), rel=1e-5)
    assert metric.higher_is_better and metric.kind == "full-reference"


def test_checkpoint_is_part_of_the_key_and_errors(checkpoint, tmp_path):
    a = metrics.create("pt_loss", checkpoint=str(checkpoint)).spec
    assert "weights_sha256" in a and a != metrics.create("pt_loss", checkpoint="x.pt").spec
    ref = make_video(tmp_path / "r.y4m", width=32, height=32, frames=4)
    with pytest.raises(MetricError, match="smaller than one 64x64x12 patch"):
        metrics.create("pt_loss", checkpoint=str(checkpoint)).compute(ref, ref)
    with pytest.raises(WeightsUnavailableError, match="missing.pt"):
        metrics.create("pt_loss", checkpoint=str(tmp_path / "missing.pt"), patch="32x32x4").compute(
            ref, ref
        )


# --- whole-video coverage (issue 12.4) ---------------------------------------------------------


def test_tiles_cover_every_voxel_once_on_the_issue_example():
    # 256x144x16 with 64x64x12 patches: version 1 scored frames 0..11 only (a quarter never).
    shape, patch = (16, 144, 256), (12, 64, 64)
    assert tile_starts(16, 12) == (0, 4) and first_cover_counts(16, 12) == (12, 4)
    assert tile_starts(144, 64) == (0, 64, 80) and first_cover_counts(144, 64) == (64, 64, 16)
    assert tile_starts(256, 64) == (0, 64, 128, 192)  # divides: no extra tile
    seen = np.zeros(shape, dtype=int)
    owner = np.full(shape, -1)
    tiles = covering_tiles(shape, patch)
    for i, ((t, y, x), _) in enumerate(tiles):
        seen[t : t + 12, y : y + 64, x : x + 64] += 1
        block = owner[t : t + 12, y : y + 64, x : x + 64]
        block[block < 0] = i
    assert seen.min() >= 1  # every pixel of every frame is scored
    # each tile's weight is the number of voxels it covers first, so none counts twice
    assert [c for _, c in tiles] == np.bincount(owner.ravel(), minlength=len(tiles)).tolist()
    assert sum(c for _, c in tiles) == 16 * 144 * 256


def _black_white(path, *, width, height, frames, white):
    """Y4M video, black (Y=16) except ``white[t, y, x]`` (Y=235): RGB exactly 0 or 1."""

    def frame(t):
        y = np.where(white(t, *np.mgrid[0:height, 0:width]), 235, 16).astype(np.uint8)
        c = np.full((height // 2, width // 2), 128, dtype=np.uint8)
        return YuvFrame(y, c, c.copy())

    return write_y4m(path, (frame(t) for t in range(frames)), width=width, height=height, fps=25)


@pytest.mark.parametrize(
    "width, frames, white",
    [
        (32, 6, lambda t, y, x: t + 0 * x >= 4),  # frames 4, 5 white: version 1 never saw them
        (48, 4, lambda t, y, x: x + 0 * t >= 32),  # columns 32..47 white: never seen either
    ],
)
def test_overlapping_last_tile_is_scored_and_weighted_by_new_voxels(tmp_path, width, frames, white):
    # The stub scores a patch pair by the mean of D: 0 for the first tile (all black) and
    # 0.5 for the overlapping last one (half white), which adds half a tile of new voxels.
    # Soft minimum over voxels, T = 1: (1/2 * e^-0.5 * 0.5) / (1 + 1/2 * e^-0.5).
    ref = _black_white(
        tmp_path / "r.y4m",
        width=width,
        height=32,
        frames=frames,
        white=lambda t, y, x: np.zeros_like(x, dtype=bool),
    )
    dis = _black_white(tmp_path / "d.y4m", width=width, height=32, frames=frames, white=white)
    metric = metrics.create("pt_loss", patch="32x32x4", temperature=1.0, device="cpu")
    metric._model = lambda r, d: d.mean(dim=(1, 2, 3, 4))
    e = np.exp(-0.5)
    want = (0.5 * e * 0.5) / (1 + 0.5 * e)
    assert metric.compute(reference=ref, distorted=dis).value == pytest.approx(want, rel=1e-6)


def test_weighted_soft_minimum_equals_plain_one_for_equal_counts():
    s = torch.tensor([0.3, -1.2, 2.0, 0.7])
    plain = pool_patch_scores(s, temperature=0.7)
    same = weighted_soft_minimum(s, torch.full((4,), 5.0), temperature=0.7)
    assert float(same) == float(plain)
    # a tile standing for 3 voxels weighs as three copies of it
    rep = pool_patch_scores(torch.tensor([0.3, 0.3, 0.3, -1.2]), temperature=0.7)
    got = weighted_soft_minimum(
        torch.tensor([0.3, -1.2]), torch.tensor([3.0, 1.0]), temperature=0.7
    )
    assert float(got) == pytest.approx(float(rep), rel=1e-6)


GOLDEN = json.loads((Path(__file__).parents[1] / "expected" / "learned_tiling.json").read_text())


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=f"{c['metric']}-{c['width']}x{c['height']}x{c['frames']}",
            marks=[pytest.mark.slow] if c["frames"] > 16 else [],
        )
        for c in GOLDEN["cases"]
    ],
)
@pytest.mark.slow
def test_bundled_values_unchanged_where_tiling_already_covered_everything(tmp_path, case):
    # pinned by tests/expected/make_learned_tiling.py on version 1 (command in the JSON)
    ref = make_video(
        tmp_path / "r.y4m", width=case["width"], height=case["height"], frames=case["frames"]
    )
    dis = add_noise(ref, tmp_path / "d.y4m", sigma=case["noise_sigma"])
    # version 1 converted every video as BT.709 whatever its size; these small clips now
    # default to BT.601 (issue 12.3): state BT.709 so that only the tiling is compared
    ref, dis = (dataclasses.replace(v, color_matrix="bt709") for v in (ref, dis))
    # pinned with the first shipped checkpoints: release v1 of each model
    weights = str(checkpoint_path(case["metric"], "v1"))
    got = (
        metrics.create(case["metric"], patch=case["patch"], checkpoint=weights)
        .compute(ref, dis)
        .value
    )
    if case["divisible"]:
        assert got == pytest.approx(case["value"], rel=1e-6, abs=1e-6)
    else:  # frames 12, 13 and the right/bottom borders are now scored as well
        assert abs(got - case["value"]) > 1e-3


def test_version_bumped_and_device_outside_the_key():
    cpu = metrics.create("rankdvqa_ugc", device="cpu")
    assert cpu.version == "2" and '"version": "2"' in cpu.spec
    assert cpu.spec == metrics.create("rankdvqa_ugc", device="auto", batch_size=3).spec
    assert cpu.execution == {"device": "cpu", "batch_size": 16}
    with pytest.raises(ConfigError, match="device='gpu' is not allowed"):
        metrics.create("pt_loss", device="gpu")


def test_frames_are_read_one_temporal_window_at_a_time(tmp_path, monkeypatch):
    import vqabench.metrics.learned as learned

    calls = []

    def recording(video, *, start=0, count=None):
        calls.append((video.path.name, start, count))
        return read_frames(video, start=start, count=count)

    monkeypatch.setattr(learned, "read_frames", recording)
    ref = _black_white(
        tmp_path / "r.y4m",
        width=32,
        height=32,
        frames=10,
        white=lambda t, y, x: np.zeros_like(x, dtype=bool),
    )
    metric = metrics.create("pt_loss", patch="32x32x4", device="cpu")
    metric._model = lambda r, d: d.mean(dim=(1, 2, 3, 4))
    metric.compute(reference=ref, distorted=ref)
    # windows 0-3, 4-7 and the overlapping 6-9, never the whole clip; frames 6 and 7 are kept
    # from the window before, so each frame is read once per video
    assert sorted(calls) == [
        ("r.y4m", s, c) for s, c in ((0, 4), (0, 4), (4, 4), (4, 4), (8, 2), (8, 2))
    ]


@pytest.mark.parametrize("starts", [(0, 4, 6), (0, 1, 2), (0, 3)])
def test_rgb8_windows_hold_each_windows_frames_exactly(tmp_path, starts):
    # frames kept from the window before (overlaps of 2, 3 and 1 frames, moved within one
    # buffer that may overlap itself) must be those frames, as if converted afresh
    from vqabench.metrics.functional.frames import frame_rgb8
    from vqabench.metrics.learned import _rgb8_windows

    video = make_video(tmp_path / "v.y4m", width=32, height=16, frames=10)
    every = [
        frame_rgb8(f, 8, matrix=video.color_matrix, color_range=video.color_range)
        for f in read_frames(video)
    ]
    assert len({a.tobytes() for a in every}) == 10  # frames differ, so a shift would show
    got = [w.copy() for w in _rgb8_windows(video, starts, 4)]
    assert len(got) == len(starts)
    for t0, window in zip(starts, got, strict=True):
        np.testing.assert_array_equal(window, np.stack(every[t0 : t0 + 4]))


def test_patch_batches_equal_the_numpy_stack_bit_for_bit():
    # 0.2.0 cut batches with np.stack, then converted to float32 and divided by 255: same
    # bits and the same (channels-last) strides, every uint8 value, last batch short
    from vqabench.metrics.learned import _patch_batches

    rng = np.random.default_rng(0)
    ref, dis = (rng.integers(0, 256, (3, 40, 48, 3), dtype=np.uint8) for _ in range(2))
    ref[0, :16, :16] = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)  # every value
    corners = [(y, x) for y in (0, 16, 24) for x in (0, 16, 32)]
    got = list(_patch_batches(ref, dis, corners, (16, 16), 4, torch.device("cpu")))
    assert len(got) == 3
    for i, batch in enumerate(got):
        chunk = corners[4 * i : 4 * i + 4]
        for window, tensor in zip((ref, dis), batch, strict=True):
            tiles = np.stack([window[:, y : y + 16, x : x + 16] for y, x in chunk])
            want = torch.from_numpy(tiles).permute(0, 4, 1, 2, 3).to(torch.float32) / 255.0
            assert tensor.shape == want.shape == (len(chunk), 3, 3, 16, 16)
            assert tensor.stride() == want.stride() and tensor.dtype == torch.float32
            assert torch.equal(tensor.view(torch.int32), want.view(torch.int32))


@pytest.mark.slow
@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuv420p10le"])
def test_value_equals_the_float_conversion_rounded_per_frame_exactly(
    tmp_path, monkeypatch, pix_fmt
):
    # 8-bit RGB comes from a lookup table now; the value must be the one of 0.2.0's
    # conversion (float64 YUV -> RGB, float32, times 255, rounded) to the last bit
    import vqabench.metrics.learned as learned

    def converted(frame, bit_depth, *, matrix, color_range, out):
        rgb = yuv_to_rgb(frame, bit_depth=bit_depth, matrix=matrix, color_range=color_range)
        out[...] = np.rint(rgb.astype(np.float32) * 255.0)
        return out

    ref = make_video(tmp_path / "r.y4m", width=32, height=32, frames=4, pix_fmt=pix_fmt)
    dis = add_noise(ref, tmp_path / "d.y4m", sigma=6.0)
    got = metrics.create("pt_loss", patch="32x32x4", device="cpu").compute(ref, dis).value
    monkeypatch.setattr(learned, "frame_rgb8", converted)
    want = metrics.create("pt_loss", patch="32x32x4", device="cpu").compute(ref, dis).value
    assert got == want and got > 0


def test_scoring_on_the_cpu_keeps_the_freed_heap(tmp_path, monkeypatch):
    # the effect of keep_freed_heap (no refaults of the next batch's pages) is checked in
    # tests/io/test_memory.py; here: the metric asks for it on the CPU, once per compute
    import vqabench.metrics.learned as learned

    calls = []
    monkeypatch.setattr(learned, "keep_freed_heap", lambda: calls.append(1) or True)
    ref = make_video(tmp_path / "r.y4m", width=32, height=32, frames=4)
    dis = add_noise(ref, tmp_path / "d.y4m", sigma=6)
    metric = metrics.create("pt_loss", patch="32x32x4", device="cpu")
    first = metric.compute(ref, dis).value
    assert calls == [1]
    monkeypatch.undo()
    assert metrics.create("pt_loss", patch="32x32x4", device="cpu").compute(ref, dis).value == first
