"""Analysis of answers: neutral handling by hand, screening, and a synthetic ACR study whose
true scores are recovered within their intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.studies.conftest import fresh_copy, record_answers
from vqabench.errors import ConfigError
from vqabench.studies import analyze_study, load_spec, participant_plan
from vqabench.studies.analyze import SCORE_COLUMNS, analyze_answers, pooled_preferences
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
    target = next(
        t
        for t in spec["trials"]
        if t["kind"] == "test" and not any(r.get("repeat_of") == t["id"] for r in spec["trials"])
    )

    def who(choice_on_target):
        def decide(t):
            if t["kind"] == "attention":
                return "a"
            return choice_on_target if t["id"] == target["id"] else "a"

        return decide

    rows = (
        _answers(spec, "p0", who("a"))
        + _answers(spec, "p1", who("a"))
        + _answers(spec, "p2", who("neutral"))
        + _answers(spec, "p3", who("b"))
        + _answers(spec, "p4", lambda t: "b")
    )  # p4 fails both attention trials
    half, _ = analyze_answers(spec, rows, resamples=20)
    excl, _ = analyze_answers(spec, rows, resamples=20, neutral="exclude")
    obs = half.observers.set_index("participant")
    assert obs.loc["p4", "removed"] and obs.loc["p4", "reason"] == "failed 2 of 2 attention trials"
    assert not obs.loc[["p0", "p1", "p2", "p3"], "removed"].any()

    def pref(result):
        p = result.preferences
        cond = {c["id"]: c for c in spec["conditions"]}
        a, b = cond[target["a"]], cond[target["b"]]
        row = p[
            (p["sequence"] == a["sequence"])
            & (p["a_codec"] == a["codec"])
            & (p["a_rate_point"] == a["rate_point"])
            & (p["b_codec"] == b["codec"])
            & (p["b_rate_point"] == b["rate_point"])
        ].iloc[0]
        return row

    r = pref(half)
    assert (r["answers"], r["a_wins"], r["b_wins"], r["neutral"]) == (4, 2, 1, 1)
    assert r["preference_a"] == 2.5 / 4  # neutral counted half
    r = pref(excl)
    assert r["preference_a"] == 2 / 3  # neutral left out
    ci = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert (r["lo"], r["hi"]) == pytest.approx((ci.low, ci.high))
    assert tuple(half.scores.columns) == SCORE_COLUMNS
    assert set(half.scores["metric"]) == {"jod"}  # Thurstone Case V by default


def test_2afc_sequence_not_connected_is_not_scaled(study_2afc):
    spec = load_spec(study_2afc)
    cond = {c["id"]: c for c in spec["conditions"]}
    rows = _answers(spec, "p0", lambda t: "a")
    # without the ladder pairs (same codec), x264 at qp=30 is compared with nothing in Alpha
    ladder = {
        t["id"]
        for t in spec["trials"]
        if t["kind"] == "test"
        and cond[t["a"]]["codec"] == cond[t["b"]]["codec"]
        and t["sequence"] == "Alpha"
    }
    result, extra = analyze_answers(spec, [a for a in rows if a.trial not in ladder], resamples=20)
    alpha = result.scores[result.scores["sequence"] == "Alpha"]
    beta = result.scores[result.scores["sequence"] == "Beta"]
    assert alpha["value"].isna().all() and not beta["value"].isna().any()
    assert extra["notes"][0] == (
        "Alpha: not scaled, the answers do not connect all its conditions (scores NaN)"
    )
    # one participant who always chose "a": in Beta the pairs are unanimous
    assert extra["notes"][1].startswith(
        "Beta: Thurstone (JOD) scores depend on the prior "
        "(x264 qp=40 never preferred; x264 qp=30, x265 qp=30 "
        "never beaten;"
    )
    assert extra["notes"][2] == (
        "Beta: one participant answered, so there is no interval over participants (lo, hi NaN)"
    )
    assert beta[["lo", "hi"]].isna().all().all() and len(extra["notes"]) == 3


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
        m["id"] for m in spec["media"]["items"] if m["kind"] == "source"
    ]
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
            expected = _expected_score(true[by_id[(row.sequence, row.codec, row.rate_point)]], 0.7)
            inside.append(row.lo <= expected <= row.hi)
            errors.append(row.value - expected)
        hidden = extra["hidden_reference"]
        assert set(hidden) == {"Alpha", "Beta"} and all(v[3] == len(kept) for v in hidden.values())
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

    rows = _answers(
        spec,
        "deviant",
        lambda t: (
            1 if t["kind"] == "attention" else (5 if order.index(t["condition"]) % 2 == 0 else 1)
        ),
    )
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


Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def test_pooled_preferences_by_hand():
    """Two sequences, x265 against x264: (3 wins, 1 neutral, 2 losses) + (1, 0, 4), and a
    row with the codecs the other way round (x264 won 2, x265 won 1) counted with its sides
    swapped: x265 5 wins, 1 neutral, 8 losses of 14 answers = 35.7 %, 7.1 %, 57.1 %. The
    ladder pair (x264 against x264) is left out; vp9 against x264 had no answers (NaN %)."""
    prefs = pd.DataFrame(
        [
            ["A", "x265", "x264", 6, 3, 2, 1],
            ["B", "x265", "x264", 5, 1, 4, 0],
            ["B", "x264", "x265", 3, 2, 1, 0],
            ["A", "x264", "x264", 6, 6, 0, 0],
            ["A", "vp9", "x264", 0, 0, 0, 0],
        ],
        columns=["sequence", "a_codec", "b_codec", "answers", "a_wins", "b_wins", "neutral"],
    )
    table = pooled_preferences(prefs)
    assert table.iloc[0][
        ["codec_a", "codec_b", "sequences", "pairs", "answers", "a_wins", "neutral", "b_wins"]
    ].tolist() == ["x265", "x264", 2, 3, 14, 5, 1, 8]
    assert table.iloc[0][["a_pct", "neutral_pct", "b_pct"]].tolist() == pytest.approx(
        [500 / 14, 100 / 14, 800 / 14]
    )
    assert table.iloc[1][["codec_a", "codec_b", "answers"]].tolist() == ["vp9", "x264", 0]
    assert table.iloc[1][["a_pct", "neutral_pct", "b_pct"]].isna().all()
    assert len(table) == 2


def _unanimous(t):
    return "a" if t["kind"] == "attention" else "b"  # the first video of a pair never wins


def test_unanimous_2afc_study_is_analysed_with_report_and_figures(study_2afc, tmp_path):
    """Nine participants always prefer the second video of every pair: 0 of 9 everywhere.
    Wilson: [0, z^2 / (9 + z^2)] = [0, 0.2991] exactly at 0 (rounding gave 2.8e-17, which
    crashed the preference figure). Pairs (design: each x265 point against the x264 point
    nearest in rate, and the rate ladders): x265 qp=30 and x264 qp=30 only appear first and
    never win; x264 qp=40 only second and is never beaten, so neither Thurstone nor
    Bradley-Terry has a maximum-likelihood answer and the report says the scores depend on
    the prior (on alpha with method="bt"). Pooled: x265 against
    x264 in 2 pairs x 2 sequences x 9 answers = 36 losses of x265."""
    study = fresh_copy(study_2afc, tmp_path / "s")
    record_answers(study, [f"p{k}" for k in range(9)], _unanimous)
    result = analyze_study(study, resamples=20)
    prefs = pd.read_csv(study / "analysis" / "preferences.csv")
    assert (prefs["a_wins"] == 0).all() and (prefs["b_wins"] == 9).all()
    assert (prefs["lo"] == 0.0).all()
    assert np.allclose(prefs["hi"], Z95**2 / (9 + Z95**2), atol=1e-12)
    assert (study / "analysis" / "preferences.png").stat().st_size > 0
    assert (study / "analysis" / "scores_jod.png").stat().st_size > 0
    report = (study / "analysis" / "report.md").read_text()
    assert "![preferences](preferences.png)" in report and "scores_jod.png" in report
    for seq in ("Alpha", "Beta"):
        note = next(n for n in result.notes if n.startswith(seq))
        assert note.startswith(
            f"{seq}: Thurstone (JOD) scores depend on the prior (x264 "
            "qp=30, x265 qp=30 never preferred; x264 qp=40 never beaten;"
        )
        assert all(f"at prior={a}" in note for a in ("0.1", "1", "10"))
        assert note in report
    assert np.isfinite(result.scores["value"]).all()
    # nine identical participants: every bootstrap resample is the same data
    assert (
        "Alpha: every bootstrap resample gave the same scores (the 9 participants "
        "answered alike): intervals of width 0 do not show the uncertainty of so few "
        "answers"
    ) in result.notes
    bt = analyze_study(study, resamples=20, method="bt", figures=False)
    assert bt.notes[0].startswith(
        "Alpha: Bradley-Terry scores depend on --alpha (x264 "
        "qp=30, x265 qp=30 never preferred; x264 qp=40 never beaten;"
    )
    assert all(f"at alpha={a}" in bt.notes[0] for a in ("0.001", "0.01", "0.1"))
    pooled = pd.read_csv(study / "analysis" / "pooled.csv")
    assert pooled[
        [
            "codec_a",
            "codec_b",
            "sequences",
            "pairs",
            "answers",
            "a_wins",
            "neutral",
            "b_wins",
            "a_pct",
            "b_pct",
        ]
    ].values.tolist() == [["x265", "x264", 2, 2 * 2, 36, 0, 0, 36, 0.0, 100.0]]
    assert "## Pooled per codec pair" in report


@pytest.mark.parametrize(
    "options, knob", [({"method": "bt", "alpha": 0}, "alpha"), ({"prior": 0}, "prior")]
)
def test_unanimous_2afc_without_prior_or_regulariser_is_not_scaled(study_2afc, options, knob):
    spec = load_spec(study_2afc)
    rows = sum((_answers(spec, f"p{k}", _unanimous) for k in range(3)), [])
    result, extra = analyze_answers(spec, rows, resamples=10, **options)
    assert result.scores["value"].isna().all() and len(result.scores) == 8
    assert extra["notes"][0] == (
        f"Alpha: not scaled, maximum likelihood (--{knob} 0) has no finite answer (x264 "
        f"qp=30, x265 qp=30 never preferred; x264 qp=40 never beaten); with --{knob} > 0 the "
        "scores depend on its value (scores NaN)"
    )


def test_a_participant_who_left_early_gives_empty_pairs_and_skipped_figures(study_2afc, tmp_path):
    """One participant answers the training trial and two more, then leaves: most pairs
    have no answers (NaN preference and interval, answers 0), no sequence has its four
    conditions connected by two pairs, so every score is NaN and the scores figure is
    skipped with a note; the preference figure is drawn when a test pair was answered."""
    study = fresh_copy(study_2afc, tmp_path / "s")
    record_answers(study, ["solo"], lambda t: "a", limit=3)
    result = analyze_study(study, resamples=10)
    prefs = result.preferences
    empty = prefs[prefs["answers"] == 0]
    assert len(empty) >= len(prefs) - 2
    assert empty[["preference_a", "lo", "hi"]].isna().all().all()
    assert result.scores["value"].isna().all()
    report = (study / "analysis" / "report.md").read_text()
    assert (
        "Figure scores_jod.png (jod against bitrate) not drawn: no finite value (see the "
        "notes above)."
    ) in report
    assert not (study / "analysis" / "scores_jod.png").exists()
    answered = (prefs["answers"] > 0).any()
    assert ("![preferences](preferences.png)" in report) == answered
    assert ("Figure preferences.png (preferences) not drawn" in report) == (not answered)


def test_acr_condition_nobody_rated_is_noted(study_acr):
    spec = load_spec(study_acr)
    skipped = spec["conditions"][0]
    rows = [
        a
        for k in range(3)
        for a in _answers(spec, f"p{k}", lambda t: 1 if t["kind"] == "attention" else 3)
    ]
    trials = {t["id"]: t for t in spec["trials"]}
    rows = [a for a in rows if trials[a.trial].get("condition") != skipped["id"]]
    result, extra = analyze_answers(spec, rows)
    assert len(result.scores[result.scores["metric"] == "mos"]) == 7
    assert extra["notes"] == [
        f"{skipped['sequence']} {skipped['codec']} "
        f"{skipped['rate_point']}: no score, no kept participant rated it",
        "mos_mle: the subject model (SUREAL) has no estimate here, "
        "scores NaN: ratings='subject p0 fitted exactly (inconsistency "
        "0: the likelihood has no maximum)' is not allowed: expected "
        "ratings from which every subject deviates by noise",
    ]
    mle = result.scores[result.scores["metric"] == "mos_mle"]
    assert len(mle) == 7 and mle["value"].isna().all()  # everybody rated 3: no maximum


def test_acr_mos_screened_mos_and_subject_model_side_by_side(study_acr, tmp_path):
    """Twenty observers rate true + bias + N(0, v) (unrounded, so the model holds), one of
    them harsh (bias -1.2, v 0.2), and an erratic one alternately +-2 off (rejected by
    BT.500). mos_plain is the mean over all 21, mos the mean without the erratic one,
    mos_mle the subject model over all 21; observers.csv recovers the harsh observer's
    bias within its interval and ranks the erratic one least consistent; report.md shows the
    three side by side."""
    from vqabench.studies.subject_model import subject_model_mle

    study = fresh_copy(study_acr, tmp_path / "s")
    spec = load_spec(study)
    order = sorted({t["condition"] for t in spec["trials"] if t["kind"] == "test"})
    true = dict(zip(order, np.linspace(1.8, 4.4, len(order)), strict=True))
    rng = np.random.default_rng(4)
    bias = {f"p{k:02d}": b for k, b in enumerate([-1.2] + list(rng.normal(0, 0.3, 19)))}
    bias = {p: b - np.mean(list(bias.values())) for p, b in bias.items()}
    noise = {p: 0.2 if p == "p00" else 0.5 for p in bias}

    value = {(p, c): true[c] + bias[p] + rng.normal(0, noise[p]) for p in bias for c in order}
    value |= {("erratic", c): true[c] + (2 if k % 2 else -2) for k, c in enumerate(order)}

    def rater(pid, kind=float):
        def decide(t):
            if t["kind"] == "attention":
                return 1
            v = value[(pid, t["condition"])]
            return v if kind is float else int(np.clip(np.rint(v), 1, 5))

        return decide

    rows = []
    for pid in [*bias, "erratic"]:
        rows += _answers(spec, pid, rater(pid))
        record_answers(study, [pid], rater(pid, int))  # the database holds scores 1-5
    result, _ = analyze_answers(spec, rows)
    obs = result.observers.set_index("participant")
    assert obs.loc["erratic", "reason"].startswith("BT.500 screening")
    assert obs["removed"].sum() == 1
    matrix = np.array(
        [
            [
                next(
                    a.score
                    for a in rows
                    if a.participant == p
                    and {t["id"]: t for t in spec["trials"]}[a.trial].get("condition") == c
                    and {t["id"]: t for t in spec["trials"]}[a.trial]["kind"] == "test"
                )
                for c in order
            ]
            for p in [*bias, "erratic"]
        ]
    )
    by_key = {
        (c["sequence"], c["codec"], c["rate_point"]): order.index(c["id"])
        for c in spec["conditions"]
    }
    fit = subject_model_mle(matrix)
    for metric, expected in (
        ("mos_plain", matrix.mean(axis=0)),
        ("mos", matrix[:-1].mean(axis=0)),
        ("mos_mle", fit.quality),
    ):
        part = result.scores[result.scores["metric"] == metric]
        assert len(part) == 8
        for row in part.itertuples():
            assert row.value == pytest.approx(
                expected[by_key[(row.sequence, row.codec, row.rate_point)]]
            )
            assert row.n == (20 if metric == "mos" else 21)
    mle = result.scores[result.scores["metric"] == "mos_mle"]
    assert (mle["lo"] < mle["value"]).all() and (mle["value"] < mle["hi"]).all()
    assert obs.loc["p00", "mle_bias_lo"] < bias["p00"] < obs.loc["p00", "mle_bias_hi"]
    assert obs["mle_inconsistency"].idxmax() == "erratic"
    assert obs.loc["p00", "mle_inconsistency"] == pytest.approx(0.2, abs=0.15)
    # the files, from the rounded scores in the database
    analyze_study(study, resamples=20, figures=False)
    report = (study / "analysis" / "report.md").read_text()
    assert "### MOS, screened MOS and subject model side by side" in report
    assert "mos_plain_lo" in report and "mos_mle_hi" in report and "`mos_mle`" in report
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    assert set(scores["metric"]) == {"mos", "dmos", "mos_plain", "mos_mle"}
    assert np.isfinite(scores["value"]).all()
    observers = pd.read_csv(study / "analysis" / "observers.csv").set_index("participant")
    assert observers.loc["p00", "mle_bias"] < -0.8 and np.isfinite(observers["mle_bias"]).all()


def test_2afc_observer_answering_opposite_is_listed_and_can_be_excluded(study_2afc, tmp_path):
    """Eleven observers prefer the higher bitrate with P = Phi(d / s), d in JOD from the
    bitrate ratio; one answers the opposite way. pwcmp's outlier analysis lists only them in
    observers.csv and report.md; --exclude-outliers removes them (fewer answers per score)."""
    study = fresh_copy(study_2afc, tmp_path / "s")
    spec = load_spec(study)
    cond = {c["id"]: c for c in spec["conditions"]}
    rng = np.random.default_rng(0)

    def observer(sign):
        def decide(t):
            if t["kind"] == "attention":
                return "a"
            d = sign * 4 * np.log2(cond[t["a"]]["kbps"] / cond[t["b"]]["kbps"])
            return "a" if rng.random() < stats.norm.cdf(d * stats.norm.ppf(0.75)) else "b"

        return decide

    record_answers(study, ["opposite"], observer(-1))
    record_answers(study, [f"p{k:02d}" for k in range(11)], observer(1))
    result = analyze_study(study, resamples=20, figures=False)
    observers = pd.read_csv(study / "analysis" / "observers.csv").set_index("participant")
    assert observers.index[observers["outlier"]].tolist() == ["opposite"]
    assert observers["outlier_loglik"].idxmin() == "opposite"
    assert not observers["removed"].any()
    d = observers.loc["opposite", "outlier_distance"]
    report = (study / "analysis" / "report.md").read_text()
    assert f"listed beyond 1.5: opposite ({d:.2f}) (kept; --exclude-outliers" in report
    n_all = result.scores["n"].sum()
    excluded = analyze_study(study, resamples=20, figures=False, exclude_outliers=True)
    obs = excluded.observers.set_index("participant")
    assert obs.loc["opposite", "removed"] and obs["removed"].sum() == 1
    assert obs.loc["opposite", "reason"] == (
        f"pwcmp outlier: log-likelihood {d:.2f} IQR below the first quartile"
    )
    assert excluded.scores["n"].sum() < n_all


def test_answers_failing_the_servers_timing_remove_their_participant(study_2afc):
    """64x64, 8 frames at 25 fps side by side: the minimum viewing time is 320 ms. An answer
    fails when the server served fewer than its 3 videos or answered it sooner; answers
    without server timing are not screened; the client's response_ms is not used."""
    spec = load_spec(study_2afc)

    def timed(pid, served_ms, fetched, *, only_first=False):
        rows = _answers(spec, pid, lambda t: "a")
        out, first = [], True
        for a in rows:
            hit = spec["trials"][0]["id"] != a.trial and (first or not only_first)
            first = first and not hit
            out.append(
                Answer(
                    *[
                        getattr(a, f)
                        for f in (
                            "participant",
                            "position",
                            "trial",
                            "swapped",
                            "side",
                            "choice",
                            "score",
                        )
                    ],
                    60000,
                    0.0,
                    served_ms if hit else 320,
                    fetched if hit else 3,
                    3,
                )
            )
        return out

    rows = (
        timed("ok", 320, 3)
        + timed("one_unfetched", 320, 2, only_first=True)
        + timed("fast", 319, 3)
        + timed("no_page", None, 3, only_first=True)
        + _answers(spec, "untimed", lambda t: "a")
    )
    n = len(participant_plan(spec, "ok")) - 1  # the training trial is not analysed
    result, _ = analyze_answers(spec, rows, resamples=10)
    obs = result.observers.set_index("participant")
    assert obs["timing_measured"].to_dict() == {
        "fast": n,
        "no_page": n,
        "ok": n,
        "one_unfetched": n,
        "untimed": 0,
    }
    assert obs["timing_failed"].to_dict() == {
        "fast": n,
        "no_page": 1,
        "ok": 0,
        "one_unfetched": 1,
        "untimed": 0,
    }
    assert sorted(obs.index[obs["removed"]]) == ["fast", "no_page", "one_unfetched"]
    assert obs.loc["one_unfetched", "reason"] == (
        f"failed the server's timing on 1 of {n} answers (videos not fetched: 1; faster than "
        "the minimum viewing time: 0)"
    )
    assert obs.loc["no_page", "reason"].endswith(
        "(videos not fetched: 0; faster than the minimum viewing time: 1)"
    )
    lenient, _ = analyze_answers(spec, rows, resamples=10, max_timing_failures=1)
    assert list(lenient.observers.loc[lenient.observers["removed"], "participant"]) == ["fast"]
    with pytest.raises(ConfigError, match="max_timing_failures=-1"):
        analyze_answers(spec, rows, max_timing_failures=-1)
