"""Crash safety and fault isolation: ``kill -9`` then the same command, stale temporaries,
one run per directory, a corrupt input among good ones, NaN metric values, --retry-failed."""

from __future__ import annotations

import csv
import math
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import (
    fill,
    kill_when,
    make_video,
    read_only,
    run_cli,
    small_filesystem,
    store_rows,
)
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.metrics.base import METRICS, Metric, MetricResult
from vqabench.runner.run import run
from vqabench.runner.rundir import exclusive

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)

CODECS = ("x264:qp=22,27,32,37", "vp9:qp=30,40,50,60")


def _command(data: Path, out: Path, jobs: int = 2) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "vqabench",
        "run",
        "--dataset",
        str(data),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--metrics",
        "psnr_y",
    ]
    for codec in CODECS:
        args += ["--codec", codec]
    return args


def _table(path: Path, drop: tuple[str, ...] = ("enc_s", "dec_s")) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def _encodes(store: Path) -> int:
    return store_rows(store, "encodes")


def _kill_after(cmd: list[str], store: Path, rows: int, timeout_s: float = 120) -> int:
    """Start ``cmd``; SIGKILL its main process once the store holds at least ``rows``
    encodes (-1: as soon as the store file exists). Returns the number of encodes the store
    held after the kill."""
    kill_when(cmd, lambda: store.is_file() and _encodes(store) >= rows, timeout_s)
    return _encodes(store)


def _temporaries(out: Path) -> list[Path]:
    found = [p for p in out.rglob("*") if p.name.startswith((".tmp-", "vqabench-"))]
    return found + ([out / ".tmp"] if (out / ".tmp").exists() else [])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("killdata")
    for i, name in enumerate(("Alpha", "Beta", "Gamma")):
        make_video(root / f"{name}.y4m", frames=6, seed=10 + i)
    return root


@pytest.mark.slow
def test_kill_9_at_any_point_then_resume_equals_an_uninterrupted_run(data, tmp_path):
    clean = tmp_path / "clean"  # uninterrupted: the same configuration, run in this process
    cfg = load_config(
        None, dataset=str(data), codecs=list(CODECS), metrics="psnr_y", jobs=1, out=str(clean)
    )
    assert run(cfg).complete
    expected = _table(clean / "results.csv")
    assert len(expected) == 3 * 8

    out = tmp_path / "killed"
    store = out / "store.sqlite"
    seen = [_kill_after(_command(data, out), store, rows) for rows in (-1, 10)]
    assert seen[0] <= seen[1] and 10 <= seen[1] < 24  # progress is kept, never complete
    resumed = subprocess.run(_command(data, out), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"24 jobs: {24 - seen[-1]} run, {seen[-1]} reused" in resumed.stdout.replace("\n", " ")
    assert _table(out / "results.csv") == expected
    assert _table(out / "per_frame.csv") == _table(clean / "per_frame.csv")
    with sqlite3.connect(store) as db:  # one row per job and measurement, nothing half-done
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM encodes").fetchone() == (
            24,
            24,
        )
        assert db.execute("SELECT COUNT(*) FROM measurements").fetchone() == (24,)
        assert db.execute("SELECT COUNT(*) FROM failures").fetchone() == (0,)
    assert _temporaries(out) == []
    # bitstreams are byte-identical to those of the uninterrupted run
    for row in expected:
        assert (out / row["bitstream"]).read_bytes() == (clean / row["bitstream"]).read_bytes()


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    cfg = load_config(
        None, dataset=str(data), codecs=["x264:qp=22,37"], metrics="psnr_y", jobs=1, out=str(out)
    )
    assert run(cfg).complete
    return cfg, out


