"""Tests for vqabench.reports.tables: layouts hold the aggregate numbers; renderers format them."""

from __future__ import annotations

import math
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.evaluation import (
    OVERALL,
    load_results,
    per_sequence_bd_rate,
    summarize_bd_rate,
    time_ratios,
)
from vqabench.reports import build_report, tables
from vqabench.reports.tables import (
    codec_metric_table,
    format_number,
    glvc_table,
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


@pytest.mark.slow
def test_codec_metric_table_values(agg):
    _, _, summary = agg
    t = codec_metric_table(summary, reference="source", anchor="source")
    overall = t[t["Group"] == OVERALL].set_index("Codec")
    assert overall.loc["x265", "psnr_u"] == pytest.approx(-20.0)  # mean of -20, -30, -10
    assert overall.loc["x265", "psnr_y"] == pytest.approx(-25.0)  # C excluded
    assert overall.loc["x265", "lpips"] == pytest.approx(-20.0)  # lower-is-better handled
    assert list(t["Group"]) == ["Low", "High", OVERALL]  # published order: Low, Medium, High


@pytest.mark.slow
def test_sequence_table_has_average_row(agg):
    _, per, _ = agg
    t = sequence_table(per, metric="psnr_y", reference="source", anchor="source")
    t = t.set_index("Sequence")
    assert t.loc["A", "x265"] == pytest.approx(-20.0)
    assert math.isnan(t.loc["C", "x265"])
    assert t.loc["Average", "x265"] == pytest.approx(-25.0)


@pytest.mark.slow
def test_yuv_table_with_times(agg):
    results, _, summary = agg
    t = yuv_table(
        summary, time_ratios(results, anchor_codec="x264"), reference="source", anchor="source"
    ).set_index("Codec")
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
    assert md.splitlines() == [
        "| Codec | psnr_y |",
        "|:---|---:|",
        "| x_265 | -25.00 |",
        "| a\\|b | n/a |",
    ]


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
    # every digit is in the file; reading it back is pandas' parser, which is not correctly
    # rounded in every version (pandas 3.0: some values 1 ulp off), hence a few ulps there
    assert (tmp_path / "t.csv").read_text().splitlines() == ["v", "-12.345678901234567"]
    assert pd.read_csv(tmp_path / "t.csv")["v"].iloc[0] == pytest.approx(
        -12.345678901234567, rel=1e-15
    )


@pytest.mark.slow
def test_bd_table_keeps_order_labels_signs_and_counts(agg):
    """Issue 18 item 7: one builder for console and report (values from the synthetic run:
    x265 is -20 % on A, -30 % on B, -10 % on C; C's PSNR-Y curve is excluded)."""
    from vqabench.reports.tables import bd_table

    _, _, summary = agg
    table = bd_table(
        summary,
        reference="source",
        anchor="source",
        anchor_codec="x264",
        metrics=["psnr_y", "lpips", "psnr_u"],
    )
    assert list(table.cells.columns) == ["Group", "Codec", "PSNR-Y", "LPIPS", "PSNR-U"]
    assert table.cells.values.tolist() == [
        ["Low", "x265", "n/a (0/1)", "-10.00", "-10.00"],
        ["High", "x265", "-25.00", "-25.00", "-25.00"],
        ["Overall", "x265", "-25.00 (2/3)", "-20.00", "-20.00"],
    ]
    assert table.values.loc[2, "PSNR-Y"] == pytest.approx(-25.0, abs=1e-9)
    assert "quality against the source S" in table.caption and "vs x264" in table.caption
    flat = bd_table(
        summary,
        reference="source",
        anchor="source",
        anchor_codec="x264",
        metrics=["psnr_u"],
        groups=False,
    )
    assert list(flat.cells.columns) == ["Codec", "PSNR-U"]


def _two_group_notes() -> pd.DataFrame:
    """Issue 30 item 2: one codec and metric (b, VMAF) whose Low and High cells carry
    different notes, and an Overall cell with both; PSNR-Y has none."""
    base = {
        "reference": "source",
        "anchor": "reference",
        "codec": "b",
        "n_excluded": 0,
        "note": "",
        "flags": "",
    }
    return pd.DataFrame(
        [
            {
                **base,
                "metric": "vmaf",
                "group": "Low",
                "bd_rate": -3.0,
                "n_sequences": 2,
                "note_codes": "overlap(n=2/2,min=0.1300,max=0.5500)",
            },
            {
                **base,
                "metric": "psnr_y",
                "group": "Low",
                "bd_rate": -1.0,
                "n_sequences": 2,
                "note_codes": "",
            },
            {
                **base,
                "metric": "vmaf",
                "group": "High",
                "bd_rate": 3.4321,
                "n_sequences": 2,
                "note_codes": "saturated(n=1/2,points=3)",
            },
            {
                **base,
                "metric": "psnr_y",
                "group": "High",
                "bd_rate": -2.0,
                "n_sequences": 1,
                "n_excluded": 1,
                "note_codes": "excluded(n=1/2)",
            },
            {
                **base,
                "metric": "vmaf",
                "group": OVERALL,
                "bd_rate": 0.2,
                "n_sequences": 4,
                "note_codes": "overlap(n=2/4,min=0.1300,max=0.5500) saturated(n=1/4,points=3)",
            },
            {
                **base,
                "metric": "psnr_y",
                "group": OVERALL,
                "bd_rate": -1.5,
                "n_sequences": 3,
                "n_excluded": 1,
                "note_codes": "excluded(n=1/4)",
            },
        ]
    )


#: The notes of :func:`_two_group_notes`, in mark order.
_NOTES = {
    "a": "small quality overlap on 2 of 2 sequences: 13-55 % of the union (below 75 %)",
    "b": "3 saturated VMAF point(s) dropped on 1 of 2 sequences",
    "c": "small quality overlap on 2 of 4 sequences: 13-55 % of the union (below 75 %)",
    "d": "3 saturated VMAF point(s) dropped on 1 of 4 sequences",
}


def test_bd_table_puts_each_groups_notes_on_its_own_cell():
    """Issue 30 item 2: notes were keyed by (codec, metric), so High's note was lost and the
    Low note's ``*`` stood for both; now each cell has the marks of its own notes."""
    from vqabench.reports.tables import bd_table

    table = bd_table(
        _two_group_notes(),
        reference="source",
        anchor="reference",
        anchor_codec="a",
        metrics=["vmaf", "psnr_y"],
    )
    assert table.cells.values.tolist() == [
        ["Low", "b", "-3.00", "-1.00"],
        ["High", "b", "+3.43", "-2.00 (1/2)"],
        ["Overall", "b", "+0.20", "-1.50 (3/4)"],
    ]
    assert dict(table.marks) == {(0, 2): ("a",), (1, 2): ("b",), (2, 2): ("c", "d")}
    assert {n.mark: n.text for n in table.notes} == _NOTES
    assert [n.codes for n in table.notes] == [
        "overlap(n=2/2,min=0.1300,max=0.5500)",
        "saturated(n=1/2,points=3)",
        "overlap(n=2/4,min=0.1300,max=0.5500)",
        "saturated(n=1/4,points=3)",
    ]
    assert "quality against the reference R" in table.caption
    old = bd_table(
        _two_group_notes().drop(columns="note_codes").assign(flags="S1: a note"),
        reference="source",
        anchor="reference",
        anchor_codec="a",
        metrics=["vmaf"],
    )
    assert len(old.marks) == 3 and [n.text for n in old.notes] == [
        "1 other note(s) (see the per-sequence list)"
    ]  # a summary without codes loses none


def test_every_format_puts_the_marks_on_their_cells_and_the_notes_under_the_table():
    from vqabench.reports.tables import bd_table

    table = bd_table(
        _two_group_notes(),
        reference="source",
        anchor="reference",
        anchor_codec="a",
        metrics=["vmaf", "psnr_y"],
    ).table
    md = to_markdown(table, notes=["whole-table note"])
    assert "| Low | b | -3.00<sup>a</sup> | -1.00 |" in md
    assert "| High | b | +3.43<sup>b</sup> | -2.00 (1/2) |" in md
    assert "| Overall | b | +0.20<sup>c,d</sup> | -1.50 (3/4) |" in md
    foot = md.split("|\n\n", 1)[1].splitlines()  # right under the table
    assert foot == ["whole-table note  ", *(f"<sup>{m}</sup> {t}  " for m, t in _NOTES.items())]

    page = to_html(table)
    body, foot = page.split("<tbody>")[1].split("</tbody>")
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body)]
    assert rows == [
        ["Low", "b", "-3.00<sup>a</sup>", "-1.00"],
        ["High", "b", "+3.43<sup>b</sup>", "-2.00 (1/2)"],
        ["Overall", "b", "+0.20<sup>c,d</sup>", "-1.50 (3/4)"],
    ]
    assert foot.startswith("\n<tfoot>") and foot.endswith("</tfoot>\n</table>\n")
    assert re.findall(r'<td class="note" colspan="4">(.*?)</td>', foot) == [
        f"<sup>{m}</sup> {t}" for m, t in _NOTES.items()
    ]

    tex = to_latex(table, caption="BD-rate")
    assert r"Low & b & $-$3.00\tnote{a} & $-$1.00 \\" in tex
    assert r"Overall & b & +0.20\tnote{c,d} & $-$1.50 (3/4) \\" in tex
    notes = tex.split(r"\begin{tablenotes}", 1)[1].split(r"\end{tablenotes}")[0]
    assert [line for line in notes.splitlines() if line.startswith(r"\item")] == [
        rf"\item[{m}] {t.replace(' %', '~' + chr(92) + '%')}" for m, t in _NOTES.items()
    ]
    assert "%" not in tex.replace(r"\%", "")  # no note is a LaTeX comment


