"""CLI tests for ``vqabench report | leaderboard``: mapping and errors (``correlate`` and ``rq``:
test_evaluate_cli.py)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.cli.conftest import synthetic_run
from vqabench.cli import main


def _main(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.slow
def test_report_command_writes_files(tmp_path):
    run = synthetic_run(tmp_path / "run")
    assert (
        _main(
            ["report", str(run), "--anchor", "x264", "--out", str(tmp_path / "o"), "--no-figures"]
        )
        == 0
    )
    bd = pd.read_csv(tmp_path / "o" / "bdrate.csv", keep_default_na=False, na_values=[""])
    overall = bd[(bd["group"] == "Overall") & (bd["metric"] == "psnr_y")]
    assert overall["bd_rate"].iloc[0] == pytest.approx(-30.0)  # mean of -20 and -40
    assert "| x265 | -30.00 |" in (tmp_path / "o" / "report.md").read_text()  # no groups


def test_report_error_is_one_line(tmp_path, capsys):
    run = synthetic_run(tmp_path / "run")
    assert _main(["report", str(run), "--anchor", "vp9", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "anchor='vp9'" in err and "x264" in err
    assert _main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_leaderboard_command(tmp_path):
    run = synthetic_run(tmp_path / "run")
    out = tmp_path / "lb.csv"
    assert _main(["leaderboard", str(run), "--out", str(out), "--anchor", "x264"]) == 0
    assert pd.read_csv(out)["psnr_y"].iloc[0] == pytest.approx(-30.0)
    assert json.loads((tmp_path / "lb.csv.json").read_text())["runs"][0]["dataset"] == "t"


@pytest.mark.slow
def test_report_style_and_figure_options(tmp_path, capsys):
    run = synthetic_run(tmp_path / "run")
    assert (
        _main(
            [
                "report",
                str(run),
                "--anchor",
                "x264",
                "--out",
                str(tmp_path / "c"),
                "--style",
                "clic",
                "--no-figures",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    md = (tmp_path / "c" / "report.md").read_text()
    assert "| Codec | Class | Y | U | V | YUV | EncT% |" in md
    # A -20 %, B -40 %: the interval ends are the two values, p = 2 / 2**2
    assert "| Overall | x265 | PSNR-Y | -30.00 | -40.00 | -20.00 | 0.5000 | 2 |" in md
    bd = pd.read_csv(tmp_path / "c" / "bdrate.csv", keep_default_na=False, na_values=[""])
    overall = bd[(bd["group"] == "Overall") & (bd["metric"] == "psnr_y")].iloc[0]
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx((-40.0, -20.0))
    assert overall["wilcoxon_p"] == pytest.approx(0.5) and overall["n_sequences"] == 2
    for bad in (["--style", "jvet"], ["--formats", "png,eps"], ["--layout", "poster"]):
        assert _main(["report", str(run), "--out", str(tmp_path / "x"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_report_figure_sets_formats_and_progress(tmp_path, capsys):
    """Issue 30 item 4: ``--figures none`` writes the tables only; the default draws the
    summary set (the averaged RD curve of the run's one metric, not the two per-sequence
    curves) as PNG and PDF, with a progress bar on stderr and the time on stdout."""
    run = synthetic_run(tmp_path / "run")
    assert _main(["report", str(run), "--out", str(tmp_path / "t"), "--figures", "none"]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "bdrate.csv",
        "report.html",
        "report.md",
        "tables.tex",
    ]
    assert "Figures" not in (tmp_path / "t" / "report.md").read_text()
    capsys.readouterr()
    assert _main(["report", str(run), "--out", str(tmp_path / "s"), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "s").glob("rd*")) == [
        "rd_average_psnr_y.pdf",
        "rd_average_psnr_y.png",
    ]
    assert "1/1 figures" in captured.err
    assert re.search(r"\(report\.md, .*, 1 figures\) in \d+\.\d s$", captured.out.strip())
    html = (tmp_path / "s" / "report.html").read_text()
    assert 'src="rd_average_psnr_y.png"' in html and "data:image" not in html
    for bad, named in ((["--figures", "some"], "figures='some'"), (["--jobs", "0"], "jobs=0")):
        assert _main(["report", str(run), "--out", str(tmp_path / "x"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err


def test_figures_none_still_checks_layout_and_formats(tmp_path, capsys):
    """Issue 30 item 6: a tables-only report refuses a bad --layout or --formats too (it used
    to skip the check with the figures)."""
    run = synthetic_run(tmp_path / "run")
    for bad, named in (
        (["--layout", "poster"], "layout='poster'"),
        (["--formats", "png,eps"], "formats="),
    ):
        assert (
            _main(["report", str(run), "--out", str(tmp_path / "x"), "--figures", "none", *bad])
            == 2
        )
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err


@pytest.mark.slow
def test_report_of_several_runs_is_one_glvc_table(tmp_path, capsys):
    """``vqabench report RUN1 RUN2 --style glvc --out DIR``: one table, a dataset per run;
    without --out, or with another style, one clear line and exit 2."""
    runs = []
    for name, factor in (("one", 1.0), ("two", 0.5)):
        run = synthetic_run(tmp_path / name)
        rows = pd.read_csv(run / "results.csv")
        rows["metric"] = "lpips"
        rows["value"] = 1.0 - rows["value"] / 40.0  # lower is better, same ordering
        rows.loc[rows["codec"] == "x265", "kbps"] *= factor
        rows.to_csv(run / "results.csv", index=False)
        (run / "config.toml").write_text(f'[dataset]\nname = "{name}"\n')
        runs.append(str(run))
    assert _main(["report", *runs, "--style", "glvc", "--out", str(tmp_path / "g")]) == 0
    md = (tmp_path / "g" / "report.md").read_text()
    # x265 at 0.8x/0.6x the bits (-20/-40 %: -30 %), then 0.4x/0.3x (-60/-70 %: -65 %)
    assert "| Codec | one LPIPS | two LPIPS |" in md and "| x265 | -30.00 | -65.00 |" in md
    assert "report written to" in capsys.readouterr().out
    for extra, named in (([], "out=None"), (["--out", str(tmp_path / "d")], "style='default'")):
        style = [] if named == "style='default'" else ["--style", "glvc"]
        assert _main(["report", *runs, *style, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err
