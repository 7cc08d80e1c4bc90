"""Scaling and MOS statistics against hand-derived cases, scipy and the choix library."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest
from scipy import optimize, stats

from vqabench.errors import ConfigError
from vqabench.studies import scaling


@pytest.mark.parametrize("k, n", [(8, 10), (0, 7), (13, 13), (31, 57)])
def test_wilson_matches_scipy(k, n):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert scaling.wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_wilson_bad_input():
    with pytest.raises(ConfigError, match="successes=11"):
        scaling.wilson_interval(11, 10)
    assert all(math.isnan(v) for v in scaling.wilson_interval(0, 0))


Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


@pytest.mark.parametrize("n", [9, 18, 1])
def test_wilson_unanimous_pairs_by_hand(n):
    """With p = 0 the Wilson centre (p + z^2/2n) / (1 + z^2/n) = z^2 / (2 (n + z^2)) and the
    half-width z / (1 + z^2/n) * sqrt(z^2 / 4n^2) = z^2 / (2 (n + z^2)) are equal: the
    interval is [0, z^2 / (n + z^2)] (n = 18: [0, 0.17588]); by symmetry n of n gives
    [n / (n + z^2), 1]. The ends are exactly 0 and 1, not 1e-17 away (9 and 18 of the old
    code's rounding cases)."""
    lo, hi = scaling.wilson_interval(0, n)
    assert lo == 0.0 and hi == pytest.approx(Z95**2 / (n + Z95**2), abs=1e-12)
    lo, hi = scaling.wilson_interval(n, n)
    assert hi == 1.0 and lo == pytest.approx(n / (n + Z95**2), abs=1e-12)
    # neutral answers counted half: 0.5 of 18 is not unanimous, the ends stay inside (0, 1)
    lo, hi = scaling.wilson_interval(0.5, 18)
    assert 0.0 <= lo < 0.5 / 18 < hi < 1.0


def test_ml_obstacle_by_hand():
    # 0 always beats 1: the estimate of theta_0 - theta_1 runs off to infinity
    assert scaling.ml_obstacle(np.array([[0, 3], [0, 0]]), ["x264", "x265"]) == (
        "x265 never preferred; x264 never beaten"
    )
    # 1 and 2 split 10:8, and 0 beats 1 every time: 0 is never beaten, and {1, 2}, which
    # win and lose between themselves, never beat 0
    assert scaling.ml_obstacle(np.array([[0, 18, 0], [0, 0, 10], [0, 8, 0]])) == (
        "0 never beaten; {1, 2} never preferred to the others"
    )
    # {0, 1} and {2, 3} each split, and 2 beats 0 once: every item wins and loses, but the
    # group {0, 1} is never preferred to {2, 3}
    wins = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0]])
    assert scaling.ml_obstacle(wins) == (
        "{0, 1} never preferred to the others; {2, 3} never beaten by the others"
    )
    # a chain 0 > 1 > 2, each pair unanimous: 1 wins and loses, the ends do not
    assert scaling.ml_obstacle(np.array([[0, 4, 0], [0, 0, 4], [0, 0, 0]])) == (
        "2 never preferred; 0 never beaten"
    )
    assert scaling.ml_obstacle(np.array([[0, 2, 1], [1, 0, 1], [1, 1, 0]])) == ""
    assert scaling.ml_obstacle(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])) == ("2 never compared")
    # a neutral answer counted half is a (half) win for each side
    assert scaling.ml_obstacle(np.array([[0, 2.5], [0.5, 0]])) == ""


def test_maximum_likelihood_without_an_answer_is_refused():
    wins = np.array([[0, 18, 0], [0, 0, 10], [0, 8, 0]])
    with pytest.raises(ConfigError, match=r"alpha=0 .*\(items 0 never beaten; \{1, 2\} never"):
        scaling.bradley_terry(wins, alpha=0)
    # with a regulariser there is an answer, and it is the regulariser's: the spread grows
    # without bound as alpha shrinks
    spread = [np.ptp(scaling.bradley_terry(wins, alpha=a)) for a in (1, 0.1, 0.01, 0.001)]
    assert spread == sorted(spread) and spread[-1] > 2 * spread[0]


