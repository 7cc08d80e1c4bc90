"""The measurement engine of a job: one read per frame for every metric, per-metric failures,
the frame alignment probe."""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

from tests.conftest import add_noise, make_video
from vqabench import metrics
from vqabench.errors import AlignmentError, MetricError
from vqabench.experiment import load_config
from vqabench.io import video as video_io
from vqabench.io.video import read_frames, write_y4m
from vqabench.metrics.base import METRICS, Metric
from vqabench.runner.jobs import MetricTask, measure
from vqabench.runner.run import run

PIXEL = (
    ("psnr_y", {}),
    ("psnr_u", {}),
    ("psnr_yuv", {"weights": "8:1:1"}),
    ("ssim", {}),
    ("ms_ssim", {"scales": 3}),
    ("psnr_y", {"peak": "hm"}),
)


def _tasks(specs, anchor="source"):
    out = []
    for i, (name, options) in enumerate(specs):
        spec = metrics.create(name, **options).spec
        out.append(MetricTask(f"k{i}", name, tuple(options.items()), spec, anchor))
    return tuple(out)


def test_a_job_reads_each_frame_once_for_all_its_metrics(tiny_video, tiny_noisy, monkeypatch):
    """Six pixel metrics, one pass: every frame of the decoded video and of the anchor is
    read once; the numbers equal each metric computed on its own."""
    frames_read: dict[str, int] = {}
    original = video_io.read_frames

    def counting(video, **kwargs):
        for frame in original(video, **kwargs):
            frames_read[video.path.name] = frames_read.get(video.path.name, 0) + 1
            yield frame

    monkeypatch.setattr(video_io, "read_frames", counting)
    tasks = _tasks(PIXEL)
    values, errors = measure(tasks, {"source": tiny_video}, tiny_noisy)
    assert errors == {}
    assert frames_read == {
        tiny_video.path.name: tiny_video.frames,
        tiny_noisy.path.name: tiny_noisy.frames,
    }
    monkeypatch.setattr(video_io, "read_frames", original)
    for (_key, value, per_frame), (name, options) in zip(values, PIXEL, strict=True):
        alone = metrics.create(name, **options).compute(tiny_video, tiny_noisy)
        assert (value, per_frame) == (alone.value, alone.per_frame), name


@pytest.mark.slow
def test_network_metrics_share_one_rgb_conversion_per_frame(tiny_video, tiny_noisy, monkeypatch):
    """LPIPS twice and DISTS (random backbones: offline) stream with PSNR: frames are read
    once and each frame pair becomes RGB once for all three; the values equal each metric
    computed alone, and LPIPS equals the lpips package called directly on the same RGB."""
    import lpips as lpips_package
    import torch

    from vqabench.io.video import yuv_to_rgb
    from vqabench.metrics.functional import frames as frames_module

    specs = (
        ("psnr_y", {}),
        ("lpips", {"pretrained_backbone": False, "seed": 1}),
        ("lpips", {"pretrained_backbone": False, "seed": 2, "batch_size": 3}),
        ("dists", {"pretrained_backbone": False, "seed": 4}),
    )
    conversions: list[int] = []
    original = frames_module.frame_rgb
    monkeypatch.setattr(
        frames_module, "frame_rgb", lambda *a, **k: conversions.append(1) or original(*a, **k)
    )
    values, errors = measure(_tasks(specs), {"source": tiny_video}, tiny_noisy)
    assert errors == {}
    assert len(conversions) == 2 * tiny_video.frames  # reference and distorted, once each
    monkeypatch.setattr(frames_module, "frame_rgb", original)
    for (_key, value, per_frame), (name, options) in zip(values, specs, strict=True):
        alone = metrics.create(name, **options).compute(tiny_video, tiny_noisy)
        assert per_frame == pytest.approx(alone.per_frame, abs=1e-7), name
        assert value == pytest.approx(alone.value, abs=1e-7), name
    net = metrics.create("lpips", pretrained_backbone=False, seed=1).model
    direct = []
    for ref, dis in zip(read_frames(tiny_video), read_frames(tiny_noisy), strict=True):
        r, d = (
            torch.from_numpy(
                yuv_to_rgb(f, bit_depth=8, matrix=v.color_matrix, color_range=v.color_range).astype(
                    np.float32
                )
            ).permute(2, 0, 1)[None]
            for f, v in ((ref, tiny_video), (dis, tiny_noisy))
        )
        with torch.no_grad():
            direct.append(float(net(r, d, normalize=True)))
    assert isinstance(net, lpips_package.LPIPS)
    assert values[1][2] == pytest.approx(direct, abs=1e-6)


