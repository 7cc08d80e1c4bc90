"""Malformed input through the CLI: one clear line and a non-zero exit, never a traceback, and
never a file name read as an ffmpeg option or protocol or by a shell.

The real CLI (``python -m vqabench run``) runs for the cases that prove the point end to end;
the many generated cases (a seeded generator: hypothesis is not a dependency) go through
:func:`vqabench.cli.main` in this process, which is the same code without the interpreter
start.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench.cli import main

PWN = "$(touch PWNED)"


def _cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vqabench", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _main(capsys: pytest.CaptureFixture, *args: object) -> tuple[int, str]:
    """Run the CLI in this process; returns (exit code, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return int(exit_info.value.code or 0), capsys.readouterr().err


def _one_line(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vqabench: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("fuzz_good") / "good.y4m"
    make_video(path, frames=3, seed=41)
    return path.read_bytes()


def _dataset(tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    return folder


_RUN = ("--codec", "x264:qp=30", "--metrics", "psnr_y", "--jobs", "1")

# (file name, content builder, what the error line names)
_BAD_FILES = [
    ("empty.y4m", lambda g: b"", "empty.y4m"),
    ("nomagic.y4m", lambda g: b"YUV4MPEG W64 H64\nFRAME\n" + b"\0" * 6144, "not a Y4M file"),
    (
        "garbage.y4m",
        lambda g: bytes(random.Random(1).randrange(256) for _ in range(5000)),
        "not a Y4M file",
    ),
    ("noheader_end.y4m", lambda g: b"YUV4MPEG2 W64 H64 F25:1", "noheader_end.y4m"),
    ("nosize.y4m", lambda g: b"YUV4MPEG2 F25:1\nFRAME\n" + b"\0" * 6144, "no valid W and H"),
    ("zerofps.y4m", lambda g: g.replace(b"F25:1", b"F0:1", 1), "frame rate must be positive"),
    ("badfield.y4m", lambda g: g.replace(b"W64", b"Wxx", 1), "malformed Y4M header field"),
    ("bigsize.y4m", lambda g: g.replace(b"W64 H64", b"W99999 H99999", 1), "truncated"),
    ("chroma.y4m", lambda g: g.replace(b"\n", b" C411\n", 1), "colour space"),
    ("headeronly.y4m", lambda g: g[: g.index(b"\n") + 1], "no frames"),
    ("truncated.y4m", lambda g: g[:-100], "truncated"),
    ("Clip_64x64_25fps.yuv", lambda g: b"\x80" * 1000, "not a multiple of the frame size"),
    ("Clip_64x64_25fps_.yuv", lambda g: b"", "empty"),
    ("nosize.yuv", lambda g: b"\x80" * 6144, "nosize.yuv"),
    ("empty.mp4", lambda g: b"", "empty.mp4"),
    ("broken.mkv", lambda g: b"\x1aE\xdf\xa3garbage" * 50, "cannot read video"),
    # issue 29: 10-bit files whose samples exceed 1023, variable rate, interlaced
    ("Clip_64x64_25fps_420_10bit.yuv", lambda g: _samples(g) * 2, "looks like 8-bit data"),
    ("P010_64x64_25fps_420_10bit.yuv", lambda g: _msb_aligned(g), "looks MSB-aligned (P010)"),
    (
        "eight.y4m",
        lambda g: (
            g.split(b"\n")[0].replace(b"C420jpeg", b"C420p10")
            + b"\nFRAME\n"
            + _samples(g)[: 2 * 64 * 96]
        ),
        "looks like 8-bit data",
    ),
    ("vfr.mkv", lambda g: _vfr_mkv(), "variable frame rate: 16 frames in 0.967 s"),
    ("top.y4m", lambda g: g.replace(b" Ip ", b" It ", 1), "interlaced source (field order tff"),
    ("bottom.y4m", lambda g: g.replace(b" Ip ", b" Ib ", 1), "interlaced source (field order bff"),
    ("mixed.y4m", lambda g: g.replace(b" Ip ", b" Im ", 1), "(field order mixed, Y4M Im)"),
    (
        "badinterlace.y4m",
        lambda g: g.replace(b" Ip ", b" Iq ", 1),
        "interlace field Iq is not one of",
    ),
    (
        "odd.y4m",
        lambda g: b"YUV4MPEG2 W63 H64 F25:1 C420jpeg\n" + (b"FRAME\n" + bytes(6080)) * 2,
        "x264 cannot code 63x64: yuv420p needs an even width and height",
    ),
]


def _samples(good: bytes) -> bytes:
    """The planes of a Y4M file without its header and FRAME markers."""
    return b"".join(good.split(b"\n", 1)[1].split(b"FRAME\n"))


def _msb_aligned(good: bytes) -> bytes:
    """8-bit samples as 16-bit words ``value << 8``: every sample a multiple of 64."""
    import numpy as np

    return (np.frombuffer(_samples(good), np.uint8).astype("<u2") << 8).tobytes()


def _vfr_mkv() -> bytes:
    """The issue's clip: 16 frames in 0.97 s in a mkv whose stream says 30 fps."""
    import tempfile

    from vqabench.io.ffmpeg import run_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vfr.mkv"
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=64x64:rate=30",
                "-frames:v",
                "16",
                "-vf",
                "setpts=N*0.0645/TB",
                "-fps_mode",
                "passthrough",
                "-c:v",
                "libx264",
                out,
            ]
        )
        return out.read_bytes()


@pytest.mark.parametrize("name, build, needle", _BAD_FILES, ids=[c[0] for c in _BAD_FILES])
def test_a_malformed_video_is_one_clear_line(capsys, good, tmp_path, name, build, needle):
    folder = _dataset(tmp_path, name, build(good))
    code, err = _main(capsys, "run", "--dataset", folder, "--out", tmp_path / "run", *_RUN)
    _one_line(code, err, needle)
    assert not (tmp_path / "run" / "results.csv").exists()


@pytest.mark.parametrize(
    "size, needle",
    [
        ("351x287", "size='351x287' is not allowed: expected an even width and height for yuv420p"),
        ("64x47", "size='64x47' is not allowed: expected an even width and height for yuv420p"),
        ("100000x100000", "x264 cannot code 100000x100000: it codes at most 16384x16384"),
        ("16386x16", "x264 cannot code 16386x16: it codes at most 16384x16384"),
        ("0x48", "size='0x48' is not allowed"),
    ],
)
def test_a_size_that_cannot_be_coded_is_one_clear_line(capsys, good, tmp_path, size, needle):
    folder = _dataset(tmp_path, "good.y4m", good)
    code, err = _main(
        capsys, "run", "--dataset", folder, "--size", size, "--out", tmp_path / "run", *_RUN
    )
    _one_line(code, err, needle)
    assert not list((tmp_path / "run").rglob("*.y4m"))


@pytest.mark.slow
def test_seeded_header_mutations_never_crash(capsys, good, tmp_path):
    """Random byte changes in the Y4M header: a run succeeds, or fails with one clear line."""
    rng = random.Random(20260817)
    end = good.index(b"\n")
    outcomes = []
    for i in range(12):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(end + 1)] = rng.choice(b" \n:0123456789WHFCIAX\x00\xff")
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        (folder / "clip.y4m").write_bytes(bytes(data))
        code, err = _main(capsys, "run", "--dataset", folder, "--out", folder / "run", *_RUN)
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 0:
            assert (folder / "run" / "results.csv").is_file()
        else:
            _one_line(code, err)
        outcomes.append(code)
    assert set(outcomes) <= {0, 2} and 2 in outcomes


