"""Statistics of subjective answers: pure numpy/scipy functions over plain arrays.

- :func:`wilson_interval`: Wilson score interval of a proportion (Wilson 1927); accepts
  fractional counts (a neutral answer counted as half a win for each side).
- :func:`comparison_matrix`: 2AFC outcomes -> ``wins[i, j]`` = times i was preferred to j,
  the neutral option either counted half for each side (``"half"``) or left out
  (``"exclude"``).
- :func:`ml_obstacle`: whether a maximum-likelihood Bradley-Terry estimate exists (the
  comparison graph is strongly connected) and, if not, which items prevent it.
- :func:`bradley_terry`: Bradley-Terry log-strengths through ``choix.ilsr_pairwise_dense``
  (iterative Luce spectral ranking, Maystre & Grossglauser 2015), centred to mean 0;
  ``P(i preferred to j) = 1 / (1 + exp(theta_j - theta_i))``.
- :func:`bootstrap_bradley_terry`: percentile intervals, participants resampled with
  replacement (their answers move together).
- :func:`thurstone_case_v`: Thurstone Case V scores in JOD units (pwcmp's scale: 1 JOD =
  75 % preference), maximum a posteriori with a prior stated as neutral pseudo-answers per
  compared pair, which keeps unanimous pairs finite; :func:`bootstrap_thurstone`: percentile
  intervals over participants.
- :func:`observer_outliers`: pwcmp's outlier analysis of 2AFC observers: the likelihood of
  each observer's answers under the Thurstone scale of all the others, listed when it falls
  more than ``fence`` interquartile ranges below the first quartile.
- :func:`mos_interval`: mean opinion score with a Student-t interval (ITU-T P.1401 / P.910:
  ``mean +- t(1 - a/2, n - 1) * s / sqrt(n)``).
- :func:`bt500_screening`: observer screening of ITU-R BT.500-14 Annex 1, section A1-2.3.1
  (beta2 kurtosis test, P/Q counts, reject when ``(P + Q) / N > 0.05`` and
  ``|P - Q| / (P + Q) < 0.3``).
- :func:`acr_hr_dv`: differential viewer score of ACR with hidden reference (P.910 ACR-HR):
  ``DV = V(PVS) - V(REF) + 5``, not clipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from vqabench.errors import invalid

__all__ = [
    "NEUTRAL",
    "wilson_interval",
    "comparison_matrix",
    "ml_obstacle",
    "bradley_terry",
    "BootstrapScaling",
    "bootstrap_bradley_terry",
    "JOD_SIGMA",
    "thurstone_case_v",
    "bootstrap_thurstone",
    "OutlierScores",
    "observer_outliers",
    "mos_interval",
    "bt500_screening",
    "log_posterior",
    "log_posterior_derivatives",
    "Screening",
    "acr_hr_dv",
]

NEUTRAL: tuple[str, ...] = ("half", "exclude")


def wilson_interval(successes: float, n: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``successes / n``; (nan, nan) when ``n == 0``.

    The ends lie in [0, 1]: with no successes the interval is exactly
    ``[0, z**2 / (n + z**2)]``, with ``n`` successes ``[n / (n + z**2), 1]``.

    Example:
        >>> wilson_interval(8, 10)  # (0.4902, 0.9433)
    """
    if not 0 < confidence < 1:
        raise invalid("confidence", confidence, "a fraction in (0, 1)")
    if n < 0 or not 0 <= successes <= n:
        raise invalid("successes", successes, f"a count in [0, n={n}]")
    if n == 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # at p = 0 (p = 1) the lower (upper) end is exactly 0 (1); rounding would leave 1e-17
    lo = 0.0 if successes == 0 else max(0.0, float(centre - half))
    hi = 1.0 if successes == n else min(1.0, float(centre + half))
    return lo, hi


