"""Analysis of answers: neutral handling by hand, screening, and a synthetic ACR study whose
true scores are recovered within their intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vqabench.studies import load_spec, participant_plan
from vqabench.studies.analyze import SCORE_COLUMNS, analyze_answers
from vqabench.studies.db import Answer

pytestmark = pytest.mark.slow  # shares one run fixture that takes ~10-30 s to build


def _answers(spec, pid, decide):
    """Answers of ``pid`` for every trial of their plan; ``decide(trial) -> choice|score``."""
    trials = {t["id"]: t for t in spec["trials"]}
    out = []
    for pos, (tid, swapped) in enumerate(participant_plan(spec, pid)):
        value = decide(trials[tid])
        if spec["design"] == "2afc":
            out.append(Answer(pid, pos, tid, swapped, None, value, None, 800, 0.0))
        else:
            out.append(Answer(pid, pos, tid, False, None, None, value, 800, 0.0))
    return out


def test_2afc_neutral_half_or_excluded_and_attention_screening(study_2afc):
    spec = load_spec(study_2afc)
    target = next(t for t in spec["trials"] if t["kind"] == "test" and not any(
        r.get("repeat_of") == t["id"] for r in spec["trials"]))

    def who(choice_on_target):
        def decide(t):
            if t["kind"] == "attention":
                return "a"
            return choice_on_target if t["id"] == target["id"] else "a"
        return decide

    rows = (_answers(spec, "p0", who("a")) + _answers(spec, "p1", who("a"))
            + _answers(spec, "p2", who("neutral")) + _answers(spec, "p3", who("b"))
            + _answers(spec, "p4", lambda t: "b"))  # p4 fails both attention trials
    half, _ = analyze_answers(spec, rows, resamples=20)
    excl, _ = analyze_answers(spec, rows, resamples=20, neutral="exclude")
    obs = half.observers.set_index("participant")
    assert obs.loc["p4", "removed"] and obs.loc["p4", "reason"] == "failed 2 of 2 attention trials"
    assert not obs.loc[["p0", "p1", "p2", "p3"], "removed"].any()

    def pref(result):
        p = result.preferences
        cond = {c["id"]: c for c in spec["conditions"]}
        a, b = cond[target["a"]], cond[target["b"]]
        row = p[(p["sequence"] == a["sequence"]) & (p["a_codec"] == a["codec"])
                & (p["a_rate_point"] == a["rate_point"]) & (p["b_codec"] == b["codec"])
                & (p["b_rate_point"] == b["rate_point"])].iloc[0]
        return row
    r = pref(half)
    assert (r["answers"], r["a_wins"], r["b_wins"], r["neutral"]) == (4, 2, 1, 1)
    assert r["preference_a"] == 2.5 / 4  # neutral counted half
    r = pref(excl)
    assert r["preference_a"] == 2 / 3  # neutral left out
    ci = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert (r["lo"], r["hi"]) == pytest.approx((ci.low, ci.high))
    assert tuple(half.scores.columns) == SCORE_COLUMNS
    assert set(half.scores["metric"]) == {"bt"}


def test_2afc_sequence_not_connected_is_not_scaled(study_2afc):
    spec = load_spec(study_2afc)
    cond = {c["id"]: c for c in spec["conditions"]}
    rows = _answers(spec, "p0", lambda t: "a")
    # without the ladder pairs (same codec), x264 at qp=30 is compared with nothing in Alpha
    ladder = {t["id"] for t in spec["trials"] if t["kind"] == "test"
              and cond[t["a"]]["codec"] == cond[t["b"]]["codec"]
              and t["sequence"] == "Alpha"}
    result, extra = analyze_answers(spec, [a for a in rows if a.trial not in ladder],
                                    resamples=20)
    alpha = result.scores[result.scores["sequence"] == "Alpha"]
    beta = result.scores[result.scores["sequence"] == "Beta"]
    assert alpha["value"].isna().all() and not beta["value"].isna().any()
    assert extra["notes"] == ["Alpha: not scaled, the answers do not connect all its "
                              "conditions (scores NaN)"]


def _expected_score(mu: float, sigma: float) -> float:
    """E[clip(round(mu + N(0, sigma)), 1, 5)] exactly, from the normal CDF."""
    edges = np.array([-np.inf, 1.5, 2.5, 3.5, 4.5, np.inf])
    probs = np.diff(stats.norm.cdf((edges - mu) / sigma))
    return float(np.dot(probs, [1, 2, 3, 4, 5]))


def _synthetic_acr(spec, true, sigma, seed):
    rng = np.random.default_rng(seed)

    def honest(t):
        if t["kind"] == "attention":
            return 1
        return int(np.clip(np.rint(true[t["condition"]] + rng.normal(0, sigma)), 1, 5))

    rows = []
    for k in range(30):
        rows += _answers(spec, f"p{k:02d}", honest)
    rows += _answers(spec, "careless", lambda t: 4)  # rates the degraded video "Good"
    return analyze_answers(spec, rows)


def test_synthetic_acr_study_recovers_true_scores_within_intervals(study_acr):
    """30 simulated observers, scores clip(round(true + N(0, 0.7))) on 1-5; the expected
    score of each condition (exact, from the normal CDF) lies within its 95 % interval in
    about 95 % of cases (20 simulated studies x 8 conditions)."""
    spec = load_spec(study_acr)
    cond_ids = [c["id"] for c in spec["conditions"]] + [
        m["id"] for m in spec["media"]["items"] if m["kind"] == "source"]
    true = dict(zip(cond_ids, np.linspace(1.6, 4.6, len(cond_ids)), strict=True))
    by_id = {(c["sequence"], c["codec"], c["rate_point"]): c["id"] for c in spec["conditions"]}
    inside, errors = [], []
    for seed in range(20):
        result, extra = _synthetic_acr(spec, true, 0.7, seed)
        obs = result.observers.set_index("participant")
        assert obs.loc["careless", "reason"] == "failed 2 of 2 attention trials"
        kept = set(obs.index[~obs["removed"]])  # BT.500 may also remove an honest observer
        assert len(kept) >= 25
        mos = result.scores[result.scores["metric"] == "mos"]
        assert len(mos) == 8 and (mos["n"] == len(kept)).all()
        for row in mos.itertuples():
            expected = _expected_score(true[by_id[(row.sequence, row.codec, row.rate_point)]],
                                       0.7)
            inside.append(row.lo <= expected <= row.hi)
            errors.append(row.value - expected)
        hidden = extra["hidden_reference"]
        assert set(hidden) == {"Alpha", "Beta"} and all(v[3] == len(kept)
                                                        for v in hidden.values())
        assert len(result.scores[result.scores["metric"] == "dmos"]) == 8
    assert np.mean(inside) >= 0.88  # 160 intervals: 0.95 expected, binomial sd 0.017
    assert abs(np.mean(errors)) < 0.05  # unbiased


def test_bt500_screening_removes_an_inconsistent_observer(study_acr):
    """The hand-derived panel of tests/studies/test_scaling.py through the whole analysis:
    ten presentations (8 conditions, 2 hidden references), eleven regular observers and one
    who alternates 5 and 1: P = 5, Q = 5 of N = 10, rejected."""
    spec = load_spec(study_acr)
    order = sorted({t["condition"] for t in spec["trials"] if t["kind"] == "test"})
    regular = [3] * 7 + [2, 2, 4, 4]

    def steady(score):
        return lambda t: 1 if t["kind"] == "attention" else score

    rows = _answers(spec, "deviant", lambda t: 1 if t["kind"] == "attention" else
                    (5 if order.index(t["condition"]) % 2 == 0 else 1))
    for i, score in enumerate(regular):
        rows += _answers(spec, f"r{i:02d}", steady(score))
    result, _ = analyze_answers(spec, rows)
    obs = result.observers.set_index("participant")
    assert obs.loc["deviant", "reason"] == "BT.500 screening: P=5, Q=5 of N=10 scores"
    assert obs["removed"].sum() == 1
    mos = result.scores[result.scores["metric"] == "mos"]
    assert np.allclose(mos["value"], np.mean(regular)) and (mos["n"] == 11).all()


def test_acr_dmos_by_hand(study_acr):
    spec = load_spec(study_acr)
    sources = {m["id"] for m in spec["media"]["items"] if m["kind"] == "source"}

    def decide(score_ref, score_pvs):
        def f(t):
            if t["kind"] == "attention":
                return 1
            return score_ref if t["condition"] in sources else score_pvs
        return f

    rows = _answers(spec, "a", decide(5, 3)) + _answers(spec, "b", decide(4, 3))
    result, _ = analyze_answers(spec, rows)
    dmos = result.scores[result.scores["metric"] == "dmos"]["value"]
    # DV = 3 - 5 + 5 = 3 and 3 - 4 + 5 = 4: DMOS 3.5 for every condition
    assert set(dmos) == {3.5}
    assert math.isclose(result.scores[result.scores["metric"] == "mos"]["value"].iloc[0], 3.0)
