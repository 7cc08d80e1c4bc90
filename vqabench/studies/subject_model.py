"""Subject model of ratings (SUREAL, Li & Bampis 2017; Li et al. 2020), maximum likelihood.

Every rating is modelled as ``u[i, j] = x[j] + b[i] + v[i] * e[i, j]`` with ``e`` standard
normal: ``x[j]`` the true quality of condition j, ``b[i]`` the bias and ``v[i]`` the
inconsistency of subject i (SUREAL's ``MLE_CO``, the model without content ambiguity). Bias
and quality are only known up to a shared constant: the biases are made to average 0 over
subjects, so ``x`` sits on the MOS scale (as SUREAL, ``force_subjbias_zeromean``).

The fit is block coordinate ascent from the MOS: each of ``b``, ``v`` and ``x`` in turn gets
its exact maximiser given the other two (the stationary equations of the log-likelihood,
Li & Bampis 2017 eqs. 11-14), so the likelihood never falls. The likelihood has no global
maximum (a subject whose ratings ``x`` copies exactly gets ``v -> 0`` and an infinite
likelihood); like SUREAL this takes the local maximum reached from the MOS, and refuses a
fit where some ``v`` still collapses (a subject who rates every condition as the others'
consensus plus a constant, or data too sparse to separate subject from condition). SUREAL
0.9.0 (MLE_CO and the alternating projection of P.910) reaches the same collapse and
returns it (``v = 0``, ``x`` one subject's ratings). It is common on small panels: on
simulated panels (x uniform on 1.5-4.5, b ~ N(0, 0.4), v uniform on 0.3-1.2, 40 panels
each) it happened in 37 of 40 panels of 10 subjects x 10 conditions, 17 of 20 x 10, 4 of
20 x 30 and 1 of 30 x 30.

Intervals come from the Fisher information of each parameter with the others held at their
estimates (as SUREAL and Li et al. 2020): ``sd(x[j]) = 1 / sqrt(sum_i 1 / v[i]**2)`` over
the subjects who rated j, ``sd(b[i]) = v[i] / sqrt(n[i])``, normal quantiles; ``v[i]`` gets
the chi-square interval of a standard deviation from its ``n[i]`` ratings. Holding the other
parameters fixed leaves out their uncertainty: these intervals are a little narrow (the
full inverse Fisher information, with the biases' sum fixed, gave 1 to 4 % wider ``x``
intervals on panels of 15 to 40 subjects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from vqabench.errors import invalid

__all__ = ["SubjectModel", "subject_model_mle"]

#: A subject whose inconsistency falls below this fraction of the ratings' spread is
#: fitted exactly: the likelihood then has no maximum and the fit is refused.
_COLLAPSE = 1e-6


@dataclass(frozen=True)
class SubjectModel:
    """Estimates of :func:`subject_model_mle` with their intervals (arrays)."""

    quality: np.ndarray  #: x, per condition
    quality_lo: np.ndarray
    quality_hi: np.ndarray
    bias: np.ndarray  #: b, per subject (mean 0)
    bias_lo: np.ndarray
    bias_hi: np.ndarray
    inconsistency: np.ndarray  #: v, per subject
    inconsistency_lo: np.ndarray
    inconsistency_hi: np.ndarray
    ratings_per_subject: np.ndarray
    iterations: int
    log_likelihood: float


def _connected(have: np.ndarray) -> bool:
    """Whether subjects and conditions form one group through the given ratings."""
    from scipy.sparse import bmat, csr_matrix
    from scipy.sparse.csgraph import connected_components

    m = csr_matrix(have.astype(float))
    graph = bmat([[None, m], [m.T, None]])
    return connected_components(graph, directed=False)[0] == 1


def subject_model_mle(
    ratings: np.ndarray,
    *,
    confidence: float = 0.95,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    subjects: Sequence[str] | None = None,
) -> SubjectModel:
    """Maximum-likelihood true quality, subject bias and subject inconsistency.

    Args:
        ratings: subjects x conditions, NaN where a subject did not rate a condition.
        confidence: coverage of the intervals.
        tol: stop when no estimate moves by more than ``tol`` (rating units) in an iteration.
        max_iter: refuse when not converged after this many iterations.
        subjects: names of the rows, for messages (default: their index).

    Raises:
        ConfigError: not a 2-D array, fewer than 2 subjects, a subject with fewer than 2
            ratings or a condition with none, ratings that do not connect all subjects and
            conditions, a collapsed inconsistency (see the module doc) or no convergence.
    """
    u = np.asarray(ratings, dtype=np.float64)
    if u.ndim != 2:
        raise invalid("ratings", f"array of shape {u.shape}", "subjects x conditions")
    have = ~np.isnan(u)
    n_subject, n_condition = have.sum(axis=1), have.sum(axis=0)
    if u.shape[0] < 2 or n_subject.min() < 2 or n_condition.min() < 1:
        raise invalid(
            "ratings",
            f"{u.shape[0]} subjects with {n_subject.min(initial=0)} to "
            f"{n_subject.max(initial=0)} ratings, {int((n_condition == 0).sum())} "
            "conditions unrated",
            "at least 2 subjects with 2 or more ratings each and every condition rated",
        )
    if not 0 < confidence < 1:
        raise invalid("confidence", confidence, "a number in (0, 1)")
    if not _connected(have):
        raise invalid(
            "ratings",
            "ratings in separate groups of subjects and conditions",
            "ratings that connect every subject and condition",
        )
    z = np.where(have, u, 0.0)
    w_have = have.astype(np.float64)
    x = z.sum(axis=0) / n_condition  # MOS
    b = np.zeros(u.shape[0])
    spread = float(np.nanstd(u)) or 1.0

    def residual() -> np.ndarray:
        return np.where(have, u - x[None, :] - b[:, None], 0.0)

    v = np.sqrt((residual() ** 2).sum(axis=1) / n_subject)
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        previous = np.concatenate([x, b, v])
        b = np.where(have, u - x[None, :], 0.0).sum(axis=1) / n_subject
        v = np.sqrt((residual() ** 2).sum(axis=1) / n_subject)
        if v.min() < _COLLAPSE * spread:
            who = subjects[int(v.argmin())] if subjects is not None else int(v.argmin())
            raise invalid(
                "ratings",
                f"subject {who} fitted exactly (inconsistency 0: the likelihood has no maximum)",
                "ratings from which every subject deviates by noise",
            )
        w = w_have / v[:, None] ** 2
        x = (w * (z - b[:, None])).sum(axis=0) / w.sum(axis=0)
        if np.abs(np.concatenate([x, b, v]) - previous).max() < tol:
            break
    else:
        raise invalid("max_iter", max_iter, f"more iterations (not converged to tol={tol})")
    shift = b.mean()
    b, x = b - shift, x + shift
    r = residual()
    log_likelihood = float(np.sum(np.where(have, stats.norm.logpdf(r, scale=v[:, None]), 0.0)))
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    x_sd = 1 / np.sqrt((w_have / v[:, None] ** 2).sum(axis=0))
    b_sd = v / np.sqrt(n_subject)
    tail = (1 - confidence) / 2
    v_lo = v * np.sqrt(n_subject / stats.chi2.ppf(1 - tail, n_subject))
    v_hi = v * np.sqrt(n_subject / stats.chi2.ppf(tail, n_subject))
    return SubjectModel(
        x,
        x - q * x_sd,
        x + q * x_sd,
        b,
        b - q * b_sd,
        b + q * b_sd,
        v,
        v_lo,
        v_hi,
        n_subject,
        iteration,
        log_likelihood,
    )
