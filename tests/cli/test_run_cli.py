"""The CLI as a user meets it: real subprocesses, one-line errors, the BD-rate summary."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import synthetic_run
from tests.conftest import make_video
from vqabench.evaluation import bd_rate
from vqabench.io.ffmpeg import run_ffmpeg


def vqabench(*args, cwd=None, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "vqabench", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    make_video(root / "Clip_64x64.y4m", frames=6, seed=5)
    return root


def _one_line_error(proc, *patterns):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for pattern in patterns:
        assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize(
    "args, patterns",
    [
        (["--dataset", "/no/such/folder"], ["dataset='/no/such/folder' is neither"]),
        (["--codec", "x246:qp=22,27"], ["unknown codec 'x246'", "did you mean"]),
        (["--codec", "x264"], [r"--codec='x264' is not allowed", "NAME:PARAM"]),
        (["--codec", "x264:qp=22,70"], ["qp must be a number in 0..51"]),
        (["--metrics", "psnr_y,vmfa"], ["unknown metric 'vmfa'", "did you mean 'vmaf'"]),
        (["--size", "big"], ["size='big' is not allowed"]),
        (["--frames", "abc"], ["Invalid value for '--frames'", r"see vqabench run --help"]),
        (["--nope"], ["No such option:? '?--nope"]),  # click's wording differs by typer
        (
            ["--codec", "x264:qp=22,27:preset=fastest"],
            ["preset='fastest' is not allowed", "did you mean 'faster'"],
        ),
        (
            ["--codec", "x264:qp=22,27:presett=fast"],
            ["codec 'x264' has no option 'presett'; did you mean 'preset'", "options: preset, gop"],
        ),
        (["--metrics", "psnr_y,pt_loss"], ["metric 'pt_loss' scores .* needs a reference stage"]),
        (
            ["--codec", "x264:kbps=0,500"],
            [
                r"'kbps=0' is not allowed: kbps must be a number in "
                r"1..200000"
            ],
        ),
        (["--codec", "inr:kbps=500"], ["codec 'inr' has no rate control, so kbps is not allowed"]),
        (
            [
                "--codec",
                "x264:qp=22,27",
                "--codec",
                "x265:kbps=from",
                "--targets-from",
                "x265:qp=22",
            ],
            [
                r"--targets-from='x265:qp=22' is not allowed: .*configuration in this run "
                r"\(x264:qp=22,27\)"
            ],
        ),
        (["--codec", "x265:kbps=from"], ["kbps=from but no --targets-from"]),
        (
            ["--sequences", "Rocket,Rockt", "--frames", "2", "--size", "32x32"],
            [r"sequences=\['Rockt'\] not in dataset 'mini'", "did you mean 'Rocket'"],
        ),
        (["--sequences", "Rocket,Rocket"], ["--sequences='Rocket,Rocket' is not allowed"]),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_clear_line(tmp_path, args, patterns):
    out = tmp_path / "run"
    proc = vqabench("run", *args, "--out", out)
    _one_line_error(proc, *patterns)
    assert not (out / "results.csv").exists()


@pytest.mark.slow
def test_sizes_the_chroma_or_the_encoder_cannot_code_are_one_line_before_any_job(tmp_path):
    """Issue 29.4: before, 351x287 was coded at 350x286 while config.toml said 351x287, and a
    353x287 4:2:0 source failed every job with "Nothing was written into output file"."""
    data = tmp_path / "data"
    data.mkdir()
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=353x287:r=25,format=yuv444p",
            "-frames:v",
            "2",
            "-pix_fmt",
            "yuv420p",
            "-strict",
            "-1",
            "-f",
            "yuv4mpegpipe",
            data / "Odd.y4m",
        ]
    )
    args = ("--codec", "x264:qp=30", "--metrics", "psnr_y", "--jobs", "1")
    out = tmp_path / "run"
    proc = vqabench("run", "--dataset", data, "--size", "351x287", "--out", out, *args)
    _one_line_error(
        proc,
        r"size='351x287' is not allowed: expected an even width and height "
        r"for yuv420p \(2x2 chroma subsampling\)",
    )
    proc = vqabench("run", "--dataset", data, "--out", out, *args)
    _one_line_error(
        proc,
        r"^vqabench: error: nothing was run: Odd.y4m: x264: x264 cannot code "
        r"353x287: yuv420p needs an even width and height",
    )
    proc = vqabench("run", "--dataset", data, "--size", "100000x100000", "--out", out, *args)
    _one_line_error(proc, "x264 cannot code 100000x100000: it codes at most 16384x16384")
    assert not list(out.rglob("*.264")) and not list(out.rglob("*.y4m"))
    proc = vqabench(
        "run",
        "--dataset",
        data,
        "--out",
        out,
        "--codec",
        "vp9:qp=40",
        "--metrics",
        "psnr_y",
        "--jobs",
        "1",
    )  # VP9 codes odd 4:2:0 sizes
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_unreadable_video_leaves_no_results(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.mp4").write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "run"
    proc = vqabench(
        "run", "--dataset", data, "--out", out, "--codec", "x264:qp=30", "--metrics", "psnr_y"
    )
    _one_line_error(proc, "cannot read video", "broken.mp4")
    assert not (out / "results.csv").exists()


@pytest.mark.slow
def test_run_prints_bd_rate_that_matches_results(folder, tmp_path):
    out = tmp_path / "run"
    proc = vqabench(
        "run",
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "1",
        "--codec",
        "x264:qp=22,27,32,37",
        "--codec",
        "x265:qp=22,27,32,37",
        "--metrics",
        "psnr_y",
    )
    assert proc.returncode == 0, proc.stderr
    assert "8 jobs: 8 run, 0 reused" in proc.stdout
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    curve = {
        c: (
            [float(r["kbps"]) for r in rows if r["codec"] == c],
            [float(r["value"]) for r in rows if r["codec"] == c],
        )
        for c in ("x264", "x265")
    }
    expected = bd_rate(*curve["x264"], *curve["x265"], method="pchip")
    shown = re.search(r"x265\s*│\s*([+-]\d+\.\d+)", proc.stdout)
    assert shown, proc.stdout
    assert float(shown.group(1)) == pytest.approx(expected, abs=0.006)
    assert np.isfinite(expected)
    # the README's next step: a report from the same run directory
    report = vqabench("report", out, "--out", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    md = (tmp_path / "report" / "report.md").read_text()
    assert f"{expected:.2f}" in md  # the same BD-rate, in the report's table
    html_text = (tmp_path / "report" / "report.html").read_text()
    # the averaged RD curve, linked (not embedded: issue 30 item 4)
    assert 'src="rd_average_psnr_y.png"' in html_text and "data:image" not in html_text
    assert (tmp_path / "report" / "rd_average_psnr_y.png").is_file()
    again = vqabench(
        "run",
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "1",
        "--codec",
        "x264:qp=22,27,32,37",
        "--codec",
        "x265:qp=22,27,32,37",
        "--metrics",
        "psnr_y",
    )
    assert "8 jobs: 0 run, 8 reused" in again.stdout


@pytest.mark.slow
def test_a_run_stores_typed_options_in_config_toml(folder, tmp_path):
    """``downsample=no`` reaches config.toml (and SSIM) as false, not as the text "no"."""
    out = tmp_path / "run"
    proc = vqabench(
        "run",
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "1",
        "--codec",
        "x264:qp=30:gop=-1",
        "--metrics",
        "ssim:downsample=no",
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "config.toml").read_text()
    assert 'metrics = [{name = "ssim", downsample = false}]' in text
    assert "\ngop = -1\n" in text


@pytest.mark.slow
def test_failed_jobs_give_exit_code_1(folder, tmp_path):
    config = tmp_path / "bad.toml"  # valid to vqabench, refused by x264 at encode time
    config.write_text(
        'metrics = ["psnr_y"]\n[[codecs]]\nname = "x264"\nqp = [30]\n'
        'extra = ["-profile:v", "bogus"]\n',
        encoding="utf-8",
    )
    proc = vqabench("run", config, "--dataset", folder, "--out", tmp_path / "run", "--jobs", "1")
    assert proc.returncode == 1
    assert "run incomplete: 1 job(s) failed" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_doctor_lists_components():
    proc = vqabench("doctor")
    assert proc.returncode == 0, proc.stdout
    for word in ("libx264", "libvvenc", "libvmaf", "torch"):
        assert word in proc.stdout
    from vqabench.codecs.versions import encoder_version  # the library versions are shown

    assert f"libx265     {encoder_version('libx265')}" in proc.stdout
    assert f"libx264     {encoder_version('libx264')}" in proc.stdout

    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert "ok vmaf model vmaf_v0.6.1neg (at 256x144)" in out
    assert (
        "LIMITED vmaf model vmaf_v1.0.16_3d0h: runs at 256x160, not at 256x144 (the "
        "default mini size): libvmaf ERROR SpEED: image too small"
    ) in out


@pytest.mark.slow
def test_doctor_fails_without_encoders(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'ffmpeg version fake'\n")
    fake.chmod(0o755)
    proc = vqabench("doctor", env_extra={"VQABENCH_FFMPEG": str(fake)})
    assert proc.returncode == 1
    assert "MISSING x264" in proc.stdout


@pytest.mark.slow
def test_console_and_report_show_the_same_first_anchor(folder, tmp_path):
    """Issue 18 item 7: a run measured against R first is not all "n/a" in the console,
    is captioned with R, and the report's first table is the same anchor with the same
    numbers; codecs keep the run's order (vp9 before x265), metrics their display names."""
    out = tmp_path / "run"
    proc = vqabench(
        "run",
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "2",
        "--reference",
        "x264:qp=30,42",
        "--anchors",
        "reference,source",
        "--codec",
        "x264:qp=22,27,32,37",
        "--codec",
        "vp9:qp=20,30,40,50",
        "--codec",
        "x265:qp=22,27,32,37",
        "--metrics",
        "psnr_y",
    )
    assert proc.returncode == 0, proc.stderr
    assert "quality against the reference R" in proc.stdout
    cells = {
        (m.group(1), m.group(2)): m.group(3)
        for m in re.finditer(r"│\s*(qp=30|qp=42|Overall)\s*│\s*(vp9|x265)\s*│\s*(\S+)", proc.stdout)
    }
    assert len(cells) == 6 and all(v != "n/a" for v in cells.values()), proc.stdout
    order = [m.group(1) for m in re.finditer(r"│\s*Overall\s*│\s*(vp9|x265)", proc.stdout)]
    assert order == ["vp9", "x265"]
    assert "PSNR-Y" in proc.stdout and "psnr_y" not in proc.stdout
    report = vqabench("report", out, "--no-figures")
    assert report.returncode == 0, report.stderr
    md = (out / "report" / "report.md").read_text()
    first = md.split("## BD-rate (%)", 1)[1].split("\n## ", 1)[0]
    first = re.sub(r"<sup>[a-z,]+</sup>", "", first)  # marks of notes (the console's [a])
    assert "quality measured against reference" in first.splitlines()[0]
    for (group, codec), value in cells.items():
        assert f"| {group} | {codec} | {value} |" in first