def test_paper_layouts_and_the_uncertainty_table_mark_the_same_cells():
    from vqabench.reports.tables import layout_notes, ptloss_table, uncertainty_table

    summary = _two_group_notes().assign(ci_low=-9.0, ci_high=9.0, wilcoxon_p=0.5)
    where = {"reference": "source", "anchor": "reference"}
    ptloss = layout_notes(ptloss_table(summary, None, **where), summary, **where)
    assert list(ptloss.cells.columns[1:7]) == [
        "Low PSNR",
        "Low VMAF",
        "High PSNR",
        "High VMAF",
        "Overall PSNR",
        "Overall VMAF",
    ]
    assert dict(ptloss.marks) == {(0, 2): ("a",), (0, 4): ("b",), (0, 6): ("c", "d")}
    assert {n.mark: n.text for n in ptloss.notes} == _NOTES
    unc = layout_notes(uncertainty_table(summary, **where), summary, **where)
    assert unc.cells["Metric"].tolist()[1::2] == ["VMAF"] * 3
    assert dict(unc.marks) == {(1, 3): ("a",), (3, 3): ("b",), (5, 3): ("c", "d")}


@pytest.mark.slow
def test_latex_notes_compile_and_show_under_the_table():
    """Compiled with pdflatex when installed (Debian: texlive-latex-extra has
    threeparttable); the notes are in the PDF's text (pdftotext, poppler-utils)."""
    from vqabench.reports.tables import bd_table

    table = bd_table(
        _two_group_notes(),
        reference="source",
        anchor="reference",
        anchor_codec="a",
        metrics=["vmaf", "psnr_y"],
    ).table
    tex = to_latex(table, caption="BD-rate", notes=["whole-table note"])
    _check_latex(
        tex + to_latex(table.cells, label="tab:plain"),
        pdf_text=["whole-table note", _NOTES["a"], _NOTES["d"]],
    )


