"""vqabench/reports/seqmetrics.py: the sequence-metric tables (POVI Table 1) of a report."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest

from vqabench.reports.report import build_report
from vqabench.reports.seqmetrics import (
    middle_rate_point,
    per_sequence_table,
    sequence_metric_names,
    sequence_rows,
    stats_frame,
    summary_table,
)

#: consistency_pixel per (codec, rate point index) on sequences A, B, C
VALUES = {
    ("x264", 0): (0.9, 0.8, 0.7),
    ("x264", 1): (0.95, 0.85, 0.6),
    ("x265", 0): (0.5, 0.5, 0.5),
    ("x265", 1): (0.99, 0.98, 0.94),
}


def _results() -> pd.DataFrame:
    rows = []
    for (codec, i), values in VALUES.items():
        for seq, value in zip("ABC", values, strict=True):
            for metric, v in (("consistency_pixel", value), ("psnr_y", 30.0 + i)):
                for anchor in ("source", "reference"):
                    rows.append(
                        {
                            "sequence": seq,
                            "reference": "source",
                            "codec": codec,
                            "rate_point": f"qp={30 + i}",
                            "bits": 1,
                            "bpp": 0.1 * (2 - i),
                            "kbps": 10.0 * (2 - i),
                            "enc_s": 1.0,
                            "dec_s": 1.0,
                            "metric": metric,
                            "value": v,
                            "anchor": anchor,
                            "bitstream": "",
                        }
                    )
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_summary_and_per_sequence_tables_have_mean_std_min_max():
    """Mean and sample std as statistics.mean/stdev give them, min and max by hand."""
    rows = sequence_rows(_results(), sequence_metric_names(_results()))
    assert sequence_metric_names(_results()) == ["consistency_pixel"]  # psnr_y is not one
    assert set(rows["anchor"]) == {"source"}  # one anchor: the other repeats the values
    table = summary_table(rows, metrics=["consistency_pixel"], codecs=["x265", "x264"])
    # codecs in the order given, points by bpp (qp=31 has the lower rate)
    assert list(zip(table["Codec"], table["Rate point"], strict=True)) == [
        ("x265", "qp=31"),
        ("x265", "qp=30"),
        ("x264", "qp=31"),
        ("x264", "qp=30"),
    ]
    x264 = table.iloc[3]
    mean, std = statistics.mean(VALUES[("x264", 0)]), statistics.stdev(VALUES[("x264", 0)])
    assert x264["Consistency (pixel)"] == f"{mean:.4f} ± {std:.4f}" == "0.8000 ± 0.1000"
    assert x264["Consistency (pixel) min–max"] == "0.7000–0.9000"
    assert (x264["bpp"], x264["Sequences"]) == ("0.2000", "3")
    assert table.iloc[1]["Consistency (pixel)"] == "0.5000 ± 0.0000"
    per = per_sequence_table(
        rows,
        metrics=["consistency_pixel"],
        codec="x264",
        rate_point=middle_rate_point(rows, "x264"),
    )
    values = VALUES[("x264", 1)]  # the lower of the two middle points by bpp: qp=31
    assert per["Consistency (pixel)"].tolist() == [
        "0.9500",
        "0.8500",
        "0.6000",
        f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}",
        "0.6000",
        "0.9500",
    ]
    assert per["Sequence"].tolist() == ["A", "B", "C", "Mean ± std", "Min", "Max"]
    stats = stats_frame(rows, metrics=["consistency_pixel"], codecs=["x264"])
    summary = stats[stats["sequence"] == ""].set_index("rate_point")
    assert summary.loc["qp=31", "std"] == pytest.approx(statistics.stdev(values), abs=1e-15)
    assert (stats["sequence"] != "").sum() == 6


@pytest.mark.slow
def test_report_shows_the_sequence_metrics_when_the_run_has_them(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _results().to_csv(run / "results.csv", index=False)
    report = build_report(run, figures="none", anchor_codec="x264")
    md = report.markdown.read_text()
    assert (
        "## Sequence metrics (VBench-style) per codec and rate point: mean ± std and "
        "min–max over 3 sequences"
    ) in md
    assert "| x264 | qp=30 | 0.2000 | 0.8000 ± 0.1000 | 0.7000–0.9000 | 3 |" in md
    assert "## Sequence metrics per sequence: x265 at qp=31 (its middle rate point by bpp)" in md
    csv = pd.read_csv(report.sequence_metrics_csv, keep_default_na=False, na_values=[""])
    assert set(csv["anchor"]) == {"source"} and len(csv) == 4 * 3 + 4
    plain = _results()
    plain[plain["metric"] == "psnr_y"].to_csv(run / "results.csv", index=False)
    again = build_report(run, figures="none", anchor_codec="x264", out_dir=tmp_path / "o")
    assert again.sequence_metrics_csv is None and "Sequence metrics" not in (
        again.markdown.read_text()
    )