@pytest.mark.slow
def test_a_run_directory_is_extended_or_refused(folder, tmp_path):
    """Issue 18 item 5: adding a codec extends the run and says so; changing one is refused
    in one line unless --force (re-running config.toml: tests/runner/test_run.py)."""
    out = tmp_path / "run"
    base = [
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "1",
        "--metrics",
        "psnr_y",
        "--codec",
        "x264:qp=22,37",
    ]
    assert vqabench("run", *base).returncode == 0
    more = vqabench("run", *base, "--codec", "vp9:qp=30,50")
    assert more.returncode == 0, more.stderr
    assert "run directory extended: adds codec vp9" in more.stdout
    assert "4 jobs: 2 run, 2 reused" in more.stdout
    changed = vqabench(
        "run",
        "--dataset",
        folder,
        "--out",
        out,
        "--jobs",
        "1",
        "--metrics",
        "psnr_y",
        "--codec",
        "x264:qp=27,37",
    )
    _one_line_error(
        changed,
        "holds a run of a different config",
        "changes codec x264",
        "drops codec vp9",
        "--force",
    )
    assert not (out / ".lock").exists() and not (out / ".tmp").exists()


@pytest.mark.slow
def test_rerunning_a_finished_run_is_cheap_and_prints_the_same_summary(folder, tmp_path):
    """Every job reused: the BD-rate summary comes from bd_summary.json (results.csv
    unchanged), so neither pandas nor scipy is imported; the table is the same."""
    args = [
        "run",
        "--dataset",
        folder,
        "--out",
        tmp_path / "run",
        "--metrics",
        "psnr_y",
        "--codec",
        "x264:qp=22,32",
        "--codec",
        "vp9:qp=30,50",
        "--jobs",
        "1",
    ]
    first = vqabench(*args)
    assert first.returncode == 0, first.stderr
    probe = (
        "import sys, runpy; sys.argv = ['vqabench', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('vqabench', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('IMPORTED', sorted(m for m in ('pandas', 'scipy') if m in sys.modules))"
    )
    again = subprocess.run(
        [sys.executable, "-c", probe, *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert "IMPORTED []" in again.stdout, again.stdout + again.stderr
    table = first.stdout[first.stdout.index("BD-rate") :]
    assert table in again.stdout


@pytest.mark.slow
def test_console_summary_marks_noted_cells_with_short_notes(tmp_path, capsys):
    """Issue 30 item 2: the summary after a run marks the cell, prints one short aggregated
    note under the table, and the per-sequence list only with --verbose. x265's A curve is
    2 dB above x264's (39..30 dB): quality overlap [32, 39] of the union [30, 41] = 64 %."""
    from vqabench.cli.run import print_bd_summary

    run = synthetic_run(tmp_path / "run")
    results = pd.read_csv(run / "results.csv")
    shifted = (results["sequence"] == "A") & (results["codec"] == "x265")
    results.loc[shifted, "value"] += 2.0
    results.to_csv(run / "results.csv", index=False)
    print_bd_summary(run, "x264")
    out = capsys.readouterr().out
    assert re.search(r"│ x265\s*│\s*[+-]\d+\.\d\d \[a\] │", out), out
    note = "[a] small quality overlap on 1 of 2 sequences: 64 % of the union (below 75 %)"
    assert note in out and "narrow interval" not in out
    assert "*" not in out
    print_bd_summary(run, "x264", verbose=True)  # from bd_summary.json
    verbose = capsys.readouterr().out
    detail = (
        "[a] Overall, x265, PSNR-Y, A: small quality overlap (64% of the union); the "
        "value rests on a narrow interval"
    )
    assert detail not in out and verbose.count(detail) == 1
    assert verbose.index(note) < verbose.index(detail) < verbose.index("full report")