def test_per_sequence_cells_with_notes_carry_the_mark():
    from vqabench.reports.tables import sequence_notes

    per = pd.DataFrame(
        {
            "group": "",
            "sequence": ["A", "B", "C", "A"],
            "reference": "source",
            "anchor": "source",
            "metric": "psnr_y",
            "codec": ["x265", "x265", "x265", "vp9"],
            "bd_rate": [-20.0, -30.0, math.nan, -5.0],
            "reason": ["", "", "not monotonic", ""],
            "notes": [
                "small quality overlap (40% of the union); the value rests on a narrow interval",
                "",
                "",
                "test: dropped 2 saturated point(s) (VMAF >= 99.5)",
            ],
            "overlap": [0.4, 1.0, math.nan, 0.13],
        }
    )
    seq = sequence_table(per, metric="psnr_y", reference="source", anchor="source")
    seq = seq[["Sequence", "x265", "vp9"]]
    cells = tables.average_counts(tables.signed_text(seq, ["x265", "vp9"]), seq, ["x265", "vp9"])
    noted = sequence_notes(per, cells, metric="psnr_y", reference="source", anchor="source")
    assert dict(noted.marks) == {(0, 1): ("a",), (0, 2): ("a", "b")}
    assert [(n.mark, n.text) for n in noted.notes] == [
        ("a", "small quality overlap: 13-40 % of the union (below 75 %)"),
        ("b", "2 saturated VMAF point(s) dropped"),
    ]
    assert "| A | -20.00<sup>a</sup> | -5.00<sup>a,b</sup> |" in to_markdown(noted)


