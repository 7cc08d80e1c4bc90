"""Work-weighted progress (vqabench/runner/progress.py): an ETA that holds on mixed jobs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import make_video
from vqabench.experiment import load_config
from vqabench.runner.progress import (
    CODEC_COST,
    DECODE_COST,
    METRIC_COST,
    point_work,
    schedule_key,
)
from vqabench.runner.run import run


def test_point_work_by_hand():
    pixels = 6 * 64 * 64
    want = pixels * (CODEC_COST["x264"] + DECODE_COST + METRIC_COST["psnr_y"] + METRIC_COST["vmaf"])
    assert point_work(pixels, "x264", ["psnr_y", "vmaf"]) == pytest.approx(want)
    # a reused bitstream is decoded and measured, not encoded again
    assert point_work(pixels, "x264", ["psnr_y"], reuse_bitstream=True) == pytest.approx(
        pixels * (DECODE_COST + METRIC_COST["psnr_y"])
    )
    assert point_work(pixels, "vvenc", []) > 5 * point_work(pixels, "x264", [])


def _job(codec: str, param: str, value: object) -> SimpleNamespace:
    return SimpleNamespace(
        input=SimpleNamespace(frames=8, width=64, height=64),
        codec_name=codec,
        metrics=(SimpleNamespace(name="psnr_y"),),
        reuse_bitstream=False,
        rate_param=param,
        rate_value=value,
    )


def test_longest_jobs_first_then_the_costlier_rate_point():
    """x265 (cost 3) before x264 (cost 1); within a codec QP 22 before QP 37 and 900 kbps
    before 300 kbps; a named rate point (INR model size) has no rate order of its own (0)."""
    jobs = [
        _job("x264", "qp", 37),
        _job("x264", "qp", 22),
        _job("x265", "qp", 32),
        _job("x265", "kbps", 300),
        _job("x265", "kbps", 900),
        _job("x264", "model", "s"),
    ]
    ordered = sorted(jobs, key=schedule_key, reverse=True)
    assert [(j.codec_name, j.rate_value) for j in ordered] == [
        ("x265", 900),
        ("x265", 300),
        ("x265", 32),
        ("x264", "s"),
        ("x264", 22),
        ("x264", 37),
    ]


@pytest.mark.slow
def test_run_reports_work_not_job_counts(tmp_path):
    """A 128x64 clip is twice the work of a 64x64 one; a resumed run has nothing to do."""
    data = tmp_path / "data"
    make_video(data / "Small.y4m", width=64, height=64, frames=4, seed=1)
    make_video(data / "Large.y4m", width=128, height=64, frames=4, seed=2)
    cfg = load_config(
        None,
        dataset=str(data),
        codecs=["x264:qp=22,37"],
        metrics="psnr_y",
        jobs=1,
        out=str(tmp_path / "run"),
    )
    seen: list[tuple[float, float]] = []
    run(cfg, work_progress=lambda done, total: seen.append((done, total)))
    steps = [b[0] - a[0] for a, b in zip(seen, seen[1:], strict=False) if b[0] > a[0]]
    small = point_work(4 * 64 * 64, "x264", ["psnr_y"])
    assert sorted(steps) == pytest.approx([small, small, 2 * small, 2 * small])
    assert seen[-1][0] == pytest.approx(seen[-1][1]) == pytest.approx(6 * small)
    again: list[tuple[float, float]] = []
    run(cfg, work_progress=lambda done, total: again.append((done, total)))
    assert again[-1] == (0.0, pytest.approx(0.0))
