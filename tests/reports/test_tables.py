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
