"""Two-stage S -> R -> D generation: the published default ladders, the reference stage and
video-level quality against S and R (PSNR checked against numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench.codecs import RatePoint
from vqabench.io.video import read_all
from vqabench.runner.ugc import (
    default_reference,
    default_transcodes,
    make_reference,
    rate_points,
    transcode,
    video_quality,
)


def test_default_ladders_as_published():
    ref = default_reference()
    assert (ref.codec.name, ref.codec.rate_param, ref.codec.values) == ("x264", "qp", (30, 37, 42))
    assert ref.groups == ("High", "Medium", "Low")
    ladders = {s.name: rate_points(s) for s in default_transcodes()}
    assert ladders["x264"] == tuple(RatePoint("qp", q) for q in (32, 34, 36, 38, 40, 42))
    for name in ("aom-av1", "vp9"):
        assert ladders[name] == tuple(RatePoint("qp", q) for q in (38, 43, 48, 53, 58, 63))
    assert sum(len(v) for v in ladders.values()) * len(ref.codec.values) == 54


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(float) - b.astype(float)) ** 2).mean(axis=(1, 2))
    return float(np.mean(10 * np.log10(255.0**2 / mse)))


@pytest.mark.slow
def test_reference_then_transcode(tmp_path):
    source = make_video(tmp_path / "S.y4m", frames=6, seed=7)
    spec = default_reference().codec
    first = make_reference(source, spec, 42, tmp_path / "R.y4m")
    assert first.bits > 0 and first.video.frames == 6
    again = make_reference(source, spec, 42, tmp_path / "R.y4m")
    assert again.bits == 0 and again.video.path == first.video.path  # reused, not re-encoded
    enc = transcode(first.video, default_transcodes()[0], 32, tmp_path / "work")
    q = video_quality(source, first.video, enc.decoded)
    s, r, d = (read_all(v).y for v in (source, first.video, enc.decoded))
    np.testing.assert_allclose([q["psnr_sd"], q["psnr_rd"]], [_psnr(s, d), _psnr(r, d)], atol=1e-6)
    # a light transcode of a heavily compressed R stays close to R, not to S
    assert q["psnr_rd"] > q["psnr_sd"] + 1.0 and q["vmaf_rd"] > q["vmaf_sd"]
