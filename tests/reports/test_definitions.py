"""vqabench/reports/definitions.py: what a leaderboard column measured, and when two runs'
columns may merge (the merge of real runs is in test_leaderboard.py)."""

from __future__ import annotations

import pytest

from vqabench.errors import ConfigError


def test_metric_definitions_name_model_variant_and_scales(tmp_path):
    """Each definition names what decides the number: VMAF's model, its file's SHA-256 and
    libvmaf; SSIM's downsampling; MS-SSIM's scales; and different VMAF models do not merge."""
    import hashlib

    from vqabench.metrics.vmaf import _model_dir
    from vqabench.reports.definitions import check_mergeable, metric_definition

    vmaf = metric_definition("vmaf", {}, libvmaf="86da14d")
    sha = hashlib.sha256((_model_dir() / "vmaf_v0.6.1.json").read_bytes()).hexdigest()
    assert vmaf["options"] == {"model": "vmaf_v0.6.1", "pooling": "mean", "model_sha256": sha}
    assert vmaf["id"] == (
        f"vmaf{{model=vmaf_v0.6.1,pooling=mean,model_sha256={sha[:12]}}} v1; libvmaf 86da14d"
    )
    assert metric_definition("ssim", {})["id"] == "ssim{downsample=False} v1"
    assert metric_definition("ms_ssim", {"scales": 4})["id"] == "ms_ssim{scales=4} v1"
    neg = metric_definition("vmaf", {"model": "vmaf_v0.6.1neg"}, libvmaf="86da14d")
    with pytest.raises(
        ConfigError,
        match=r"metric 'vmaf' differs \(model vmaf_v0.6.1 vs "
        r"vmaf_v0.6.1neg; model_sha256",
    ):
        check_mergeable([("a", {"vmaf": vmaf}), ("b", {"vmaf": neg})])
    other_lib = metric_definition("vmaf", {}, libvmaf="in ffmpeg n8.0")
    with pytest.raises(ConfigError, match=r"libvmaf 86da14d vs in ffmpeg n8.0"):
        check_mergeable([("a", {"vmaf": vmaf}), ("b", {"vmaf": other_lib})])


def test_run_without_metrics_list_is_not_given_defaults():
    from vqabench.reports.definitions import run_definitions

    defs = run_definitions({"dataset": {"name": "x"}}, ["psnr_y", "psnr_yuv"])
    assert defs["psnr_yuv"]["id"] == "psnr_yuv{unknown: not in the run's config.toml metrics}"
    derived = run_definitions({"metrics": ["psnr_y", "psnr_u", "psnr_v"]}, ["psnr_yuv"])
    assert derived["psnr_yuv"]["options"]["weights"] == [6.0, 1.0, 1.0]
    assert "derived" in derived["psnr_yuv"]
