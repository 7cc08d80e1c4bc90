"""Active sampling of 2AFC pairs by expected information gain (ASAP-approx style).

Mikhailiuk, Wilmot, Perez-Ortiz, Yue and Mantiuk (2020), "Active sampling for pairwise
comparisons via approximate message passing and information gain maximization": keep a
Gaussian posterior over the scores, and ask next the pair whose answer is expected to change
it most. Here:

- **Posterior**: the Thurstone Case V model of :func:`vqabench.studies.scaling.thurstone_case_v`
  (JOD units, ``P(i preferred to j) = Phi((q_i - q_j) / JOD_SIGMA)``, a neutral answer half a
  win for each side) with an independent Gaussian prior ``N(0, prior_sd_jod**2)`` on every
  score, approximated by a Gaussian at its maximum (Laplace: mean = MAP, covariance = inverse
  of minus the Hessian). ASAP-approx reaches a Gaussian by TrueSkill message passing; the
  Laplace fit gives the same form with the exact posterior mode.
- **Expected information gain** of comparing ``i`` and ``j``: the mutual information between
  the answer and the scores, ``H(E[p]) - E[H(p)]`` with ``p = Phi(d / JOD_SIGMA)`` and
  ``d = q_i - q_j ~ N(mu_i - mu_j, s2)`` under the posterior; it equals the expected KL
  divergence between the posterior after the answer and the one before (Houlsby et al. 2011).
  ``E[p] = Phi(mu / sqrt(JOD_SIGMA**2 + s2))``; ``E[H(p)]`` by Gauss-Hermite quadrature.
- Only the candidate pairs are considered (a study's test trials: pairs within a sequence);
  ties are broken at random by ``rng``.

Example:
    >>> answered = [("c0", "c1", "a")] * 5 + [("c0", "c1", "b")] * 5
    >>> next_pair(answered, [("c0", "c1"), ("c1", "c2")], np.random.default_rng(0))
    ('c1', 'c2')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import special

from vqabench.errors import invalid
from vqabench.studies.scaling import (
    JOD_SIGMA,
    comparison_matrix,
    log_posterior,
    log_posterior_derivatives,
)

__all__ = [
    "SAMPLINGS",
    "Sampling",
    "PRIOR_SD_JOD",
    "posterior",
    "information_gain",
    "next_pair",
    "bring_forward_next",
]

Sampling = Literal["fixed", "active"]
SAMPLINGS: tuple[str, ...] = ("fixed", "active")
#: Prior standard deviation of each score, in JOD: wide enough for the spread of a rate
#: ladder (a few JOD), narrow enough to keep scores finite before their first answer.
PRIOR_SD_JOD = 3.0
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)  # for E over N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _wins(outcomes: Sequence[tuple[str, str, str]], index: dict[str, int]) -> np.ndarray:
    return comparison_matrix(
        [(index[a], index[b], choice) for a, b, choice in outcomes], len(index)
    )


def posterior(
    wins: np.ndarray, *, prior_sd_jod: float = PRIOR_SD_JOD
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian (Laplace) posterior of Thurstone Case V scores in JOD units.

    Args:
        wins: ``wins[i, j]`` = times i was preferred to j (fractional counts allowed).
        prior_sd_jod: standard deviation of the independent ``N(0, sd**2)`` prior of each
            score (> 0).

    Returns:
        (mean, covariance): the posterior mode and the inverse of minus the Hessian of the
        log posterior there.

    Raises:
        ConfigError: ``prior_sd_jod`` not > 0.
    """
    if not prior_sd_jod > 0:
        raise invalid("prior_sd_jod", prior_sd_jod, "a standard deviation > 0 (JOD)")
    wins = np.asarray(wins, dtype=np.float64)
    n = wins.shape[0]
    precision = 1.0 / prior_sd_jod**2

    def value(q: np.ndarray) -> float:
        return log_posterior(q, wins) - 0.5 * precision * float(q @ q)

    q, current = np.zeros(n), value(np.zeros(n))
    hessian = precision * np.eye(n)
    for _ in range(100):  # Newton on a strictly concave function
        grad, laplacian = log_posterior_derivatives(q, wins)
        grad, hessian = grad - precision * q, laplacian + precision * np.eye(n)
        if np.abs(grad).max() < 1e-10 * (1 + wins.sum()):
            break
        step, size = np.linalg.solve(hessian, grad), 1.0
        while size > 1e-8:
            trial = value(q + size * step)
            if trial >= current:
                break
            size /= 2
        q, current = q + size * step, trial
    return q, np.linalg.inv(hessian)


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    return -(special.xlogy(p, p) + special.xlogy(1 - p, 1 - p)) / np.log(2)


