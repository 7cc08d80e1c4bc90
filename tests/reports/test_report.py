"""Tests for vqabench.reports.report on a synthetic run directory (see conftest.py)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from vqabench.errors import ConfigError, DatasetError
from vqabench.reports import build_report
from vqabench.reports.tables import format_number

pytestmark = pytest.mark.slow  # shares one run fixture that takes ~10-30 s to build


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self.cells = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.cells.append(data.strip())


@pytest.fixture(scope="module")
def report(tmp_path_factory, run_maker):
    # figures are slow to render: build the full report once for the module
    root = tmp_path_factory.mktemp("report")
    return build_report(
        run_maker(root / "run"), out_dir=root / "out", formats=("png",), figures="all"
    )


def test_bdrate_csv_values(report):
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    overall = bd[(bd["group"] == "Overall") & (bd["codec"] == "x265")].set_index("metric")
    assert overall.loc["psnr_y", "bd_rate"] == pytest.approx(-25.0, abs=1e-9)
    assert overall.loc["psnr_u", "bd_rate"] == pytest.approx(-20.0, abs=1e-9)
    # weighted YUV (6:1:1) was derived from the components; same shift -> same BD-rate
    assert "psnr_yuv" in overall.index
    assert overall.loc["psnr_y", "n_excluded"] == 1
    assert "excluded C" in overall.loc["psnr_y", "note"]
    seq_c = bd[(bd["sequence"] == "C") & (bd["metric"] == "psnr_y")]
    assert "not strictly monotonic" in seq_c["note"].iloc[0]


def test_markdown_shows_the_numbers_in_bdrate_csv(report):
    md = report.markdown.read_text()
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    for value in bd["bd_rate"].dropna():
        assert f" {format_number(float(value))} |" in md
    assert "| High | x265 |" in md
    assert "Excluded from the means" in md and "C / psnr_y / x265" in md
    for fig in report.figures:
        assert f"]({fig.name})" in md and fig.is_file()


def test_html_links_the_figures_next_to_it(report):
    """Issue 30 item 4: report.html links the PNG files (the old page embedded every figure
    as base64: 9.8 MB for the mini run)."""
    text = report.html.read_text()
    parser = _Collect()
    parser.feed(text)
    assert parser.tables >= 3
    assert parser.imgs == [fig.name for fig in report.figures] and len(parser.imgs) > 5
    assert all((report.out_dir / src).is_file() for src in parser.imgs)
    assert "data:image" not in text
    assert "-25.00" in parser.cells


def test_default_figures_are_the_summary_and_embed_media_is_self_contained(report, tmp_path):
    """Issue 30 item 4: by default only the averaged RD curves (one per metric, and one per
    metric with a panel per reference group: the run has groups), no per-sequence figures;
    ``embed_media`` makes report.html self-contained; figures drawn in two processes are the
    bytes of those drawn in one (the module fixture)."""
    run = report.out_dir.parent / "run"
    small = build_report(run, out_dir=tmp_path / "out", formats=("png",), embed_media=True, jobs=2)
    metrics = sorted(pd.read_csv(run / "results.csv")["metric"].unique()) + ["psnr_yuv"]
    assert [p.name for p in small.figures] == [
        f"rd_{kind}_{m}.png" for kind in ("average", "groups") for m in sorted(metrics)
    ]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(
        p.name for p in small.figures
    )  # no rd_A_psnr_y.png, frames_*, frame_bits_*
    for fig in small.figures:
        assert fig.read_bytes() == (report.out_dir / fig.name).read_bytes()
    text = small.html.read_text()
    parser = _Collect()
    parser.feed(text)
    assert len(parser.imgs) == len(small.figures)
    for src, fig in zip(parser.imgs, small.figures, strict=True):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == fig.read_bytes()
    assert not re.search(r'src="(?!data:)', text)  # nothing loaded from outside
    big = report.markdown.read_text().split("## Figures", 1)[1]
    note = (
        "- Residual Q–Q figures: none drawn: build_report had no residual_fits (vqabench "
        "report passes one)\n\n"
    )  # issue 30 item 6: why the Q–Q figures are missing
    assert big.startswith("\n\n" + note)
    assert small.markdown.read_text().split("## Figures", 1)[1] == (
        big.replace(note, "").split("![RD curve:", 1)[0].rstrip("\n") + "\n"
    )


def test_latex_and_figures(report):
    tex = report.latex.read_text()
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") >= 3
    assert r"$-$25.00" in tex
    names = {p.name for p in report.figures}
    assert "rd_average_psnr_y.png" in names and "frames_A_psnr_y.png" in names
    assert "rd_A_psnr_y.png" in names
    assert {"rq_A_psnr_y.png", "rq_C_lpips.png"} <= names  # R–Q fits under figures="all"
    assert "![R–Q fits: A, psnr_y" in report.markdown.read_text()


def test_anchor_choice_and_errors(run_dir, tmp_path):
    r = build_report(run_dir, anchor_codec="x265", out_dir=tmp_path / "o2", figures=False)
    bd = pd.read_csv(r.bdrate_csv, keep_default_na=False, na_values=[""])
    a = bd[(bd["sequence"] == "A") & (bd["metric"] == "psnr_u")]
    assert a["codec"].tolist() == ["x264"]
    assert a["bd_rate"].iloc[0] == pytest.approx(25.0)  # 1/0.8 - 1
    with pytest.raises(ConfigError, match="anchor='vp9'"):
        build_report(run_dir, anchor_codec="vp9", out_dir=tmp_path / "o3")
    with pytest.raises(DatasetError, match="results"):
        build_report(tmp_path / "empty", out_dir=tmp_path / "o4")


def test_report_order_names_provenance_and_notes(run_maker, tmp_path):
    """Issue 18 item 7: the run's metric order, display names, a provenance block; the
    exclusion sentence only when something is excluded."""
    report = build_report(run_maker(tmp_path / "run"), out_dir=tmp_path / "out", figures=False)
    md = report.markdown.read_text()
    assert "| Group | Codec | PSNR-Y | PSNR-U | PSNR-V | LPIPS | PSNR-YUV |" in md
    assert "psnr_y |" not in md
    assert "## Provenance" in md
    assert "- Codec x264: qp=[22, 27, 32, 37]; version=0.164, preset=medium (default)." in md
    assert "listed under 'Excluded from the means'" in md
    # counts in every table: JVET layout and the Average row of the per-sequence table
    assert "| x265 | -25.00 (2/3) | -20.00 | -20.00 | -25.00 (2/3) | 400.00 | 100.00 |" in md
    assert "| Average | -25.00 (2/3) |" in md and "| Average | -20.00 |" in md
    clean = build_report(
        run_maker(tmp_path / "clean", bad_c=False), out_dir=tmp_path / "o2", figures=False
    ).markdown.read_text()
    assert "Excluded from the means" not in clean and "listed" not in clean
    assert "every per-sequence BD-rate is defined" in clean
    tex = report.latex.read_text()
    assert r"\label{tab:run-1}" in tex and tex.count(r"\label{") == tex.count(r"\toprule")


def _marked(cells: dict[str, str], column: str, mark: str) -> str:
    """The mark of a cell written as ``value<sup>a</sup>`` / ``value\\tnote{a}``."""
    found = re.search(mark, cells[column])
    return found.group(1) if found else ""


def test_each_groups_notes_sit_on_its_cells_in_every_format(run_maker, tmp_path):
    """Issue 30 item 2. x265's curves are shifted up: A's PSNR-Y by 2 dB (group High;
    x264 30..39 dB: overlap [32, 39] of [30, 41] = 64 %) and C's PSNR-U by 1 dB (group
    Low; 38..44 dB: [39, 44] of [38, 45] = 71 %). Each group's cell carries its own note,
    in bdrate.csv (``notes``), Markdown, HTML and LaTeX; the old tables keyed notes by
    (codec, metric) and printed them as comments in tables.tex."""
    run = run_maker(tmp_path / "run")
    results = pd.read_csv(run / "results.csv")
    x265 = results["codec"] == "x265"
    results.loc[x265 & (results["sequence"] == "A") & (results["metric"] == "psnr_y"), "value"] += (
        2.0
    )
    results.loc[x265 & (results["sequence"] == "C") & (results["metric"] == "psnr_u"), "value"] += (
        1.0
    )
    results.to_csv(run / "results.csv", index=False)
    report = build_report(run, out_dir=tmp_path / "out", figures=False)

    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False)
    notes = {(r.group, r.sequence, r.metric): r.notes for r in bd.itertuples()}
    assert notes["High", "A", "psnr_y"] == "overlap(iou=0.6364)"
    assert notes["High", "B", "psnr_y"] == ""
    assert notes["High", "", "psnr_y"] == "overlap(n=1/2,min=0.6364,max=0.6364)"
    assert notes["Overall", "", "psnr_y"] == (
        "overlap(n=1/2,min=0.6364,max=0.6364) excluded(n=1/3)"
    )
    assert notes["Low", "", "psnr_u"] == "overlap(n=1/1,min=0.7143,max=0.7143)"
    assert notes["High", "", "psnr_u"] == notes["Low", "", "psnr_v"] == ""

    high = "small quality overlap on 1 of 2 sequences: 64 % of the union (below 75 %)"
    low = "small quality overlap on 1 of 1 sequence: 71 % of the union (below 75 %)"
    md = report.markdown.read_text().split("## BD-rate (%)", 1)[1].split("\n## ", 1)[0]
    rows = {
        r[0]: dict(zip(["Group", "Codec", "PSNR-Y", "PSNR-U"], r[:4], strict=True))
        for r in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in md.splitlines()
            if line.startswith("| ")
        )
    }
    sup = r"<sup>([a-z,]+)</sup>"
    mark_low, mark_high = _marked(rows["Low"], "PSNR-U", sup), _marked(rows["High"], "PSNR-Y", sup)
    assert mark_low and mark_high and mark_low != mark_high
    assert not _marked(rows["High"], "PSNR-U", sup) and not _marked(rows["Low"], "PSNR-Y", sup)
    assert f"<sup>{mark_low}</sup> {low}  " in md.splitlines()
    assert f"<sup>{mark_high}</sup> {high}  " in md.splitlines()

    page = report.html.read_text()
    first = page.split("<table>", 2)[1]
    assert f"<sup>{mark_low}</sup></td>" in first.split("<td>Low</td>", 1)[1].split("</tr>")[0]
    assert f'colspan="7"><sup>{mark_high}</sup> {high}</td>' in first.split("<tfoot>")[1]

    tex = report.latex.read_text()
    table = tex.split(r"\end{table}", 1)[0]
    low_row = next(line for line in table.splitlines() if line.startswith("Low & x265"))
    assert low_row.split(" & ")[3].endswith(rf"\tnote{{{mark_low}}}")
    notes_tex = table.split(r"\begin{tablenotes}", 1)[1]
    assert rf"\item[{mark_high}] {high.replace(' %', '~' + chr(92) + '%')}" in notes_tex
    assert "\n% " not in tex.split("\n\n", 1)[1]  # no note left as a LaTeX comment


def test_report_nonmonotonic_pareto(run_maker, tmp_path):
    run = run_maker(tmp_path / "run")
    report = build_report(run, out_dir=tmp_path / "out", figures=False, nonmonotonic="pareto")
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    seq_c = bd[(bd["sequence"] == "C") & (bd["metric"] == "psnr_y")].iloc[0]
    # C's x265 curve 30, 33, 40.5, 39 keeps its 3 Pareto points: < 4 points, still excluded
    assert "3 Pareto-efficient point(s)" in seq_c["note"]
    with pytest.raises(ConfigError, match="nonmonotonic='best' is not allowed"):
        build_report(run, out_dir=tmp_path / "o", figures=False, nonmonotonic="best")


def test_yuv_table_drops_components_that_were_not_measured(run_maker, tmp_path):
    run = run_maker(tmp_path / "run")
    results = pd.read_csv(run / "results.csv")
    results[results["metric"] == "psnr_y"].to_csv(run / "results.csv", index=False)
    md = build_report(run, out_dir=tmp_path / "out", figures=False).markdown.read_text()
    assert "| Codec | Y | EncT% | DecT% |" in md


def test_rate_control_tables_appear_only_with_rate_controlled_points(run_maker, tmp_path):
    plain = build_report(run_maker(tmp_path / "plain"), out_dir=tmp_path / "o1", figures=False)
    assert plain.ratecontrol_csv is None and "Rate control" not in plain.markdown.read_text()
    run = run_maker(tmp_path / "rc")
    res = pd.read_csv(run / "results.csv")
    rc = res[res["codec"] == "x264"].copy()
    rc["target_kbps"] = rc["kbps"]
    rc["kbps"] = rc["kbps"] * 1.1  # every point 10 % over its target, same quality
    rc["codec"] = "x264-2pass"
    rc["rate_point"] = "kbps=" + rc["target_kbps"].astype(str)
    pd.concat([res, rc]).to_csv(run / "results.csv", index=False)
    cfg = (run / "config.toml").read_text().replace("[run]\n", '[run]\ntargets_from = "x264"\n')
    (run / "config.toml").write_text(cfg)
    rep = build_report(run, out_dir=tmp_path / "o2", figures=False)
    table = pd.read_csv(rep.ratecontrol_csv)
    seq_rows = table[table["sequence"].notna() & (table["metric"] == "psnr_y")]
    assert seq_rows["delta_r_pct"].to_numpy() == pytest.approx([10.0] * 3)
    # 10 % more bits at equal quality: BD-rate +10 % against x264 (sequence C's x264 curve
    # is fine; only its x265 curve is non-monotonic)
    assert seq_rows["bd_rate"].to_numpy() == pytest.approx([10.0] * 3, abs=1e-6)
    md = rep.markdown.read_text()
    assert "## Rate control: ΔR % / BD-rate (%), psnr_y (BD-rate vs x264, pchip" in md
    assert "| Average | 10.00 | 10.00 |" in md
    assert "Rate control" in rep.latex.read_text()


def _sweep_run(path):
    """x264 (anchor) and three codecs that need 0.9x, 0.8x, 0.7x its bits on A and B: their
    BD-rates are exactly -10, -20 and -30 % on each sequence; config.toml sweeps alpha."""
    rows = []
    for seq in ("A", "B"):
        for codec, factor in (("x264", 1.0), ("s1", 0.9), ("s2", 0.8), ("s3", 0.7)):
            for i, qp in enumerate((22, 27, 32, 37)):
                kbps = 1000.0 * 2.0 ** (3 - i) * factor
                rows.append(
                    [
                        seq,
                        "source",
                        codec,
                        f"qp={qp}",
                        kbps * 1000,
                        kbps / 1e4,
                        kbps,
                        10.0 * (1 + 0.5 * (codec != "x264")),
                        1.0,
                        "psnr_y",
                        30.0 + 3.0 * (3 - i),
                        "source",
                        f"bs/{seq}{codec}{qp}",
                        "Medium",
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
    path.mkdir(parents=True)
    pd.DataFrame(rows, columns=cols).to_csv(path / "results.csv", index=False)
    entries = '[[codecs]]\nname = "inr"\nlabel = "x264"\nmodel = ["xs"]\nloss = "l1_msssim"\n'
    for label, alpha in (("s3", 0.3), ("s1", 0.1), ("s2", 0.2)):
        entries += (
            f'\n[[codecs]]\nname = "inr"\nlabel = "{label}"\nmodel = ["xs"]\n'
            f'loss = "pt_loss"\nalpha = {alpha}\nbatch_frames = 2\n'
        )
    (path / "config.toml").write_text(
        f'[dataset]\nname = "mini"\nframes = 8\nsize = "128x72"\n\n{entries}\n'
        '[run]\nanchor = "x264"\n',
        encoding="utf-8",
    )
    return path


def test_codec_sweep_finds_the_one_numeric_option_that_varies():
    from vqabench.reports.report import codec_sweep

    def entry(label, **opts):
        return {"name": "inr", "label": label, "model": ["xs", "s"], "loss": "pt_loss", **opts}

    config = {
        "codecs": [
            entry("base", loss="l1_msssim"),
            entry("a", alpha=0.1),
            entry("b", alpha=0.2),
            entry("c", alpha=0.4),
        ]
    }
    assert codec_sweep(config) == ("alpha", {"a": 0.1, "b": 0.2, "c": 0.4})
    two = {"codecs": config["codecs"][:3]}
    assert codec_sweep(two) is None  # two values are a comparison, not a sweep
    mixed = {
        "codecs": [entry("a", alpha=0.1), entry("b", alpha=0.2, steps=9), entry("c", alpha=0.4)]
    }
    assert codec_sweep(mixed) is None  # b differs in two options


def test_report_of_a_sweep_has_its_table_and_figure(tmp_path):
    report = build_report(_sweep_run(tmp_path / "run"), out_dir=tmp_path / "out", formats=("png",))
    md = report.markdown.read_text(encoding="utf-8")
    assert "against alpha, Overall mean with 95 % interval" in md
    for alpha, codec, bd in (
        ("0.10", "s1", "-10.00"),
        ("0.20", "s2", "-20.00"),
        ("0.30", "s3", "-30.00"),
    ):
        assert f"| {alpha} | {codec} | {bd} | [{bd}, {bd}] | 2 |" in md  # in alpha order
    assert "| alpha | Codec | PSNR-Y | PSNR-Y 95 % CI | PSNR-Y n |" in md
    assert (tmp_path / "out" / "sweep_alpha.png").is_file()
    assert any("BD-rate against alpha" in line for line in md.splitlines())


def test_ptloss_style_has_the_loss_networks_complexity(tmp_path):
    from vqabench.codecs.losses import loss_complexity

    report = build_report(
        _sweep_run(tmp_path / "run"), out_dir=tmp_path / "out", style="ptloss", figures=False
    )
    md = report.markdown.read_text(encoding="utf-8")
    params, macs = loss_complexity("pt_loss", frames=2, height=72, width=128)
    assert (
        "| Codec | Medium PSNR | Overall PSNR | Loss params (M) | Loss GMAC | EncT% | DecT% |"
    ) in md
    # s1: -10 % in both columns; encoding 1.5x the anchor's time
    assert (
        f"| s1 | -10.00 | -10.00 | {params / 1e6:.2f} | {macs / 1e9:.2f} | 150.00 | 100.00 |"
    ) in md
    assert "training window of 2 frames" in md
    # the means behind Table I: s1 spends 0.9 x (8000 + 4000 + 2000 + 1000) / 4 kbps on
    # average, bpp = kbps / 1e4 = 0.3375; PSNR-Y 39, 36, 33, 30 -> 34.5; 2 x 4 points
    assert "| Group | Codec | bpp | PSNR-Y | Points |" in md
    assert "| Medium | s1 | 0.34 | 34.50 | 8 |" in md


def test_loss_complexity_reads_defaults_and_skips_what_it_cannot_count():
    from vqabench.reports.report import loss_complexity

    config = {
        "dataset": {"name": "mini", "frames": 8, "size": "128x72"},
        "codecs": [
            {"name": "no-such-codec", "qp": [30]},
            {"name": "x264", "qp": [30]},
            {"name": "inr", "label": "a", "model": ["xs"]},
            {"name": "inr", "label": "b", "loss": "lpips", "alpha": 0.2},
            {"name": "inr", "label": "c", "loss": "rankdvqa_ugc"},
        ],
    }
    # a: the inr defaults (l1_msssim, 2-frame batches); b: LPIPS is not counted; c: its
    # 2-frame window is below RankDVQA-UGC's 12 frames, so it has no count either
    assert loss_complexity(config) == {"a": (0, 0, 2)}
    assert loss_complexity({"codecs": config["codecs"]}) == {}  # no size: nothing to count