def comparison_matrix(
    outcomes: Sequence[tuple[int, int, str]], n_items: int, *, neutral: str = "half"
) -> np.ndarray:
    """Count matrix of 2AFC outcomes.

    Args:
        outcomes: ``(i, j, choice)`` with choice ``"a"`` (i preferred), ``"b"`` (j
            preferred) or ``"neutral"``.
        n_items: number of items (indices 0..n_items-1).
        neutral: ``"half"`` (0.5 to each side) or ``"exclude"``.

    Returns:
        ``wins`` with ``wins[i, j]`` = (weighted) times i was preferred to j.
    """
    if neutral not in NEUTRAL:
        raise invalid("neutral", neutral, " | ".join(NEUTRAL))
    wins = np.zeros((n_items, n_items))
    for i, j, choice in outcomes:
        if choice == "a":
            wins[i, j] += 1
        elif choice == "b":
            wins[j, i] += 1
        elif choice == "neutral":
            if neutral == "half":
                wins[i, j] += 0.5
                wins[j, i] += 0.5
        else:
            raise invalid("choice", choice, "a | b | neutral")
    return wins


def ml_obstacle(wins: np.ndarray, names: Sequence[str] | None = None) -> str:
    """Why the maximum-likelihood Bradley-Terry estimate of ``wins`` has no finite answer.

    The estimate exists if and only if the directed graph with an edge ``i -> j`` whenever
    ``i`` was preferred to ``j`` at least once is strongly connected (Ford 1957, Zermelo
    1929). Otherwise a group of items is never preferred to the rest (a condition that never
    wins a pair, say): moving that group down always raises the likelihood, so the distance
    is infinite and a regularised fit reports whatever its regulariser allows.

    Args:
        wins: ``wins[i, j]`` = times i was preferred to j.
        names: labels of the items for the message (default their indices).

    Returns:
        "" when the estimate exists, else a phrase naming the items (or groups of items,
        in braces, that win and lose among themselves) never preferred, never beaten or
        never compared.

    Example:
        >>> ml_obstacle(np.array([[0, 3], [0, 0]]), ["x264", "x265"])
        'x265 never preferred; x264 never beaten'
    """
    from scipy.sparse.csgraph import connected_components

    wins = np.asarray(wins, dtype=np.float64)
    n = wins.shape[0]
    if n < 2:
        return ""
    groups, member = connected_components(wins > 0, directed=True, connection="strong")
    if groups == 1:
        return ""
    label = list(names) if names is not None else [str(i) for i in range(n)]
    seen = (wins + wins.T).sum(axis=1) > 0
    singles: dict[str, list[str]] = {
        "never preferred": [],
        "never beaten": [],
        "never compared": [],
    }
    grouped: list[str] = []
    for g in range(groups):
        inside = member == g
        who = [label[i] for i in np.flatnonzero(inside)]
        never_won = int(wins[np.ix_(inside, ~inside)].sum() == 0)
        never_lost = int(wins[np.ix_(~inside, inside)].sum() == 0)
        if not seen[inside].any():
            singles["never compared"] += who
        elif never_won and never_lost:  # compared among themselves only: not connected at all
            continue
        elif len(who) == 1:
            singles["never preferred"] += who * never_won
            singles["never beaten"] += who * never_lost
        else:
            name = "{" + ", ".join(who) + "}"
            grouped += [f"{name} never preferred to the others"] * never_won
            grouped += [f"{name} never beaten by the others"] * never_lost
    text = "; ".join([f"{', '.join(who)} {what}" for what, who in singles.items() if who] + grouped)
    return text or f"its items split into {groups} groups, one never preferred to another"


