"""VMAF through vqabench equals ffmpeg's libvmaf filter run directly on the same pair."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vqabench import metrics
from vqabench.errors import UnknownNameError
from vqabench.io.ffmpeg import run_ffmpeg


def _libvmaf_direct(ref, dis, tmp_path, version):
    log = tmp_path / f"{version}.json"
    # libvmaf's first input is the distorted stream, the second the reference.
    run_ffmpeg(
        [
            "-i",
            dis.path,
            "-i",
            ref.path,
            "-lavfi",
            f"[0:v][1:v]libvmaf=model=version={version}:log_fmt=json:log_path={log}",
            "-f",
            "null",
            "-",
        ]
    )
    frames = json.loads(log.read_text())["frames"]
    return [f["metrics"]["vmaf"] for f in frames]


@pytest.mark.parametrize("model", ["vmaf_v0.6.1", "vmaf_v0.6.1neg"])
def test_vmaf_equals_libvmaf_filter(tiny_video, tiny_noisy, tmp_path, model):
    got = metrics.create("vmaf", model=model).compute(reference=tiny_video, distorted=tiny_noisy)
    direct = _libvmaf_direct(tiny_video, tiny_noisy, tmp_path, model)
    np.testing.assert_allclose(got.per_frame, direct, atol=1e-4)
    assert got.value == pytest.approx(np.mean(direct), abs=1e-4)


def test_harmonic_mean_pooling(tiny_video, tiny_noisy):
    got = metrics.create("vmaf", pooling="harmonic_mean").compute(tiny_video, tiny_noisy)
    x = np.array(got.per_frame)
    assert got.value == pytest.approx(len(x) / np.sum(1 / (1 + x)) - 1, rel=1e-12)
    assert got.value <= np.mean(x)


def test_unknown_model_suggests_close_match():
    with pytest.raises(UnknownNameError, match="did you mean 'vmaf_v0.6.1neg'"):
        metrics.create("vmaf", model="vmaf_v0.6.1ng")


def test_awkward_file_names(tiny_video, tiny_noisy, tmp_path):
    """A ':' or a quote in a file name must not reach libvmaf's filter string."""
    import shutil

    from vqabench.io.video import open_video

    odd = tmp_path / "it's a:clip.y4m"
    shutil.copy(tiny_noisy.path, odd)
    got = metrics.create("vmaf").compute(tiny_video, open_video(odd)).value
    assert got == metrics.create("vmaf").compute(tiny_video, tiny_noisy).value


def test_vmaf_neg_is_libvmaf_neg_model_under_its_own_name(tiny_video, tiny_noisy, tmp_path):
    got = metrics.create("vmaf_neg").compute(reference=tiny_video, distorted=tiny_noisy)
    direct = _libvmaf_direct(tiny_video, tiny_noisy, tmp_path, "vmaf_v0.6.1neg")
    np.testing.assert_allclose(got.per_frame, direct, atol=1e-4)
    assert metrics.get_class("vmaf_neg").higher_is_better


@pytest.mark.slow
def test_v1_models_load_but_not_at_the_default_benchmark_size():
    """The bundled libvmaf runs the vmaf_v1.0.16 models at their smallest recorded size and
    refuses them at 256x144 (SpEED: image too small); doctor and metrics list say so."""
    from vqabench.metrics.vmaf import V1_SMALLEST_SIZE, model_note, probe_model, vmaf_models

    assert set(V1_SMALLEST_SIZE) == {m for m in vmaf_models() if m.startswith("vmaf_v1.")}
    assert probe_model("vmaf_v0.6.1", (64, 64)) is None
    assert "SpEED" in probe_model("vmaf_v1.0.16_3d0h", (256, 144))
    assert probe_model("vmaf_v1.0.16_3d0h", V1_SMALLEST_SIZE["vmaf_v1.0.16_3d0h"]) is None
    assert "SpEED" in probe_model("vmaf_v1.0.16_5d0h", (320, 180))
    assert "480x270" in model_note("vmaf_v1.0.16_5d0h") and model_note("vmaf_v0.6.1") == ""


def test_models_and_poolings_share_one_libvmaf_pass(tiny_video, tiny_noisy, tmp_path, monkeypatch):
    """Three VMAF variants (two models, two poolings) of one pair: one ffmpeg run, and each
    equals libvmaf run directly with its model alone."""
    from vqabench.metrics import vmaf as vmaf_module

    group = [
        metrics.create("vmaf"),
        metrics.create("vmaf", model="vmaf_v0.6.1neg"),
        metrics.create("vmaf", pooling="harmonic_mean"),
    ]
    runs = []
    fqm = vmaf_module._fqm_class()
    original = fqm._run_ffmpeg_command
    monkeypatch.setattr(
        fqm, "_run_ffmpeg_command", lambda self, *a, **k: runs.append(1) or original(self, *a, **k)
    )
    results = vmaf_module.compute_vmaf_group(group, tiny_video, tiny_noisy)
    assert len(runs) == 1
    plain = _libvmaf_direct(tiny_video, tiny_noisy, tmp_path, "vmaf_v0.6.1")
    neg = _libvmaf_direct(tiny_video, tiny_noisy, tmp_path, "vmaf_v0.6.1neg")
    np.testing.assert_allclose(results[0].per_frame, plain, atol=1e-4)
    np.testing.assert_allclose(results[1].per_frame, neg, atol=1e-4)
    x = np.array(plain)
    assert results[2].value == pytest.approx(len(x) / np.sum(1 / (1 + x)) - 1, abs=1e-4)


def test_model_is_keyed_by_content(tmp_path):
    """The same model JSON at another path keeps the key; one changed byte changes it."""
    import shutil

    from vqabench.metrics.vmaf import _model_dir

    shipped = _model_dir() / "vmaf_v0.6.1.json"
    copy = tmp_path / "a" / "vmaf_v0.6.1.json"
    copy.parent.mkdir()
    shutil.copy(shipped, copy)
    moved = tmp_path / "b" / "vmaf_v0.6.1.json"
    moved.parent.mkdir()
    shutil.copy(shipped, moved)
    assert (
        metrics.create("vmaf", model=str(copy)).spec
        == metrics.create("vmaf", model=str(moved)).spec
    )
    text = moved.read_text()
    moved.write_text(text.replace('"', ' "', 1))  # same model, different bytes
    assert (
        metrics.create("vmaf", model=str(copy)).spec
        != metrics.create("vmaf", model=str(moved)).spec
    )
    assert (
        metrics.create("vmaf").options["model_sha256"]
        == metrics.create("vmaf", model=str(copy)).options["model_sha256"]
    )
