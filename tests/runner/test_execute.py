"""Execution: stages run what the store lacks through the executor; outcomes are recorded."""

from __future__ import annotations

import math

import pytest

from tests.conftest import make_video
from vqabench.experiment import load_config
from vqabench.io.store import Store
from vqabench.runner.execute import Stages, record_outcome
from vqabench.runner.jobs import JobOutcome
from vqabench.runner.plan import load_sequences, plan_jobs
from vqabench.runner.progress import RunProgress


@pytest.fixture
def job(tmp_path):
    make_video(tmp_path / "data" / "Alpha.y4m", frames=2)
    cfg = load_config(
        None, dataset=str(tmp_path / "data"), codecs=["x264:qp=30"], metrics="psnr_y,ssim"
    )
    return plan_jobs(cfg, load_sequences(cfg, tmp_path), tmp_path)[0]


@pytest.mark.slow
def test_a_nan_is_not_stored_and_fails_the_job_for_a_retry(job, tmp_path):
    psnr, ssim = job.metrics
    outcome = JobOutcome(
        job.key,
        bits=800,
        values=((psnr.key, 31.5, (31.0, 32.0)), (ssim.key, math.nan, (0.9, math.nan))),
    )
    with Store(tmp_path / "store.sqlite") as store:
        record_outcome(job, outcome, store)
        assert store.encode(job.key).bits == 800
        assert store.measurement(psnr.key).per_frame == (31.0, 32.0)
        assert store.measurement(ssim.key) is None
        assert store.failure(job.key).startswith("MetricError: ssim against source gave NaN")


@pytest.mark.slow
def test_a_stage_runs_only_what_the_store_lacks_and_counts_the_rest(job, tmp_path):
    """The first stage runs the job (longest first, with the stage's scratch folder) and
    records it; the same stage again gives the executor nothing and counts the job done."""
    given, counts = [], []
    psnr, ssim = job.metrics

    def execute(jobs, on_done, n_workers):
        given.append(([j.key for j in jobs], n_workers, {j.decode_dir for j in jobs}))
        for j in jobs:
            job.bitstream.parent.mkdir(parents=True, exist_ok=True)
            job.bitstream.write_bytes(b"\0" * 100)
            on_done(
                j,
                JobOutcome(
                    j.key, bits=800, values=((psnr.key, 30.0, (30.0,)), (ssim.key, 0.9, (0.9,)))
                ),
            )

    progress = RunProgress(lambda done, total: counts.append((done, total)))
    progress.total = 1
    with Store(tmp_path / "store.sqlite") as store:
        stages = Stages(store, execute, 3, tmp_path / ".tmp", False, progress)
        assert [j.key for j in stages.run([job])] == [job.key]
        assert stages.run([job]) == []
    assert given == [([job.key], 3, {(tmp_path / ".tmp").resolve()}), ([], 3, set())]
    assert counts == [(0, 1), (1, 1), (2, 1)]
