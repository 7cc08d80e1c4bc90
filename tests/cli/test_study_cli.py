"""CLI tests of ``vqabench study create|analyze`` (and ``correlate`` on a study's scores): the
mapping onto the library, values checked against scipy, and one-line errors."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from tests.cli.conftest import run_items
from tests.studies.conftest import fresh_copy, study_acr, tiny_run  # noqa: F401 (fixtures)
from vqabench.cli import main
from vqabench.studies import create_app, load_spec, participant_plan

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)


def _main(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.slow
def test_study_create_prints_a_summary(tiny_run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "study"
    assert _main(["study", "create", str(tiny_run), "--design", "dcr", "--out", str(out),
                  "--attention", "1", "--repeats", "0"]) == 0
    text = capsys.readouterr().out
    assert "8 conditions, 10 test, 0 repeated, 1 attention trials" in text
    assert "videos at native size, sequential" in text
    spec = load_spec(out)
    assert spec["design"] == "dcr" and all(t["reference"] for t in spec["trials"])
    client = create_app(out).test_client()
    client.post("/start", data={"participant": "x"})
    page = client.get("/p/x/trial").data.decode()
    first = next(t for t in spec["trials"] if t["id"] == participant_plan(spec, "x")[0][0])
    files = {m["id"]: m["file"] for m in spec["media"]["items"]}
    # the reference first, then the processed video; the DCR impairment scale
    ref = f'id="reference" src="/{files[first["reference"]]}"'
    test = f'id="test" src="/{files[first["condition"]]}"'
    assert ref in page and test in page and page.index(ref) < page.index(test)
    assert "1 Very annoying" in page and "5 Imperceptible" in page


@pytest.mark.parametrize("argv, message", [
    (["--design", "mos"], "design='mos' is not allowed: expected 2afc | acr | dcr"),
    (["--design", "2afc", "--anchor", "vp9"], "anchor='vp9' is not allowed"),
    (["--design", "2afc", "--pairs", "some"], "pairs='some' is not allowed"),
    (["--design", "dcr", "--screen", "100x60"], "screen='100x60' is not allowed: expected at "
     "least 64x64 to show 64x64 videos at native size sequential"),
    (["--design", "2afc", "--screen", "big"], "screen='big' is not allowed: expected WIDTHxHEIGHT"),
    (["--design", "acr", "--presentation", "toggle"], "presentation='toggle' is not allowed"),
])
def test_study_create_errors_are_one_line(tiny_run, tmp_path, capsys, argv, message):  # noqa: F811
    assert _main(["study", "create", str(tiny_run), "--out", str(tmp_path / "s"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


@pytest.mark.slow
def test_analyze_without_answers_is_one_line(study_acr, tmp_path, capsys):  # noqa: F811
    study = fresh_copy(study_acr, tmp_path / "s")
    assert _main(["study", "analyze", str(study)]) == 2
    assert "has no answers yet" in capsys.readouterr().err
    assert _main(["study", "analyze", str(tmp_path / "none")]) == 2
    assert "has no study.json" in capsys.readouterr().err


@pytest.mark.slow
def test_study_scores_correlate_with_the_run(study_acr, tiny_run, tmp_path, capsys):  # noqa: F811
    study = fresh_copy(study_acr, tmp_path / "s")
    spec = load_spec(study)
    trials = {t["id"]: t for t in spec["trials"]}
    cond = {c["id"]: c for c in spec["conditions"]}
    vmaf = run_items(tiny_run, "vmaf")
    client = create_app(study).test_client()
    for pid, offset in (("a", 0.0), ("b", 0.4)):
        client.post("/start", data={"participant": pid})
        for pos, (tid, _) in enumerate(participant_plan(spec, pid)):
            c = cond.get(trials[tid]["condition"])
            key = c and (c["sequence"], c["reference"], c["codec"], c["rate_point"])
            score = 1 if trials[tid]["kind"] == "attention" else (
                5 if c is None else min(5, max(1, round(vmaf[key] / 25 + offset))))
            r = client.post("/api/answer", json={
                "study": spec["study_id"], "participant": pid, "trial": tid, "position": pos,
                "score": score, "response_ms": 700})
            assert r.status_code == 200
    assert _main(["study", "analyze", str(study), "--no-figures", "--bootstrap", "100"]) == 0
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    out = tmp_path / "corr.csv"
    assert _main(["correlate", str(tiny_run), "--label",
                  f"mos={study / 'analysis' / 'scores.csv'}", "--metrics",
                  "psnr_y@source,vmaf@source", "--fit", "none", "--compare-bootstrap", "200",
                  "--out", str(out)]) == 0
    table = pd.read_csv(out)
    mos = scores[scores["metric"] == "mos"].set_index(["sequence", "reference", "codec",
                                                       "rate_point"])["value"]
    psnr = run_items(tiny_run, "psnr_y").loc[mos.index]
    row = table[table["metric"] == "psnr_y@source"].iloc[0]
    assert row["n"] == 8 and row["items"] == "all"
    assert row["srocc"] == pytest.approx(stats.spearmanr(psnr, mos)[0])
    assert row["plcc"] == pytest.approx(stats.pearsonr(psnr, mos)[0])
    comparisons = pd.read_csv(tmp_path / "corr_comparisons.csv")
    assert list(comparisons[["metric_a", "metric_b"]].iloc[0]) == ["psnr_y@source",
                                                                   "vmaf@source"]
    assert "Williams" in capsys.readouterr().out
    # the study's own report has the same table (logistic4 there, 8 items overall)
    own = pd.read_csv(study / "analysis" / "correlation.csv")
    mine = own[(own["label"] == "mos") & (own["codec"] == "all")
               & (own["metric"] == "psnr_y@source")].iloc[0]
    assert mine["srocc"] == pytest.approx(row["srocc"]) and mine["n"] == 8
    assert "## Metrics against these scores" in (study / "analysis" / "report.md").read_text()
