"""`vqabench run` on a folder mixing formats (issue 12 acceptance) and a lossless round trip."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench.errors import CodecError
from vqabench.experiment import load_config
from vqabench.io.video import rgb_to_yuv, write_y4m
from vqabench.runner.run import run

EVERY = [
    "x264:qp=30",
    "x265:qp=30",
    "vp9:qp=40:preset=8",
    "aom-av1:qp=40:preset=8",
    "svt-av1:qp=40:preset=12",
    "vvenc:qp=30:preset=0",
]


def _rows(out):
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    make_video(root / "A8.y4m", frames=3, seed=1)
    make_video(root / "B10.y4m", frames=3, seed=2, pix_fmt="yuv420p10le")
    rgb = [np.full((64, 64, 3), 0.2 + 0.1 * t) for t in range(3)]
    write_y4m(
        root / "D_full.y4m",
        [rgb_to_yuv(f, color_range="full") for f in rgb],
        width=64,
        height=64,
        fps=25,
        color_range="full",
    )
    return root


@pytest.mark.slow
def test_mixed_folder_refuses_before_any_job_then_measures(mixed, tmp_path):
    with_444 = tmp_path / "with444"
    with_444.mkdir()
    for f in mixed.iterdir():
        (with_444 / f.name).write_bytes(f.read_bytes())
    make_video(with_444 / "C444.y4m", frames=3, seed=3, pix_fmt="yuv444p")
    out = tmp_path / "refused"
    cfg = load_config(
        None, dataset=str(with_444), codecs=EVERY, metrics="psnr_y", jobs=1, out=str(out)
    )
    with pytest.raises(CodecError) as info:
        run(cfg)
    lines = str(info.value).splitlines()
    assert lines[0] == "2 refusal(s), nothing was run:"
    assert lines[1].startswith("C444.y4m: svt-av1: svt-av1 cannot code yuv444p as it is")
    assert lines[2].startswith("C444.y4m: vvenc: vvenc cannot code yuv444p as it is")
    assert not any((out / n).exists() for n in ("config.toml", "results.csv", "store.sqlite"))

    out = tmp_path / "ok"
    run(load_config(None, dataset=str(mixed), codecs=EVERY, metrics="psnr_y", jobs=1, out=str(out)))
    rows = {(r["sequence"], r["codec"]): r for r in _rows(out)}
    assert len(rows) == 3 * 6
    assert rows[("A8", "x264")]["coded_pix_fmt"] == "yuv420p"
    assert rows[("A8", "vvenc")]["coded_pix_fmt"] == "yuv420p10le"  # widened, said so
    assert rows[("B10", "x264")]["coded_pix_fmt"] == "yuv420p10le"
    assert rows[("B10", "x264")]["native_rate_point"] == "qp=42"  # 30 + 6 * 2
    assert rows[("B10", "x265")]["native_rate_point"] == "qp=30"
    assert all(float(r["value"]) > 25 for r in rows.values())
    config = (out / "config.toml").read_text()
    assert (
        "# assumed D_full: pix_fmt yuv420p (header), fps 25/1 (header), color_range full "
        "(header), color_matrix bt601 (default)"
    ) in config
    assert "# assumed B10: pix_fmt yuv420p10le (header)" in config


@pytest.mark.slow
def test_lossless_round_trip_through_the_run_path(tmp_path):
    """x264 qp=0 (8 bits: x264's lossless mode, High 4:4:4 Predictive) gives the capped
    PSNR, SSIM 1 and VMAF near its maximum."""
    root = tmp_path / "data"
    root.mkdir()
    make_video(root / "L.y4m", frames=4, seed=5)
    out = tmp_path / "run"
    run(
        load_config(
            None,
            dataset=str(root),
            codecs=["x264:qp=0"],
            metrics="psnr_y,ssim,vmaf",
            jobs=1,
            out=str(out),
        )
    )
    values = {r["metric"]: float(r["value"]) for r in _rows(out)}
    assert values["psnr_y"] == 100.0
    assert values["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert values["vmaf"] > 97.0
