"""A synthetic run directory (results.csv, per_frame.csv, config.toml, store.sqlite).

x265 needs 0.8x (sequence A) and 0.7x (sequence B) the bits of x264 for the same quality, so
its per-sequence BD-rate is exactly -20 % and -30 % for every metric and method, and the mean
is -25 %. Sequence C has a non-monotonic x265 PSNR-Y curve (excluded, with its reason).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vqabench.io.store import EncodeRecord, Store

QPS = (22, 27, 32, 37)
METRICS = {
    "psnr_y": (30.0, 3.0),
    "psnr_u": (38.0, 2.0),
    "psnr_v": (39.0, 2.0),
    "lpips": (0.40, -0.08),
}
FACTORS = {"A": 0.8, "B": 0.7, "C": 0.9}


def make_run(path, *, bad_c=True):
    rows, frames = [], []
    for seq, factor in FACTORS.items():
        for codec, f, enc in (("x264", 1.0, 10.0), ("x265", factor, 40.0)):
            for i, qp in enumerate(QPS):
                kbps = 1000.0 * 2.0 ** (3 - i) * f
                for metric, (base, step) in METRICS.items():
                    value = base + step * (3 - i)
                    if bad_c and seq == "C" and codec == "x265" and metric == "psnr_y" and i == 1:
                        value = base + step * 3.5  # above the qp=22 point: not monotonic
                    rows.append(
                        [
                            seq,
                            "source",
                            codec,
                            f"qp={qp}",
                            kbps * 1000,
                            kbps / 1e4,
                            kbps,
                            enc,
                            1.0,
                            metric,
                            value,
                            "source",
                            f"bs/{seq}{codec}{qp}",
                            "High" if seq != "C" else "Low",
                        ]
                    )
                    for frame in range(3):
                        frames.append(
                            [
                                seq,
                                "source",
                                codec,
                                f"qp={qp}",
                                metric,
                                "source",
                                frame,
                                value + 0.1 * frame,
                            ]
                        )
    cols = [
        "sequence",
        "reference",
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
        "bitstream",
        "group",
    ]
    path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=cols).to_csv(path / "results.csv", index=False)
    pd.DataFrame(
        frames,
        columns=[
            "sequence",
            "reference",
            "codec",
            "rate_point",
            "metric",
            "anchor",
            "frame",
            "value",
        ],
    ).to_csv(path / "per_frame.csv", index=False)
    (path / "config.toml").write_text(
        '[dataset]\nname = "synthetic"\n\n[[codecs]]\nname = "x264"\nqp = [22, 27, 32, 37]\n'
        'version = "0.164"\n\n[[codecs]]\nname = "x265"\nqp = [22, 27, 32, 37]\n\n'
        '[run]\nanchor = "x264"\n',
        encoding="utf-8",
    )
    # the run's real store schema; the version inside codec_spec is what job keys hash
    spec = json.dumps({"name": "x265", "version": "3.5+1", "options": {}})
    with Store(path / "store.sqlite") as store:
        store.commit_job(
            EncodeRecord(
                "k1",
                "A",
                "source",
                "x265",
                "qp=22",
                "b/A.265",
                8000,
                0.1,
                0.01,
                8,
                64,
                64,
                "25/1",
                spec,
            ),
            [],
        )
    return path


@pytest.fixture(scope="session")
def run_maker():
    """The :func:`make_run` builder, for fixtures and tests that need several runs."""
    return make_run


@pytest.fixture
def run_dir(tmp_path):
    return make_run(tmp_path / "run1")