def test_latex_has_one_midrule_above_the_summary_rows_and_a_label():
    df = pd.DataFrame(
        {
            "Group": ["Low", "Low", "High", OVERALL, OVERALL],
            "Codec": ["a", "b", "a", "a", "b"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
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


# --- table styles of the seed papers, rendered three ways (``vqabench report --style``) ----


def _check_latex(tex: str, *, pdf_text: list[str] = ()) -> None:
    """Structural checks of booktabs tables; compiled when a TeX engine is installed (and
    ``pdf_text`` found in the PDF when pdftotext is installed too)."""
    import shutil
    import subprocess

    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") >= 2
    for block in re.findall(r"\\begin\{tabular\}\{([lr]+)\}(.*?)\\end\{tabular\}", tex, re.S):
        spec, body = block
        assert body.count(r"\toprule") == body.count(r"\bottomrule") == 1
        rows = [r for r in body.splitlines() if r.endswith(r"\\")]
        assert rows and all(r.count("&") == len(spec) - 1 for r in rows)
    engine = shutil.which("pdflatex") or shutil.which("lualatex")
    if engine:
        doc = (
            "\\documentclass{article}\\usepackage{booktabs}\\usepackage{threeparttable}"
            "\\begin{document}\n" + tex + "\n\\end{document}\n"
        )
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "t.tex").write_text(doc, encoding="utf-8")
            done = subprocess.run(
                [engine, "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                cwd=tmp,
                capture_output=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout[-2000:]
            if pdf_text and shutil.which("pdftotext"):
                text = subprocess.run(
                    ["pdftotext", "-layout", "t.pdf", "-"],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                for line in pdf_text:
                    assert " ".join(line.split()) in " ".join(text.split())


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        self._in_cell = tag in ("td", "th")

    def handle_endtag(self, tag):
        self._in_cell = False if tag in ("td", "th") else self._in_cell

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1].append(data)


@pytest.mark.parametrize(
    ("style", "header", "x265_row"),
    [
        # PT-Loss Table I: groups x (PSNR, ...) then complexity; C's PSNR-Y curve is excluded,
        # so Low has no PSNR value; x265 takes 40 s per point where x264 takes 10 s -> 400 %.
        (
            "ptloss",
            ["Codec", "Low PSNR", "High PSNR", "Overall PSNR", "EncT%", "DecT%"],
            ["x265", "n/a", "-25.00", "-25.00", "400.00", "100.00"],
        ),
        # GLVC Table 4: dataset x (DISTS, LPIPS); LPIPS of A, B, C: -20, -30, -10
        ("glvc", ["Codec", "synthetic LPIPS"], ["x265", "-20.00"]),
        # CLIC Tables I-III: class rows, Y/U/V/YUV and EncT%; the first x265 row is class Low (C)
        (
            "clic",
            ["Codec", "Class", "Y", "U", "V", "YUV", "EncT%"],
            ["x265", "Low", "n/a", "-10.00", "-10.00", "n/a", "400.00"],
        ),
    ],
)
@pytest.mark.slow
def test_styles_render_to_markdown_latex_html(run_dir, tmp_path, style, header, x265_row):
    report = build_report(run_dir, out_dir=tmp_path / style, style=style, figures=False)
    md = report.markdown.read_text(encoding="utf-8")
    assert "| " + " | ".join(header) + " |" in md
    assert "| " + " | ".join(x265_row) + " |" in md
    # the uncertainty table follows every style: psnr_y of x265 over A (-20) and B (-30),
    # C excluded; resample means are -20, -25 or -30, so the 95 % interval is [-30, -20];
    # both negative: exact two-sided signed-rank p = 2 / 2**2
    assert "| Overall | x265 | PSNR-Y | -25.00 | -30.00 | -20.00 | 0.5000 | 2 |" in md
    tex = report.latex.read_text(encoding="utf-8")
    _check_latex(tex)
    latex_row = " & ".join(c.replace("-", "$-$", 1) if c[:1] == "-" else c for c in x265_row)
    assert latex_row.replace("%", r"\%") + r" \\" in tex
    parser = _Cells()
    parser.feed(report.html.read_text(encoding="utf-8"))
    assert header in parser.rows and x265_row in parser.rows


def test_unknown_style_and_glvc_without_its_metrics(run_dir, tmp_path):
    with pytest.raises(ConfigError, match="style='jvet'"):
        build_report(run_dir, out_dir=tmp_path / "a", style="jvet", figures=False)
    summary = pd.DataFrame(
        {
            "reference": ["source"],
            "anchor": ["source"],
            "metric": ["psnr_y"],
            "codec": ["x265"],
            "group": ["Overall"],
            "bd_rate": [-3.0],
        }
    )
    with pytest.raises(ConfigError, match="dists or lpips"):
        glvc_table({"UVG": summary}, reference="source", anchor="source")
    two = glvc_table(
        {
            "UVG": summary.assign(metric="lpips"),
            "MCL-JCV": summary.assign(metric="lpips", bd_rate=-5.0),
        },
        reference="source",
        anchor="source",
    )
    assert two.to_dict("records") == [{"Codec": "x265", "UVG LPIPS": -3.0, "MCL-JCV LPIPS": -5.0}]


def test_rate_control_table_layout_and_average():
    from vqabench.reports.tables import rate_control_table

    per = pd.DataFrame(
        {
            "sequence": ["A", "B", "A", "B"],
            "reference": "source",
            "anchor": "source",
            "metric": "psnr_y",
            "codec": ["x264-2pass", "x264-2pass", "x265-2pass", "x265-2pass"],
            "delta_r_pct": [2.0, 4.0, 1.0, float("nan")],
            "bd_rate": [1.5, 2.5, -20.0, -30.0],
        }
    )
    table = rate_control_table(per, metric="psnr_y", reference="source", anchor="source")
    assert list(table.columns) == [
        "Sequence",
        "x264-2pass ΔR %",
        "x264-2pass BD-rate %",
        "x265-2pass ΔR %",
        "x265-2pass BD-rate %",
    ]
    assert list(table["Sequence"]) == ["A", "B", "Average"]
    assert table.iloc[2, 1:].tolist() == [3.0, 2.0, 1.0, -25.0]  # NaN left out of the mean
    assert "\\midrule\nAverage" in to_latex(table)