def information_gain(mean: np.ndarray, cov: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Expected information gain (bits) of one answer to each pair ``(i, j)`` of ``pairs``.

    Args:
        mean: posterior mean of the scores (JOD).
        cov: posterior covariance.
        pairs: integer array of shape (k, 2).

    Returns:
        Array of k gains in bits, in [0, 1].
    """
    i, j = pairs[:, 0], pairs[:, 1]
    mu = mean[i] - mean[j]
    s2 = np.maximum(cov[i, i] + cov[j, j] - 2 * cov[i, j], 0.0)
    marginal = _entropy_bits(special.ndtr(mu / np.sqrt(JOD_SIGMA**2 + s2)))
    d = mu[:, None] + np.sqrt(s2)[:, None] * _NODES[None, :]
    conditional = _entropy_bits(special.ndtr(d / JOD_SIGMA)) @ _WEIGHTS
    return np.maximum(marginal - conditional, 0.0)


def next_pair(
    outcomes: Sequence[tuple[str, str, str]],
    candidates: Sequence[tuple[str, str]],
    rng: np.random.Generator,
    *,
    prior_sd_jod: float = PRIOR_SD_JOD,
) -> tuple[str, str]:
    """The candidate pair with the largest expected information gain (ASAP-approx style).

    Args:
        outcomes: answers so far as ``(a, b, choice)`` with condition ids and choice ``a``,
            ``b`` or ``neutral`` (half a win each); all of them shape the posterior, also
            those of conditions no candidate shows.
        candidates: the pairs that may be asked (condition ids; pairs within one sequence).
        rng: breaks ties (e.g. before the first answer every pair is equal).
        prior_sd_jod: prior standard deviation of each score (JOD).

    Returns:
        One pair of ``candidates``, as given.

    Raises:
        ConfigError: no candidates, or an unknown choice.
    """
    if not candidates:
        raise invalid("candidates", list(candidates), "at least one pair of conditions")
    items = sorted(
        {c for pair in candidates for c in pair} | {c for a, b, _ in outcomes for c in (a, b)}
    )
    index = {c: k for k, c in enumerate(items)}
    mean, cov = posterior(_wins(outcomes, index), prior_sd_jod=prior_sd_jod)
    pairs = np.array([(index[a], index[b]) for a, b in candidates])
    gain = information_gain(mean, cov, pairs)
    best = np.flatnonzero(gain >= gain.max() - 1e-9 * max(gain.max(), 1e-12))
    return tuple(candidates[int(rng.choice(best))])


def bring_forward_next(db, spec: dict, pid: str, rng: np.random.Generator) -> str | None:
    """Active sampling in a study's answers database: when the trial due for ``pid`` is a
    test trial, make it the unanswered test trial of :func:`next_pair` given every test
    answer stored so far (:func:`vqabench.studies.db.bring_forward`).

    Used by the web app (before it shows a trial) and by ``vqabench study simulate``.

    Args:
        db: connection of :func:`vqabench.studies.db.open_db`.
        spec: the study spec (2AFC).
        pid: a registered participant.
        rng: breaks ties between equally informative pairs.

    Returns:
        The id of the trial now due, or None when the trial due is not a test trial (or
        none is due).
    """
    from vqabench.studies import db as answers_db

    plan = answers_db.participant(db, pid)
    due = answers_db.next_position(db, pid)
    trials = {t["id"]: t for t in spec["trials"]}
    if plan is None or due >= len(plan) or trials[plan[due][0]]["kind"] != "test":
        return None
    left = {
        (trials[t]["a"], trials[t]["b"]): t for t, _ in plan[due:] if trials[t]["kind"] == "test"
    }
    outcomes = [
        (trials[a.trial]["a"], trials[a.trial]["b"], a.choice)
        for a in answers_db.answers(db)
        if a.trial in trials and trials[a.trial]["kind"] == "test"
    ]
    trial = left[next_pair(outcomes, sorted(left), rng)]
    answers_db.bring_forward(db, pid, trial)
    return trial
