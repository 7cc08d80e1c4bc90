"""Tests for vqabench.datasets.verify on generated trees."""

from __future__ import annotations

import hashlib
import os

import pytest

from vqabench.datasets.manifest import load_manifest, parse_manifest, raw_size_bytes
from vqabench.datasets.verify import verify_dataset
from vqabench.errors import DatasetError


def _sparse(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: the size is right, no data is written


def test_mcl_jcv_tree_with_missing_truncated_extra_and_misnamed_files(tmp_path):
    m = load_manifest("mcl-jcv")
    size = raw_size_bytes(m.sequence("videoSRC01"))
    assert size == 1920 * 1080 * 3 // 2 * 150
    _sparse(tmp_path / "a" / "videoSRC01_1920x1080_30.yuv", size)
    _sparse(tmp_path / "videoSRC05_1920x1080_25.yuv", raw_size_bytes(m.sequence("videoSRC05")))
    _sparse(tmp_path / "videoSRC02_1920x1080_30.yuv", size - 1920 * 1080)  # truncated
    _sparse(tmp_path / "videosrc03_1920x1080_30.yuv", size)  # misnamed (letter case)
    _sparse(tmp_path / "b" / "Trailer_1920x1080.mp4", 1000)  # extra
    (tmp_path / "readme.txt").write_text("not a video")  # ignored
    _sparse(tmp_path / ".hidden" / "videoSRC04_1920x1080_30.yuv", size)  # ignored
    report = verify_dataset(m, tmp_path)
    assert not report.ok
    assert report.corrupt == (
        (
            "videoSRC02_1920x1080_30.yuv",
            f"{size - 1920 * 1080} bytes, expected {size} (1920x1080, 150 frames, 8-bit 420)",
        ),
    )
    assert report.misnamed == (("videosrc03_1920x1080_30.yuv", "videoSRC03_1920x1080_30.yuv"),)
    assert report.extra == (os.path.join("b", "Trailer_1920x1080.mp4"),)
    assert "videoSRC04_1920x1080_30.yuv" in report.missing
    assert len(report.missing) == 30 - 4  # 01 and 05 present, 02 corrupt, 03 misnamed
    assert sorted(report.found) == [
        os.path.join("a", "videoSRC01_1920x1080_30.yuv"),
        "videoSRC05_1920x1080_25.yuv",
    ]
    lines = report.lines()
    assert "missing: videoSRC04_1920x1080_30.yuv" in lines
    assert lines[-1].endswith("2 ok, 26 missing, 1 misnamed, 1 extra, 1 corrupt")


_SMALL = """name = "small"
title = "Small"
source = "here"
licence = "CC0"
enumerated = true
[naming]
pattern = '[a-z]+_64x64\\.yuv'
layout = "<name>_64x64.yuv"
[defaults]
width = 64
height = 64
frames = 2
bit_depth = 8
chroma = "420"
[[sequences]]
name = "one"
file = "one_64x64.yuv"
sha256 = "{sha}"
[[sequences]]
name = "two"
file = "two_64x64.yuv"
optional = true
"""


def test_checksums_and_optional_files(tmp_path):
    good = bytes(range(256)) * 48  # 64 * 64 * 1.5 * 2 frames = 12288 bytes
    manifest = parse_manifest(_SMALL.replace("{sha}", hashlib.sha256(good).hexdigest()))
    (tmp_path / "one_64x64.yuv").write_bytes(good[::-1])  # right size, wrong bytes
    assert verify_dataset(manifest, tmp_path).ok  # sizes only by default
    report = verify_dataset(manifest, tmp_path, checksums=True)
    assert report.corrupt[0][0] == "one_64x64.yuv" and "SHA-256" in report.corrupt[0][1]
    assert report.missing == ()  # "two" is optional
    (tmp_path / "one_64x64.yuv").write_bytes(good)
    assert verify_dataset(manifest, tmp_path, checksums=True).ok


def test_unlisted_dataset_checks_names_only(tmp_path):
    m = load_manifest("youtube-ugc")
    _sparse(tmp_path / "Gaming_720P-1ea7.mkv", 100)
    _sparse(tmp_path / "gaming-720p.mkv", 100)
    report = verify_dataset(m, tmp_path)
    assert report.missing == () and report.extra == ()
    assert report.misnamed == (("gaming-720p.mkv", m.naming["layout"]),)
    assert report.found == ("Gaming_720P-1ea7.mkv",)


def test_root_must_be_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        verify_dataset(load_manifest("uvg"), tmp_path / "nope")
