"""The content-addressed store: atomic commits, read-only access, keys that change exactly
when an input, codec option or metric option changes, and planning without running."""

from __future__ import annotations

import csv
import re
import sqlite3
from dataclasses import replace

import pytest

from tests.conftest import fill, make_video, read_only, small_filesystem
from vqabench.errors import ConfigError, DiskFullError, StoreCorruptError
from vqabench.experiment import load_config
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.runner.run import load_sequences, plan_jobs, run, run_status


def _encode(key: str = "e1") -> EncodeRecord:
    return EncodeRecord(
        key,
        "Alpha",
        "source",
        "x264",
        "qp=22",
        "bitstreams/a.264",
        800,
        0.5,
        0.1,
        6,
        64,
        64,
        "25/1",
        "{}",
    )


def _measurement(key: str, value: float | None = 40.0) -> MeasurementRecord:
    return MeasurementRecord(key, "e1", "psnr_y", "source", value, (40.0, 41.0), "{}")


def test_a_job_is_committed_whole_or_not_at_all(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        with pytest.raises(sqlite3.IntegrityError):  # the 2nd measurement violates NOT NULL
            store.commit_job(_encode(), [_measurement("m1"), _measurement("m2", None)])
        assert store.counts() == {"encodes": 0, "measurements": 0, "failures": 0}
        store.commit_job(_encode(), [_measurement("m1")])
        assert store.measurement("m1").per_frame == (40.0, 41.0)
        assert store.encode("e1").bits == 800


def test_a_partial_failure_is_recorded_with_the_job_and_cleared_by_success(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        store.commit_job(
            _encode(), [_measurement("m1")], ("Alpha", "x264", "qp=22", "MetricError: x gave NaN")
        )
        assert store.failure("e1") == "MetricError: x gave NaN"
        assert store.counts() == {"encodes": 1, "measurements": 1, "failures": 1}
        store.commit_job(None, [MeasurementRecord("m2", "e1", "x", "source", 1.0, (), "{}")])
        assert store.failure("e1") is None


def test_codec_specs_lists_each_stored_configuration_once(tmp_path):
    spec = '{"name": "x264", "options": {}, "version": "ffmpeg 7.1"}'
    with Store(tmp_path / "store.sqlite") as store:
        store.commit_job(replace(_encode("e1"), codec_spec=spec), [])
        store.commit_job(replace(_encode("e2"), rate_point="qp=27", codec_spec=spec), [])
        store.commit_job(replace(_encode("e3"), codec="vp9", codec_spec="not json"), [])
        assert store.codec_specs() == [
            ("vp9", {}),
            ("x264", {"name": "x264", "options": {}, "version": "ffmpeg 7.1"}),
        ]


def test_read_only_store_sees_commits_and_never_writes(tmp_path):
    path = tmp_path / "store.sqlite"
    with pytest.raises(FileNotFoundError):
        Store(path, readonly=True)
    assert not path.exists()
    with Store(path) as writer:  # the run's connection stays open, as during a run
        writer.commit_job(_encode(), [_measurement("m1")])
        with Store(path, readonly=True) as reader:
            assert reader.encode("e1") == _encode()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                reader.record_failure("e2", "Beta", "vp9", "qp=30", "boom")
        assert writer.failure("e2") is None


# --- faults: failure kinds, old stores, corrupt and full stores --------------------------

# The failures table as vqabench created it before failures had a kind (commit dd765a1).
_OLD_FAILURES = """CREATE TABLE failures (
    key TEXT PRIMARY KEY, sequence TEXT NOT NULL, codec TEXT NOT NULL, rate_point TEXT NOT NULL,
    error TEXT NOT NULL, created REAL NOT NULL)"""
_OLD_ROWS = [
    (
        "k1",
        "FfmpegError: ffmpeg failed (exit code 228): [out#0/yuv4mpegpipe @ 0x5] Error "
        "closing file: No space left on device (at process.py:61)",
        "transient",
    ),
    (
        "k2",
        "WorkerDied: the worker process ended abruptly while this job was in flight "
        "(killed, out of memory, or a crash in native code); every job in flight then is "
        "recorded; re-run with --retry-failed",
        "transient",
    ),
    ("k3", "FfmpegError: ffmpeg failed (exit code 1): Error setting profile 7.", "permanent"),
    ("k4", "MetricError: psnr_y against source gave NaN; not stored", "permanent"),
]


def test_a_store_written_before_failure_kinds_is_read_and_migrated(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(_OLD_FAILURES)
        db.executemany(
            "INSERT INTO failures VALUES (?, 'A', 'x264', 'qp=22', ?, 0)",
            [(k, e) for k, e, _ in _OLD_ROWS],
        )
    db.close()
    expected = {k: kind for k, _, kind in _OLD_ROWS}
    with Store(path, readonly=True) as store:  # a reader infers kinds and changes nothing
        assert {k: store.failure_kind(k) for k in expected} == expected
        assert store.failure_kind("k9") is None
    with sqlite3.connect(path) as db:
        assert "kind" not in {r[1] for r in db.execute("PRAGMA table_info(failures)")}
    db.close()
    with Store(path) as store:  # a run migrates: the column, each row's kind
        assert {k: store.failure_kind(k) for k in expected} == expected
        store.record_failure("k5", "B", "vp9", "qp=30", "ValueError: x", kind="transient")
        assert store.failure_kind("k5") == "transient" and store.failure("k5") == "ValueError: x"
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT key, kind FROM failures")) == {**expected, "k5": "transient"}
    db.close()


@pytest.mark.parametrize("content", [b"not a database\n" * 10, b"SQLite format 3\0" + b"\1" * 84])
@pytest.mark.parametrize("readonly", [False, True])
def test_a_corrupt_store_is_one_typed_line_naming_it(tmp_path, content, readonly):
    path = tmp_path / "store.sqlite"
    path.write_bytes(content)
    with pytest.raises(
        StoreCorruptError,
        match=rf"^store {re.escape(str(path))} is corrupt: "
        "(file is not a database|database disk image "
        "is malformed)$",
    ):
        Store(path, readonly=readonly)
    assert path.read_bytes() == content  # left as it was, for the user to inspect


def test_a_full_disk_under_the_store_is_a_disk_full_error(tmp_path):
    with small_filesystem(tmp_path / "disk", 256) as disk:
        path = disk / "store.sqlite"
        with Store(path) as store:
            store.commit_job(_encode("e0"), [])
            fill(disk, 0)
            with pytest.raises(
                DiskFullError,
                match=rf"^disk full: no space left on device "
                rf"writing {re.escape(str(path))} \(0 B "
                r"free there\)$",
            ):
                for i in range(1, 200):  # a WAL page or two per commit: it fills soon
                    store.commit_job(replace(_encode(f"e{i}"), bitstream="x" * 2000), [])
            assert store.encode("e0") == _encode("e0")  # what was committed stays
        (disk / "filler").unlink()
        with Store(path, readonly=True) as store:
            assert store.encode("e0") == _encode("e0")


def test_a_store_in_a_read_only_folder_is_read_without_writing(tmp_path):
    path = tmp_path / "run" / "store.sqlite"
    with Store(path) as store:
        store.commit_job(_encode(), [_measurement("m1")])
    assert sorted(p.name for p in path.parent.iterdir()) == ["store.sqlite"]  # closed clean
    with read_only(path.parent):
        with Store(path, readonly=True) as store:
            assert store.encode("e1") == _encode() and store.counts()["measurements"] == 1
        assert sorted(p.name for p in path.parent.iterdir()) == ["store.sqlite"]


# --- content-addressed jobs --------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("store_data")
    make_video(root / "Alpha.y4m", frames=6, seed=21)
    make_video(root / "Beta.y4m", frames=6, seed=22)
    return root


def _cfg(folder, out, **kw):
    args = dict(
        dataset=str(folder),
        codecs=["x264:qp=22,37", "vp9:qp=30,50"],
        metrics="psnr_y,psnr_yuv",
        jobs=1,
        out=str(out),
    )
    args.update(kw)
    return load_config(None, **args)


def _keys(cfg, out):
    jobs = plan_jobs(cfg, load_sequences(cfg, out), out)
    return (
        {(j.codec, j.sequence, j.rate_label): j.key for j in jobs},
        {(j.codec, j.sequence, j.rate_label, t.name): t.key for j in jobs for t in j.metrics},
    )


def test_keys_change_only_where_a_codec_option_or_a_metric_option_changed(folder, tmp_path):
    enc, meas = _keys(_cfg(folder, tmp_path), tmp_path)
    enc2, meas2 = _keys(
        _cfg(folder, tmp_path, codecs=["x264:qp=22,37:preset=veryfast", "vp9:qp=30,50"]), tmp_path
    )
    assert {k for k in enc if enc[k] != enc2[k]} == {k for k in enc if k[0] == "x264"}
    assert {k for k in meas if meas[k] != meas2[k]} == {k for k in meas if k[0] == "x264"}
    enc3, meas3 = _keys(_cfg(folder, tmp_path, metrics="psnr_y,psnr_yuv:weights=14/1/1"), tmp_path)
    assert enc3 == enc
    assert {k for k in meas if meas[k] != meas3[k]} == {k for k in meas if k[3] == "psnr_yuv"}


def _rows(out):
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_metric_option_change_re_measures_without_re_encoding(folder, tmp_path):
    out = tmp_path / "run"
    first = run(_cfg(folder, out))
    assert first.jobs_run == 8
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "bitstreams").rglob("*") if p.is_file()}
    before = _rows(out)
    with pytest.raises(ConfigError, match="changes metric psnr_yuv options"):
        run(_cfg(folder, out, metrics="psnr_y,psnr_yuv:weights=14/1/1"))
    second = run(_cfg(folder, out, metrics="psnr_y,psnr_yuv:weights=14/1/1"), force=True)
    assert second.jobs_run == 8 and second.complete
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # no bitstream rewritten
    after = _rows(out)
    for old, new in zip(before, after, strict=True):
        assert (old["sequence"], old["codec"], old["rate_point"], old["metric"]) == (
            new["sequence"],
            new["codec"],
            new["rate_point"],
            new["metric"],
        )
        # encode facts come from the store: the same bits and the original encode time
        assert (old["bits"], old["enc_s"]) == (new["bits"], new["enc_s"])
        if old["metric"] == "psnr_yuv":  # 6:1:1 -> 14:1:1 weights give another value
            assert old["value"] != new["value"]
        else:
            assert old["value"] == new["value"]
    with Store(out / "store.sqlite", readonly=True) as store:
        assert store.counts() == {"encodes": 8, "measurements": 24, "failures": 0}
    assert run(_cfg(folder, out), force=True).jobs_run == 0  # the 6:1:1 values are still there


# --- planning without running -----------------------------------------------------------


@pytest.mark.slow
def test_status_counts_done_pending_failed_without_running(folder, tmp_path):
    out = tmp_path / "run"
    cfg = _cfg(folder, out, codecs=["x264:qp=22,37", "vp9:qp=30,50"], metrics="psnr_y")
    bad = replace(cfg.codecs[1], options=(("extra", ("-profile:v", "7")),))  # libvpx: 0..3
    cfg = replace(cfg, codecs=(cfg.codecs[0], bad))
    assert run_status(cfg, out_dir=out).pending == 8  # nothing yet, no store
    assert not (out / "store.sqlite").exists()
    run(cfg)
    (out / "bitstreams" / "Beta" / "x264" / "qp37.264").unlink()  # lost: must be redone

    def listing():  # SQLite's own -wal/-shm files aside
        return sorted(p.name for p in out.rglob("*") if "sqlite-" not in p.name)

    before, store_bytes = listing(), (out / "store.sqlite").read_bytes()
    status = run_status(cfg, out_dir=out)
    assert (status.done, status.pending, status.failed, status.total) == (3, 1, 4, 8)
    assert {f[1] for f in status.failures} == {"vp9"}
    assert listing() == before  # nothing written or run
    assert (out / "store.sqlite").read_bytes() == store_bytes


@pytest.mark.slow
def test_status_with_a_reference_stage_counts_jobs_on_missing_references(folder, tmp_path):
    out = tmp_path / "run"
    cfg = load_config(
        None,
        dataset=str(folder),
        codecs=["vp9:qp=30,50"],
        metrics="psnr_y",
        jobs=1,
        out=str(out),
        reference="x264:qp=30,42",
    )
    assert run(cfg).complete
    status = run_status(cfg, out_dir=out)
    assert (status.done, status.pending, status.total) == (12, 0, 12)  # 4 refs + 8 on R
    next((out / "references").rglob("*.y4m")).unlink()  # one R gone: its 2 jobs wait on it
    status = run_status(cfg, out_dir=out)
    assert (status.done, status.pending, status.failed) == (9, 3, 0)


# Metric specs as vqabench wrote them before the engine rewrite (issue 11; commit e889f54):
# the measurement keys of run directories made then.
_SPECS_BEFORE = {
    ("psnr_y", ()): '{"name": "psnr_y", "options": {"max_db": 100.0}, "version": "1"}',
    ("psnr_u", ()): '{"name": "psnr_u", "options": {"max_db": 100.0}, "version": "1"}',
    ("psnr_v", ()): '{"name": "psnr_v", "options": {"max_db": 100.0}, "version": "1"}',
    ("psnr_yuv", ()): '{"name": "psnr_yuv", "options": {"max_db": 100.0, "weights": '
    '[6.0, 1.0, 1.0]}, "version": "1"}',
    ("psnr_yuv", (("weights", "14:1:1"),)): '{"name": "psnr_yuv", "options": {"max_db": '
    '100.0, "weights": [14.0, 1.0, 1.0]}, '
    '"version": "1"}',
    ("ssim", ()): '{"name": "ssim", "options": {"downsample": false}, "version": "1"}',
    ("ssim", (("downsample", True),)): '{"name": "ssim", "options": {"downsample": true}, '
    '"version": "1"}',
    ("ms_ssim", ()): '{"name": "ms_ssim", "options": {"scales": 5}, "version": "1"}',
    ("ms_ssim", (("scales", 3),)): '{"name": "ms_ssim", "options": {"scales": 3}, "version": "1"}',
}


@pytest.mark.parametrize(("name", "options"), sorted(_SPECS_BEFORE))
def test_pixel_metrics_keep_their_keys_across_the_engine_rewrite(name, options):
    """Their numbers did not change (tests/expected/pixel_golden.json), so run directories
    made before reuse their measurements."""
    from vqabench import metrics

    assert metrics.create(name, **dict(options)).spec == _SPECS_BEFORE[(name, options)]


def test_vmaf_key_changed_to_the_model_content():
    """VMAF's key now holds its model's SHA-256: measurements stored under the path-keyed
    spec are recomputed once, never mixed with the new ones."""
    from vqabench import metrics

    spec = metrics.create("vmaf").spec
    assert (
        spec != '{"name": "vmaf", "options": {"model": "vmaf_v0.6.1", "pooling": "mean"}, '
        '"version": "1"}'
    )
    assert '"model_sha256": "' in spec


def test_pair_jobs_are_stored_and_counted_by_kind(tmp_path):
    from vqabench.io.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        assert store.pair_job("k1") is None and store.pair_counts() == {}
        store.commit_pair_job("k1", "reference", "a/x264_qp37", {"bits": 1200})
        store.commit_pair_job("k2", "unit", "a/x264_qp37/vp9_qp53", {"rows": [{"file": "f"}]})
        store.commit_pair_job("k2", "unit", "a/x264_qp37/vp9_qp53", {"rows": []})  # replaced
    with Store(tmp_path / "store.sqlite", readonly=True) as store:
        assert store.pair_job("k1") == {"bits": 1200}
        assert store.pair_job("k2") == {"rows": []}
        assert store.pair_counts() == {"reference": 1, "unit": 1}
        assert store.counts() == {"encodes": 0, "measurements": 0, "failures": 0}
