"""The generic folder dataset: Y4M, named raw YUV and containers, trimming and scaling."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench import datasets
from vqabench.datasets.folders import sequence_name
from vqabench.errors import ConfigError, DatasetError, VideoFormatError
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.video import read_frames


@pytest.mark.slow
def test_folder_with_three_formats(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    a = make_video(folder / "Alpha.y4m", frames=6, seed=1)
    b = make_video(tmp_path / "b.y4m", frames=6, seed=2)
    run_ffmpeg(["-i", b.path, "-f", "rawvideo", folder / "Beta_64x64_25fps_420_8bit.yuv"])
    run_ffmpeg(["-i", b.path, "-c:v", "ffv1", folder / "Gamma.mkv"])
    (folder / "notes.txt").write_text("not a video")
    seqs = datasets.load(str(folder), work_dir=tmp_path / "run")
    assert [s.name for s in seqs] == ["Alpha", "Beta", "Gamma"]
    assert seqs[0].source.path == a.path  # used in place
    for beta_frame, gamma_frame in zip(
        read_frames(seqs[1].source), read_frames(seqs[2].source), strict=True
    ):
        np.testing.assert_array_equal(beta_frame.y, gamma_frame.y)  # both lossless copies of b
    trimmed = datasets.load(str(folder), frames=3, size=(32, 32), work_dir=tmp_path / "run")
    assert {(s.source.frames, s.source.width) for s in trimmed} == {(3, 32)}
    subset = datasets.load(str(folder), work_dir=tmp_path / "run", sequences=("Gamma", "Alpha"))
    assert [s.name for s in subset] == ["Gamma", "Alpha"]  # the order asked for


def test_select_keeps_the_named_sequences_in_the_order_given(tiny_video):
    seqs = [datasets.Sequence(n, tiny_video) for n in ("Alpha", "Beta", "Gamma")]
    assert datasets.select(seqs, None) is seqs
    assert [s.name for s in datasets.select(seqs, ("Gamma", "Alpha"))] == ["Gamma", "Alpha"]
    with pytest.raises(
        DatasetError,
        match=r"sequences=\['Gama'\] not in the dataset "
        r"\(its sequences: Alpha, Beta, Gamma\); did you mean 'Gamma'\?",
    ):
        datasets.select(seqs, ("Alpha", "Gama"))
    with pytest.raises(DatasetError, match="names a sequence twice"):
        datasets.select(seqs, ("Beta", "Beta"))


def test_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="holds no video files"):
        datasets.load(str(empty), work_dir=tmp_path)
    (empty / "x_64x64.yuv").write_bytes(bytes(100))
    with pytest.raises(VideoFormatError, match="not a multiple of the frame size"):
        datasets.load(str(empty), work_dir=tmp_path)
    with pytest.raises(DatasetError, match="neither a built-in dataset"):
        datasets.load(str(tmp_path / "missing"), work_dir=tmp_path)


def test_check_spec_accepts_what_load_accepts_before_loading(tmp_path):
    # a registered name and an existing folder pass (even an empty one: load says why later)
    datasets.check_spec("mini")
    datasets.check_spec(str(tmp_path))
    with pytest.raises(DatasetError, match=r"dataset='mni' is neither .*did you mean 'mini'"):
        datasets.check_spec("mni")
    with pytest.raises(DatasetError, match="neither a built-in dataset"):
        datasets.check_spec(str(tmp_path / "missing"))


def test_sequence_names():
    from pathlib import Path

    assert sequence_name(Path("Beauty_1920x1080_120fps_420_8bit_YUV.yuv")) == "Beauty"
    assert sequence_name(Path("my clip.mp4")) == "my clip"


def test_an_interlaced_source_is_refused_unless_coded_as_progressive_on_purpose(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    clip = make_video(tmp_path / "clip.y4m", frames=2)
    (folder / "Tff.y4m").write_bytes(clip.path.read_bytes().replace(b" Ip ", b" It ", 1))
    with pytest.raises(VideoFormatError, match=r"Tff.y4m: interlaced source \(field order tff"):
        datasets.load(str(folder), work_dir=tmp_path / "run")
    (seq,) = datasets.load(str(folder), work_dir=tmp_path / "run", interlaced="progressive")
    assert seq.source.path == folder / "Tff.y4m"  # still used in place
    assert seq.source.assumptions()["field_order"] == (
        "tff (header, coded as progressive (interlaced='progressive'))"
    )
    with pytest.raises(ConfigError, match="interlaced='weave' is not allowed"):
        datasets.load(str(folder), work_dir=tmp_path / "run", interlaced="weave")


@pytest.mark.slow
def test_a_variable_rate_container_is_refused_unless_converted_on_purpose(tmp_path):
    from fractions import Fraction

    folder = tmp_path / "data"
    folder.mkdir()
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=30",
            "-frames:v",
            16,
            "-vf",
            "setpts=N*0.0645/TB",
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            folder / "Phone.mkv",
        ]
    )
    with pytest.raises(
        VideoFormatError,
        match="Phone.mkv' has a variable frame rate: 16 "
        r"frames in 0.967 s \(15.512 fps measured\) where the container says "
        "30/1 fps",
    ):
        datasets.load(str(folder), work_dir=tmp_path / "run")
    note = "30/1 (converted from variable rate, measured 15.512 fps by ffmpeg's fps filter)"
    for _ in range(2):  # converted, then reused from work_dir/sources with its record
        (seq,) = datasets.load(str(folder), work_dir=tmp_path / "run", fps=Fraction(30))
        assert seq.source.fps == 30 and seq.source.assumptions()["fps"] == note
    with pytest.raises(DatasetError, match="fps=30 converts the sources of folder datasets"):
        datasets.load("mini", work_dir=tmp_path / "run", fps=Fraction(30))


def _raw_clip(folder, name="Clip_64x48_25fps_420_8bit.yuv", frames=4):
    """A raw .yuv file written by ffmpeg from a Y4M (a raw file states no aspect ratio)."""
    folder.mkdir(parents=True, exist_ok=True)
    y4m = make_video(folder.parent / "clip_src.y4m", width=64, height=48, frames=frames, seed=9)
    run_ffmpeg(["-i", y4m.path, "-f", "rawvideo", "-pix_fmt", "yuv420p", folder / name])
    return folder / name


@pytest.mark.slow
@pytest.mark.parametrize("container", [False, True])
def test_asking_for_the_files_own_size_and_frames_converts_nothing_more(tmp_path, container):
    """A run's resolved config.toml pins size and frames; re-run, they must give the very
    source the run used (before: another file, scaled with setsar=1, other bytes and keys)."""
    raw = _raw_clip(tmp_path / "data")
    if container:  # an FFV1 .mkv made by the bundled ffmpeg from the raw file
        run_ffmpeg(
            [
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-s",
                "64x48",
                "-r",
                "25",
                "-i",
                raw,
                "-c:v",
                "ffv1",
                raw.with_name("Clip.mkv"),
            ]
        )
        raw.unlink()
    plain = datasets.load(str(tmp_path / "data"), work_dir=tmp_path / "run")[0].source
    for frames in (None, 4):
        pinned = datasets.load(
            str(tmp_path / "data"), frames=frames, size=(64, 48), work_dir=tmp_path / "run"
        )[0].source
        assert pinned.path == plain.path
    assert [p.name for p in (tmp_path / "run" / "sources").glob("*.y4m")] == [plain.path.name]
    short = datasets.load(str(tmp_path / "data"), frames=3, work_dir=tmp_path / "run")[0].source
    again = datasets.load(
        str(tmp_path / "data"), frames=3, size=(64, 48), work_dir=tmp_path / "run"
    )[0].source
    assert again.path == short.path and short.frames == 3


def test_a_size_the_chroma_cannot_hold_is_refused_before_converting(tmp_path):
    _raw_clip(tmp_path / "data")
    with pytest.raises(
        ConfigError,
        match=r"size='351x287' is not allowed: expected an even "
        r"width and height for yuv420p",
    ):
        datasets.load(str(tmp_path / "data"), size=(351, 287), work_dir=tmp_path / "run")
    assert not list((tmp_path / "run").rglob("*.y4m"))


def test_video_files_one_definition_for_folders_named_roots_and_verify(tmp_path):
    from vqabench.datasets import folders, verify

    assert verify.VIDEO_SUFFIXES is folders.VIDEO_SUFFIXES  # one set, not three
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("A.Y4M", "b.h264", "sub/c.m4v", ".d.mp4", ".hidden/e.mp4", "notes.txt"):
        (tmp_path / rel).write_bytes(b"")
    assert [p.name for p in folders.video_files(tmp_path)] == ["A.Y4M", "b.h264"]
    assert [
        p.relative_to(tmp_path).as_posix() for p in folders.video_files(tmp_path, recursive=True)
    ] == ["A.Y4M", "b.h264", "sub/c.m4v"]
    (tmp_path / "empty").mkdir()
    assert folders.video_files(tmp_path / "empty", required=False) == []
    with pytest.raises(DatasetError, match=r"root='.*empty' holds no video files; expected X"):
        folders.video_files(tmp_path / "empty", argument="root", expected="X")
