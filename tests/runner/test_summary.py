"""After a run: the BD-rate summary's imports overlap the last jobs; its table is cached."""

from __future__ import annotations

import json
import sys

from vqabench.runner import summary


def test_summary_imports_start_only_when_jobs_are_to_run(monkeypatch):
    """An executor given no jobs (every job reused) starts no background import, so the
    no-op stays cheap; with one job at a time on 2 cores a core is idle at once, so the
    first call with jobs starts exactly one thread, which imports the summary's modules
    (here a stdlib module nothing else imports, removed first), and the jobs still reach
    the executor."""
    monkeypatch.setattr(summary, "SUMMARY_MODULES", ("tabnanny",))
    monkeypatch.delitem(sys.modules, "tabnanny", raising=False)
    seen = []
    warmup = summary.SummaryWarmup(cores=2)
    execute = warmup.wrap(lambda jobs, on_done, n: seen.append((list(jobs), n)))
    execute([], None, 1)
    assert warmup.thread is None and "tabnanny" not in sys.modules
    execute(["j1", "j2"], None, 1)
    first = warmup.thread
    execute(["j3"], None, 1)
    assert first is not None and warmup.thread is first
    assert seen == [([], 1), (["j1", "j2"], 1), (["j3"], 1)]
    first.join(timeout=120)
    assert not first.is_alive() and "tabnanny" in sys.modules


def test_summary_imports_wait_for_an_idle_core(monkeypatch):
    """With as many jobs side by side as cores (--jobs 2 on 2 cores), the imports start only
    once the jobs left are fewer than the cores: of 3 jobs, after the second is done (one
    job left, one core idle), not before; every outcome still reaches run()'s on_done."""
    monkeypatch.setattr(summary, "SUMMARY_MODULES", ())
    warmup = summary.SummaryWarmup(cores=2)
    started_before, recorded = [], []

    def fake_pool(jobs, on_done, n):
        for job in jobs:
            started_before.append(warmup.thread is not None)
            on_done(job, f"outcome of {job}")

    warmup.wrap(fake_pool)(["j1", "j2", "j3"], lambda j, o: recorded.append((j, o)), 2)
    assert started_before == [False, False, True]
    assert recorded == [(j, f"outcome of {j}") for j in ("j1", "j2", "j3")]


def test_the_summary_of_one_codec_is_none_and_cached(tmp_path):
    """With one codec there is no BD-rate: None, kept in bd_summary.json under the key of
    results.csv, so that the next call reads the cache (no pandas import)."""
    (tmp_path / "results.csv").write_text("sequence,codec,metric,value\nA,x264,psnr_y,40\n")
    assert summary.bd_summary(tmp_path, "x264") is None
    cached = json.loads((tmp_path / "bd_summary.json").read_text())
    assert cached["table"] is None and len(cached["key"]) == 64
