"""CLI tests of ``vqabench study create|analyze`` (and ``correlate`` on a study's scores): the
mapping onto the library, values checked against scipy, and one-line errors."""

from __future__ import annotations

import hashlib
import re
import shutil

import pandas as pd
import pytest
from scipy import stats

from tests.cli.conftest import run_items
from tests.studies.conftest import (  # noqa: F401 (fixtures)
    fresh_copy,
    join,
    record_answers,
    study_2afc,
    study_acr,
    tiny_run,
    trial_cfg,
)
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
    consent = tmp_path / "consent.txt"
    consent.write_text("You will see videos.\n", encoding="utf-8")
    assert (
        _main(
            [
                "study",
                "create",
                str(tiny_run),
                "--design",
                "dcr",
                "--out",
                str(out),
                "--attention",
                "1",
                "--repeats",
                "0",
                "--consent",
                str(consent),
                "--completion-code",
                "generate",
                "--min-view-s",
                "2.5",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "8 conditions, 10 test, 0 repeated, 1 attention trials" in text
    assert "videos at native size, sequential" in text
    spec = load_spec(out)
    assert spec["design"] == "dcr" and all(t["reference"] for t in spec["trials"])
    assert re.fullmatch(r"[0-9A-F]{8}", spec["completion_code"])
    assert f"completion code: {spec['completion_code']}" in text
    assert spec["consent"]["text"] == "You will see videos." and spec["min_view_s"] == 2.5
    cmd = spec["command"]
    assert (cmd[cmd.index("--consent") + 1], cmd[cmd.index("--min-view-s") + 1]) == (
        str(consent),
        "2.5",
    )
    client = create_app(out).test_client()
    assert b"You will see videos." in client.get("/").data
    token, _ = join(client, "x", consent="yes")
    page = client.get(f"/p/{token}/trial").data.decode()
    first = next(t for t in spec["trials"] if t["id"] == participant_plan(spec, "x")[0][0])
    sha = {m["id"]: m["sha256"] for m in spec["media"]["items"]}
    # the reference first, then the processed video; the DCR impairment scale
    urls = re.findall(r'<video id="([\w-]+)" src="([^"]+)"', page)
    assert [slot for slot, _ in urls] == ["reference", "test"]
    for (_, url), media_id in zip(urls, (first["reference"], first["condition"]), strict=True):
        assert hashlib.sha256(client.get(url).data).hexdigest() == sha[media_id]
    assert "1 Very annoying" in page and "5 Imperceptible" in page


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--design", "mos"], "design='mos' is not allowed: expected 2afc | acr | dcr"),
        (["--design", "2afc", "--anchor", "vp9"], "anchor='vp9' is not allowed"),
        (["--design", "2afc", "--pairs", "some"], "pairs='some' is not allowed"),
        (
            ["--design", "dcr", "--screen", "100x60"],
            "screen='100x60' is not allowed: expected at "
            "least 64x64 to show 64x64 videos at native size sequential",
        ),
        (
            ["--design", "2afc", "--screen", "big"],
            "screen='big' is not allowed: expected WIDTHxHEIGHT",
        ),
        (["--design", "acr", "--presentation", "toggle"], "presentation='toggle' is not allowed"),
        (["--design", "acr", "--completion-code", "a b"], "completion_code='a b' is not allowed"),
        (
            ["--design", "acr", "--consent", "/nonexistent.txt"],
            "consent='/nonexistent.txt' is not allowed: expected a readable UTF-8 text file",
        ),
    ],
)
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
        token, csrf = join(client, pid)
        for pos, (tid, _) in enumerate(participant_plan(spec, pid)):
            c = cond.get(trials[tid]["condition"])
            key = c and (c["sequence"], c["reference"], c["codec"], c["rate_point"])
            score = (
                1
                if trials[tid]["kind"] == "attention"
                else (5 if c is None else min(5, max(1, round(vmaf[key] / 25 + offset))))
            )
            ref = trial_cfg(client.get(f"/p/{token}/trial").data.decode())["trial"]
            r = client.post(
                "/api/answer",
                json={
                    "study": spec["study_id"],
                    "token": token,
                    "trial": ref,
                    "position": pos,
                    "score": score,
                    "response_ms": 700,
                },
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 200
    # answered at once without fetching a video: every answer fails the server's timing
    assert _main(["study", "analyze", str(study), "--no-figures", "--bootstrap", "100"]) == 0
    assert "removed a: failed the server's timing on" in capsys.readouterr().out
    assert (
        _main(
            [
                "study",
                "analyze",
                str(study),
                "--no-figures",
                "--bootstrap",
                "100",
                "--max-timing-failures",
                "1000",
            ]
        )
        == 0
    )
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    out = tmp_path / "corr.csv"
    assert (
        _main(
            [
                "correlate",
                str(tiny_run),
                "--label",
                f"mos={study / 'analysis' / 'scores.csv'}",
                "--metrics",
                "psnr_y@source,vmaf@source",
                "--fit",
                "none",
                "--compare-bootstrap",
                "200",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    mos = scores[scores["metric"] == "mos"].set_index(
        ["sequence", "reference", "codec", "rate_point"]
    )["value"]
    psnr = run_items(tiny_run, "psnr_y").loc[mos.index]
    row = table[table["metric"] == "psnr_y@source"].iloc[0]
    assert row["n"] == 8 and row["items"] == "all"
    assert row["srocc"] == pytest.approx(stats.spearmanr(psnr, mos)[0])
    assert row["plcc"] == pytest.approx(stats.pearsonr(psnr, mos)[0])
    comparisons = pd.read_csv(tmp_path / "corr_comparisons.csv")
    assert list(comparisons[["metric_a", "metric_b"]].iloc[0]) == ["psnr_y@source", "vmaf@source"]
    assert "Williams" in capsys.readouterr().out
    # the study's own report has the same table (logistic4 there, 8 items overall)
    own = pd.read_csv(study / "analysis" / "correlation.csv")
    mine = own[
        (own["label"] == "mos") & (own["codec"] == "all") & (own["metric"] == "psnr_y@source")
    ].iloc[0]
    assert mine["srocc"] == pytest.approx(row["srocc"]) and mine["n"] == 8
    assert "## Metrics against these scores" in (study / "analysis" / "report.md").read_text()


@pytest.mark.slow
def test_correlate_refuses_scores_of_another_run(study_acr, tiny_run, tmp_path, capsys):  # noqa: F811
    """The issue's case: a study's scores joined to a run of other frames (here the run's
    directory copied and its config re-made on 4 frames) gave a correlation without a
    warning; now a one-line error naming both hashes and the change, --force to join."""
    from dataclasses import replace

    from vqabench.config import write_config
    from vqabench.experiment import load_config

    study = fresh_copy(study_acr, tmp_path / "s")
    record_answers(study, ["a", "b"], lambda t: 1 if t["kind"] == "attention" else 3)
    assert _main(["study", "analyze", str(study), "--no-figures", "--bootstrap", "20"]) == 0
    other = tmp_path / "other"
    shutil.copytree(tiny_run, other)
    cfg = load_config(other / "config.toml")
    write_config(replace(cfg, frames=4), other / "config.toml")
    capsys.readouterr()
    argv = [
        "correlate",
        str(other),
        "--label",
        f"mos={study / 'analysis' / 'scores.csv'}",
        "--metrics",
        "psnr_y@source",
        "--fit",
        "none",
    ]
    assert _main(argv) == 2
    err = capsys.readouterr().err.strip()
    spec = load_spec(study)
    assert err.count("\n") == 0 and err == (
        f"vqabench: error: run {str(other)!r} is not a run of study {spec['study_id']} "
        f"({str(study)!r}, made from {str(tiny_run)!r}): config "
        f"{replace(cfg, frames=4).identity()[:12]} is not the study's {cfg.identity()[:12]}: "
        "changes frames (8 -> 4); pass --force to join them anyway"
    )
    assert _main([*argv, "--force"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"note: forced (--force): run {str(other)!r} is not a run of study")
    assert "| psnr_y@source |" in out
    # the study's own run: joined without a note
    assert _main(["correlate", str(tiny_run), *argv[2:]]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.slow
def test_analyze_prints_the_prior_note_of_a_unanimous_study(study_2afc, tmp_path, capsys):  # noqa: F811
    study = fresh_copy(study_2afc, tmp_path / "s")
    record_answers(study, ["p0", "p1"], lambda t: "a")
    assert _main(["study", "analyze", str(study), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "note: Alpha: Thurstone (JOD) scores depend on the prior (x264 qp=40 never " in out
    assert "| jod |" in out and (study / "analysis" / "report.md").is_file()
    assert (
        _main(
            [
                "study",
                "analyze",
                str(study),
                "--bootstrap",
                "20",
                "--scaling",
                "bt",
                "--alpha",
                "0.1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "note: Alpha: Bradley-Terry scores depend on --alpha (x264 qp=40 never " in out
    assert "at alpha=0.01, " in out and "| bt |" in out
    assert _main(["study", "analyze", str(study), "--scaling", "tbt"]) == 2
    assert "scaling='tbt' is not allowed: expected thurstone | bt" in capsys.readouterr().err


@pytest.mark.slow
def test_study_simulate_then_analyze_says_simulated(study_2afc, tmp_path, capsys):  # noqa: F811
    study = fresh_copy(study_2afc, tmp_path / "s")
    assert _main(["study", "simulate", str(study), "--truth", "lpips", "--observers", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "truth='lpips' is not allowed" in err
    assert (
        _main(
            [
                "study",
                "simulate",
                str(study),
                "--truth",
                "vmaf",
                "--observers",
                "3",
                "--noise",
                "5",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    n = len(load_spec(study)["trials"])
    assert (
        f"3 simulated observers (sim7-0..) stored {3 * n} answers following vmaf@source "
        "(higher is better) with noise 5"
    ) in capsys.readouterr().out
    assert _main(["study", "analyze", str(study), "--bootstrap", "20", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert f"note: {3 * (n - 1)} of {3 * (n - 1)} analysed answers are simulated" in out


@pytest.mark.slow
def test_analyze_exclude_outliers(study_2afc, tmp_path, capsys):  # noqa: F811
    """Four observers prefer the higher bitrate of every pair, one the lower: pwcmp's outlier
    analysis puts that one infinitely far below the others (interquartile range 0);
    --exclude-outliers removes them and says so."""
    study = fresh_copy(study_2afc, tmp_path / "s")
    cond = {c["id"]: c for c in load_spec(study)["conditions"]}

    def prefer(higher):
        def decide(t):
            if t["kind"] == "attention":
                return "a"
            return "a" if (cond[t["a"]]["kbps"] > cond[t["b"]]["kbps"]) == higher else "b"

        return decide

    record_answers(study, ["lower"], prefer(False))
    record_answers(study, [f"p{k}" for k in range(4)], prefer(True))
    argv = ["study", "analyze", str(study), "--no-figures", "--bootstrap", "20"]
    assert _main(argv) == 0
    assert "removed lower" not in capsys.readouterr().out
    observers = pd.read_csv(study / "analysis" / "observers.csv").set_index("participant")
    assert observers.index[observers["outlier"]].tolist() == ["lower"]
    assert _main([*argv, "--exclude-outliers"]) == 0
    assert (
        "removed lower: pwcmp outlier: log-likelihood inf IQR below the first quartile"
        in capsys.readouterr().out
    )
