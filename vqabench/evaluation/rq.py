"""Rate–quality (R–Q) models fitted per sequence, and rate-control accuracy.

Models (quality ``q`` as a function of rate ``r`` in kbps), fitted by least squares on the
quality axis, with the coefficient of determination ``R² = 1 - SS_res / SS_tot``:

- ``linear``: ``q = a + b * r``
- ``logarithmic``: ``q = a + b * ln(r)``
- ``exponential``: ``q = a - b * exp(-c * r)`` (saturating, suits VMAF/SSIM; needs >= 4 points)

Rate deviation of a rate-controlled encode: ``|R_target - R_actual| / R_target``.

Example:
    >>> fit_rq([500, 1000, 2000, 4000], [31.0, 34.1, 36.9, 40.2], model="logarithmic").r2
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from vqabench.errors import ConfigError, invalid

__all__ = ["Model", "MODELS", "RQFit", "fit_rq", "fit_rq_table", "rate_deviation"]

Model = Literal["linear", "logarithmic", "exponential"]
MODELS: tuple[str, ...] = ("linear", "logarithmic", "exponential")
_MIN_POINTS = {"linear": 2, "logarithmic": 2, "exponential": 4}


@dataclass(frozen=True)
class RQFit:
    """A fitted R–Q model.

    Attributes:
        model: model name.
        params: (a, b) or (a, b, c) as in the module docstring; NaNs when not fitted.
        r2: coefficient of determination; NaN when not fitted.
        reason: why the fit is missing; empty when fitted.
    """

    model: str
    params: tuple[float, ...]
    r2: float
    reason: str = ""

    def predict(self, rate_kbps: Sequence[float] | float) -> np.ndarray:
        """Quality the model predicts at ``rate_kbps``."""
        return _FUNCS[self.model](np.asarray(rate_kbps, dtype=np.float64), *self.params)


def _linear(r: np.ndarray, a: float, b: float) -> np.ndarray:
    return a + b * r


def _logarithmic(r: np.ndarray, a: float, b: float) -> np.ndarray:
    return a + b * np.log(r)


def _exponential(r: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.exp(-c * r)


_FUNCS = {"linear": _linear, "logarithmic": _logarithmic, "exponential": _exponential}


def fit_rq(rate_kbps: Sequence[float], quality: Sequence[float], *, model: Model = "logarithmic"
           ) -> RQFit:
    """Fit one R–Q model by least squares.

    Args:
        rate_kbps: rates (> 0).
        quality: quality at each rate.
        model: ``"linear"``, ``"logarithmic"`` or ``"exponential"``.

    Returns:
        RQFit; with too few points or no convergence, NaN parameters and a reason.

    Raises:
        ConfigError: unknown model, mismatched lengths, rates <= 0 or non-finite values.
    """
    if model not in MODELS:
        raise invalid("model", model, " | ".join(MODELS))
    r = np.asarray(rate_kbps, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.ndim != 1 or r.shape != q.shape:
        raise invalid("quality", f"{q.size} values", f"one value per rate ({r.size})")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q))) or np.any(r <= 0):
        raise invalid("rate_kbps", r.tolist(), "finite rates > 0 with finite quality")
    n_params = 3 if model == "exponential" else 2
    if r.size < _MIN_POINTS[model]:
        return RQFit(model, (math.nan,) * n_params, math.nan,
                     f"{r.size} point(s); {model} needs at least {_MIN_POINTS[model]}")
    if model == "exponential":
        p0 = [float(q.max()) + float(np.ptp(q)) * 0.1, float(np.ptp(q)) or 1.0,
              1.0 / float(np.mean(r))]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params, _ = optimize.curve_fit(_exponential, r, q, p0=p0, maxfev=20000)
        except RuntimeError as exc:
            return RQFit(model, (math.nan,) * 3, math.nan, f"did not converge: {exc}")
    else:
        x = r if model == "linear" else np.log(r)
        b, a = np.polyfit(x, q, 1)
        params = np.array([a, b])
    pred = _FUNCS[model](r, *params)
    ss_tot = float(np.sum((q - q.mean()) ** 2))
    r2 = 1.0 - float(np.sum((q - pred) ** 2)) / ss_tot if ss_tot > 0 else math.nan
    return RQFit(model, tuple(float(p) for p in params), r2)


def fit_rq_table(results: pd.DataFrame, *, models: Sequence[str] = MODELS,
                 rate_column: str = "kbps") -> pd.DataFrame:
    """Fit every model per (sequence, reference, anchor, metric, codec) of a tidy table.

    Returns:
        Columns ``sequence, reference, anchor, metric, codec, model, a, b, c, r2, reason``
        (``c`` is NaN for two-parameter models).
    """
    for m in models:
        if m not in MODELS:
            raise invalid("models", list(models), " | ".join(MODELS))
    if rate_column not in results.columns:
        raise invalid("rate_column", rate_column, "a column of the results")
    keys = ["sequence", "reference", "anchor", "metric", "codec"]
    rows = []
    for key, cell in results.groupby(keys, sort=True):
        for m in models:
            try:
                f = fit_rq(cell[rate_column].to_numpy(), cell["value"].to_numpy(), model=m)
            except ConfigError as exc:
                f = RQFit(m, (math.nan,) * 3, math.nan, str(exc))
            a, b, c = (*f.params, math.nan)[:3]
            rows.append({**dict(zip(keys, key, strict=True)), "model": m, "a": a, "b": b,
                         "c": c, "r2": f.r2, "reason": f.reason})
    return pd.DataFrame(rows, columns=[*keys, "model", "a", "b", "c", "r2", "reason"])


def rate_deviation(target_kbps: Sequence[float] | float, actual_kbps: Sequence[float] | float
                   ) -> np.ndarray:
    """``|R_target - R_actual| / R_target`` element-wise (a fraction; x100 for percent).

    Raises:
        ConfigError: a target rate <= 0 or mismatched shapes.
    """
    t = np.asarray(target_kbps, dtype=np.float64)
    a = np.asarray(actual_kbps, dtype=np.float64)
    if np.any(t <= 0):
        raise invalid("target_kbps", t.tolist(), "rates > 0")
    try:
        return np.abs(t - a) / t
    except ValueError as exc:
        raise invalid("actual_kbps", a.shape, f"the shape of target_kbps {t.shape}") from exc
