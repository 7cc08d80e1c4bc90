"""``vqabench datasets list|show`` and ``vqabench make-pairs``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_video
from vqabench.cli import main
from vqabench.datasets.named import CONVENTIONS
from vqabench.datasets.patches import read_manifest
from vqabench.io.ffmpeg import run_ffmpeg


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def test_list_names_and_layouts(capsys):
    assert _run(["datasets", "list"]) == 0
    lines = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert lines["mini"] == "built in (no --root)"
    for name, conv in CONVENTIONS.items():
        assert lines[name] == conv.layout


@pytest.mark.slow
def test_show_with_metadata(tmp_path, capsys):
    clip = make_video(tmp_path / "c.y4m", frames=3)
    root = tmp_path / "ctc"
    (root / "ClassD").mkdir(parents=True)
    run_ffmpeg(["-i", clip.path, "-f", "rawvideo", root / "ClassD" / "MyClip_64x64_50.yuv"])
    run_ffmpeg(["-i", clip.path, "-f", "rawvideo", root / "Cactus_64x64_50.yuv"])
    assert _run(["datasets", "show", "hevc-ctc", "--root", str(root), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["name"], r["class"], r["size"], r["fps"]) for r in rows] == [
        ("Cactus", "B", "64x64", "50"),
        ("MyClip", "D", "64x64", "50"),
    ]
    assert _run(["datasets", "show", "uvg"]) == 2
    assert "give root=PATH" in capsys.readouterr().err
    assert _run(["datasets", "show", "uvg", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "Cactus_64x64_50.yuv" in err and "UVG naming convention" in err


@pytest.mark.slow
def test_make_pairs_cli(tmp_path, capsys):
    out = tmp_path / "pairs"
    args = [
        "make-pairs",
        "--dataset",
        "mini",
        "--frames",
        "12",
        "--size",
        "64x64",
        "--sources",
        "Coffee",
        "--patch",
        "32x32x8",
        "--patches-per-video",
        "2",
        "--reference",
        "x264:qp=42",
        "--transcode",
        "vp9:qp=63",
        "--out",
        str(out),
        "--json",
    ]
    assert _run(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["pairs"], result["computed"], result["references"]) == (2, 1, 1)
    rows = read_manifest(out)
    assert {(r["source"], r["reference"], r["codec"], r["qp"], r["group"]) for r in rows} == {
        ("Coffee", "x264:qp=42", "vp9", "63", "qp=42")
    }
    assert _run(args) == 0
    assert json.loads(capsys.readouterr().out)["reused"] == 1
    bad = [a if a != "32x32x8" else "128x32x8" for a in args]
    assert _run(bad) == 2
    assert "no larger than the video 'Coffee' (64x64x12)" in capsys.readouterr().err
    assert _run([*args[:-1], "--sources", "Nope"]) == 2
    assert "--sources='Nope'" in capsys.readouterr().err
    assert _run([*args, "--defect", "fog=2"]) == 2
    err = capsys.readouterr().err
    assert "--defect='fog=2'" in err and len(err.strip().splitlines()) == 1
    # off-codec D changes the folder's options: the same --out refuses them
    assert _run([*args, "--defect", "blur=2"]) == 2
    assert "other options (differ: defects)" in capsys.readouterr().err
    out2 = tmp_path / "pairs2"
    assert _run([*[a if a != str(out) else str(out2) for a in args], "--defect", "blur=2"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 4
    assert [(r["codec"], r["rate_point"]) for r in read_manifest(out2)][1:3] == [
        ("vp9", "qp=63"),
        ("blur", "blur=2"),
    ]


@pytest.mark.slow
def test_show_the_builtin_mini(capsys):
    """Issue 18 item 9: ``datasets list`` shows mini, ``datasets show mini`` failed."""
    from vqabench.datasets.builtin import MINI_SEQUENCES

    assert _run(["datasets", "show", "mini"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [s.name for s in MINI_SEQUENCES]
    assert lines[0].split("\t")[1:5] == ["256x144", "25 fps", "yuv420p", "16 frames"]


def test_make_pairs_and_run_default_to_the_same_jobs():
    import inspect

    from vqabench.cli.datasets import make_pairs
    from vqabench.config import RunConfig, default_jobs

    option = inspect.signature(make_pairs).parameters["jobs"].default
    assert option.default is None and RunConfig().jobs == default_jobs()


def test_verify_reports_problems_and_exits_1(tmp_path, capsys):
    root = tmp_path / "uvg"
    root.mkdir()
    with open(root / "Beauty_1920x1080_120fps_420_8bit_YUV.yuv", "wb") as f:
        f.truncate(1920 * 1080 * 3 // 2 * 600)  # sparse, right size
    with open(root / "Jockey_1920x1080_120fps_420_8bit_YUV.yuv", "wb") as f:
        f.truncate(1920 * 1080 * 3 // 2 * 599)  # one frame short
    assert _run(["datasets", "verify", "uvg", "--root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "missing: ShakeNDry_1920x1080_120fps_420_8bit_YUV.yuv" in out
    jockey = "corrupt: Jockey_1920x1080_120fps_420_8bit_YUV.yuv: "
    assert any(line.startswith(jockey) for line in out)
    assert out[-1].endswith("1 ok, 5 missing, 0 misnamed, 0 extra, 1 corrupt")
    assert _run(["datasets", "verify", "uvg", "--root", str(tmp_path / "none")]) == 2


def test_manifest_command_marks_unconfirmed_facts(capsys):
    assert _run(["datasets", "manifest", "hevc-ctc"]) == 0
    out = capsys.readouterr().out
    assert "licence: per-sequence terms" in out and "(unconfirmed)" in out
    assert "protocol first-96-ip32: frames 96, intra period 32" in out
    assert "ChinaSpeed\tChinaSpeed_1024x768_30.yuv\twidth=1024? " in out
    assert "Cactus\tCactus_1920x1080_50.yuv\twidth=1920 height=1080 fps=50 frames=500" in out