@pytest.mark.slow
def test_stale_temporaries_are_removed_and_nothing_else(finished):
    cfg, out = finished
    planted = [
        out / "bitstreams" / "Alpha" / "x264" / ".tmp-abc123.264",
        out / "references" / "Alpha" / ".tmp-r.y4m",
        out / "sources" / ".tmp-s.y4m",
        out / ".tmp-results.csv",
        out / ".tmp-config.toml",
        out / ".tmp" / "vqabench-dec-xyz.y4m",
        out / ".tmp" / "vqabench-vmaf-q" / "log",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    keep = [out / "notes.txt", out / "analysis" / ".tmp-mine.txt"]
    for path in keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user file")
    before = (out / "results.csv").read_bytes()
    summary = run(cfg)
    assert summary.jobs_run == 0 and summary.complete
    assert [p for p in planted if p.exists()] == []
    assert not (out / ".tmp").exists()
    assert all(p.read_text() == "user file" for p in keep)
    assert (out / "results.csv").read_bytes() == before


def test_a_second_run_in_the_same_directory_is_refused(finished):
    cfg, out = finished
    with exclusive(out):
        with pytest.raises(
            ConfigError,
            match=rf"in use by another vqabench run \(pid "
            rf"{os.getpid()}\)",
        ):
            run(cfg)
    assert run(cfg).jobs_run == 0  # released again


@pytest.mark.slow
def test_metric_scratch_files_go_to_the_run_directory(data, tmp_path, monkeypatch):
    seen: list[str] = []
    monkeypatch.setitem(_PROBE, "seen", seen)
    cfg = load_config(
        None,
        dataset=str(data),
        codecs=["x264:qp=30"],
        metrics="psnr_y,tests_tmpdir_probe",
        jobs=1,
        out=str(tmp_path / "run"),
    )
    assert run(cfg).complete
    assert seen == [str(tmp_path / "run" / ".tmp")] * 3
    assert tempfile.gettempdir() != seen[0]  # restored after each job


@pytest.mark.slow
def test_vmaf_works_in_a_run_directory_whose_path_ffmpeg_filters_would_misread(data, tmp_path):
    """libvmaf's log path goes into a filter graph: such a run keeps the system temp."""
    out = tmp_path / "it's a:run, [x]"
    cfg = load_config(
        None, dataset=str(data), codecs=["x264:qp=30"], metrics="vmaf", jobs=1, out=str(out)
    )
    summary = run(cfg)
    assert summary.complete and summary.rows == 3
    plain = tmp_path / "plain"  # the same run where no path needs escaping
    assert run(
        load_config(
            None, dataset=str(data), codecs=["x264:qp=30"], metrics="vmaf", jobs=1, out=str(plain)
        )
    ).complete
    values = {r["sequence"]: float(r["value"]) for r in _rows(out)}
    assert values == {r["sequence"]: float(r["value"]) for r in _rows(plain)}
    assert len(values) == 3 and len(set(values.values())) == 3


# --- fault isolation --------------------------------------------------------------------

_PROBE: dict[str, object] = {"nan": True, "seen": []}


@METRICS.register("tests_flaky_nan")
class _FlakyNan(Metric):
    """NaN (overall and per frame) while ``_PROBE['nan']``, else 1.0."""

    name = "tests_flaky_nan"

    def compute(self, reference, distorted):
        value = math.nan if _PROBE["nan"] else 1.0
        return MetricResult(value, (value,) * distorted.frames)


@METRICS.register("tests_tmpdir_probe")
class _TmpdirProbe(Metric):
    """Records the default temporary directory while it runs."""

    name = "tests_tmpdir_probe"

    def compute(self, reference, distorted):
        _PROBE["seen"].append(tempfile.gettempdir())  # type: ignore[union-attr]
        return MetricResult(0.5, (0.5,) * distorted.frames)


def _rows(out: Path) -> list[dict[str, str]]:
    return _table(out / "results.csv", drop=())


@pytest.mark.slow
def test_nan_is_a_failure_and_retry_failed_after_the_fix_measures_only_it(
    data, tmp_path, monkeypatch
):
    monkeypatch.setitem(_PROBE, "nan", True)
    out = tmp_path / "run"
    cfg = load_config(
        None,
        dataset=str(data),
        codecs=["x264:qp=22,37"],
        metrics="psnr_y,tests_flaky_nan",
        jobs=1,
        out=str(out),
    )
    first = run(cfg)
    assert len(first.failures) == 6 and not first.complete
    assert all(
        "MetricError: tests_flaky_nan against source gave NaN" in f[3] for f in first.failures
    )
    rows = _rows(out)
    assert {r["metric"] for r in rows} == {"psnr_y"} and len(rows) == 6  # the rest is kept
    with sqlite3.connect(out / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM measurements WHERE value != value").fetchone() == (
            0,
        )  # no NaN stored
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "bitstreams").rglob("*.264")}
    assert run(cfg).jobs_run == 0  # reported again, not re-run, without --retry-failed
    _PROBE["nan"] = False  # the fix
    fixed = run(cfg, retry_failed=True)
    assert fixed.complete and fixed.jobs_run == 6
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # measured, not re-encoded
    after = _rows(out)
    assert [r for r in after if r["metric"] == "psnr_y"] == rows
    assert [float(r["value"]) for r in after if r["metric"] == "tests_flaky_nan"] == [1.0] * 6


