"""Error-distribution analysis: does the residual ``D - R`` look Gaussian or Laplacian?

A Gaussian and a Laplace distribution are fitted by maximum likelihood
(``scipy.stats.norm.fit`` / ``scipy.stats.laplace.fit``); for each, the Q–Q data come from
``scipy.stats.probplot`` with the fitted parameters, R² is the squared correlation of the Q–Q
points, and the Wasserstein-1 distance (``scipy.stats.wasserstein_distance``) is taken between
the sample's order statistics and the fitted distribution's quantiles at the same plotting
positions.

Example:
    >>> fit = fit_residuals(np.random.default_rng(0).laplace(size=10_000))
    >>> fit.better
    'laplace'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vqabench.errors import MetricError, invalid

__all__ = [
    "Family",
    "Criterion",
    "QQData",
    "ResidualFit",
    "residuals",
    "qq_data",
    "fit_residuals",
    "better_fit",
]

Family = Literal["gaussian", "laplace"]
Criterion = Literal["wasserstein", "r2"]
FAMILIES: tuple[Family, ...] = ("gaussian", "laplace")


@dataclass(frozen=True)
class QQData:
    """Q–Q data of a sample against one fitted distribution.

    Attributes:
        family: ``gaussian`` or ``laplace``.
        loc, scale: fitted parameters (mean/std, or median/mean absolute deviation).
        theoretical: quantiles of the fitted distribution (x of the Q–Q plot), ascending.
        ordered: the sorted sample (y of the Q–Q plot).
        slope, intercept: least-squares line through the Q–Q points.
        r2: squared correlation of the Q–Q points (1 = perfect straight line).
        wasserstein: Wasserstein-1 distance between ``ordered`` and ``theoretical``, in the
            sample's units.
    """

    family: Family
    loc: float
    scale: float
    theoretical: np.ndarray
    ordered: np.ndarray
    slope: float
    intercept: float
    r2: float
    wasserstein: float


@dataclass(frozen=True)
class ResidualFit:
    """Both fits of a residual sample and the verdict.

    Attributes:
        gaussian, laplace: the Q–Q data of each fit.
        better: the family that fits better under ``criterion``.
        criterion: ``wasserstein`` (lower wins) or ``r2`` (higher wins).
        n_samples: sample size used (after subsampling).
    """

    gaussian: QQData
    laplace: QQData
    better: Family
    criterion: Criterion
    n_samples: int

    def __getitem__(self, family: Family) -> QQData:
        return {"gaussian": self.gaussian, "laplace": self.laplace}[family]


def residuals(reference: np.ndarray, distorted: np.ndarray) -> np.ndarray:
    """``distorted - reference`` as a flat float64 array (argument order as everywhere).

    Raises:
        MetricError: the arrays differ in shape.
    """
    ref = np.asarray(reference, dtype=np.float64)
    dis = np.asarray(distorted, dtype=np.float64)
    if ref.shape != dis.shape:
        raise MetricError(f"reference {ref.shape} and distorted {dis.shape} differ in shape")
    return (dis - ref).reshape(-1)


def _prepare(sample: np.ndarray, max_samples: int | None, seed: int) -> np.ndarray:
    x = np.asarray(sample, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size < 8:
        raise MetricError(f"distribution fit needs at least 8 finite residuals, got {x.size}")
    if max_samples is not None and x.size > max_samples:
        x = np.random.default_rng(seed).choice(x, size=max_samples, replace=False)
    if np.ptp(x) == 0:
        raise MetricError("residuals are constant: no distribution to fit")
    return x


def qq_data(sample: np.ndarray, family: Family) -> QQData:
    """Fit ``family`` to ``sample`` by maximum likelihood and return its Q–Q data.

    Raises:
        ConfigError: unknown family; MetricError: too few or constant values.
    """
    from scipy import stats

    if family not in FAMILIES:
        raise invalid("family", family, " | ".join(FAMILIES))
    x = _prepare(sample, None, 0)
    dist = stats.norm if family == "gaussian" else stats.laplace
    loc, scale = dist.fit(x)
    (theoretical, ordered), (slope, intercept, r) = stats.probplot(
        x, sparams=(loc, scale), dist=dist, fit=True
    )
    return QQData(
        family,
        float(loc),
        float(scale),
        np.asarray(theoretical),
        np.asarray(ordered),
        float(slope),
        float(intercept),
        float(r) ** 2,
        float(stats.wasserstein_distance(ordered, theoretical)),
    )


def fit_residuals(
    sample: np.ndarray,
    *,
    criterion: Criterion = "wasserstein",
    max_samples: int | None = 200_000,
    seed: int = 0,
) -> ResidualFit:
    """Fit a Gaussian and a Laplace distribution to residuals and say which fits better.

    Args:
        sample: residuals (any shape; non-finite values dropped).
        criterion: ``wasserstein`` (default; lower distance to the fitted distribution wins)
            or ``r2`` (straighter Q–Q plot wins).
        max_samples: subsample (without replacement, under ``seed``) to at most this many
            values; None keeps all.
        seed: seed of the subsampling.

    Raises:
        ConfigError: unknown criterion; MetricError: too few or constant values.
    """
    if criterion not in ("wasserstein", "r2"):
        raise invalid("criterion", criterion, "'wasserstein' | 'r2'")
    x = _prepare(sample, max_samples, seed)
    gauss, lap = qq_data(x, "gaussian"), qq_data(x, "laplace")
    if criterion == "wasserstein":
        better: Family = "gaussian" if gauss.wasserstein <= lap.wasserstein else "laplace"
    else:
        better = "gaussian" if gauss.r2 >= lap.r2 else "laplace"
    return ResidualFit(gauss, lap, better, criterion, int(x.size))


def better_fit(sample: np.ndarray, *, criterion: Criterion = "wasserstein") -> Family:
    """``"gaussian"`` or ``"laplace"``: the family that fits ``sample`` better."""
    return fit_residuals(sample, criterion=criterion).better
