"""Tests for vqabench.reports.tables: layouts hold the aggregate numbers; renderers format them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vqabench.evaluation import (
    OVERALL,
    load_results,
    per_sequence_bd_rate,
    summarize_bd_rate,
    time_ratios,
)
from vqabench.reports.tables import (
    codec_metric_table,
    format_number,
    sequence_table,
    to_html,
    to_latex,
    to_markdown,
    write_csv,
    yuv_table,
)


@pytest.fixture
def agg(run_dir):
    results = load_results(run_dir)
    per = per_sequence_bd_rate(results, anchor_codec="x264")
    return results, per, summarize_bd_rate(per)


def test_codec_metric_table_values(agg):
    _, _, summary = agg
    t = codec_metric_table(summary, reference="source", anchor="source")
    overall = t[t["Group"] == OVERALL].set_index("Codec")
    assert overall.loc["x265", "psnr_u"] == pytest.approx(-20.0)  # mean of -20, -30, -10
    assert overall.loc["x265", "psnr_y"] == pytest.approx(-25.0)  # C excluded
    assert overall.loc["x265", "lpips"] == pytest.approx(-20.0)  # lower-is-better handled
    assert list(t["Group"]) == ["Low", "High", OVERALL]  # published order: Low, Medium, High


def test_sequence_table_has_average_row(agg):
    _, per, _ = agg
    t = sequence_table(per, metric="psnr_y", reference="source", anchor="source")
    t = t.set_index("Sequence")
    assert t.loc["A", "x265"] == pytest.approx(-20.0)
    assert math.isnan(t.loc["C", "x265"])
    assert t.loc["Average", "x265"] == pytest.approx(-25.0)


def test_yuv_table_with_times(agg):
    results, _, summary = agg
    t = yuv_table(summary, time_ratios(results, anchor_codec="x264"), reference="source",
                  anchor="source").set_index("Codec")
    assert t.loc["x265", "U"] == pytest.approx(-20.0)
    assert t.loc["x265", "EncT%"] == pytest.approx(400.0)
    assert t.loc["x265", "DecT%"] == pytest.approx(100.0)


def test_format_number():
    assert format_number(-12.345) == "-12.35" or format_number(-12.345) == "-12.34"
    assert format_number(-0.001) == "0.00"
    assert format_number(float("nan")) == "n/a"
    assert format_number(3.14159, decimals=3) == "3.142"


DF = pd.DataFrame({"Codec": ["x_265", "a|b"], "psnr_y": [-25.0, float("nan")]})


def test_markdown():
    md = to_markdown(DF)
    assert md.splitlines() == ["| Codec | psnr_y |", "|:---|---:|", "| x_265 | -25.00 |",
                               "| a\\|b | n/a |"]


def test_latex_booktabs_and_escaping():
    tex = to_latex(DF, caption="BD-rate (%)")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"x\_265 & $-$25.00 \\" in tex
    assert r"\caption{BD-rate (\%)}" in tex
    assert r"\begin{tabular}{lr}" in tex


def test_html_escaping():
    h = to_html(pd.DataFrame({"Codec": ["<x>"], "v": [1.0]}))
    assert "<td>&lt;x&gt;</td>" in h and '<td class="num">1.00</td>' in h


def test_csv_full_precision(tmp_path):
    df = pd.DataFrame({"v": [-12.345678901234567]})
    write_csv(df, tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["v"].iloc[0] == -12.345678901234567


def test_bd_table_keeps_order_labels_signs_and_counts(agg):
    """Issue 18 item 7: one builder for console and report (values from the synthetic run:
    x265 is -20 % on A, -30 % on B, -10 % on C; C's PSNR-Y curve is excluded)."""
    from vqabench.reports.tables import bd_table

    _, _, summary = agg
    table = bd_table(summary, reference="source", anchor="source", anchor_codec="x264",
                     metrics=["psnr_y", "lpips", "psnr_u"])
    assert list(table.cells.columns) == ["Group", "Codec", "PSNR-Y", "LPIPS", "PSNR-U"]
    assert table.cells.values.tolist() == [
        ["Low", "x265", "n/a (0/1)", "-10.00", "-10.00"],
        ["High", "x265", "-25.00", "-25.00", "-25.00"],
        ["Overall", "x265", "-25.00 (2/3)", "-20.00", "-20.00"],
    ]
    assert table.values.loc[2, "PSNR-Y"] == pytest.approx(-25.0, abs=1e-9)
    assert "quality against the source S" in table.caption and "vs x264" in table.caption
    flat = bd_table(summary, reference="source", anchor="source", anchor_codec="x264",
                    metrics=["psnr_u"], groups=False)
    assert list(flat.cells.columns) == ["Codec", "PSNR-U"]


def test_bd_table_marks_noted_cells_and_signs_positive_values():
    from vqabench.reports.tables import NOTE_MARK, bd_table

    summary = pd.DataFrame([
        {"reference": "source", "anchor": "reference", "metric": "vmaf", "codec": "b",
         "group": OVERALL, "bd_rate": 3.4321, "n_sequences": 4, "n_excluded": 0, "note": "",
         "flags": "S1: small quality overlap (40% of the union)"}])
    table = bd_table(summary, reference="source", anchor="reference", anchor_codec="a")
    assert table.cells.values.tolist() == [["b", "+3.43" + NOTE_MARK]]
    assert table.notes == (f"{NOTE_MARK} b, VMAF: S1: small quality overlap (40% of the union)",)
    assert "quality against the reference R" in table.caption


def test_latex_has_one_midrule_above_the_summary_rows_and_a_label():
    df = pd.DataFrame({"Group": ["Low", "Low", "High", OVERALL, OVERALL],
                       "Codec": ["a", "b", "a", "a", "b"], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    tex = to_latex(df, caption="BD-rate (%) vs x264")
    assert tex.count(r"\midrule") == 2  # under the header, above the first Overall row
    assert tex.index(r"\midrule", tex.index("High")) < tex.index("Overall")
    assert r"\label{tab:bd-rate-vs-x264}" in tex
    only = to_latex(df[df["Group"] == OVERALL], label="tab:x")
    assert only.count(r"\midrule") == 1 and r"\label{tab:x}" in only


def test_counts_print_as_integers():
    df = pd.DataFrame({"metric": ["a", "b"], "n": [160.0, 12.0], "srocc": [0.5, 0.25]})
    md = to_markdown(df, decimals=4)
    assert "| a | 160 | 0.5000 |" in md and "| b | 12 | 0.2500 |" in md
    assert format_number(3.4321, signed=True) == "+3.43"
    assert format_number(-0.001, signed=True) == "0.00"