def test_one_failing_metric_fails_alone(tiny_video, tiny_noisy):
    tasks = _tasks((("psnr_y", {}), ("ms_ssim", {}), ("ssim", {})))
    values, errors = measure(tasks, {"source": tiny_video}, tiny_noisy)
    assert [v[0] for v in values] == ["k0", "k2"]
    assert list(errors) == ["k1"] and "at least 161x161 pixels, got 64x64" in errors["k1"]


def test_mismatched_frame_counts_are_a_clear_error(tiny_video, tmp_path):
    short = make_video(tmp_path / "short.y4m", frames=5)
    with pytest.raises(MetricError, match="reference has 8 frames and distorted has 5"):
        measure(_tasks((("psnr_y", {}),)), {"source": tiny_video}, short)


def _reordered(video, order, path):
    frames = list(read_frames(video))
    return write_y4m(
        path,
        (frames[i] for i in order),
        width=video.width,
        height=video.height,
        fps=video.fps,
        pix_fmt=video.pix_fmt,
    )


@pytest.mark.parametrize(
    ("order", "found"),
    [
        ([0, 0, 1, 2, 3, 4, 5, 6], "one frame late"),  # a leading duplicate frame
        ([0, 1, 2, 4, 5, 6, 7, 7], "one frame early"),  # frame 3 dropped, the last repeated
    ],
)
def test_shifted_frames_are_an_alignment_error(tiny_video, tiny_noisy, tmp_path, order, found):
    shifted = _reordered(tiny_noisy, order, tmp_path / "shifted.y4m")
    with pytest.raises(AlignmentError, match=found):
        measure(_tasks((("psnr_y", {}),)), {"source": tiny_video}, shifted)
    with pytest.raises(AlignmentError, match=found):  # also when no metric streams
        measure(_tasks((("vmaf", {}),)), {"source": tiny_video}, shifted)


def test_static_content_is_not_a_shift(tmp_path):
    """Identical frames give the same PSNR at every lag: no alignment error."""
    still = make_video(tmp_path / "still.y4m", frames=1)
    frames = list(read_frames(still)) * 6
    ref = write_y4m(tmp_path / "ref.y4m", frames, width=64, height=64, fps=25)
    dis = add_noise(ref, tmp_path / "dis.y4m", sigma=3)
    values, errors = measure(_tasks((("psnr_y", {}),)), {"source": ref}, dis)
    assert not errors and len(values[0][2]) == 6


_STATE = {"fail": True}


@METRICS.register("tests_flaky_raise")
class _FlakyRaise(Metric):
    """Raises while ``_STATE['fail']``, else 0.25 per frame."""

    name = "tests_flaky_raise"

    def compute(self, reference, distorted):
        if _STATE["fail"]:
            raise RuntimeError("boom")
        return metrics.MetricResult(0.25, (0.25,) * distorted.frames)