def test_bootstrap_counts_resamples_without_an_answer():
    """Participant 0 prefers item 0 twice, participant 1 prefers item 1 once. Pooled: 2 to 1,
    theta_0 - theta_1 = ln 2. A resample of the same participant twice (probability 1/2)
    has a unanimous pair and no maximum-likelihood answer: with alpha=0 the interval is NaN,
    not drawn from the other half of the resamples."""
    mats = [np.array([[0, 2], [0, 0]]), np.array([[0, 0], [1, 0]])]
    est, lo, hi, unbounded = scaling.bootstrap_bradley_terry(mats, resamples=60, seed=3)
    assert est == pytest.approx([math.log(2) / 2, -math.log(2) / 2], abs=1e-6)
    assert 15 < unbounded < 45 and np.isnan(lo).all() and np.isnan(hi).all()  # 30 +- 3.9
    _, lo, hi, again = scaling.bootstrap_bradley_terry(mats, resamples=60, seed=3, alpha=0.1)
    assert again == unbounded and np.isfinite(lo).all() and np.isfinite(hi).all()


def test_comparison_matrix_neutral_half_or_excluded():
    outcomes = [(0, 1, "a"), (0, 1, "a"), (0, 1, "neutral"), (1, 2, "b")]
    half = scaling.comparison_matrix(outcomes, 3, neutral="half")
    assert half.tolist() == [[0, 2.5, 0], [0.5, 0, 0], [0, 1, 0]]
    excl = scaling.comparison_matrix(outcomes, 3, neutral="exclude")
    assert excl.tolist() == [[0, 2, 0], [0, 0, 0], [0, 1, 0]]
    with pytest.raises(ConfigError, match="neutral='drop'"):
        scaling.comparison_matrix(outcomes, 3, neutral="drop")


def test_bradley_terry_two_items_by_hand():
    # 3 wins of item 0 over item 1 and 1 loss: the ML estimate is P = 3/4, so
    # theta_0 - theta_1 = ln 3, centred to +-ln(3)/2.
    theta = scaling.bradley_terry(np.array([[0.0, 3.0], [1.0, 0.0]]))
    assert theta == pytest.approx([math.log(3) / 2, -math.log(3) / 2], abs=1e-6)


def test_bradley_terry_matches_an_independent_maximum_likelihood_fit():
    wins = np.array([[0, 7, 4, 9], [3, 0, 6, 5], [6, 4, 0, 8], [1, 5, 2, 0]], dtype=float)

    def nll(theta):
        d = theta[:, None] - theta[None, :]
        return -np.sum(wins * -np.logaddexp(0.0, -d))

    ref = optimize.minimize(nll, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    assert scaling.bradley_terry(wins) == pytest.approx(ref - ref.mean(), abs=1e-5)


def test_bradley_terry_is_the_wrapped_choix_call():
    wins = np.array([[0, 5, 0], [1, 0, 2.5], [0, 0.5, 0]])
    direct = choix.ilsr_pairwise_dense(wins, alpha=0.01, max_iter=1000)
    assert scaling.bradley_terry(wins, alpha=0.01) == pytest.approx(
        direct - direct.mean(), abs=1e-12
    )


@pytest.mark.slow
def test_synthetic_bradley_terry_study_is_recovered_within_its_intervals():
    true = np.array([-1.2, -0.4, 0.3, 1.3])
    true = true - true.mean()
    rng = np.random.default_rng(11)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    mats = []
    for _ in range(40):  # 40 participants, every pair twice
        outcomes = []
        for i, j in pairs * 2:
            p = 1 / (1 + math.exp(true[j] - true[i]))
            outcomes.append((i, j, "a" if rng.random() < p else "b"))
        mats.append(scaling.comparison_matrix(outcomes, 4))
    est, lo, hi, unbounded = scaling.bootstrap_bradley_terry(mats, resamples=400, seed=1)
    assert unbounded == 0
    assert np.all((lo <= true) & (true <= hi))
    assert np.all(hi - lo < 1.0)  # informative intervals, not the whole line
    assert np.abs(est - true).max() < 0.35


def test_mos_interval_matches_scipy_t():
    scores = [4, 5, 3, 4, 4, 2, 5, 4]
    mean, lo, hi, n = scaling.mos_interval(scores)
    ref = stats.t.interval(0.95, len(scores) - 1, loc=np.mean(scores), scale=stats.sem(scores))
    assert (mean, n) == (3.875, 8)
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)