def test_unreadable_entries_are_one_clear_line(capsys, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "gone.y4m").symlink_to(tmp_path / "nowhere.y4m")  # dangling: unreadable as root
    code, err = _main(capsys, "run", "--dataset", folder, "--out", tmp_path / "run", *_RUN)
    _one_line(code, err, "holds no video files")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files with mode 000")
def test_a_file_without_read_permission_is_one_clear_line(capsys, good, tmp_path):
    folder = _dataset(tmp_path, "locked.y4m", good)
    (folder / "locked.y4m").chmod(0)
    code, err = _main(capsys, "run", "--dataset", folder, "--out", tmp_path / "run", *_RUN)
    _one_line(code, err, "locked.y4m")


_BAD_TOML = [
    ("metrics = [", "not valid TOML"),
    ("\xff\xfe binary", "not valid TOML"),
    ("[dataset\nname='mini'", "not valid TOML"),
    ("[nonsense]\nx = 1", "unknown section"),
    ("[dataset]\nframes = -1", "dataset.frames=-1 is not allowed"),
    ("[dataset]\nsize = 'big'", "size='big' is not allowed"),
    ("[dataset]\ncolour = 'red'", "unknown key dataset.colour"),
    ("codecs = 3", "codecs must be an array of tables"),
    ("[[codecs]]\nqp = [22]", "every codec needs a name"),
    ("[[codecs]]\nname = 'x264'\nqp = [22, 99]", "qp must be a number in 0..51"),
    ("[[codecs]]\nname = 'x264'\nqp = ['a']", "qp must be a number"),
    ("[[codecs]]\nname = 'x264'\nqp = []", "empty qp ladder"),
    ("[[codecs]]\nname = 'x264'\nqp = [22, 22]", "repeats a rate point"),
    ("[[codecs]]\nname = 'x264'\nqp = [22]\ncrf = [20]", "exactly one rate ladder key"),
    ("[[codecs]]\nname = 'x264'\nbitrate = [1000]", "exactly one rate ladder key"),
    ("[[codecs]]\nname = 'x246'\nqp = [22]", "unknown codec 'x246'"),
    ("metrics = 5", "metrics must be a list"),
    ("metrics = ['psnr_y', 'vmfa']", "unknown metric 'vmfa'"),
    ("[run]\njobs = 0", "run.jobs=0 is not allowed"),
    ("[run]\nworkers = 2", "unknown key run.workers"),
    ("[reference]\ncodec = 'x264'\nqp = [30, 40]\ngroups = ['a']", "reference groups"),
    ("[dataset]\nfps = 0", "dataset.fps=0 is not allowed"),
    ("[dataset]\nfps = 'fast'", "dataset.fps='fast' is not allowed"),
    ("[dataset]\ninterlaced = 'weave'", "dataset.interlaced='weave' is not allowed"),
    ("[dataset]\ninterlaced = true", "dataset.interlaced=True is not allowed"),
    (
        "metrics = [{name = 'ssim', downsample = 'maybe'}]",
        "downsample='maybe' is not allowed: expected true/false/yes/no/on/off/1/0",
    ),
    ("metrics = [{name = 'vmaf', modle = 'x'}]", "no option 'modle'; did you mean 'model'?"),
    ("[[codecs]]\nname = 'x264'\nqp = [22]\ngop = 'often'", "gop='often' is not allowed"),
]


