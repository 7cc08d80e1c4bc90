"""What a run says when the machine stops it (vqabench/runner/faults.py); the end-to-end
cases (a real full disk, Ctrl-C, a read-only or corrupt run directory) are in test_crash.py."""

from __future__ import annotations

import errno
import sqlite3
import warnings

import pytest

from vqabench.errors import DiskFullError, Interrupted, ReadOnlyError, StoreCorruptError
from vqabench.io.store import Store
from vqabench.runner.faults import intact, run_faults, store_faults, warn_lost_store


def _run_dir(tmp_path, rows=3, bitstreams=2):
    out = tmp_path / "run"
    (out / "bitstreams" / "A" / "x264").mkdir(parents=True)
    (out / "results.csv").write_text("sequence,value\n" + "A,1\n" * rows)
    for i in range(bitstreams):
        (out / "bitstreams" / "A" / "x264" / f"qp{i}.264").write_bytes(b"\0\0\1")
    # sidecars and temporaries are not bitstreams
    (out / "bitstreams" / "A" / "x264" / "qp0.264.frames.json").write_text("[]")
    (out / "bitstreams" / "A" / "x264" / ".tmp-abc.264").write_bytes(b"")
    return out


def test_intact_counts_rows_and_bitstreams(tmp_path):
    assert intact(_run_dir(tmp_path)) == "results.csv (3 rows) and 2 bitstreams are intact"
    assert intact(tmp_path / "nothing") == "no results.csv or bitstreams are there"


def test_ctrl_c_in_a_run_says_how_many_jobs_were_kept(tmp_path):
    with pytest.raises(
        Interrupted,
        match=r"^5 of 12 jobs finished and kept in .*/run/"
        r"store\.sqlite$",
    ):
        with run_faults(tmp_path / "run", [5, 12]):
            raise KeyboardInterrupt


def test_a_full_disk_in_a_run_says_what_was_kept_and_how_to_resume(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(DiskFullError) as info:
        with run_faults(out, [2, 4]):
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "results.csv"))
    assert str(info.value).startswith(
        f"disk full: no space left on device writing {out / 'results.csv'} ("
    )
    assert str(info.value).endswith(
        f"free there); 2 of 4 jobs finished and kept in {out / 'store.sqlite'}; free some "
        "space (or choose another --out) and run the same command to resume: the jobs that "
        "hit the full disk are retried"
    )


def test_a_read_only_run_directory_points_at_status(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(
        ReadOnlyError,
        match=r"read-only file system; .* must be writable for a "
        r"run: choose another --out; `vqabench status ",
    ):
        with run_faults(out, [0, 0]):
            raise OSError(errno.EROFS, "Read-only file system", str(out / ".lock"))


def test_other_errors_pass_through(tmp_path):
    with pytest.raises(ValueError, match="not a fault"):
        with run_faults(tmp_path, [0, 0]):
            raise ValueError("not a fault")


def test_status_of_a_corrupt_store_says_what_is_intact(tmp_path):
    out = _run_dir(tmp_path)
    (out / "store.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(
        StoreCorruptError,
        match=r"is corrupt: file is not a database; "
        r"results\.csv \(3 rows\) and 2 bitstreams are "
        r"intact; to rebuild, move the store aside",
    ):
        with store_faults(out):
            Store(out / "store.sqlite", readonly=True)


@pytest.mark.parametrize(
    "state, word", [("missing", "missing"), ("empty", "empty"), ("no rows", "empty")]
)
def test_a_lost_store_warns_only_next_to_results(tmp_path, state, word):
    out = _run_dir(tmp_path)
    if state == "empty":
        (out / "store.sqlite").write_bytes(b"")
    elif state == "no rows":
        Store(out / "store.sqlite").close()
    with pytest.warns(
        UserWarning,
        match=rf"store\.sqlite is {word} but results\.csv \(3 rows\) "
        "and 2 bitstreams are intact: every job is encoded "
        "and measured again",
    ):
        warn_lost_store(out)


def test_no_warning_for_a_new_run_or_a_store_with_rows(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_lost_store(tmp_path / "new")  # nothing there
        out = _run_dir(tmp_path)
        with Store(out / "store.sqlite") as store:
            store.record_failure("k", "A", "x264", "qp=1", "boom")
        warn_lost_store(out)
        with sqlite3.connect(out / "store.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM failures").fetchone() == (1,)
        db.close()
