"""CLI tests for ``vqabench report | leaderboard | correlate | rq``: mapping and errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vqabench.cli import main


def _run_dir(path):
    rows = []
    for seq, factor in (("A", 0.8), ("B", 0.6)):
        for codec, f in (("x264", 1.0), ("x265", factor)):
            for i, qp in enumerate((22, 27, 32, 37)):
                kbps = 1000.0 * 2.0 ** (3 - i) * f
                rows.append([seq, "source", codec, f"qp={qp}", kbps * 1e3, kbps / 1e4, kbps, 1.0,
                             1.0, "psnr_y", 30.0 + 3 * (3 - i), "source", ""])
    cols = ["sequence", "reference", "codec", "rate_point", "bits", "bpp", "kbps", "enc_s",
            "dec_s", "metric", "value", "anchor", "bitstream"]
    path.mkdir()
    pd.DataFrame(rows, columns=cols).to_csv(path / "results.csv", index=False)
    (path / "config.toml").write_text('[dataset]\nname = "t"\n', encoding="utf-8")
    return path


def _main(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.slow
def test_report_command_writes_files(tmp_path):
    run = _run_dir(tmp_path / "run")
    assert _main(["report", str(run), "--anchor", "x264", "--out", str(tmp_path / "o"),
                  "--no-figures"]) == 0
    bd = pd.read_csv(tmp_path / "o" / "bdrate.csv", keep_default_na=False, na_values=[""])
    overall = bd[(bd["group"] == "Overall") & (bd["metric"] == "psnr_y")]
    assert overall["bd_rate"].iloc[0] == pytest.approx(-30.0)  # mean of -20 and -40
    assert "| x265 | -30.00 |" in (tmp_path / "o" / "report.md").read_text()  # no groups


def test_report_error_is_one_line(tmp_path, capsys):
    run = _run_dir(tmp_path / "run")
    assert _main(["report", str(run), "--anchor", "vp9", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "anchor='vp9'" in err and "x264" in err
    assert _main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_leaderboard_command(tmp_path):
    run = _run_dir(tmp_path / "run")
    out = tmp_path / "lb.csv"
    assert _main(["leaderboard", str(run), "--out", str(out), "--anchor", "x264"]) == 0
    assert pd.read_csv(out)["psnr_y"].iloc[0] == pytest.approx(-30.0)
    assert json.loads((tmp_path / "lb.csv.json").read_text())["runs"][0]["dataset"] == "t"


def test_correlate_command(tmp_path, capsys):
    rng = np.random.default_rng(0)
    mos = rng.uniform(1, 5, 30)
    df = pd.DataFrame({"mos": mos, "a": mos + rng.normal(0, 0.3, 30), "b": rng.normal(size=30)})
    df.to_csv(tmp_path / "s.csv", index=False)
    assert _main(["correlate", str(tmp_path / "s.csv"), "--label", "mos", "--metrics", "a,b",
                  "--out", str(tmp_path / "c.csv")]) == 0
    table = pd.read_csv(tmp_path / "c.csv").set_index("metric")
    assert table.loc["a", "srocc"] == pytest.approx(stats.spearmanr(df["a"], mos).statistic)
    assert _main(["correlate", str(tmp_path / "s.csv"), "--label", "dmos", "--metrics",
                  "a"]) == 2
    assert "label='dmos'" in capsys.readouterr().err


def test_rq_command(tmp_path):
    run = _run_dir(tmp_path / "run")
    assert _main(["rq", str(run), "--out", str(tmp_path / "rq.csv")]) == 0
    rq = pd.read_csv(tmp_path / "rq.csv")
    log = rq[(rq["model"] == "logarithmic") & (rq["sequence"] == "A") & (rq["codec"] == "x264")]
    # quality = 30 + 3 * log2(kbps / 1000) exactly: slope 3 / ln 2 per ln(kbps), R² = 1
    assert log["b"].iloc[0] == pytest.approx(3 / np.log(2))
    assert log["r2"].iloc[0] == pytest.approx(1.0)


@pytest.mark.slow
def test_report_style_and_figure_options(tmp_path, capsys):
    run = _run_dir(tmp_path / "run")
    assert _main(["report", str(run), "--anchor", "x264", "--out", str(tmp_path / "c"),
                  "--style", "clic", "--no-figures", "--seed", "3"]) == 0
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
def test_rq_parameter_axis(tmp_path, capsys):
    run = _run_dir(tmp_path / "run")
    assert _main(["rq", str(run), "--axis", "parameter", "--out", str(tmp_path / "rp.csv")]) == 0
    shown = capsys.readouterr().out
    assert "| Codec | Sequence | linear | exponential | logarithmic | Best |" in shown
    assert "| x264 | Average |" in shown
    rp = pd.read_csv(tmp_path / "rp.csv")
    exp = rp[(rp["model"] == "exponential") & (rp["sequence"] == "A") & (rp["codec"] == "x264")]
    # kbps = 8000 * 2 ** (-(qp - 22) / 5) exactly: R = a exp(b qp), b = -ln 2 / 5, R² = 1
    assert exp["b"].iloc[0] == pytest.approx(-np.log(2) / 5)
    assert exp["a"].iloc[0] == pytest.approx(8000 * 2 ** (22 / 5))
    assert exp["r2"].iloc[0] == pytest.approx(1.0)
    assert _main(["rq", str(run), "--axis", "rate"]) == 2
    assert "--axis='rate' is not allowed" in capsys.readouterr().err
    assert _main(["rq", str(run), "--axis", "parameter", "--level", "frame"]) == 2
    assert "per_frame.csv" in capsys.readouterr().err
