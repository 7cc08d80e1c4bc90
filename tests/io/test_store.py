"""The content-addressed store: atomic commits, read-only access, keys that change exactly
when an input, codec option or metric option changes, and planning without running."""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import replace

import pytest

from tests.conftest import make_video
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.runner.run import load_sequences, plan_jobs, run, run_status


def _encode(key: str = "e1") -> EncodeRecord:
    return EncodeRecord(key, "Alpha", "source", "x264", "qp=22", "bitstreams/a.264", 800,
                        0.5, 0.1, 6, 64, 64, "25/1", "{}")


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
        store.commit_job(_encode(), [_measurement("m1")],
                         ("Alpha", "x264", "qp=22", "MetricError: x gave NaN"))
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
            ("vp9", {}), ("x264", {"name": "x264", "options": {}, "version": "ffmpeg 7.1"})]


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


# --- content-addressed jobs --------------------------------------------------------------

@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("store_data")
    make_video(root / "Alpha.y4m", frames=6, seed=21)
    make_video(root / "Beta.y4m", frames=6, seed=22)
    return root


def _cfg(folder, out, **kw):
    args = dict(dataset=str(folder), codecs=["x264:qp=22,37", "vp9:qp=30,50"],
                metrics="psnr_y,psnr_yuv", jobs=1, out=str(out))
    args.update(kw)
    return load_config(None, **args)


def _keys(cfg, out):
    jobs = plan_jobs(cfg, load_sequences(cfg, out), out)
    return ({(j.codec, j.sequence, j.rate_label): j.key for j in jobs},
            {(j.codec, j.sequence, j.rate_label, t.name): t.key for j in jobs for t in j.metrics})


def test_keys_change_only_where_a_codec_option_or_a_metric_option_changed(folder, tmp_path):
    enc, meas = _keys(_cfg(folder, tmp_path), tmp_path)
    enc2, meas2 = _keys(_cfg(folder, tmp_path, codecs=["x264:qp=22,37:preset=veryfast",
                                                       "vp9:qp=30,50"]), tmp_path)
    assert {k for k in enc if enc[k] != enc2[k]} == {k for k in enc if k[0] == "x264"}
    assert {k for k in meas if meas[k] != meas2[k]} == {k for k in meas if k[0] == "x264"}
    enc3, meas3 = _keys(_cfg(folder, tmp_path, metrics="psnr_y,psnr_yuv:weights=14/1/1"),
                        tmp_path)
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
            new["sequence"], new["codec"], new["rate_point"], new["metric"])
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
    cfg = load_config(None, dataset=str(folder), codecs=["vp9:qp=30,50"], metrics="psnr_y",
                      jobs=1, out=str(out), reference="x264:qp=30,42")
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
    ("ms_ssim", (("scales", 3),)): '{"name": "ms_ssim", "options": {"scales": 3}, '
                                   '"version": "1"}',
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
    assert spec != '{"name": "vmaf", "options": {"model": "vmaf_v0.6.1", "pooling": "mean"}, ' \
                   '"version": "1"}'
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
