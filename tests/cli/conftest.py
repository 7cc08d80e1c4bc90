"""Helpers shared by the CLI tests: a synthetic run directory and item values of a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RESULT_COLUMNS = [
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
]


def synthetic_run(path: Path) -> Path:
    """A run directory with a hand-made results.csv: sequences A and B, x264 and x265 at
    qp 22..37; x264 at 8000, 4000, 2000, 1000 kbps, x265 at 0.8x (A) and 0.6x (B) of that,
    PSNR-Y 39, 36, 33, 30 dB (quality = 30 + 3 * log2(kbps / 1000 / factor))."""
    rows = []
    for seq, factor in (("A", 0.8), ("B", 0.6)):
        for codec, f in (("x264", 1.0), ("x265", factor)):
            for i, qp in enumerate((22, 27, 32, 37)):
                kbps = 1000.0 * 2.0 ** (3 - i) * f
                rows.append(
                    [
                        seq,
                        "source",
                        codec,
                        f"qp={qp}",
                        kbps * 1e3,
                        kbps / 1e4,
                        kbps,
                        1.0,
                        1.0,
                        "psnr_y",
                        30.0 + 3 * (3 - i),
                        "source",
                        "",
                    ]
                )
    path.mkdir()
    pd.DataFrame(rows, columns=RESULT_COLUMNS).to_csv(path / "results.csv", index=False)
    (path / "config.toml").write_text('[dataset]\nname = "t"\n', encoding="utf-8")
    return path


def run_items(run: Path, metric: str) -> pd.Series:
    """Values of ``metric`` in a run's results.csv, indexed by the item keys."""
    df = pd.read_csv(run / "results.csv")
    return df[df["metric"] == metric].set_index(["sequence", "reference", "codec", "rate_point"])[
        "value"
    ]
