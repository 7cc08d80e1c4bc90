"""vqabench/reports/glvc.py: the GLVC table (DISTS/LPIPS BD-rate per dataset) of several runs.

The synthetic run (tests/reports/conftest.py) has x265 at 0.8x, 0.7x, 0.9x the bits of x264
on sequences A, B, C for every metric (LPIPS BD-rate -20, -30, -10 %: mean -20 %); the second
run halves every x265 rate (-60, -65, -55 %: mean -60 %).
"""

from __future__ import annotations

import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.reports.glvc import build_glvc_report, several_runs_report


def _second(run_maker, path, *, name="other", lpips_net=None):
    run = run_maker(path)
    rows = pd.read_csv(run / "results.csv")
    rows.loc[rows["codec"] == "x265", "kbps"] *= 0.5
    rows.to_csv(run / "results.csv", index=False)
    text = (run / "config.toml").read_text().replace('name = "synthetic"', f'name = "{name}"')
    if lpips_net:
        text = f'metrics = [{{ name = "lpips", net = "{lpips_net}" }}]\n' + text
    (run / "config.toml").write_text(text)
    return run


@pytest.mark.slow
def test_two_runs_one_table_a_dataset_each(run_maker, tmp_path):
    first = run_maker(tmp_path / "run1")
    second = _second(run_maker, tmp_path / "run2")
    report = build_glvc_report([first, second], out_dir=tmp_path / "out")
    md = report.markdown.read_text()
    assert "| Codec | synthetic LPIPS | other LPIPS |" in md
    assert "| x265 | -20.00 | -60.00 |" in md  # hand-derived, see module docstring
    assert "| other | x265 | LPIPS | -60.00 | -65.00 | -55.00 | 0.2500 | 3 |" in md
    bd = pd.read_csv(report.bdrate_csv, keep_default_na=False, na_values=[""])
    overall = bd[bd["sequence"].isna()].set_index("dataset")["bd_rate"]
    assert overall.to_dict() == pytest.approx({"synthetic": -20.0, "other": -60.0})
    assert list(bd.columns[:2]) == ["dataset", "run"] and set(bd["metric"]) == {"lpips"}
    tex = report.latex.read_text()
    assert r"x265 & $-$20.00 & $-$60.00 \\" in tex and report.figures == ()
    same = build_glvc_report([first, run_maker(tmp_path / "run3")], out_dir=tmp_path / "o2")
    assert "| Codec | synthetic (run1) LPIPS | synthetic (run3) LPIPS |" in (
        same.markdown.read_text()
    )  # one dataset name twice: told apart by the run


@pytest.mark.slow
def test_runs_that_measured_differently_or_lack_the_anchor_are_refused(run_maker, tmp_path):
    first = _second(run_maker, tmp_path / "run1", name="a", lpips_net="alex")
    second = _second(run_maker, tmp_path / "run2", name="b", lpips_net="vgg")
    with pytest.raises(
        ConfigError,
        match=r"cannot merge runs 'run1' and 'run2' into one GLVC "
        r"table: metric 'lpips' differs \(.*net alex vs vgg",
    ):
        build_glvc_report([first, second], out_dir=tmp_path / "out")
    third = run_maker(tmp_path / "run3")
    rows = pd.read_csv(third / "results.csv")
    rows.assign(codec=rows["codec"].replace("x264", "vp9")).to_csv(
        third / "results.csv", index=False
    )
    with pytest.raises(
        ConfigError,
        match=r"anchor='x264' is not a codec of run\(s\) 'run3' "
        r"\(vp9, x265\)",
    ):
        build_glvc_report(
            [run_maker(tmp_path / "run4"), third], out_dir=tmp_path / "out", anchor_codec="x264"
        )
    with pytest.raises(ConfigError, match="out=None"):
        build_glvc_report([first], out_dir=None)
    with pytest.raises(ConfigError, match="style='clic'"):
        several_runs_report([first, second], style="clic", figures="none")
    with pytest.raises(ConfigError, match="figures='all'"):
        several_runs_report([first, second], style="glvc", figures="all")
    with pytest.raises(ConfigError, match="layout='poster'"):
        several_runs_report([first, second], style="glvc", figures="none", layout="poster")
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.mark.slow
def test_a_dataset_column_splits_one_run_into_datasets(run_maker, tmp_path):
    """A run of several datasets (results.csv with a ``dataset`` column) gives one column
    per dataset: A and B in "uvg" (-20, -30 %: -25 %), C in "mcl" (-10 %)."""
    run = run_maker(tmp_path / "run1")
    rows = pd.read_csv(run / "results.csv")
    rows.assign(dataset=rows["sequence"].map({"A": "uvg", "B": "uvg", "C": "mcl"})).to_csv(
        run / "results.csv", index=False
    )
    md = build_glvc_report([run], out_dir=tmp_path / "out").markdown.read_text()
    assert "| Codec | uvg LPIPS | mcl LPIPS |" in md and "| x265 | -25.00 | -10.00 |" in md