def _panel(deviant: list[int]) -> np.ndarray:
    # 11 regular observers per presentation: seven 3s, two 2s, two 4s; with the deviant's
    # 5 (or 1): mean 3.17 (2.83), s = 0.83, beta2 = 3.3 (normal, limits mean +- 2 s =
    # 1.5..4.8 or 1.2..4.5): only the deviant's score is outside.
    regular = [3] * 7 + [2, 2, 4, 4]
    return np.array([deviant] + [[regular[i]] * len(deviant) for i in range(11)], dtype=float)


def test_bt500_rejects_an_inconsistent_observer_by_hand():
    ratings = _panel([5, 1] * 5)
    result = scaling.bt500_screening(ratings, [f"o{i}" for i in range(12)])
    assert (result[0].p, result[0].q, result[0].n, result[0].rejected) == (5, 5, 10, True)
    assert not any(r.rejected or r.p or r.q for r in result[1:])


def test_bt500_keeps_a_consistently_biased_observer():
    # P = 10, Q = 0: (P + Q) / N = 1 > 0.05 but |P - Q| / (P + Q) = 1 >= 0.3: kept.
    result = scaling.bt500_screening(_panel([5] * 10), [f"o{i}" for i in range(12)])
    assert (result[0].p, result[0].q, result[0].rejected) == (10, 0, False)


def test_acr_hr_differential_score():
    assert scaling.acr_hr_dv(3, 5) == 3.0
    assert scaling.acr_hr_dv(5, 4) == 6.0  # not clipped (P.910 ACR-HR)


def test_thurstone_jod_unit_and_prior_by_hand():
    """Two conditions, k of n for the first: the MAP has Phi(d / s) = (k + prior/2) /
    (n + prior) with s = 1 / Phi^-1(0.75), so d = s Phi^-1(...). 75 of 100 without a prior
    is exactly 1 JOD (pwcmp's unit); 18 of 18 with one neutral pseudo-answer is
    s Phi^-1(18.5 / 19) = 1.4826 x 1.9379 = 2.8732 JOD; 750 of 1000 with the prior is
    s Phi^-1(750.5 / 1001) = 0.99884 JOD."""
    s = 1 / stats.norm.ppf(0.75)
    assert scaling.JOD_SIGMA == pytest.approx(s, abs=1e-15)
    q = scaling.thurstone_case_v(np.array([[0, 75], [25, 0]]), prior=0)
    assert q == pytest.approx([0.5, -0.5], abs=1e-6)
    q = scaling.thurstone_case_v(np.array([[0, 18], [0, 0]]))
    assert q[0] - q[1] == pytest.approx(s * stats.norm.ppf(18.5 / 19), abs=1e-6)
    assert q[0] - q[1] == pytest.approx(2.8732, abs=1e-4)
    q = scaling.thurstone_case_v(np.array([[0, 750], [250, 0]]))
    assert q[0] - q[1] == pytest.approx(s * stats.norm.ppf(750.5 / 1001), abs=1e-6)


def test_thurstone_matches_an_independent_probit_fit():
    wins = np.array([[0, 7, 4, 9], [3, 0, 6, 5], [6, 4, 0, 8], [1, 5, 2, 0]], dtype=float)
    s = 1 / stats.norm.ppf(0.75)

    def nll(free):
        q = np.concatenate([[0.0], free])
        p = stats.norm.cdf((q[:, None] - q[None, :]) / s)
        return -np.sum(wins * np.log(p))

    ref = np.concatenate(
        [
            [0.0],
            optimize.minimize(
                nll,
                np.zeros(3),
                method="Nelder-Mead",
                options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
            ).x,
        ]
    )
    assert scaling.thurstone_case_v(wins, prior=0) == pytest.approx(ref - ref.mean(), abs=1e-5)