def bradley_terry(wins: np.ndarray, *, alpha: float = 0.0) -> np.ndarray:
    """Bradley-Terry log-strengths (mean 0) of a count matrix, by ``choix``.

    Args:
        wins: ``wins[i, j]`` = times i was preferred to j (fractional counts allowed).
        alpha: choix's regularisation (initial LSR transition rate; 0 = maximum likelihood,
            which needs a strongly connected comparison graph, see :func:`ml_obstacle`;
            with ``alpha > 0`` and no such graph the result depends on ``alpha``).

    Raises:
        ConfigError: not a square non-negative matrix, negative ``alpha``, or ``alpha=0``
            where the maximum-likelihood estimate does not exist.
    """
    import choix

    wins = np.asarray(wins, dtype=np.float64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or np.any(wins < 0):
        raise invalid("wins", f"array of shape {wins.shape}", "a square non-negative matrix")
    if alpha < 0:
        raise invalid("alpha", alpha, "a number >= 0")
    if wins.shape[0] == 1:
        return np.zeros(1)
    if alpha == 0:
        obstacle = ml_obstacle(wins)
        if obstacle:
            raise invalid(
                "alpha",
                alpha,
                "a number > 0: the maximum-likelihood estimate "
                f"(alpha=0) has no finite answer here (items {obstacle})",
            )
    params = choix.ilsr_pairwise_dense(wins, alpha=alpha, max_iter=1000)
    return params - params.mean()


class BootstrapScaling(NamedTuple):
    """Scaled estimate and percentile interval per item; ``unbounded``: resamples whose
    maximum-likelihood estimate does not exist (their fit rests on the regulariser)."""

    estimate: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    unbounded: int


def bootstrap_bradley_terry(
    per_participant: Sequence[np.ndarray],
    *,
    resamples: int = 1000,
    alpha: float = 0.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapScaling:
    """Bradley-Terry estimate and percentile intervals over participants.

    Args:
        per_participant: one count matrix per participant.
        resamples: bootstrap resamples of participants (with replacement).
        alpha, confidence, seed: see :func:`bradley_terry`; interval coverage; RNG seed.

    Returns:
        (estimate, lo, hi, unbounded): one value per item for the first three. With
        ``alpha=0`` a resample without a maximum-likelihood estimate has no scores, and the
        intervals are then NaN rather than drawn from the other resamples only.

    Raises:
        ConfigError: see :func:`bradley_terry` (``alpha=0`` and no estimate for the pooled
            answers).
    """
    mats = _participant_mats(per_participant, resamples)
    estimate = bradley_terry(mats.sum(axis=0), alpha=alpha)
    return _bootstrap(
        mats,
        estimate,
        lambda wins: bradley_terry(wins, alpha=alpha),
        maximum_likelihood=alpha == 0,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )


def _participant_mats(per_participant: object, resamples: object) -> np.ndarray:
    """The count matrices of the participants as one float64 array, once checked with the
    number of bootstrap resamples.

    Raises:
        ConfigError: not one square matrix per participant, or ``resamples`` < 1.
    """
    mats = np.asarray(per_participant, dtype=np.float64)
    if mats.ndim != 3 or len(mats) == 0:
        raise invalid(
            "per_participant",
            f"array of shape {mats.shape}",
            "one square count matrix per participant (at least one)",
        )
    if not isinstance(resamples, int) or resamples < 1:
        raise invalid("resamples", resamples, "an integer >= 1")
    return mats


def _bootstrap(
    mats: np.ndarray,
    estimate: np.ndarray,
    fit: Callable[[np.ndarray], np.ndarray],
    *,
    maximum_likelihood: bool,
    resamples: int,
    confidence: float,
    seed: int,
) -> BootstrapScaling:
    """Percentile intervals of ``fit`` over resamples of participants (their count matrices
    ``mats``); a resample without a maximum-likelihood answer counts as ``unbounded`` and,
    when ``maximum_likelihood`` (no prior or regulariser), is left out (NaN)."""
    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, mats.shape[1]))
    unbounded = 0
    for k in range(resamples):
        wins = mats[rng.integers(0, len(mats), size=len(mats))].sum(axis=0)
        if ml_obstacle(wins):
            unbounded += 1
            if maximum_likelihood:
                draws[k] = np.nan
                continue
        draws[k] = fit(wins)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail], axis=0)
    return BootstrapScaling(estimate, lo, hi, unbounded)


#: Thurstone Case V scale of pwcmp: a difference of 1 JOD (just objectionable difference) is
#: preferred by 75 % of observers, ``P(i > j) = Phi((q_i - q_j) / JOD_SIGMA)``.
JOD_SIGMA = float(1 / stats.norm.ppf(0.75))


