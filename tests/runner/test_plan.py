"""Planning: jobs from a config, keyed by content, and what the store still lacks."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from tests.conftest import make_video
from vqabench import codecs
from vqabench.experiment import load_config
from vqabench.io.store import EncodeRecord, Store
from vqabench.runner.plan import load_sequences, pending_part, plan_jobs


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_video(root / "Alpha.y4m", frames=3, seed=1)
    make_video(root / "Beta.y4m", frames=3, seed=2)
    return root


@pytest.mark.slow
def test_one_job_per_point_keyed_by_the_source_content(folder, tmp_path):
    """Sequence-major order, one job per (sequence, codec, rate point); the encode key is
    sha256 over the source's bytes (hashlib here, not vqabench), the codec spec with its
    coded format and native rate, and the rate label: moving the folder keeps every key."""
    cfg = load_config(None, dataset=str(folder), codecs=["x264:qp=22,37"], metrics="psnr_y")
    jobs = plan_jobs(cfg, load_sequences(cfg, tmp_path), tmp_path)
    assert [(j.sequence, j.rate_label) for j in jobs] == [
        ("Alpha", "qp=22"),
        ("Alpha", "qp=37"),
        ("Beta", "qp=22"),
        ("Beta", "qp=37"),
    ]
    codec = codecs.create("x264")
    source = hashlib.sha256((folder / "Alpha.y4m").read_bytes()).hexdigest()
    spec = f"{codec.spec}|coded=yuv420p|native=qp=22"
    assert (
        jobs[0].key
        == hashlib.sha256("\x1f".join(["encode", source, spec, "qp=22"]).encode()).hexdigest()
    )
    moved = tmp_path / "moved"
    folder.rename(moved)
    try:
        cfg2 = replace(cfg, dataset=str(moved))
        again = plan_jobs(cfg2, load_sequences(cfg2, tmp_path), tmp_path)
    finally:
        moved.rename(folder)
    assert [j.key for j in again] == [j.key for j in jobs]


def test_pending_part_keeps_only_what_the_store_lacks(folder, tmp_path):
    """Nothing stored: the whole job. The encode stored with its bitstream on disk: only the
    missing measurements, reusing the bitstream. A bitstream whose size differs from the
    stored bits is encoded again."""
    cfg = load_config(None, dataset=str(folder), codecs=["x264:qp=22"], metrics="psnr_y,ssim")
    job = plan_jobs(cfg, load_sequences(cfg, tmp_path), tmp_path)[0]
    with Store(tmp_path / "store.sqlite") as store:
        assert pending_part(job, store, retry_failed=False) == job
        job.bitstream.parent.mkdir(parents=True)
        job.bitstream.write_bytes(b"\0" * 10)
        src = job.input
        store.commit_job(
            EncodeRecord(
                job.key,
                job.sequence,
                job.reference,
                job.codec,
                job.rate_label,
                job.bitstream_rel,
                80,
                0.1,
                0.1,
                src.frames,
                src.width,
                src.height,
                "25/1",
                job.codec_spec,
            ),
            [],
            None,
        )
        part = pending_part(job, store, retry_failed=False)
        assert part is not None and part.reuse_bitstream and part.metrics == job.metrics
        job.bitstream.write_bytes(b"\0" * 11)
        assert pending_part(job, store, retry_failed=False) == job