@pytest.mark.slow
def test_a_corrupt_input_among_good_ones_fails_alone_until_fixed(data, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("Alpha", "Beta"):
        (folder / f"{name}.y4m").write_bytes((data / f"{name}.y4m").read_bytes())
    good = (data / "Gamma.y4m").read_bytes()
    corrupt = bytearray(good)
    fourth = [i for i in range(len(good)) if good.startswith(b"FRAME\n", i)][3]
    corrupt[fourth : fourth + 5] = b"XXXXX"  # header and size valid; frame 4 is not a frame
    (folder / "Gamma.y4m").write_bytes(bytes(corrupt))
    out = tmp_path / "run"
    cfg = load_config(
        None, dataset=str(folder), codecs=["x264:qp=22,37"], metrics="psnr_y", jobs=1, out=str(out)
    )
    summary = run(cfg)
    assert sorted((f[0], f[2]) for f in summary.failures) == [
        ("Gamma", "qp=22"),
        ("Gamma", "qp=37"),
    ]
    assert all("decoded 64x64 with 3 frames" in f[3] for f in summary.failures)
    assert sorted({r["sequence"] for r in _rows(out)}) == ["Alpha", "Beta"]
    # fixing the file changes its content hash: its jobs are new and run without a flag
    (folder / "Gamma.y4m").write_bytes(good)
    fixed = run(cfg)
    assert fixed.complete and fixed.jobs_run == 2 and fixed.jobs_reused == 4
    assert sorted({r["sequence"] for r in _rows(out)}) == ["Alpha", "Beta", "Gamma"]


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_a_failure_not_the_end_of_the_run(data, tmp_path, monkeypatch):
    from vqabench.io.ffmpeg import ffmpeg_path
    from vqabench.runner.executors import WORKER_DIED

    real = ffmpeg_path()
    wrapper = tmp_path / "ffmpeg"  # kills the worker process that encodes Gamma, as OOM would
    wrapper.write_text(
        f'#!/bin/sh\ncase "$*" in *Gamma.y4m*libx264*) kill -9 $PPID; '
        f'exit 1;; esac\nexec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("VQABENCH_FFMPEG", str(wrapper))
    out = tmp_path / "run"
    cfg = load_config(
        None, dataset=str(data), codecs=["x264:qp=30,40"], metrics="psnr_y", jobs=2, out=str(out)
    )
    summary = run(cfg)  # returns: the pool broke, the run did not
    failed = {(f[0], f[2]) for f in summary.failures}
    assert {("Gamma", "qp=30"), ("Gamma", "qp=40")} <= failed
    assert all(f[3] == WORKER_DIED for f in summary.failures)
    done = {(r["sequence"], r["rate_point"]) for r in _rows(out)}
    assert (
        done | failed == {(s, q) for s in ("Alpha", "Beta", "Gamma") for q in ("qp=30", "qp=40")}
        and not done & failed
    )
    assert summary.retry == len(summary.failures)  # a killed worker is transient
    monkeypatch.delenv("VQABENCH_FFMPEG")  # the fix; same ffmpeg version, same keys
    fixed = run(cfg)  # a plain run retries transient failures: no --retry-failed needed
    assert fixed.complete and fixed.jobs_run == len(failed) and len(_rows(out)) == 6


# --- faults of the machine: full disk, Ctrl-C, read-only folder, lost or corrupt store ----


def _cli(capsys: pytest.CaptureFixture, *args: object) -> tuple[int, list[str]]:
    """``vqabench ARGS`` in this process: (exit code, non-empty stderr lines); stdout is
    kept in ``_cli.out``."""
    capsys.readouterr()
    code = run_cli([str(a) for a in args])
    captured = capsys.readouterr()
    _cli.out = captured.out  # type: ignore[attr-defined]
    return code, [
        line
        for line in captured.err.splitlines()
        if line.strip() and not line.startswith("vqabench run -> ")
    ]  # the bar


def _one_line(lines: list[str], pattern: str) -> re.Match:
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0] and "internal error" not in lines[0], lines[0]
    match = re.fullmatch(pattern, lines[0])
    assert match, lines[0]
    return match


@pytest.mark.slow
def test_a_full_disk_stops_the_run_with_one_line_and_the_same_command_resumes(capsys, tmp_path):
    data = tmp_path / "data"  # 128x128: a decoded video (147 KiB) no longer fits
    for i, name in enumerate(("Alpha", "Beta")):
        make_video(data / f"{name}.y4m", width=128, height=128, frames=6, seed=30 + i)
    with small_filesystem(tmp_path / "disk", 512) as disk:
        out = disk / "run"
        args = [
            "run",
            "--dataset",
            data,
            "--out",
            out,
            "--jobs",
            "1",
            "--metrics",
            "psnr_y",
            "--codec",
            "x264:qp=30",
        ]
        assert _cli(capsys, *args)[0] == 0
        filler = fill(disk, 100 << 10)
        args += ["--codec", "x264:qp=40:label=b"]  # extends the run: 2 more jobs
        code, lines = _cli(capsys, *args)
        assert code == 4
        match = _one_line(
            lines,
            (
                rf"vqabench: error: disk full: no space left on device writing "
                rf"{re.escape(str(out / '.tmp'))}/vqabench-dec-\w+\.y4m "
                rf"\(([\d.]+) KiB free there\); "
                rf"2 of 4 jobs finished and kept in {re.escape(str(out / 'store.sqlite'))}; "
                r"free some "
                r"space \(or choose another --out\) and run the same command to resume: the jobs "
                r"that hit the full disk are retried"
            ),
        )
        assert 0 < float(match[1]) * 1024 < 147456  # less than the decoded video needs
        assert not (out / ".tmp").exists()
        with sqlite3.connect(out / "store.sqlite") as db:  # the job that hit it: transient
            kinds = db.execute("SELECT kind, error FROM failures").fetchall()
        db.close()
        assert len(kinds) == 1 and kinds[0][0] == "transient"
        assert "No space left on device" in kinds[0][1]
        code, lines = _cli(capsys, "status", out)
        assert (
            code == 1
            and (
                f"{out}: 4 jobs: 2 done, 2 pending (1 to retry after a transient failure), 0 failed"
            )
            in _cli.out
        )
        assert len(lines) == 1 and lines[0].startswith("to retry: ") and "DiskFullError" in lines[0]
        filler.unlink()  # space freed: the same command, no --retry-failed
        code, lines = _cli(capsys, *args)
        assert code == 0, lines
        assert store_rows(out / "store.sqlite", "failures") == 0
        assert sorted((r["sequence"], r["codec"]) for r in _rows(out)) == [
            ("Alpha", "b"),
            ("Alpha", "x264"),
            ("Beta", "b"),
            ("Beta", "x264"),
        ]


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_how_to_resume_and_leaves_no_temporaries(data, tmp_path):
    import signal

    # ten rate points of three clips: enough jobs that the run is still going when the
    # interrupt arrives
    QPS = range(20, 40, 2)
    jobs = 3 * len(QPS)

    out = tmp_path / "run"
    store = out / "store.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "vqabench",
        "run",
        "--dataset",
        str(data),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--metrics",
        "psnr_y",
        "--codec",
        "x264:qp=" + ",".join(map(str, QPS)),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group, as in a terminal
        # SIGINT as a terminal leaves it: a pytest started in the background by a
        # non-interactive shell inherits SIGINT ignored, and so would the run
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        while proc.poll() is None and not (store.is_file() and _encodes(store) >= 2):
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group gets SIGINT
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    kept = _encodes(store)
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith("vqabench run -> ")
    ]
    match = _one_line(
        lines,
        (
            rf"vqabench: interrupted: (\d+) of {jobs} jobs finished and kept in "
            rf"{re.escape(str(store))}; resume with: (vqabench run .*)"
        ),
    )
    assert kept - 1 <= int(match[1]) <= kept < jobs  # the last one may be stored, not counted
    assert _temporaries(out) == []
    resume = shlex.split(match[2])
    assert resume[1:] == cmd[3:]  # the exact command
    done = subprocess.run(
        [sys.executable, "-m", *resume], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"{jobs} jobs: {jobs - kept} run, {kept} reused" in " ".join(done.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("state", ["empty", "missing"])
def test_a_lost_store_next_to_results_warns_before_recomputing(finished, tmp_path, state):
    cfg, out = finished
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    if state == "empty":
        (copy / "store.sqlite").write_bytes(b"")
    else:
        (copy / "store.sqlite").unlink()
    rows = len(_rows(copy))
    bitstreams = [p for p in (copy / "bitstreams").rglob("*.264")]
    assert rows == 6 and len(bitstreams) == 6
    with pytest.warns(
        UserWarning,
        match=re.escape(
            f"{copy / 'store.sqlite'} is {state} but results.csv (6 rows) and 6 bitstreams are "
            "intact: every job is encoded and measured again"
        ),
    ):
        summary = run(cfg, out_dir=copy)
    assert summary.jobs_run == 6 and summary.complete


@pytest.mark.slow
def test_a_corrupt_store_is_one_line_with_what_is_intact_and_how_to_rebuild(
    capsys, finished, data, tmp_path
):
    _, out = finished
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    store = copy / "store.sqlite"
    store.write_bytes(b"this is no longer an SQLite file\n" * 100)
    args = [
        "run",
        "--dataset",
        data,
        "--codec",
        "x264:qp=22,37",
        "--metrics",
        "psnr_y",
        "--jobs",
        "1",
        "--out",
        copy,
    ]
    for command in (args, ["status", copy]):
        code, lines = _cli(capsys, *command)
        assert code == 4
        _one_line(
            lines,
            re.escape(
                f"vqabench: error: store {store} is corrupt: file is not a database; results.csv "
                f"(6 rows) and 6 bitstreams are intact; to rebuild, move the store aside "
                f"(mv {store} "
                f"{store}.corrupt) and run the same command: every job is encoded and measured "
                "again"
            ),
        )
    os.replace(store, f"{store}.corrupt")  # the advice, followed
    code, lines = _cli(capsys, *args)
    assert code == 0 and len(lines) == 1 and "store.sqlite is missing but" in lines[0]
    assert _table(copy / "results.csv") == _table(out / "results.csv")


@pytest.mark.slow
def test_a_read_only_run_directory_is_one_line(capsys, finished, data):
    _, out = finished
    with read_only(out):
        code, lines = _cli(
            capsys,
            "run",
            "--dataset",
            data,
            "--codec",
            "x264:qp=22,37",
            "--metrics",
            "psnr_y",
            "--jobs",
            "1",
            "--out",
            out,
        )
    assert code == 4
    _one_line(
        lines,
        re.escape(
            f"vqabench: error: cannot write {out / '.lock'}: read-only file system; {out} must be "
            f"writable for a run: choose another --out; `vqabench status {out}` reads a finished "
            "run without writing"
        ),
    )


@pytest.mark.slow
def test_a_disk_full_before_any_job_is_one_line(capsys, finished, data, tmp_path):
    _, out = finished
    with small_filesystem(tmp_path / "disk", 512) as disk:
        copy = disk / "run"
        shutil.copytree(out, copy)
        fill(disk, 0)
        code, lines = _cli(
            capsys,
            "run",
            "--dataset",
            data,
            "--codec",
            "x264:qp=22,37",
            "--metrics",
            "psnr_y",
            "--jobs",
            "1",
            "--out",
            copy,
        )
        assert code == 4
        _one_line(
            lines,
            (
                rf"vqabench: error: disk full: no space left on device writing "
                rf"{re.escape(str(copy))}\S* \(0 B free there\); nothing was run yet; free some "
                r"space \(or choose another --out\) and run the same command"
            ),
        )
        (disk / "filler").unlink()
        assert (
            _cli(
                capsys,
                "run",
                "--dataset",
                data,
                "--codec",
                "x264:qp=22,37",
                "--metrics",
                "psnr_y",
                "--jobs",
                "1",
                "--out",
                copy,
            )[0]
            == 0
        )
        assert _table(copy / "results.csv") == _table(out / "results.csv")