def test_thurstone_refusals():
    with pytest.raises(ConfigError, match=r"prior=0 .*\(items 0 never beaten; \{1, 2\} never"):
        scaling.thurstone_case_v(np.array([[0, 18, 0], [0, 0, 10], [0, 8, 0]]), prior=0)
    with pytest.raises(ConfigError, match="answers that connect every item"):
        scaling.thurstone_case_v(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    with pytest.raises(ConfigError, match="prior=-1"):
        scaling.thurstone_case_v(np.array([[0, 1], [1, 0]]), prior=-1)


@pytest.mark.slow
def test_synthetic_thurstone_studies_are_recovered_within_their_intervals():
    """Eight simulated studies: 40 observers answer every pair twice with
    P = Phi((q_i - q_j) / s). About 95 % of the 32 JOD intervals hold the true score
    (binomial sd 0.04), and the estimates are unbiased to within the prior's small pull."""
    true = np.array([-1.1, -0.4, 0.3, 1.2])
    true = true - true.mean()
    s = 1 / stats.norm.ppf(0.75)
    rng = np.random.default_rng(5)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    inside, errors = [], []
    for study in range(8):
        mats = []
        for _ in range(40):
            outcomes = [
                (i, j, "a" if rng.random() < stats.norm.cdf((true[i] - true[j]) / s) else "b")
                for i, j in pairs * 2
            ]
            mats.append(scaling.comparison_matrix(outcomes, 4))
        est, lo, hi, unbounded = scaling.bootstrap_thurstone(mats, resamples=100, seed=study)
        assert unbounded == 0 and np.all(hi - lo < 1.5)
        inside += list((lo <= true) & (true <= hi))
        errors.append(est - true)
    assert np.mean(inside) >= 0.8
    assert np.abs(np.mean(errors, axis=0)).max() < 0.15


def test_observer_outliers_by_hand():
    """Two conditions, one sequence; four observers prefer A, o0 prefers B. Leave-one-out
    scales with one neutral pseudo-answer: for o0 the others chose A 4 of 4, P(A) = 4.5 / 5 =
    0.9, so o0 scores log(0.1); for each of o1..o4 the others chose A 3 of 4, P(A) = 3.5 / 5,
    log(0.7). Q1 = log(0.7) and IQR = 0: o0 is infinitely far below, an outlier."""
    a, b = np.array([[0, 1], [0, 0]]), np.array([[0, 0], [1, 0]])
    scores = scaling.observer_outliers([[b]] + [[a]] * 4)
    assert scores.log_likelihood == pytest.approx([math.log(0.1)] + [math.log(0.7)] * 4)
    assert scores.distance.tolist() == [math.inf, 0, 0, 0, 0]
    assert scores.outlier.tolist() == [True, False, False, False, False]
    # a second sequence o0 answers like the others (P(A) = 0.9 for everyone there):
    # o0's mean log-likelihood per answer is (log 0.1 + log 0.9) / 2
    scores = scaling.observer_outliers([[b, a]] + [[a, a]] * 4)
    assert scores.log_likelihood[0] == pytest.approx((math.log(0.1) + math.log(0.9)) / 2)
    assert scores.log_likelihood[1] == pytest.approx((math.log(0.7) + math.log(0.9)) / 2)


def test_observer_outliers_list_an_observer_who_answers_opposite():
    """Twelve observers over two sequences of five conditions (true JOD 0..4, P =
    Phi((q_i - q_j) / s)); o0 answers as if the scale were reversed. Only o0 is listed,
    with the lowest log-likelihood; an observer without answers gets NaN and is not listed.
    With fewer than 3 scored observers there are no quartiles (NaN distances)."""
    s = 1 / stats.norm.ppf(0.75)
    true = np.arange(5.0)
    rng = np.random.default_rng(2)
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]

    def observer(sign):
        return [
            scaling.comparison_matrix(
                [
                    (
                        i,
                        j,
                        "a"
                        if rng.random() < stats.norm.cdf(sign * (true[i] - true[j]) / s)
                        else "b",
                    )
                    for i, j in pairs
                ],
                5,
            )
            for _ in range(2)
        ]

    per_observer = [observer(-1)] + [observer(1) for _ in range(11)] + [[np.zeros((5, 5))] * 2]
    scores = scaling.observer_outliers(per_observer)
    assert scores.outlier.tolist() == [True] + [False] * 12
    assert scores.log_likelihood[0] == np.nanmin(scores.log_likelihood)
    assert scores.distance[0] > 1.5 and np.isnan(scores.log_likelihood[12])
    assert np.isnan(scaling.observer_outliers(per_observer[:2]).distance).all()
    with pytest.raises(ConfigError, match="fence"):
        scaling.observer_outliers(per_observer, fence=0)
