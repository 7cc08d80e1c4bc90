"""CLI tests of ``vqabench correlate`` and ``vqabench rq`` (vqabench/cli/evaluate.py): the
numbers they print and write checked against scipy and hand-derived fits, and bad input
answered with one line, exit code 2 and no traceback."""

from __future__ import annotations

import io
import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.cli.conftest import run_items, synthetic_run
from tests.conftest import run_cli as _main
from tests.studies.conftest import tiny_run  # noqa: F401 (fixture)


def test_correlate_command(tmp_path, capsys):
    rng = np.random.default_rng(0)
    mos = rng.uniform(1, 5, 30)
    df = pd.DataFrame({"mos": mos, "a": mos + rng.normal(0, 0.3, 30), "b": rng.normal(size=30)})
    df.to_csv(tmp_path / "s.csv", index=False)
    assert (
        _main(
            [
                "correlate",
                str(tmp_path / "s.csv"),
                "--label",
                "mos",
                "--metrics",
                "a,b",
                "--out",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    table = pd.read_csv(tmp_path / "c.csv").set_index("metric")
    assert table.loc["a", "srocc"] == pytest.approx(stats.spearmanr(df["a"], mos).statistic)
    assert _main(["correlate", str(tmp_path / "s.csv"), "--label", "dmos", "--metrics", "a"]) == 2
    assert "label='dmos'" in capsys.readouterr().err


def test_rq_command(tmp_path):
    run = synthetic_run(tmp_path / "run")
    assert _main(["rq", str(run), "--out", str(tmp_path / "rq.csv")]) == 0
    rq = pd.read_csv(tmp_path / "rq.csv")
    log = rq[(rq["model"] == "logarithmic") & (rq["sequence"] == "A") & (rq["codec"] == "x264")]
    # quality = 30 + 3 * log2(kbps / 1000) exactly: slope 3 / ln 2 per ln(kbps), R² = 1
    assert log["b"].iloc[0] == pytest.approx(3 / np.log(2))
    assert log["r2"].iloc[0] == pytest.approx(1.0)


@pytest.mark.slow
def test_rq_figures_are_written_next_to_the_table(tmp_path, capsys):
    run = synthetic_run(tmp_path / "run")
    assert _main(["rq", str(run), "--figures", str(tmp_path / "figs")]) == 0
    names = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert names == ["rq_A_psnr_y.png", "rq_B_psnr_y.png"]  # one per sequence and metric
    assert (tmp_path / "figs" / "rq_A_psnr_y.png").read_bytes()[:4] == b"\x89PNG"
    assert _main(["rq", str(run), "--axis", "parameter", "--figures", str(tmp_path)]) == 2
    assert "--figures=" in capsys.readouterr().err


@pytest.mark.slow
def test_rq_parameter_axis(tmp_path, capsys):
    run = synthetic_run(tmp_path / "run")
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


@pytest.mark.slow
def test_correlate_with_a_proxy_label_by_codec(tiny_run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "corr.csv"
    assert (
        _main(
            [
                "correlate",
                str(tiny_run),
                "--label",
                "vmaf@source",
                "--metrics",
                "psnr_y",
                "--by",
                "codec",
                "--fit",
                "none",
                "--bootstrap",
                "50",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out).set_index("codec")
    psnr, vmaf = run_items(tiny_run, "psnr_y"), run_items(tiny_run, "vmaf")
    for codec in ("x264", "x265"):
        part = psnr.index.get_level_values("codec") == codec
        assert table.loc[codec, "n"] == 4
        assert table.loc[codec, "krocc"] == pytest.approx(
            stats.kendalltau(psnr[part], vmaf[part])[0]
        )
    assert table.loc["all", "srocc"] == pytest.approx(stats.spearmanr(psnr, vmaf)[0])
    assert table.loc["all", "srocc_lo"] <= table.loc["all", "srocc"] <= table.loc["all", "srocc_hi"]
    # logistic4 (the default) needs 5 items: the 4-item groups say so instead of a number
    assert (
        _main(
            [
                "correlate",
                str(tiny_run),
                "--label",
                "vmaf@source",
                "--metrics",
                "psnr_y",
                "--by",
                "codec",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "not computed: predictions='4 items' is not allowed" in printed
    assert (
        _main(
            [
                "correlate",
                str(tiny_run),
                "--label",
                "vmaf@source",
                "--metrics",
                "psnr_y",
                "--format",
                "latex",
            ]
        )
        == 0
    )
    assert "\\toprule" in capsys.readouterr().out
    assert (
        _main(
            [
                "correlate",
                str(tiny_run),
                "--label",
                "vmaf@source",
                "--metrics",
                "psnr_y",
                "--by",
                "dataset",
                "--fit",
                "none",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    by_dataset = pd.read_csv(out)
    dataset = tomllib.loads((tiny_run / "config.toml").read_text())["dataset"]["name"]
    assert list(by_dataset["dataset"]) == ["all", dataset]
    assert by_dataset["srocc"].iloc[1] == pytest.approx(stats.spearmanr(psnr, vmaf)[0])


@pytest.mark.slow  # the tiny_run fixture encodes and measures a real run
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--label", "vmaf@source", "--metrics", "ssim"], "metrics='ssim@source' is not allowed"),
        (["--label", "vmaf@source", "--metrics", "psnr_y", "--by", "scene"], "by='scene'"),
        (["--label", "mos=/nonexistent.csv", "--metrics", "psnr_y"], "does not exist"),
    ],
)
def test_correlate_run_errors_are_one_line(tiny_run, capsys, argv, message):  # noqa: F811
    assert _main(["correlate", str(tiny_run), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


@pytest.fixture()
def scores_csv(tmp_path):
    rng = np.random.default_rng(5)
    mos = rng.uniform(1, 5, 25)
    df = pd.DataFrame(
        {"mos": mos, "good": 2 * mos + rng.normal(0, 0.5, 25), "poor": mos + rng.normal(0, 2.0, 25)}
    )
    df.to_csv(tmp_path / "s.csv", index=False)
    return tmp_path / "s.csv", df


def test_correlate_csv_statistics_equal_scipy(scores_csv, tmp_path, capsys):
    path, df = scores_csv
    out = tmp_path / "c.csv"
    assert (
        _main(
            [
                "correlate",
                str(path),
                "--label",
                "mos",
                "--metrics",
                "good,poor",
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("metric")
    written = pd.read_csv(out).set_index("metric")
    for name in ("good", "poor"):
        x, y = df[name], df["mos"]
        want = {
            "n": 25,
            "srocc": stats.spearmanr(x, y).statistic,
            "krocc": stats.kendalltau(x, y).statistic,
            "plcc": stats.pearsonr(x, y).statistic,
            "rmse": float(np.sqrt(np.mean((x - y) ** 2))),
        }  # no mapping for a CSV
        for table in (printed, written):
            got = {k: table.loc[name, k] for k in want}
            assert got == pytest.approx(want, rel=1e-9), name


def test_correlate_csv_with_a_logistic_fit_equals_scipy_curve_fit(scores_csv, tmp_path):
    from scipy.optimize import curve_fit

    path, df = scores_csv
    out = tmp_path / "c.csv"
    assert (
        _main(
            [
                "correlate",
                str(path),
                "--label",
                "mos",
                "--metrics",
                "good",
                "--fit",
                "logistic4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    row = pd.read_csv(out).iloc[0]
    x, y = df["good"].to_numpy(), df["mos"].to_numpy()

    def vqeg_4pl(v, top, bottom, centre, width):  # VQEG's 4-parameter logistic
        return bottom + (top - bottom) / (1 + np.exp(-(v - centre) / abs(width)))

    params, _ = curve_fit(vqeg_4pl, x, y, p0=[y.max(), y.min(), x.mean(), x.std()], maxfev=20000)
    mapped = vqeg_4pl(x, *params)
    assert row["rmse"] == pytest.approx(float(np.sqrt(np.mean((mapped - y) ** 2))), rel=1e-4)
    assert row["plcc"] == pytest.approx(stats.pearsonr(mapped, y).statistic, rel=1e-4)
    # ranks do not change under a monotone mapping
    assert row["srocc"] == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.csv", "--label", "mos", "--metrics", "a"], "does not exist"),
        (["{csv}", "--label", "mos", "--metrics", "nope"], "metrics='nope' is not allowed"),
        (["{csv}", "--label", "mos", "--metrics", "good", "--by", "codec"], "by='codec'"),
        (["{csv}", "--label", "mos", "--metrics", "good", "--format", "xlsx"], "format='xlsx'"),
    ],
)
def test_correlate_csv_errors_are_one_line(scores_csv, capsys, argv, message):
    path, _ = scores_csv
    assert _main(["correlate", *[a.format(csv=path) for a in argv]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and "Traceback" not in err


def test_rq_on_a_missing_run_is_one_line(tmp_path, capsys):
    assert _main(["rq", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("vqabench: error: results file") and "does not exist" in err