@pytest.mark.slow
def test_a_raising_metric_keeps_the_encode_and_the_others_and_retries_alone(tmp_path, monkeypatch):
    monkeypatch.setitem(_STATE, "fail", True)
    data = tmp_path / "data"
    data.mkdir()
    make_video(data / "Clip.y4m", frames=4)
    out = tmp_path / "run"
    cfg = load_config(
        None,
        dataset=str(data),
        codecs=["x264:qp=30"],
        metrics="psnr_y,tests_flaky_raise,ssim",
        jobs=1,
        out=str(out),
    )
    first = run(cfg)
    assert len(first.failures) == 1
    assert "tests_flaky_raise against source failed: RuntimeError: boom" in first.failures[0][3]
    with sqlite3.connect(out / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM encodes").fetchone() == (1,)
        kept = dict(db.execute("SELECT metric, value FROM measurements").fetchall())
    assert set(kept) == {"psnr_y", "ssim"}
    assert (
        "# psnr_y: peak=full (2^b-1), identical frames capped at 100 dB"
        in (out / "config.toml").read_text()
    )  # the PSNR convention is recorded
    _STATE["fail"] = False
    calls = []
    monkeypatch.setattr(
        metrics.create("psnr_y").__class__, "accumulator", lambda *a: calls.append(1)
    )  # must not be measured again
    fixed = run(cfg, retry_failed=True)
    assert fixed.complete and not calls
    with sqlite3.connect(out / "store.sqlite") as db:
        after = dict(db.execute("SELECT metric, value FROM measurements").fetchall())
    assert after == {**kept, "tests_flaky_raise": 0.25}
    assert np.isfinite(after["psnr_y"])


_SHARED_CALLS: list[tuple[tuple[str, ...], int]] = []


class _SharedPass(Metric):
    """A metric of pass group "tests-shared": PSNR-Y of the pair, computed for the whole
    group at once."""

    pass_group = "tests-shared"

    def compute(self, reference, distorted):
        return metrics.create("psnr_y").compute(reference, distorted)

    @classmethod
    def compute_shared(cls, group, reference, distorted, *, threads=1):
        _SHARED_CALLS.append((tuple(m.name for m in group), threads))
        return [m.compute(reference, distorted) for m in group]


@METRICS.register("tests_shared_a")
class _SharedA(_SharedPass):
    name = "tests_shared_a"


@METRICS.register("tests_shared_b")
class _SharedB(_SharedPass):
    name = "tests_shared_b"


def test_metrics_of_one_pass_group_are_computed_together_with_the_jobs_threads(
    tiny_video, tiny_noisy
):
    """The runner names no metric class: metrics declaring one pass_group get one
    compute_shared call per anchor (here two classes of one group, against two anchors),
    with the threads the executor gave the job; the values are PSNR-Y, computed alone."""
    _SHARED_CALLS.clear()
    tasks = (
        *_tasks((("tests_shared_a", {}), ("psnr_y", {}), ("tests_shared_b", {}))),
        *_tasks((("tests_shared_b", {}),), anchor="reference"),
    )
    tasks = tuple(dataclasses.replace(t, key=f"t{i}") for i, t in enumerate(tasks))
    values, errors = measure(
        tasks, {"source": tiny_video, "reference": tiny_video}, tiny_noisy, threads=3
    )
    assert errors == {}
    assert _SHARED_CALLS == [(("tests_shared_a", "tests_shared_b"), 3), (("tests_shared_b",), 3)]
    alone = metrics.create("psnr_y").compute(tiny_video, tiny_noisy)
    assert [(k, v) for k, v, _ in values] == [(f"t{i}", alone.value) for i in range(4)]


@pytest.mark.slow
def test_vmaf_gets_the_jobs_threads_not_an_environment_variable(
    tiny_video, tiny_noisy, monkeypatch
):
    """VMAF and VMAF NEG share one libvmaf pass whose n_threads is the job's (measure's
    ``threads``), whatever VQABENCH_THREADS says; values equal each metric alone."""
    from vqabench.metrics import vmaf as vmaf_module

    seen = []
    real = vmaf_module.compute_vmaf_group

    def spy(group, reference, distorted, **kwargs):
        seen.append(([m.name for m in group], kwargs.get("threads")))
        return real(group, reference, distorted, **kwargs)

    monkeypatch.setattr(vmaf_module, "compute_vmaf_group", spy)
    monkeypatch.setenv("VQABENCH_THREADS", "7")
    values, errors = measure(
        _tasks((("vmaf", {}), ("vmaf_neg", {}))), {"source": tiny_video}, tiny_noisy, threads=2
    )
    assert errors == {} and seen == [(["vmaf", "vmaf_neg"], 2)]
    for (_, value, _), name in zip(values, ("vmaf", "vmaf_neg"), strict=True):
        assert value == real([metrics.create(name)], tiny_video, tiny_noisy)[0].value
