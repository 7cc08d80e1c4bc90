"""Named datasets on disk: each naming convention on tiny synthetic files (64x64 raw YUV,
Y4M, MP4 and MKV made with write_y4m + ffmpeg), metadata, trimming, scaling and errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench import datasets
from vqabench.datasets.named import CONVENTIONS, scan
from vqabench.errors import ConfigError, DatasetError
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.video import Video, read_all


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Video]:
    """8-bit and 10-bit 64x64 clips of 8 frames (distinct content)."""
    d = tmp_path_factory.mktemp("named_src")
    return {
        "8": make_video(d / "a8.y4m", frames=8, seed=3),
        "10": make_video(d / "a10.y4m", frames=8, seed=4, pix_fmt="yuv420p10le"),
    }


def _raw(src: Video, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-i", src.path, "-f", "rawvideo", "-pix_fmt", src.pix_fmt, dst])
    return dst


def _container(src: Video, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    codec = ["-c:v", "ffv1"] if dst.suffix == ".mkv" else ["-c:v", "libx264", "-qp", "0"]
    run_ffmpeg(["-i", src.path, *codec, dst])
    return dst


@pytest.mark.slow
def test_uvg_8_and_10_bit_with_start_and_frames(tmp_path, clips):
    root = tmp_path / "UVG"
    _raw(clips["8"], root / "Beauty_64x64_120fps_420_8bit_YUV.yuv")
    _raw(clips["10"], root / "4K" / "Jockey_64x64_30fps_420_10bit_YUV.yuv")
    (root / "readme.txt").write_text("ignored")
    seqs = datasets.load("uvg", root=root, frames=4, work_dir=tmp_path / "run")
    by_name = {s.name: s for s in seqs}
    assert sorted(by_name) == ["Beauty", "Jockey"]
    beauty, jockey = by_name["Beauty"], by_name["Jockey"]
    assert beauty.metadata["dataset"] == "UVG" and beauty.metadata["class"] == "64p"
    assert (beauty.source.fps, beauty.source.pix_fmt, beauty.source.frames) == (
        Fraction(120),
        "yuv420p",
        4,
    )
    assert (jockey.source.fps, jockey.source.pix_fmt, jockey.metadata["bit_depth"]) == (
        Fraction(30),
        "yuv420p10le",
        "10",
    )
    np.testing.assert_array_equal(read_all(jockey.source).y, read_all(clips["10"], count=4).y)
    # start: frames 3..5 of the original
    late = datasets.DATASETS.get("uvg")(root=root, frames=3, start=3, work_dir=tmp_path / "r2")
    late_beauty = next(s.source for s in late if s.name == "Beauty")
    np.testing.assert_array_equal(read_all(late_beauty).y, read_all(clips["8"], start=3, count=3).y)
    with pytest.raises(ConfigError, match="start=8 is not allowed"):
        datasets.DATASETS.get("uvg")(root=root, start=8, work_dir=tmp_path / "r3")
    with pytest.raises(DatasetError, match="fewer than frames=9"):
        datasets.load("uvg", root=root, frames=9, work_dir=tmp_path / "r4")


def test_bvi_dvc_class_from_first_letter(tmp_path, clips):
    root = tmp_path / "BVI-DVC"
    _container(clips["8"], root / "AAdvertisingMassagesBangkokVidevo_64x64_25fps_8bit_420.mp4")
    _raw(clips["10"], root / "DBasketballDrill_64x64_50fps_10bit_420.yuv")
    seqs = datasets.load("bvi-dvc", root=root, work_dir=tmp_path / "run")
    meta = {s.name: s.metadata for s in seqs}
    advert = meta["AAdvertisingMassagesBangkokVidevo"]
    assert (advert["class"], advert["content"]) == ("A", "AdvertisingMassagesBangkokVidevo")
    assert meta["DBasketballDrill"]["class"] == "D"
    assert meta["DBasketballDrill"]["class_size"] == "480x272"
    src = {s.name: s.source for s in seqs}
    assert src["DBasketballDrill"].pix_fmt == "yuv420p10le"
    assert src["DBasketballDrill"].fps == 50
    # x264 -qp 0 is lossless: the mp4 decodes to the original pixels
    np.testing.assert_array_equal(
        read_all(src["AAdvertisingMassagesBangkokVidevo"]).y, read_all(clips["8"]).y
    )


def test_bvi_ugc_groups_from_folders(tmp_path, clips):
    root = tmp_path / "BVI-UGC"
    _container(clips["8"], root / "high" / "Animal1_64x64_30fps_8bit.mp4")
    _container(clips["8"], root / "Low" / "Sports12_64x64_25fps_8bit.mp4")
    entries = {e.name: e for e in scan("bvi-ugc", root)}
    assert entries["Animal1"].metadata["group"] == "High"
    assert entries["Animal1"].metadata["category"] == "Animal"
    assert entries["Sports12"].metadata["group"] == "Low"
    assert entries["Sports12"].fps == 25
    _container(clips["8"], root / "Vlog3_64x64_30fps_8bit.mp4")
    with pytest.raises(DatasetError, match="Vlog3_64x64_30fps_8bit.mp4.*high, medium or low"):
        scan("bvi-ugc", root)


def test_mcl_jcv_scaled(tmp_path, clips):
    root = tmp_path / "MCL-JCV"
    _raw(clips["8"], root / "videoSRC01_64x64_30.yuv")
    _raw(clips["8"], root / "videoSRC12_64x64_24.yuv")
    seqs = datasets.load("mcl-jcv", root=root, size=(32, 32), work_dir=tmp_path / "run")
    assert [s.name for s in seqs] == ["videoSRC01", "videoSRC12"]
    assert [s.metadata["source_id"] for s in seqs] == ["01", "12"]
    assert [(s.source.width, s.source.height, s.source.frames) for s in seqs] == [(32, 32, 8)] * 2
    assert seqs[1].source.fps == 24
    assert all(s.source.path.is_relative_to(tmp_path / "run" / "sources" / "mcl-jcv") for s in seqs)


def test_hevc_ctc_class_from_table_or_folder(tmp_path, clips):
    root = tmp_path / "CTC"
    _raw(clips["8"], root / "BQTerrace_64x64_60.yuv")
    _raw(clips["8"], root / "ClassE" / "MyTalkingHead_64x64_60.yuv")
    _raw(clips["8"], root / "ChinaSpeed_64x64_30.yuv")
    entries = {e.name: e.metadata["class"] for e in scan("hevc-ctc", root)}
    assert entries == {"BQTerrace": "B", "MyTalkingHead": "E", "ChinaSpeed": "F"}
    _raw(clips["8"], root / "RaceHorses_64x64_30.yuv")
    with pytest.raises(DatasetError, match="RaceHorses is class C at 832x480"):
        scan("hevc-ctc", root)
    (root / "RaceHorses_64x64_30.yuv").rename(root / "Unknown_64x64_30.yuv")
    with pytest.raises(DatasetError, match="'Unknown' is not a CTC sequence"):
        scan("hevc-ctc", root)


@pytest.mark.slow
def test_youtube_ugc_category_and_resolution(tmp_path, clips):
    root = tmp_path / "YT"
    _container(clips["8"], root / "Gaming_720P-1ea7.mkv")
    _container(clips["8"], root / "Vlog_360P-2b4f.mkv")
    seqs = datasets.load("youtube-ugc", root=root, frames=5, work_dir=tmp_path / "run")
    meta = {s.name: s.metadata for s in seqs}
    assert meta["Gaming_720P-1ea7"]["category"] == "Gaming"
    assert meta["Gaming_720P-1ea7"]["resolution"] == "720P"
    assert meta["Vlog_360P-2b4f"]["id"] == "2b4f"
    assert {(s.source.width, s.source.frames) for s in seqs} == {(64, 5)}
    # ffv1 is lossless
    np.testing.assert_array_equal(read_all(seqs[0].source).y, read_all(clips["8"], count=5).y)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("uvg", "Beauty_64x64_120fps_8bit.yuv"),
        ("bvi-dvc", "EAdvertising_64x64_25fps_10bit_420.mp4"),
        ("bvi-ugc", "high/Animal_64x64_30fps_8bit.mp4"),
        ("mcl-jcv", "videoSRC1_64x64_30fps.yuv"),
        ("hevc-ctc", "BQTerrace_64x64.yuv"),
        ("youtube-ugc", "Gaming-720P-1ea7.mkv"),
    ],
)
def test_malformed_names_rejected(tmp_path, name, bad):
    path = tmp_path / bad
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(64 * 64 * 3 // 2))
    conv = CONVENTIONS[name]
    with pytest.raises(DatasetError) as exc:
        scan(name, tmp_path)
    msg = str(exc.value)
    assert Path(bad).name in msg and "expected" in msg and conv.example in msg


def test_root_required_and_unknown(tmp_path):
    with pytest.raises(DatasetError, match="give root=PATH .*<Name>_<W>x<H>_<fps>fps_420"):
        datasets.load("uvg", work_dir=tmp_path)
    with pytest.raises(DatasetError, match="is not a folder"):
        datasets.load("mcl-jcv", root=tmp_path / "missing", work_dir=tmp_path)
    with pytest.raises(DatasetError, match="holds no video files"):
        datasets.load("mcl-jcv", root=tmp_path, work_dir=tmp_path)
    assert set(CONVENTIONS) <= set(datasets.available())


@pytest.mark.slow
def test_the_files_own_size_and_frames_give_the_same_source(tmp_path, clips):
    """Issue 29.7: a run's resolved config pins size and frames; they must name and make the
    very source the run converted (before: a second file, scaled with setsar=1)."""
    root = tmp_path / "UVG"
    _raw(clips["8"], root / "Beauty_64x64_120fps_420_8bit_YUV.yuv")
    plain = datasets.load("uvg", root=root, work_dir=tmp_path / "run")[0].source
    pinned = datasets.load("uvg", root=root, frames=8, size=(64, 64), work_dir=tmp_path / "run")[
        0
    ].source
    assert pinned.path == plain.path and plain.frames == 8
    assert len(list((tmp_path / "run" / "sources").rglob("*.y4m"))) == 1
    later = datasets.DATASETS.get("uvg")(root=root, frames=5, start=3, work_dir=tmp_path / "run")
    assert later[0].source.path.name == f"Beauty_s3_{plain.path.name.rsplit('_', 1)[1]}"