@pytest.mark.parametrize("text, needle", _BAD_TOML, ids=[str(i) for i in range(len(_BAD_TOML))])
def test_a_malformed_config_is_one_clear_line(capsys, tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_bytes(
        text.encode("utf-8", "surrogateescape") if "\xff" not in text else b"\xff\xfe binary"
    )
    code, err = _main(capsys, "run", config, "--out", tmp_path / "run")
    _one_line(code, err, needle)


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("x264:qp=", "OPTION=VALUE items with a key and a value"),
        ("x264:qp=a", "rate point 'qp=a' is not allowed"),
        ("x264:qp=22,,27", "rate point 'qp=' is not allowed"),
        ("x264:qp=-1", "qp must be a number in 0..51"),
        ("x264:qp=1e400", "qp must be a number in 0..51"),
        ("x264:qp=nan", "qp must be a number in 0..51"),
        ("vp9:qp=64", "qp must be a number in 0..63"),
        ("svt-av1:qp=0", "qp must be a number in 1..63"),
        ("x264:bitrate=300", "exactly one rate ladder key"),
        ("x264:qp=22:gop=0", "gop=0 is not allowed"),
        ("vvenc:qp=22:gop=-2", "gop=-2 is not allowed"),
        (":qp=22", "NAME:PARAM=V1,V2"),
    ],
)
def test_an_invalid_rate_point_is_one_clear_line(capsys, tmp_path, spec, needle):
    code, err = _main(
        capsys, "run", "--codec", spec, "--metrics", "psnr_y", "--out", tmp_path / "run"
    )
    _one_line(code, err, needle)


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("--fps", "-5", "--fps='-5' is not allowed"),
        ("--fps", "1/0", "--fps='1/0' is not allowed"),
        ("--interlaced", "yes", "--interlaced='yes' is not allowed"),
    ],
)
def test_an_invalid_source_option_is_one_clear_line(capsys, tmp_path, flag, value, needle):
    code, err = _main(capsys, "run", flag, value, "--out", tmp_path / "run", *_RUN)
    _one_line(code, err, needle)


