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
