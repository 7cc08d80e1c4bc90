"""``vqabench metrics list|compute`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vqabench import metrics
from vqabench.cli import main
from vqabench.cli.metrics import parse_options
from vqabench.io.video import rgb_to_yuv, write_y4m


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    frames = [rng.random((64, 64, 3)) for _ in range(4)]
    ref = write_y4m(d / "ref.y4m", [rgb_to_yuv(f) for f in frames], width=64, height=64, fps=25)
    dis = write_y4m(
        d / "dis.y4m",
        [rgb_to_yuv(np.clip(f * 0.8, 0, 1)) for f in frames],
        width=64,
        height=64,
        fps=25,
    )
    return ref, dis


def _run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.mark.slow
def test_lpips_without_weights_one_line(pair, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VQABENCH")}
    env.update(TORCH_HOME=str(tmp_path / "torch"), HOME=str(tmp_path), XDG_CACHE_HOME="")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vqabench",
            "metrics",
            "compute",
            "lpips",
            str(pair[0].path),
            str(pair[1].path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "alexnet-owt-7be5be79.pth" in lines[0]
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in lines[0]
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in lines[0]


@pytest.mark.slow
def test_lpips_without_weights_tries_no_download(
    pair, tmp_path, monkeypatch, capsys, network_attempts
):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("VQABENCH_WEIGHTS", raising=False)
    code, _, err = _run(
        ["metrics", "compute", "lpips", str(pair[0].path), str(pair[1].path)], capsys
    )
    assert code == 2 and "alexnet-owt-7be5be79.pth" in err
    assert network_attempts == []


@pytest.mark.slow
def test_compute_prints_the_library_value(pair, capsys):
    code, out, err = _run(
        [
            "metrics",
            "compute",
            "lpips",
            str(pair[0].path),
            str(pair[1].path),
            "--opt",
            "pretrained_backbone=false",
            "--opt",
            "seed=2",
            "--per-frame",
        ],
        capsys,
    )
    assert code == 0, err
    want = metrics.create("lpips", pretrained_backbone=False, seed=2).compute(*pair)
    lines = out.strip().splitlines()
    name, value = lines[0].split("\t")
    assert name == "lpips" and float(value) == pytest.approx(want.value, abs=1e-6)
    assert [float(x.split("\t")[1]) for x in lines[1:]] == pytest.approx(want.per_frame, abs=1e-6)


def test_sequence_metric_with_dash_reference(pair, capsys):
    code, out, _ = _run(
        ["metrics", "compute", "motion_smoothness_flow", "-", str(pair[1].path)], capsys
    )
    want = metrics.create("motion_smoothness_flow").compute(None, pair[1]).value
    assert code == 0 and float(out.split("\t")[1]) == pytest.approx(want, abs=1e-6)


def test_bad_option_is_one_line(pair, capsys):
    code, out, err = _run(
        ["metrics", "compute", "lpips", str(pair[0].path), str(pair[1].path), "--opt", "net"],
        capsys,
    )
    assert code == 2 and err.count("\n") == 1 and "KEY=VALUE" in err


def test_compute_options_are_typed_from_the_metric(pair, capsys):
    args = ["metrics", "compute", "ssim", str(pair[0].path), str(pair[1].path), "--json"]
    code, out, _ = _run([*args, "--opt", "downsample=off"], capsys)
    assert code == 0 and json.loads(out)["options"] == {"downsample": False}
    code, _, err = _run([*args, "--opt", "downsample=maybe"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "metric 'ssim': downsample='maybe' is not allowed: expected true/false/yes/no" in err


def test_parse_options_keeps_the_text():  # typed later, from the metric's declaration
    assert parse_options(["a=1", "b=0.5", "c=false", "d=vgg", "e=none", "f=x=y"]) == {
        "a": "1",
        "b": "0.5",
        "c": "false",
        "d": "vgg",
        "e": "none",
        "f": "x=y",
    }


def test_metrics_list(capsys):
    code, out, _ = _run(["metrics", "list"], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "lower is better" in rows["lpips"] and "lower is better" in rows["flicker_warp"]
    assert "sequence" in rows["motion_smoothness_flow"] and "higher" in rows["subject_consistency"]
    assert "higher" in rows["vmaf_neg"]
    text = " ".join(out.split())
    assert (
        "vmaf_v1.0.16_3d0h loads in the bundled libvmaf; smallest tested size that runs: "
        "256x160" in text
    )


def test_metrics_list_shows_licences(capsys):
    """Issue 30 item 5: ``metrics list`` shows each metric's licence (text and JSON)."""
    code, out, _ = _run(["metrics", "list"], capsys)
    assert code == 0
    rows = {line.split()[0]: " ".join(line.split()) for line in out.splitlines()}
    assert rows["vmaf"].endswith(
        "higher is better BSD-2-Clause-Patent (libvmaf and its models, "
        "inside ffmpeg; wrapper ffmpeg-quality-metrics MIT)"
    )
    assert "PolyForm-Noncommercial-1.0.0 (pyiqa" in rows["pyiqa:<name>"]
    assert "PolyForm-Noncommercial-1.0.0 (pyiqa's DISTS" in rows["dists"]
    assert rows["psnr_yuv"].endswith("MIT (vqabench's own code)")
    code, out, _ = _run(["metrics", "list", "--json"], capsys)
    listed = {m["name"]: m["licence"] for m in json.loads(out)}
    assert listed["ssim"] == "MIT (vqabench's own code)"
    assert listed["imaging_quality"].startswith("PolyForm-Noncommercial-1.0.0")