def thurstone_case_v(
    wins: np.ndarray, *, prior: float = 1.0, compared: np.ndarray | None = None
) -> np.ndarray:
    """Thurstone Case V scores in JOD units (mean 0), maximum a posteriori.

    The likelihood is binomial, ``P(i preferred to j) = Phi((q_i - q_j) / JOD_SIGMA)``
    (1 JOD = 75 % preference, as pwcmp scales). The prior is stated as answers: every
    compared pair gets ``prior`` extra neutral answers, half a win for each side. It keeps a
    unanimous pair finite (with two conditions and ``prior=1``, ``k`` of ``n`` gives
    ``JOD_SIGMA * Phi^-1((k + 0.5) / (n + 1))``: 18 of 18 is 2.87 JOD) and weighs less
    the more answers there are; ``prior=0`` is maximum likelihood (infinite where
    :func:`ml_obstacle` says so: refused).

    Args:
        wins: ``wins[i, j]`` = times i was preferred to j (fractional counts allowed).
        prior: neutral pseudo-answers per compared pair (>= 0).
        compared: boolean matrix of the pairs the prior applies to (default: the pairs with
            answers in ``wins``); bootstrap resamples pass the pairs of the whole study.

    Raises:
        ConfigError: bad matrix, negative prior, comparisons that do not connect every item,
            or ``prior=0`` where maximum likelihood has no finite answer.
    """
    from scipy.sparse.csgraph import connected_components

    wins = np.asarray(wins, dtype=np.float64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1] or np.any(wins < 0):
        raise invalid("wins", f"array of shape {wins.shape}", "a square non-negative matrix")
    if not prior >= 0:
        raise invalid("prior", prior, "a number of pseudo-answers >= 0")
    n = wins.shape[0]
    if n == 1:
        return np.zeros(1)
    mask = (wins + wins.T) > 0 if compared is None else np.asarray(compared, dtype=bool)
    if connected_components(mask | mask.T, directed=False)[0] != 1:
        raise invalid(
            "wins",
            "comparisons that leave items unconnected",
            "answers that connect every item (scores of separate groups share no scale)",
        )
    if prior == 0 and ml_obstacle(wins):
        raise invalid(
            "prior",
            prior,
            "a number > 0: maximum likelihood has no finite answer "
            f"here (items {ml_obstacle(wins)})",
        )
    weight = wins + (prior / 2) * (mask | mask.T)
    q = np.zeros(n)
    value = log_posterior(q, weight)
    for _ in range(100):  # Newton on a concave function, first score fixed at 0
        grad, laplacian = log_posterior_derivatives(q, weight)
        if np.abs(grad[1:]).max() < 1e-10 * (1 + weight.sum()):
            break
        step = np.concatenate([[0.0], np.linalg.solve(laplacian[1:, 1:], grad[1:])])
        size = 1.0
        while size > 1e-8:  # backtrack until the posterior does not fall
            trial = log_posterior(q + size * step, weight)
            if trial >= value:
                break
            size /= 2
        q, value = q + size * step, trial
    return q - q.mean()


def log_posterior(q: np.ndarray, weight: np.ndarray) -> float:
    """Thurstone Case V log-likelihood of scores ``q`` (JOD) given the win counts ``weight``
    (``weight[i, j]``: times ``i`` was chosen over ``j``)."""
    from scipy import special

    return float(np.sum(weight * special.log_ndtr((q[:, None] - q[None, :]) / JOD_SIGMA)))


