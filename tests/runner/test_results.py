"""Result tables from the store: tidy rows, rates computed from the stored bits."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import make_video
from vqabench.experiment import load_config
from vqabench.io.store import EncodeRecord, MeasurementRecord, Store
from vqabench.runner.plan import load_sequences, plan_jobs
from vqabench.runner.results import PER_FRAME_COLUMNS, RESULT_COLUMNS, write_results


@pytest.mark.slow
def test_rows_carry_rates_from_the_stored_bits(tmp_path):
    """800 bits over 2 frames of 64x64 at 25 fps: bpp = 800 / (2 * 64 * 64) = 0.09765625,
    kbps = 800 * 25 / 2 / 1000 = 10.0 (DESIGN.md's definitions, by hand); a job without a
    stored encode gives no row; per_frame.csv has one row per frame."""
    make_video(tmp_path / "data" / "Alpha.y4m", frames=2)
    cfg = load_config(
        None, dataset=str(tmp_path / "data"), codecs=["x264:qp=30,40"], metrics="psnr_y"
    )
    done, missing = plan_jobs(cfg, load_sequences(cfg, tmp_path), tmp_path)
    task = done.metrics[0]
    with Store(tmp_path / "store.sqlite") as store:
        store.commit_job(
            EncodeRecord(
                done.key,
                "Alpha",
                "source",
                "x264",
                "qp=30",
                done.bitstream_rel,
                800,
                0.5,
                0.25,
                2,
                64,
                64,
                "25/1",
                done.codec_spec,
            ),
            [
                MeasurementRecord(
                    task.key, done.key, "psnr_y", "source", 40.5, (40.0, 41.0), task.spec
                )
            ],
        )
        assert write_results([done, missing], store, tmp_path) == 1
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert {
        k: rows[0][k]
        for k in (
            "sequence",
            "codec",
            "rate_point",
            "bits",
            "bpp",
            "kbps",
            "enc_s",
            "dec_s",
            "metric",
            "value",
            "anchor",
            "coded_pix_fmt",
            "target_kbps",
        )
    } == {
        "sequence": "Alpha",
        "codec": "x264",
        "rate_point": "qp=30",
        "bits": "800",
        "bpp": "0.09765625",
        "kbps": "10.0",
        "enc_s": "0.5",
        "dec_s": "0.25",
        "metric": "psnr_y",
        "value": "40.5",
        "anchor": "source",
        "coded_pix_fmt": "yuv420p",
        "target_kbps": "",
    }
    with open(tmp_path / "per_frame.csv", newline="") as f:
        frames = list(csv.DictReader(f))
    assert list(frames[0]) == list(PER_FRAME_COLUMNS)
    assert [(r["frame"], r["value"]) for r in frames] == [("0", "40.0"), ("1", "41.0")]
