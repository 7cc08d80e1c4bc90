"""``study simulate``: observers following a metric of the run answer through the web app's
answer path, are marked simulated everywhere, and the analysis recovers the truth they were
given (JOD = metric difference * JOD_SIGMA / noise; ACR ratings ordered by the metric)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from tests.studies.conftest import fresh_copy, join, trial_cfg
from vqabench.errors import ConfigError
from vqabench.studies import (
    analyze_study,
    create_app,
    create_study,
    load_spec,
    participant_plan,
)
from vqabench.studies.db import DB_NAME, answers, open_db, participant
from vqabench.studies.sampling import information_gain, posterior
from vqabench.studies.scaling import JOD_SIGMA
from vqabench.studies.simulate import simulate_study, truth_values

slow = pytest.mark.slow  # fixtures that build runs, studies or encodes (seconds each)


def _psnr(tiny_run) -> pd.DataFrame:
    results = pd.read_csv(tiny_run / "results.csv")
    return results[results["metric"] == "psnr_y"]


@slow
def test_2afc_simulation_is_marked_and_recovers_the_scale(study_2afc, tiny_run, tmp_path):
    study = fresh_copy(study_2afc, tmp_path / "s")
    spec = load_spec(study)
    noise = 6.0  # dB: a psnr difference of 0.674 * 6 dB is 1 JOD
    sim = simulate_study(study, observers=80, truth="psnr_y", noise=noise, seed=1)
    assert sim.truth == "psnr_y@source" and sim.higher_is_better
    plan_len = len(spec["trials"])
    assert sim.answers == 80 * plan_len
    with sqlite3.connect(study / DB_NAME) as raw:
        assert raw.execute("SELECT COUNT(*), SUM(simulated) FROM answers").fetchone() == (
            80 * plan_len,
            80 * plan_len,
        )
        agents = {r[0] for r in raw.execute("SELECT user_agent FROM participants")}
    assert agents == {"vqabench study simulate truth=psnr_y@source noise=6 seed=1"}
    result = analyze_study(study, resamples=50, prior=0.1, figures=False)
    # sides go through the app's left/right -> a/b mapping: every attention trial passed
    assert not result.observers["removed"].any()
    assert (result.observers["simulated"] == result.observers["answers"]).all()
    assert result.notes[0].startswith(
        f"{80 * (plan_len - 1)} of {80 * (plan_len - 1)} analysed answers are simulated"
    )
    report = (study / "analysis" / "report.md").read_text()
    assert f"{80 * plan_len} of {80 * plan_len} answers simulated" in report
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    assert (scores["simulated"] == scores["n"]).all() and scores["n"].gt(0).all()
    psnr = _psnr(tiny_run)
    for seq, got in scores.groupby("sequence"):
        truth = psnr[psnr["sequence"] == seq].set_index(["codec", "rate_point"])["value"]
        q = truth.loc[list(zip(got["codec"], got["rate_point"], strict=True))].to_numpy()
        expected = (q - q.mean()) * JOD_SIGMA / noise
        np.testing.assert_allclose(got["value"], expected, atol=0.35)
        assert np.ptp(expected) > 1.5, np.ptp(expected)  # the check has something to recover


@slow
def test_acr_simulation_orders_ratings_by_the_metric(study_acr, tiny_run, tmp_path):
    study = fresh_copy(study_acr, tmp_path / "s")
    simulate_study(study, observers=12, truth="psnr_y@source", noise=0.5, seed=0)
    result = analyze_study(study, resamples=20, figures=False)
    mos = result.scores[result.scores["metric"] == "mos"]
    psnr = _psnr(tiny_run).set_index(["sequence", "codec", "rate_point"])["value"]
    q = psnr.loc[list(zip(mos["sequence"], mos["codec"], mos["rate_point"], strict=True))]
    assert np.corrcoef(q.to_numpy(), mos["value"].to_numpy())[0, 1] > 0.9
    assert mos["value"].between(1, 5).all() and (mos["simulated"] == mos["n"]).all()
    db = open_db(study / DB_NAME)
    assert all(a.simulated for a in answers(db))
    db.close()


@slow
def test_simulate_refuses_bad_arguments(study_2afc, tmp_path):
    study = fresh_copy(study_2afc, tmp_path / "s")
    with pytest.raises(
        ConfigError,
        match=r"truth='lpips' is not allowed: expected a metric "
        r"of the study's runs: psnr_y@source, vmaf@source",
    ):
        simulate_study(study, observers=2, truth="lpips")
    with pytest.raises(ConfigError, match="truth='psnr_y@reference' is not allowed"):
        truth_values(load_spec(study), "psnr_y@reference")
    with pytest.raises(ConfigError, match="noise=0.0 is not allowed"):
        simulate_study(study, observers=2, truth="psnr_y", noise=0.0)
    with pytest.raises(ConfigError, match="observers=0 is not allowed"):
        simulate_study(study, observers=0, truth="psnr_y")
    simulate_study(study, observers=1, truth="vmaf", seed=5, trials=2)
    with pytest.raises(ConfigError, match="seed=5 is not allowed: expected a seed not used"):
        simulate_study(study, observers=1, truth="vmaf", seed=5)


@pytest.fixture(scope="module")
def study_active(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("studies") / "active"
    create_study(
        [tiny_run],
        design="2afc",
        out=out,
        seed=2,
        pairs="all",
        sampling="active",
        attention=1,
        repeat_fraction=0,
    )
    return out


def _assert_most_informative(spec: dict, rows: list) -> int:
    """Replay the answers in the order given: each test trial answered was, when it was
    asked, a trial of largest expected information gain among those its participant had
    not answered. Returns the number of test answers checked."""
    trials = {t["id"]: t for t in spec["trials"]}
    ids = sorted(c["id"] for c in spec["conditions"])
    index = {c: k for k, c in enumerate(ids)}
    wins = np.zeros((len(ids), len(ids)))
    done: dict[str, set] = {}
    checked = 0
    for a in rows:
        t = trials[a.trial]
        if t["kind"] == "test":
            left = [
                u
                for u in trials.values()
                if u["kind"] == "test" and u["id"] not in done.get(a.participant, set())
            ]
            pairs = np.array([(index[u["a"]], index[u["b"]]) for u in left])
            gain = information_gain(*posterior(wins), pairs)
            assert gain[[u["id"] for u in left].index(t["id"])] == pytest.approx(gain.max())
            assert gain.max() > gain.min() + 1e-3 or checked == 0  # a real choice
            i, j = index[t["a"]], index[t["b"]]
            wins[(i, j) if a.choice == "a" else (j, i)] += 1
            checked += 1
        done.setdefault(a.participant, set()).add(a.trial)
    return checked


@slow
def test_active_simulation_asks_the_most_informative_pair(study_active, tiny_run, tmp_path):
    study = fresh_copy(study_active, tmp_path / "s")
    spec = load_spec(study)
    assert spec["sampling"] == "active" and spec["command"][-2:] == ["--sampling", "active"]
    with pytest.raises(ConfigError, match="sampling='active' is not allowed"):
        create_study([tiny_run], design="acr", out=tmp_path / "x", sampling="active")
    simulate_study(study, observers=3, truth="psnr_y", noise=3.0, seed=0, trials=5)
    db = open_db(study / DB_NAME)
    rows = sorted(answers(db), key=lambda a: a.created)
    plans = {pid: participant(db, pid) for pid in ("sim0-0", "sim0-1", "sim0-2")}
    db.close()
    assert len(rows) == 3 * 5
    assert _assert_most_informative(spec, rows) >= 9
    for pid, plan in plans.items():  # the same trials, reordered
        assert sorted(plan) == sorted(participant_plan(spec, pid))


@slow
def test_web_app_shows_the_most_informative_pair(study_active, tmp_path):
    """Participants driving the web app (tokens, CSRF, signed trial references) are shown,
    at every test trial, the pair of largest expected information gain."""
    study = fresh_copy(study_active, tmp_path / "s")
    client = create_app(study).test_client()
    for pid in ("ann", "bob"):
        token, csrf = join(client, pid)
        for position in range(6):
            page = client.get(f"/p/{token}/trial").data.decode()
            assert client.get(f"/p/{token}/trial").data.decode() == page  # a reload: same
            cfg = trial_cfg(page)
            assert cfg["position"] == position
            r = client.post(
                "/api/answer",
                headers={"X-CSRF-Token": csrf},
                json={
                    "study": cfg["study"],
                    "token": token,
                    "trial": cfg["trial"],
                    "position": position,
                    "side": "left" if position % 3 else "right",
                    "response_ms": 500,
                },
            )
            assert r.status_code == 200, r.json
    db = open_db(study / DB_NAME)
    rows = sorted(answers(db), key=lambda a: a.created)
    db.close()
    assert len(rows) == 12 and not any(a.simulated for a in rows)
    assert _assert_most_informative(load_spec(study), rows) >= 8


def test_truth_of_a_lower_is_better_metric(tmp_path):
    """A hand-made run: lpips values per condition, direction from the registry."""
    (tmp_path / "results.csv").write_text(
        "sequence,reference,codec,rate_point,metric,value,anchor\n"
        "A,source,x264,qp=30,lpips,0.1,source\nA,source,x264,qp=40,lpips,0.3,source\n"
        "A,source,x264,qp=30,lpips,0.2,reference\n"
    )
    spec = {
        "runs": [{"path": str(tmp_path)}],
        "conditions": [
            {
                "id": "c0",
                "run": 0,
                "sequence": "A",
                "reference": "source",
                "codec": "x264",
                "rate_point": "qp=30",
            },
            {
                "id": "c1",
                "run": 0,
                "sequence": "A",
                "reference": "source",
                "codec": "x264",
                "rate_point": "qp=40",
            },
        ],
    }
    assert truth_values(spec, "lpips@source") == ({"c0": 0.1, "c1": 0.3}, "lpips@source", False)
    with pytest.raises(ConfigError, match="lpips@reference, lpips@source"):
        truth_values(spec, "lpips")  # measured against two anchors: say which
    with pytest.raises(ConfigError, match="has no finite lpips@reference value"):
        truth_values(spec, "lpips@reference")
