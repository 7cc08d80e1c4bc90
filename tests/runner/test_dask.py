"""The Dask executor: the same jobs on a real LocalCluster give the local executor's results."""

from __future__ import annotations

import csv
import sys

import pytest

from tests.conftest import make_video
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.runner.executors import make_executor
from vqabench.runner.run import run


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask_data")
    make_video(root / "Alpha.y4m", frames=6, seed=31)
    make_video(root / "Beta.y4m", frames=6, seed=32)
    return root


def _rows(path):
    with open(path, newline="") as f:
        return [
            {k: v for k, v in r.items() if k not in ("enc_s", "dec_s")} for r in csv.DictReader(f)
        ]


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_executors_results(folder, tmp_path):
    pytest.importorskip("distributed")
    args = dict(
        dataset=str(folder), codecs=["x264:qp=22,37", "vp9:qp=30,50"], metrics="psnr_y", jobs=2
    )
    local = run(load_config(None, **args, out=str(tmp_path / "local")))
    calls = []
    with make_executor("dask") as execute:

        def counting(jobs, on_done, n_workers):
            calls.append(len(jobs))
            execute(jobs, on_done, n_workers)

        summary = run(load_config(None, **args, out=str(tmp_path / "dask")), executor=counting)
        client = execute._client
        assert sorted(client.nthreads().values()) == [1, 1]  # --jobs workers, 1 thread each
    assert execute._client is None  # closed with the context
    assert summary.complete and summary.jobs_run == local.jobs_run == 8
    assert calls == [0, 8]  # reference stage (none), codec stage: one cluster for both
    assert _rows(tmp_path / "dask" / "results.csv") == _rows(tmp_path / "local" / "results.csv")
    assert _rows(tmp_path / "dask" / "per_frame.csv") == _rows(tmp_path / "local" / "per_frame.csv")
    for row in _rows(tmp_path / "dask" / "results.csv"):  # the same bytes, not just sizes
        assert (tmp_path / "dask" / row["bitstream"]).read_bytes() == (
            tmp_path / "local" / row["bitstream"]
        ).read_bytes()


def test_missing_dask_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(
        ConfigError,
        match=r"needs the optional dependency dask\[distributed\]"
        r".*pip install -e \"\.\[dask\]\"",
    ):
        with make_executor("dask"):
            pass


@pytest.mark.parametrize(
    "kind, scheduler, match",
    [
        ("ray", None, r"--executor='ray' is not allowed: expected local \| dask"),
        ("local", "tcp://h:8786", r"--scheduler='tcp://h:8786' is not allowed.*--executor dask"),
    ],
)
def test_bad_executor_options(kind, scheduler, match):
    with pytest.raises(ConfigError, match=match):
        with make_executor(kind, scheduler):
            pass


def test_a_worker_with_another_codec_version_refuses_the_job(folder, tmp_path):
    from dataclasses import replace

    from vqabench.runner.executors import _run_on_dask_worker
    from vqabench.runner.run import load_sequences, plan_jobs

    cfg = load_config(
        None, dataset=str(folder), codecs=["x264:qp=30"], metrics="psnr_y", out=str(tmp_path)
    )
    job = plan_jobs(cfg, load_sequences(cfg, tmp_path), tmp_path)[0]
    other = job.codec_spec.replace('"version": "ffmpeg ', '"version": "ffmpeg 0.0-')
    assert other != job.codec_spec
    outcome = _run_on_dask_worker(replace(job, codec_spec=other))
    assert outcome.error.startswith("EnvironmentError: the Dask worker ")
    assert "install the same vqabench and imageio-ffmpeg" in outcome.error
    assert not job.bitstream.exists()  # refused before encoding
