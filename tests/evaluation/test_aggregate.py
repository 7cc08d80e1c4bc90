"""Tests for vqabench.evaluation.aggregate on synthetic tidy results with known BD-rates.

The synthetic test codecs encode at ``factor`` times the anchor's rate for the same quality, so
each per-sequence BD-rate is exactly ``(factor - 1) * 100`` % for any interpolation method.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vqabench.errors import ConfigError, DatasetError, MetricError
from vqabench.evaluation.aggregate import (
    OVERALL,
    add_weighted_yuv,
    fold_references,
    load_results,
    mean_quality,
    metric_higher_is_better,
    per_sequence_bd_rate,
    summarize_bd_rate,
    time_ratios,
)

QPS = (22, 27, 32, 37)
COLUMNS = [
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


def _rows(
    sequence,
    group,
    codec,
    factor,
    *,
    metric="psnr_y",
    enc_s=10.0,
    dec_s=1.0,
    quality=None,
    lower_is_better=False,
):
    rows = []
    for i, qp in enumerate(QPS):
        kbps = 1000.0 * 2.0 ** (3 - i) * factor
        q = quality[i] if quality is not None else 30.0 + 3.0 * (3 - i)
        if lower_is_better:
            q = 1.0 - q / 50.0
        rows.append(
            [
                sequence,
                "source",
                codec,
                f"qp={qp}",
                kbps * 1000,
                kbps / 1e4,
                kbps,
                enc_s,
                dec_s,
                metric,
                q,
                "source",
                f"bitstreams/{sequence}_{codec}_{qp}.bin",
                group,
            ]
        )
    return rows


def _results():
    rows = []
    for seq, group, f264, f265 in [
        ("A", "High", 1.0, 0.8),
        ("B", "High", 1.0, 0.7),
        ("C", "Low", 1.0, 0.9),
    ]:
        rows += _rows(seq, group, "x264", f264, enc_s=10.0)
        rows += _rows(seq, group, "x265", f265, enc_s=40.0)
        rows += _rows(seq, group, "x264", f264, metric="lpips", lower_is_better=True)
        rows += _rows(seq, group, "x265", f265, metric="lpips", lower_is_better=True)
    # D: the x265 curve is not monotonic -> NaN with a reason, excluded from the mean
    rows += _rows("D", "Low", "x264", 1.0)
    rows += _rows("D", "Low", "x265", 0.5, quality=[39, 35, 36, 30])
    return pd.DataFrame(rows, columns=COLUMNS)


def test_per_sequence_values_and_reasons():
    per = per_sequence_bd_rate(_results(), anchor_codec="x264")
    psnr = per[per["metric"] == "psnr_y"].set_index("sequence")
    assert psnr.loc["A", "bd_rate"] == pytest.approx(-20.0)
    assert psnr.loc["B", "bd_rate"] == pytest.approx(-30.0)
    assert psnr.loc["C", "bd_rate"] == pytest.approx(-10.0)
    assert math.isnan(psnr.loc["D", "bd_rate"])
    assert "not strictly monotonic" in psnr.loc["D", "reason"]
    assert psnr.loc["A", "group"] == "High"


def test_lower_is_better_metric_uses_registry():
    assert metric_higher_is_better("lpips") is False
    assert metric_higher_is_better("psnr_y") is True
    assert metric_higher_is_better("lpips", {"lpips": True}) is True
    per = per_sequence_bd_rate(_results(), anchor_codec="x264", metrics=["lpips"])
    # same savings as for PSNR: the direction was handled, not a flipped sign
    assert per.set_index("sequence").loc["A", "bd_rate"] == pytest.approx(-20.0)


def test_direction_comes_from_the_registry_only():
    """Every registered metric's direction is the registry's (pt_loss higher, flicker_warp and
    lpips_temporal lower), and a label the registry does not know is an error, not a guess."""
    from vqabench import metrics
    from vqabench.evaluation import aggregate

    assert not hasattr(aggregate, "LOWER_IS_BETTER_FALLBACK")
    for name in metrics.available():
        assert metric_higher_is_better(name) is metrics.get_class(name).higher_is_better
    assert metric_higher_is_better("pt_loss") is True
    assert metric_higher_is_better("flicker_warp") is False
    assert metric_higher_is_better("lpips_temporal") is False
    # (vmaf_neg is registered since issue 16; an unregistered VMAF-like label instead)
    with pytest.raises(MetricError, match=r"metric='vmaf_hdr' has no known direction.*vmaf"):
        metric_higher_is_better("vmaf_hdr")
    assert metric_higher_is_better("vmaf_hdr", {"vmaf_hdr": True}) is True
    df = _results()
    df.loc[df["metric"] == "lpips", "metric"] = "mystery"
    with pytest.raises(MetricError, match="mystery"):
        per_sequence_bd_rate(df, anchor_codec="x264")


def test_summary_means_per_group_and_overall_exclude_nan_visibly():
    summary = summarize_bd_rate(per_sequence_bd_rate(_results(), anchor_codec="x264"))
    psnr = summary[summary["metric"] == "psnr_y"].set_index("group")
    assert psnr.loc["High", "bd_rate"] == pytest.approx(-25.0)
    assert psnr.loc["Low", "bd_rate"] == pytest.approx(-10.0)  # D excluded
    assert psnr.loc[OVERALL, "bd_rate"] == pytest.approx(-20.0)  # mean of -20, -30, -10
    assert psnr.loc[OVERALL, "n_sequences"] == 3
    assert psnr.loc[OVERALL, "n_excluded"] == 1
    assert "excluded D: " in psnr.loc[OVERALL, "note"]
    assert psnr.loc["Low", "n_excluded"] == 1


def test_groups_argument_overrides_group_column():
    groups = {"A": "g1", "B": "g2", "C": "g2", "D": "g2"}
    summary = summarize_bd_rate(
        per_sequence_bd_rate(_results(), anchor_codec="x264", metrics=["psnr_y"], groups=groups)
    )
    assert summary.set_index("group").loc["g2", "bd_rate"] == pytest.approx(-20.0)


def test_missing_anchor_points_are_reported():
    df = _results()
    df = df[~((df["sequence"] == "C") & (df["codec"] == "x264"))]
    per = per_sequence_bd_rate(df, anchor_codec="x264", metrics=["psnr_y"])
    assert "anchor codec 'x264' has no points" in per.set_index("sequence").loc["C", "reason"]


def test_bad_rate_is_reported_not_raised():
    df = _results()
    df.loc[(df["sequence"] == "A") & (df["codec"] == "x265"), "kbps"] = 0.0
    per = per_sequence_bd_rate(df, anchor_codec="x264", metrics=["psnr_y"])
    assert "rate_test" in per.set_index("sequence").loc["A", "reason"]


def test_invalid_arguments():
    with pytest.raises(ConfigError, match="anchor_codec='vp9'"):
        per_sequence_bd_rate(_results(), anchor_codec="vp9")
    with pytest.raises(ConfigError, match="metrics"):
        per_sequence_bd_rate(_results(), anchor_codec="x264", metrics=["vmaf"])
    with pytest.raises(ConfigError, match="rate_column"):
        per_sequence_bd_rate(_results(), anchor_codec="x264", rate_column="mbps")


def test_time_ratios_geometric_mean():
    df = _results()
    df.loc[(df["sequence"] == "B") & (df["codec"] == "x265"), "enc_s"] = 160.0  # ratio 16
    t = time_ratios(df, anchor_codec="x264").set_index("group")
    # ratios 4 (A), 16 (B), 4 (C), 1 (D): geometric mean (256) ** (1/4) = 4; arithmetic 6.25
    assert t.loc[OVERALL, "enc_pct"] == pytest.approx(400.0)
    assert t.loc["High", "enc_pct"] == pytest.approx(800.0)
    assert t.loc[OVERALL, "dec_pct"] == pytest.approx(100.0)


def test_mean_quality_per_group_and_overall():
    df = _results()
    m = mean_quality(df)
    x265 = m[(m["codec"] == "x265") & (m["metric"] == "psnr_y")].set_index("group")
    # bpp = kbps / 1e4 with kbps = 1000 * 2**(3 - i) * factor: 0.375 * factor on average;
    # psnr_y is 39, 36, 33, 30 (mean 34.5) except D's 39, 35, 36, 30 (mean 35)
    assert list(x265.index) == ["Low", "High", OVERALL]
    assert x265.loc["High", "mean_bpp"] == pytest.approx(0.375 * (0.8 + 0.7) / 2)
    assert x265.loc["High", "mean_value"] == pytest.approx(34.5)
    assert x265.loc["Low", "mean_bpp"] == pytest.approx(0.375 * (0.9 + 0.5) / 2)
    assert x265.loc["Low", "mean_value"] == pytest.approx((34.5 + 35.0) / 2)
    assert x265.loc[OVERALL, "mean_value"] == pytest.approx((3 * 34.5 + 35.0) / 4)
    assert x265.loc[OVERALL, "n_points"] == 16
    assert mean_quality(df.iloc[:0]).empty


def test_weighted_yuv_added_from_components():
    rows = []
    for metric, base in (("psnr_y", 40.0), ("psnr_u", 44.0), ("psnr_v", 46.0)):
        rows += _rows(
            "A", "", "x264", 1.0, metric=metric, quality=[base, base - 3, base - 6, base - 9]
        )
    out = add_weighted_yuv(pd.DataFrame(rows, columns=COLUMNS))
    yuv = out[out["metric"] == "psnr_yuv"].sort_values("kbps", ascending=False)
    assert yuv["value"].tolist() == pytest.approx(
        [(6 * 40 + 44 + 46) / 8 - 3 * k for k in range(4)]
    )


def test_load_results_roundtrip_and_errors(tmp_path):
    _results().to_csv(tmp_path / "results.csv", index=False)
    df = load_results(tmp_path)
    assert len(df) == len(_results())
    assert np.isclose(df["kbps"].max(), 8000.0)
    with pytest.raises(DatasetError, match="does not exist"):
        load_results(tmp_path / "nope")
    _results().drop(columns=["kbps"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DatasetError, match="kbps"):
        load_results(tmp_path / "bad.csv")


def test_fold_references_makes_sequence_reference_units():
    """UGC runs: each (sequence, reference) is one BD-rate unit; groups order Low..High."""
    rows = []
    for ref, group in (("x264:qp=30", "High"), ("x264:qp=42", "Low")):
        for codec, factor in (("x264", 1.0), ("vp9", 0.8)):
            for i, q in enumerate((30.0, 33.0, 36.0, 39.0)):
                rows.append(
                    {
                        "sequence": "A",
                        "reference": ref,
                        "codec": codec,
                        "rate_point": f"qp={i}",
                        "kbps": 100.0 * 2**i * factor,
                        "metric": "psnr_y",
                        "value": q,
                        "anchor": "source",
                        "group": group,
                    }
                )
    folded = fold_references(pd.DataFrame(rows))
    assert set(folded["sequence"]) == {"A @ x264:qp=30", "A @ x264:qp=42"}
    per = per_sequence_bd_rate(folded, anchor_codec="x264")
    assert len(per) == 2 and per["bd_rate"].tolist() == pytest.approx([-20.0, -20.0])
    summary = summarize_bd_rate(per)
    assert summary["group"].tolist() == ["Low", "High", OVERALL]
    unchanged = pd.DataFrame([{**rows[0], "reference": "source"}])
    assert fold_references(unchanged) is unchanged


def test_add_weighted_yuv_on_full_results_columns():
    """Regression: real results.csv columns (times, bitstream, group) must not blow up the
    pivot into a cartesian product; value = (6Y + U + V) / 8 per coded point."""
    rows = []
    for seq in ("A", "B"):
        for i in range(4):
            for metric, value in (("psnr_y", 40.0 - i), ("psnr_u", 44.0 - i), ("psnr_v", 46.0 - i)):
                rows.append(
                    {
                        "sequence": seq,
                        "reference": "source",
                        "codec": "x264",
                        "rate_point": f"qp={i}",
                        "bits": 1000 + i,
                        "bpp": 0.1 * i,
                        "kbps": 10.0 + i,
                        "enc_s": 0.123 + i,
                        "dec_s": 0.01 * i,
                        "metric": metric,
                        "value": value,
                        "anchor": "source",
                        "bitstream": f"b/{seq}/{i}.264",
                        "group": "",
                    }
                )
    out = add_weighted_yuv(pd.DataFrame(rows))
    yuv = out[out["metric"] == "psnr_yuv"]
    assert len(yuv) == 8
    assert yuv["value"].tolist() == pytest.approx(
        [(6 * (40 - i) + 44 - i + 46 - i) / 8 for _ in "AB" for i in range(4)]
    )
    assert yuv["kbps"].tolist() == [10.0, 11.0, 12.0, 13.0] * 2


def _saturation_cases():
    import json
    from pathlib import Path

    from tests.expected.make_vmaf_saturation import CASES, results

    golden = json.loads(
        (Path(__file__).parents[1] / "expected" / "vmaf_saturation.json").read_text()
    )
    per = per_sequence_bd_rate(results(), anchor_codec="a").set_index("sequence")
    return CASES, golden, per


def test_vmaf_saturation_rule():
    """Issue 18 item 4; golden values (before the rule) in tests/expected/vmaf_saturation.json."""
    from vqabench.evaluation import bd_rate

    cases, golden, per = _saturation_cases()
    # a healthy ladder is untouched
    assert per.loc["normal", "bd_rate"] == pytest.approx(golden["normal"], rel=1e-12)
    assert per.loc["normal", "notes"] == ""
    # 99.0-99.8 over the whole ladder was averaged in (-37.8 %); now NaN with the reason
    assert golden["saturated"] == pytest.approx(-37.81, abs=0.01)
    assert math.isnan(per.loc["saturated", "bd_rate"])
    assert "anchor curve is saturated (VMAF 99.00..99.80" in per.loc["saturated", "reason"]
    # a repeated 99.6 at the top broke monotonicity (NaN before); the dominated saturated point
    # is dropped and the value is the BD-rate of the four remaining points
    assert golden["top_flat"] is None
    qa, qt = cases["top_flat"]
    rates = [1000.0 * 2**i for i in range(5)]
    expected = bd_rate(rates, qa, [0.8 * r for r in rates[:4]], qt[:4])
    assert per.loc["top_flat", "bd_rate"] == pytest.approx(expected, rel=1e-12)
    assert "test: dropped 1 saturated point(s) (VMAF >= 99.5" in per.loc["top_flat", "notes"]


def test_summary_carries_counts_and_flags():
    _, _, per = _saturation_cases()
    summary = summarize_bd_rate(per.reset_index(), by_group=False)
    row = summary.iloc[0]
    assert (row["n_sequences"], row["n_excluded"]) == (2, 1)
    assert row["bd_rate"] == pytest.approx(per.loc[["normal", "top_flat"], "bd_rate"].mean())
    assert "top_flat: test: dropped 1 saturated point(s)" in row["flags"]
    assert "excluded saturated: anchor curve is saturated" in row["note"]


def test_note_codes_name_each_kind_of_note_per_sequence_and_per_mean():
    """Issue 30 item 2: the notes behind the tables' marks, machine-readable. The saturation
    golden cases (one dropped saturated point on top_flat, saturated excluded) and a
    hand-made pareto curve with a small overlap (anchor 30..39 dB, test 34..43 dB over
    the same rates with one dominated point: overlap [34, 39] of [30, 43] = 38 %)."""
    from vqabench.evaluation.aggregate import parse_note_codes, sequence_note_codes

    _, _, per = _saturation_cases()
    assert per.loc["top_flat", "note_codes"] == "saturated(points=1)"
    assert per.loc["normal", "note_codes"] == per.loc["saturated", "note_codes"] == ""
    summary = summarize_bd_rate(per.reset_index(), by_group=False)
    assert summary["note_codes"].iloc[0] == "saturated(n=1/2,points=1) excluded(n=1/3)"
    assert parse_note_codes(summary["note_codes"].iloc[0]) == {
        "saturated": {"n": "1/2", "points": "1"},
        "excluded": {"n": "1/3"},
    }

    rates = [1000.0, 2000.0, 3000.0, 4000.0, 8000.0]
    rows = [
        ["S", "source", codec, f"p{i}", kbps, "psnr_y", value, "source"]
        for codec, values in (
            ("a", [30.0, 33.0, 35.0, 37.0, 39.0]),
            ("b", [34.0, 37.0, 36.5, 40.0, 43.0]),
        )
        for i, (kbps, value) in enumerate(zip(rates, values, strict=True))
    ]
    results = pd.DataFrame(
        rows,
        columns=[
            "sequence",
            "reference",
            "codec",
            "rate_point",
            "kbps",
            "metric",
            "value",
            "anchor",
        ],
    )
    pareto = per_sequence_bd_rate(results, anchor_codec="a", nonmonotonic="pareto").iloc[0]
    assert pareto["overlap"] == pytest.approx(5 / 13)
    assert pareto["note_codes"] == "overlap(iou=0.3846) nonmonotonic(points=1)"
    assert (
        sequence_note_codes("anchor: merged 2 duplicate point(s); something new", 1.0)
        == "duplicates(points=2) other(notes=1)"
    )