@pytest.mark.parametrize(
    "spec, needle",
    [
        (
            "ssim:downsample=maybe",
            "metric 'ssim': downsample='maybe' is not allowed: expected "
            "true/false/yes/no/on/off/1/0",
        ),
        ("vmaf:modle=x", "metric 'vmaf' has no option 'modle'; did you mean 'model'? (options: "),
        ("psnr_y:max_db=high", "metric 'psnr_y': max_db='high' is not allowed: expected a number"),
    ],
)
def test_a_bad_metric_option_is_one_clear_line(capsys, tmp_path, spec, needle):
    code, err = _main(
        capsys, "run", "--codec", "x264:qp=30", "--metrics", spec, "--out", tmp_path / "run"
    )
    _one_line(code, err, needle)


_CAI = "compressai:model=bmshj2018-factorized:checkpoint=random"


@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ["x264:qp=30", "--quality", "1"],
            "codec='x264:qp=30' is not allowed: expected a compressai spec",
        ),
        ([_CAI, "--quality", "9"], "rate point 'quality=9' is not allowed"),
        ([_CAI, "--quality", "one"], "--quality='one' is not allowed"),
        ([_CAI], "no quality to fine-tune: pass --quality N"),
        ([_CAI + ":quality=1", "--quality", "2"], "pass the qualities once"),
        (
            [_CAI, "--quality", "1", "--loss", "ptloss"],
            "loss='ptloss' is not allowed: expected mse | pt_loss",
        ),
        ([_CAI, "--quality", "1", "--alpha", "1.5"], "alpha=1.5 is not allowed"),
        (
            [_CAI, "--quality", "1", "--loss", "mse", "--alpha", "0.2"],
            "not allowed with loss='mse'",
        ),
        ([_CAI, "--quality", "1", "--iterations", "0"], "iterations=0 is not allowed"),
        ([_CAI, "--quality", "1", "--target", "S"], "target='S' is not allowed"),
        (
            ["compressai:model=ssf2020:checkpoint=random", "--quality", "1"],
            "model='ssf2020' is not allowed: expected an image model",
        ),
        ([_CAI, "--quality", "1", "--patch", "64x64"], "patch='64x64' is not allowed"),
        (
            [
                "compressai:model=bmshj2018-factorized:checkpoint=nowhere/{quality}.pth",
                "--quality",
                "2",
            ],
            "checkpoint nowhere/2.pth (quality=2) is not a file",
        ),
    ],
)
def test_a_bad_train_codec_option_is_one_clear_line(capsys, tmp_path, args, needle):
    code, err = _main(capsys, "train", "codec", *args, "--out", tmp_path / "ft")
    _one_line(code, err, needle)
    assert not (tmp_path / "ft").exists()  # refused before any data are made


@pytest.mark.slow
def test_real_cli_bad_header_and_bad_config(good, tmp_path):
    folder = _dataset(tmp_path, "clip.y4m", good.replace(b"YUV4MPEG2 ", b"YUV4MPEG9 ", 1))
    proc = _cli("run", "--dataset", folder, "--out", tmp_path / "run", *_RUN)
    _one_line(proc.returncode, proc.stderr, "not a Y4M file", "clip.y4m")
    config = tmp_path / "bad.toml"
    config.write_text("[[codecs]]\nname = 'x264'\nqp = [22, 99]\n")
    proc = _cli("run", config)
    _one_line(proc.returncode, proc.stderr, "qp must be a number in 0..51")


_HOSTILE = ["-i", "--help", f"a b 'c\" {PWN}; rm -rf x", "`touch PWNED`", "concat:evil", "-y"]


def _x264_psnr_y(source: Path, bitstream: Path, scratch: Path) -> float:
    """Mean per-frame luma PSNR (scikit-image) of ``bitstream`` decoded by x264's decoder."""
    from skimage.metrics import peak_signal_noise_ratio

    from vqabench import codecs
    from vqabench.io.video import open_video, read_all

    src = open_video(source)
    decoded = scratch / "decoded.y4m"
    codecs.create("x264").decode(bitstream, decoded, src)
    pairs = zip(read_all(src).y, read_all(open_video(decoded)).y, strict=True)
    return sum(peak_signal_noise_ratio(r, d, data_range=255) for r, d in pairs) / src.frames