def log_posterior_derivatives(q: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of :func:`log_posterior` and minus its Hessian (a weighted Laplacian:
    ``d2/dz2 log Phi(z) = -r (z + r)`` with ``r = phi(z) / Phi(z)``)."""
    from scipy import special

    z = (q[:, None] - q[None, :]) / JOD_SIGMA
    r = np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - special.log_ndtr(z))
    grad = ((weight * r).sum(axis=1) - (weight * r).sum(axis=0)) / JOD_SIGMA
    c = weight * r * (z + r) / JOD_SIGMA**2
    c = c + c.T
    return grad, np.diag(c.sum(axis=1)) - c


def bootstrap_thurstone(
    per_participant: Sequence[np.ndarray],
    *,
    resamples: int = 1000,
    prior: float = 1.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapScaling:
    """:func:`thurstone_case_v` estimate and percentile intervals over participants.

    Every resample keeps the prior on the pairs compared in the whole study, so that it stays
    connected whichever participants it draws. ``unbounded`` counts resamples without a
    maximum-likelihood answer (their scores rest on the prior).
    """
    mats = _participant_mats(per_participant, resamples)
    total = mats.sum(axis=0)
    compared = (total + total.T) > 0
    estimate = thurstone_case_v(total, prior=prior, compared=compared)
    return _bootstrap(
        mats,
        estimate,
        lambda wins: thurstone_case_v(wins, prior=prior, compared=compared),
        maximum_likelihood=prior == 0,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )


class OutlierScores(NamedTuple):
    """Per observer: mean log-likelihood per answer, distance below the quartile, outlier."""

    log_likelihood: np.ndarray
    distance: np.ndarray
    outlier: np.ndarray


def observer_outliers(
    per_observer: Sequence[Sequence[np.ndarray]], *, prior: float = 1.0, fence: float = 1.5
) -> OutlierScores:
    """pwcmp's outlier analysis of 2AFC observers (Perez-Ortiz & Mantiuk 2017, section 9).

    For each observer and sequence, the other observers' answers are scaled
    (:func:`thurstone_case_v` with ``prior``, on the pairs compared in the whole study) and
    the observer's own answers scored under that scale: ``sum w[i, j] * log Phi((q_i - q_j) /
    JOD_SIGMA)`` over their count matrix ``w`` (a neutral answer counted as the matrix
    counts it). Unlike pwcmp, which sums binomial log-probabilities, the sum over sequences
    is divided by the observer's number of answers, so that an observer who answered fewer
    trials is not singled out for it. With ``Q1`` and ``IQR`` the first quartile and
    interquartile range of these scores over observers, the distance is ``(Q1 - L) / IQR``
    below ``Q1`` and 0 above (pwcmp's ``dist_L``; infinite below ``Q1`` when ``IQR`` is 0);
    an observer further than ``fence`` (Tukey's 1.5 by default) is an outlier. A sequence the
    others' answers cannot scale (not connected, or ``prior=0`` without a finite answer)
    does not count for that observer.

    Args:
        per_observer: ``per_observer[k][s]``: square count matrix of observer ``k`` in
            sequence ``s`` (as :func:`comparison_matrix`; every observer lists every
            sequence, an all-zero matrix where they answered none).
        prior: Thurstone prior of the leave-one-out scales.
        fence: distance (in interquartile ranges) beyond which an observer is an outlier.

    Returns:
        NaN scores (never an outlier) for an observer without scored answers; NaN distances
        for everybody when fewer than 3 observers have scores.
    """
    from vqabench.errors import ConfigError

    if not fence > 0:
        raise invalid("fence", fence, "a number > 0 (interquartile ranges)")
    mats = [[np.asarray(m, dtype=np.float64) for m in seqs] for seqs in per_observer]
    if len({len(seqs) for seqs in mats}) > 1:
        raise invalid(
            "per_observer",
            "observers with different numbers of sequences",
            "one count matrix per sequence for every observer",
        )
    n_obs = len(mats)
    loglik = np.full(n_obs, np.nan)
    for k in range(n_obs):
        total = answered = 0.0
        for s in range(len(mats[k])):
            mine = mats[k][s]
            if mine.sum() == 0:
                continue
            others = sum(mats[o][s] for o in range(n_obs) if o != k)
            everyone = others + mine
            try:
                q = thurstone_case_v(others, prior=prior, compared=(everyone + everyone.T) > 0)
            except ConfigError:
                continue
            total += float(np.sum(mine * special.log_ndtr((q[:, None] - q[None, :]) / JOD_SIGMA)))
            answered += float(mine.sum())
        if answered:
            loglik[k] = total / answered
    distance = np.full(n_obs, np.nan)
    scored = np.isfinite(loglik)
    if scored.sum() >= 3:
        q1, q3 = np.percentile(loglik[scored], [25, 75])
        below = np.maximum(q1 - loglik[scored], 0.0)
        iqr = q3 - q1
        distance[scored] = below / iqr if iqr > 0 else np.where(below > 0, np.inf, 0.0)
    return OutlierScores(loglik, distance, np.nan_to_num(distance, nan=0.0) > fence)


def mos_interval(
    scores: Sequence[float], *, confidence: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean opinion score and its Student-t interval: ``(mos, low, high, n)``.

    With one score the interval is (nan, nan).
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise invalid("scores", f"{x.size} scores", "at least one score")
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half, int(x.size)


@dataclass(frozen=True)
class Screening:
    """BT.500 screening of one observer: counts above (P) and below (Q) the limits."""

    participant: str
    p: int
    q: int
    n: int
    rejected: bool


def bt500_screening(
    ratings: np.ndarray, participants: Sequence[str], *, ddof: int = 1
) -> list[Screening]:
    """ITU-R BT.500-14 Annex 1 A1-2.3.1 screening of observers.

    For each presentation (column) with mean m, standard deviation s and kurtosis
    ``beta2 = m4 / m2**2``: the limits are ``m +- 2 s`` when ``2 <= beta2 <= 4`` (normal)
    and ``m +- sqrt(20) s`` otherwise (s with ``n - 1``, A1-2.2.1; SUREAL divides by ``n``,
    ``ddof=0``, which rejects more borderline observers). Each score at or above the upper
    limit adds to the observer's P, at or below the lower limit to Q. An observer is rejected
    when ``(P + Q) / N > 0.05`` and ``|P - Q| / (P + Q) < 0.3`` (N: their number of scores).

    Args:
        ratings: participants x presentations, NaN where a participant has no score.
        participants: their ids (one per row).
        ddof: delta degrees of freedom of s (1: BT.500; 0: as SUREAL).
    """
    if ddof not in (0, 1):
        raise invalid("ddof", ddof, "1 (BT.500) or 0 (SUREAL)")
    r = np.asarray(ratings, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != len(participants):
        raise invalid(
            "ratings",
            f"array of shape {r.shape}",
            f"participants x presentations ({len(participants)} rows)",
        )
    p = np.zeros(r.shape[0], dtype=int)
    q = np.zeros(r.shape[0], dtype=int)
    for col in r.T:
        have = ~np.isnan(col)
        x = col[have]
        if x.size < 2:
            continue
        mean, s = x.mean(), x.std(ddof=ddof)
        if s == 0:  # everybody agrees: nobody is outside the limits
            continue
        m2 = np.mean((x - mean) ** 2)
        beta2 = np.mean((x - mean) ** 4) / m2**2 if m2 > 0 else 3.0
        k = 2.0 if 2 <= beta2 <= 4 else np.sqrt(20.0)
        above = np.zeros(r.shape[0], dtype=bool)
        below = np.zeros(r.shape[0], dtype=bool)
        above[have] = x >= mean + k * s  # BT.500: "if u >= m + 2 s then P = P + 1"
        below[have] = x <= mean - k * s
        p += above
        q += below
    n = (~np.isnan(r)).sum(axis=1)
    out = []
    for i, pid in enumerate(participants):
        total = p[i] + q[i]
        rejected = bool(n[i] and total / n[i] > 0.05 and abs(p[i] - q[i]) / total < 0.3)
        out.append(Screening(pid, int(p[i]), int(q[i]), int(n[i]), rejected))
    return out


def acr_hr_dv(score: float, reference_score: float) -> float:
    """P.910 ACR-HR differential viewer score ``score - reference_score + 5``."""
    return float(score) - float(reference_score) + 5.0
