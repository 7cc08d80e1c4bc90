"""Source-anchored flicker metrics: zero when D changes over time as S does, larger with
injected flicker; lpips_temporal against the lpips package called directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqabench import metrics
from vqabench.errors import MetricError
from vqabench.io.video import read_frames, rgb_to_yuv, write_y4m, yuv_to_rgb

W = H = 64


def _video(path, frames):
    return write_y4m(
        path, [rgb_to_yuv(np.clip(f, 0, 1)) for f in frames], width=W, height=H, fps=25
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("temporal")
    yy, xx = np.mgrid[0:H, 0 : W + 16] / 16.0
    tex = 0.5 + 0.2 * np.sin(xx * 2.1 + yy * 1.3)[..., None] * np.array([1.0, 0.8, 0.6])
    src = [tex[:, i : i + W] for i in range(0, 12, 2)]  # panning, 2 px per frame
    offset = [f + 0.06 for f in src]  # constant error: no flicker
    flicker = [f + (0.06 if i % 2 else -0.06) for i, f in enumerate(src)]
    return {
        name: _video(d / f"{name}.y4m", frames)
        for name, frames in (("src", src), ("offset", offset), ("flicker", flicker))
    }


def test_flicker_warp_zero_for_source_and_constant_error(clips):
    m = metrics.create("flicker_warp")
    same = m.compute(reference=clips["src"], distorted=clips["src"])
    assert same.value == 0.0 and len(same.per_frame) == 5
    # a constant offset changes every pixel but not how the video changes over time
    assert m.compute(reference=clips["src"], distorted=clips["offset"]).value < 0.6


def test_flicker_warp_rises_with_injected_flicker(clips):
    m = metrics.create("flicker_warp")
    flick = m.compute(reference=clips["src"], distorted=clips["flicker"])
    off = m.compute(reference=clips["src"], distorted=clips["offset"])
    # +-0.06 in RGB is about +-13 luma code values (219 * 0.06): the step between frames ~26
    assert flick.value > 15
    assert flick.value > 10 * off.value
    assert m.higher_is_better is False and m.kind == "full-reference"


def test_flicker_warp_needs_two_frames(tmp_path):
    one = _video(tmp_path / "one.y4m", [np.zeros((H, W, 3))])
    with pytest.raises(MetricError, match="at least 2 frames"):
        metrics.create("flicker_warp").compute(one, one)


def _rgb(video):
    return torch.from_numpy(
        np.stack(
            [
                yuv_to_rgb(f, matrix=video.color_matrix, color_range=video.color_range)
                for f in read_frames(video)
            ]
        ).astype(np.float32)
    ).permute(0, 3, 1, 2)


@pytest.mark.slow
def test_lpips_temporal_equals_lpips_package_random_backbone(clips):
    import lpips

    m = metrics.create("lpips_temporal", pretrained_backbone=False, seed=1, batch_size=2)
    got = m.compute(reference=clips["src"], distorted=clips["flicker"])
    torch.manual_seed(1)
    net = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    with torch.no_grad():
        s, d = _rgb(clips["src"]) * 2 - 1, _rgb(clips["flicker"]) * 2 - 1
        ls = net(s[:-1], s[1:]).reshape(-1).numpy()
        ld = net(d[:-1], d[1:]).reshape(-1).numpy()
    np.testing.assert_allclose(got.per_frame, np.abs(ld - ls), atol=1e-6, rtol=0)
    assert got.value > 0
    assert m.compute(reference=clips["src"], distorted=clips["src"]).value == 0.0