@pytest.mark.slow
def test_hostile_file_names_are_data_never_options_protocols_or_shell(good, tmp_path):
    """Relative dataset '.', so names reach vqabench exactly as written; the run must treat
    each as a plain file: no option, no ffmpeg protocol, no shell, no PWNED file."""
    work = tmp_path / "work"
    work.mkdir()
    for i, stem in enumerate(_HOSTILE):
        make_video(work / f"{stem}.y4m", frames=3, seed=50 + i)
    (work / "evil.y4m").write_bytes(b"not a video")  # what concat:evil would read instead
    (work / "evil.y4m").rename(work / "evil.notavideo")
    out = f"out {PWN};x"
    proc = _cli(
        "run",
        "--dataset",
        ".",
        "--out",
        out,
        "--jobs",
        "1",
        "--metrics",
        "psnr_y",
        "--codec",
        f"x264:qp=30:label={PWN}",
        cwd=work,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    with open(work / out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["sequence"] for r in rows) == sorted(_HOSTILE)
    assert {r["codec"] for r in rows} == {PWN}
    for row in rows:  # every row is a real measurement of its own file
        bitstream = work / out / row["bitstream"]
        assert bitstream.resolve().is_relative_to((work / out).resolve())
        assert float(row["value"]) == pytest.approx(
            _x264_psnr_y(work / f"{row['sequence']}.y4m", bitstream, tmp_path), rel=1e-9
        )
    assert len({r["value"] for r in rows}) == len(_HOSTILE)
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()


# --- broken run directories: one line each (exit 2 for bad input, 4 for a machine fault) --

_SQLITE_HEADER = b"SQLite format 3\0"


def _break_store_garbage(out: Path) -> None:
    (out / "store.sqlite").write_bytes(bytes(random.Random(2).randrange(256) for _ in range(3000)))


def _break_store_header_only(out: Path) -> None:
    (out / "store.sqlite").write_bytes(_SQLITE_HEADER + b"\x10\x00" + b"\x01" * 200)


def _break_store_truncated(out: Path) -> None:
    data = (out / "store.sqlite").read_bytes()
    (out / "store.sqlite").write_bytes(data[: len(data) // 3])


def _break_store_is_a_folder(out: Path) -> None:
    (out / "store.sqlite").unlink()
    (out / "store.sqlite").mkdir()


def _break_config(out: Path) -> None:
    (out / "config.toml").write_text("[[codecs]\nname = ")


_BROKEN_RUNS = [
    ("store garbage", _break_store_garbage, 4, "is corrupt: file is not a database"),
    ("store header only", _break_store_header_only, 4, "is corrupt"),
    ("store truncated", _break_store_truncated, 4, "is corrupt"),
    ("store is a folder", _break_store_is_a_folder, 4, "store.sqlite is not a file"),
    ("config.toml garbage", _break_config, 2, "its config.toml no longer loads"),
]


@pytest.fixture(scope="module")
def finished_run(good: bytes, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fuzz_run")
    folder = _dataset(root, "clip.y4m", good)
    assert main_code(["run", "--dataset", str(folder), "--out", str(root / "run"), *_RUN]) == 0
    return folder, root / "run"


def main_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, damage, exit_code, needle", _BROKEN_RUNS, ids=[c[0] for c in _BROKEN_RUNS]
)
def test_a_broken_run_directory_is_one_clear_line(
    capsys, finished_run, tmp_path, name, damage, exit_code, needle
):
    import shutil

    folder, finished = finished_run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    damage(out)
    commands = [("run", "--dataset", folder, "--out", out, *_RUN)]
    if exit_code == 4:
        commands.append(("status", out))
    for command in commands:
        code, err = _main(capsys, *command)
        assert code == exit_code, err
        assert "Traceback" not in err and "internal error" not in err, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("vqabench: error: "), err
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_an_out_that_is_a_file_is_one_clear_line(capsys, good, tmp_path, where):
    folder = _dataset(tmp_path, "clip.y4m", good)
    (tmp_path / "taken").write_text("a file")
    out = tmp_path / "taken" if where == "file" else tmp_path / "taken" / "run"
    code, err = _main(capsys, "run", "--dataset", folder, "--out", out, *_RUN)
    _one_line(code, err, f"out={str(out)!r} is not allowed", "a parent of it is a file")
