"""``vqabench status RUN_DIR``: counts from config.toml and the store, nothing run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import make_video, read_only
from vqabench.experiment import load_config
from vqabench.runner.run import run
from vqabench.runner.rundir import exclusive


def _status(*args):
    return subprocess.run(
        [sys.executable, "-m", "vqabench", "status", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    """4 jobs done, 2 failed (a vp9 profile libvpx refuses); then one bitstream lost."""
    root = tmp_path_factory.mktemp("status")
    make_video(root / "data" / "Alpha.y4m", frames=4, seed=61)
    make_video(root / "data" / "Beta.y4m", frames=4, seed=62)
    out = root / "run"
    cfg = load_config(
        None,
        dataset=str(root / "data"),
        metrics="psnr_y",
        jobs=1,
        out=str(out),
        codecs=["x264:qp=22,37", "vp9:qp=40"],
    )
    bad = replace(cfg.codecs[1], options=(("extra", ("-profile:v", "7")),))  # libvpx: 0..3
    cfg = replace(cfg, codecs=(cfg.codecs[0], bad))
    assert len(run(cfg).failures) == 2
    (out / "bitstreams" / "Alpha" / "x264" / "qp22.264").unlink()
    return out


@pytest.mark.slow
def test_status_counts_and_lists_failures_while_the_run_is_locked(partial_run):
    with exclusive(partial_run):  # as if `vqabench run` were working in the directory
        proc = _status(partial_run)
    assert proc.returncode == 1  # work remains
    assert f"{partial_run}: 6 jobs: 3 done, 1 pending, 2 failed" in " ".join(proc.stdout.split())
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 2 and all(" vp9 qp=40: FfmpegError" in line for line in failed)
    assert not (partial_run / "bitstreams" / "Alpha" / "x264" / "qp22.264").exists()


@pytest.mark.slow
def test_status_of_a_directory_that_is_not_a_run(tmp_path):
    proc = _status(tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"vqabench: error: run_dir={str(tmp_path)!r} is not a run directory: it has no "
        "config.toml (`vqabench run` writes one when it starts)"
    ]


@pytest.mark.slow
def test_status_of_a_finished_run_on_a_raw_yuv_folder_is_all_done(tmp_path):
    """Issue 29.7: the resolved config pinned size=, which converted the source again under
    another name, so status said "0 done, 1 pending" and exited 1."""
    from vqabench.io.ffmpeg import run_ffmpeg

    clip = make_video(tmp_path / "clip.y4m", width=64, height=48, frames=3, seed=63)
    (tmp_path / "data").mkdir()
    run_ffmpeg(
        [
            "-i",
            clip.path,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            tmp_path / "data" / "Clip_64x48_25fps_420_8bit.yuv",
        ]
    )
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(tmp_path / "data"),
            metrics="psnr_y",
            jobs=1,
            out=str(out),
            codecs=["x264:qp=30"],
        )
    )
    proc = _status(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{out}: 1 jobs: 1 done, 0 pending, 0 failed" in " ".join(proc.stdout.split())


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished run: 2 sequences x x264 at 2 QPs, every job done."""
    root = tmp_path_factory.mktemp("status_ro")
    make_video(root / "data" / "Alpha.y4m", frames=4, seed=63)
    make_video(root / "data" / "Beta.y4m", frames=4, seed=64)
    out = root / "run"
    assert run(
        load_config(
            None,
            dataset=str(root / "data"),
            metrics="psnr_y",
            jobs=1,
            out=str(out),
            codecs=["x264:qp=22,37"],
        )
    ).complete
    return out


@pytest.mark.slow
def test_status_of_a_read_only_finished_run_reads_it_and_writes_nothing(finished_run):
    before = sorted(p.name for p in finished_run.rglob("*"))
    assert "store.sqlite-shm" not in before  # closed cleanly: WAL mode would need one
    with read_only(finished_run):  # even root cannot write there
        proc = _status(finished_run)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.split() == f"{finished_run}: 4 jobs: 4 done, 0 pending, 0 failed".split()
    assert sorted(p.name for p in finished_run.rglob("*")) == before
