"""Tests for vqabench.reports.leaderboard: one value per cell and a provenance sidecar."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from vqabench import __version__
from vqabench.errors import ConfigError
from vqabench.reports import build_leaderboard


def test_leaderboard_values_and_provenance(run_dir, tmp_path, run_maker):
    run2 = run_maker(tmp_path / "run2", bad_c=False)
    lb = build_leaderboard([run_dir, run2], out=tmp_path / "lb" / "mini.csv")
    table = pd.read_csv(lb.csv)
    assert table["run"].tolist() == ["run1", "run2"]
    assert table["codec"].tolist() == ["x265", "x265"]
    assert table["psnr_y"].tolist() == pytest.approx([-25.0, -20.0])
    assert table["lpips"].tolist() == pytest.approx([-20.0, -20.0])
    side = json.loads((tmp_path / "lb" / "mini.csv.json").read_text())
    assert side["vqabench_version"] == __version__
    assert side["bd_method"] == "pchip"
    r1 = side["runs"][0]
    assert r1["config_sha256"] == hashlib.sha256((run_dir / "config.toml").read_bytes()
                                                 ).hexdigest()
    assert r1["dataset"] == "synthetic" and r1["anchor_codec"] == "x264"
    assert r1["codec_versions"] == {"x264": "0.164", "x265": "3.5+1"}
    assert any(e.startswith("C/psnr_y/x265") for e in r1["excluded"])
    assert side["runs"][1]["excluded"] == []


def test_leaderboard_errors(tmp_path):
    with pytest.raises(ConfigError, match="run_dirs"):
        build_leaderboard([], out=tmp_path / "x.csv")


def test_codec_versions_name_the_ffmpeg_build_once(tmp_path):
    """Issue 18 item 9: every ffmpeg codec repeated the ffmpeg build string."""
    import json as _json

    from vqabench.codecs.ffmpeg import _ffmpeg_version
    from vqabench.codecs.versions import encoder_version
    from vqabench.reports.leaderboard import codec_versions
    from vqabench.runner.store import EncodeRecord, Store

    run = tmp_path / "run"
    run.mkdir()
    with Store(run / "store.sqlite") as store:
        for i, (label, name) in enumerate((("x264-fast", "x264"), ("x265", "x265"))):
            spec = _json.dumps({"name": name, "version": _ffmpeg_version(), "options": {}})
            store.commit_job(EncodeRecord(f"k{i}", "A", "source", label, "qp=22", "b", 8, 0.1,
                                          0.01, 8, 64, 64, "25/1", spec), [])
    config = {"codecs": [{"name": "x264", "label": "x264-fast"}, {"name": "x265"}]}
    assert codec_versions(run, config) == {
        "x264-fast": f"libx264 {encoder_version('libx264')}",
        "x265": f"libx265 {encoder_version('libx265')}",
        "ffmpeg": _ffmpeg_version().removeprefix("ffmpeg ")}
