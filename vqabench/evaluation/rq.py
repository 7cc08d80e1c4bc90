"""Rate–quality (R–Q) models fitted per sequence, and rate-control accuracy.

Two families, both with the coefficient of determination ``R² = 1 - SS_res / SS_tot``.

**Rate against the coding parameter** (``axis="parameter"``, the R–Q models of RQ-LVC): rate
``R`` (kbps per sequence, or bits per frame at ``level="frame"``) as a function of the coding
parameter ``p`` of a rate point (QP, CRF, a learned codec's quality level; a non-numeric
level such as ``model=s`` is replaced by its position 1, 2, ... in the ladder), fitted by
linear least squares (:func:`numpy.linalg.lstsq`):

- ``linear``: ``R = a + b * p``
- ``exponential``: ``R = a * exp(b * p)``, fitted as ``ln R = ln a + b * p`` (needs R > 0)
- ``logarithmic``: ``R = a + b * ln(p)`` (needs p > 0)

``R²`` is computed on ``R`` itself (for the exponential model: from ``a * exp(b * p)``, not
on ``ln R``). See :func:`fit_rate_parameter` and :func:`fit_rp_table`.

**Quality against rate** (``axis="quality"``): quality ``q`` as a function of rate ``r`` in
kbps, fitted by least squares on the quality axis:

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
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from vqabench.errors import ConfigError, invalid

__all__ = [
    "Model",
    "MODELS",
    "RQFit",
    "fit_rq",
    "fit_rq_table",
    "rate_deviation",
    "PARAMETER_MODELS",
    "LEVELS",
    "fit_rate_parameter",
    "rate_parameter_points",
    "fit_rp_table",
    "rp_table",
]

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


def _paired(
    model: str,
    models: tuple[str, ...],
    x: Sequence[float],
    y: Sequence[float],
    y_name: str,
    x_noun: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float64 vectors of one length, once ``model`` is one of ``models``.

    Raises:
        ConfigError: unknown model or mismatched lengths (named as ``y_name``).
    """
    if model not in models:
        raise invalid("model", model, " | ".join(models))
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise invalid(y_name, f"{b.size} values", f"one value per {x_noun} ({a.size})")
    return a, b


def fit_rq(
    rate_kbps: Sequence[float], quality: Sequence[float], *, model: Model = "logarithmic"
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
    r, q = _paired(model, MODELS, rate_kbps, quality, "quality", "rate")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q))) or np.any(r <= 0):
        raise invalid("rate_kbps", r.tolist(), "finite rates > 0 with finite quality")
    n_params = 3 if model == "exponential" else 2
    if r.size < _MIN_POINTS[model]:
        return RQFit(
            model,
            (math.nan,) * n_params,
            math.nan,
            f"{r.size} point(s); {model} needs at least {_MIN_POINTS[model]}",
        )
    if model == "exponential":
        p0 = [
            float(q.max()) + float(np.ptp(q)) * 0.1,
            float(np.ptp(q)) or 1.0,
            1.0 / float(np.mean(r)),
        ]
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


def fit_rq_table(
    results: pd.DataFrame, *, models: Sequence[str] = MODELS, rate_column: str = "kbps"
) -> pd.DataFrame:
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
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "model": m,
                    "a": a,
                    "b": b,
                    "c": c,
                    "r2": f.r2,
                    "reason": f.reason,
                }
            )
    return pd.DataFrame(rows, columns=[*keys, "model", "a", "b", "c", "r2", "reason"])


def rate_deviation(
    target_kbps: Sequence[float] | float, actual_kbps: Sequence[float] | float
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


PARAMETER_MODELS: tuple[str, ...] = ("linear", "exponential", "logarithmic")
LEVELS: tuple[str, ...] = ("sequence", "frame")


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else math.nan


def fit_rate_parameter(
    parameter: Sequence[float], rate: Sequence[float], *, model: str = "logarithmic"
) -> RQFit:
    """Fit rate against the coding parameter (module docstring: ``axis="parameter"``).

    Args:
        parameter: coding parameter of each point (QP, CRF, level).
        rate: rate of each point (kbps, or bits of a frame).
        model: ``"linear"``, ``"exponential"`` or ``"logarithmic"``.

    Returns:
        RQFit with ``params = (a, b)``; NaN and a reason when the model cannot be fitted
        (fewer than two distinct parameters, p <= 0 for logarithmic, R <= 0 for exponential).

    Raises:
        ConfigError: unknown model, mismatched lengths or non-finite values.

    Example:
        >>> fit_rate_parameter([22, 27, 32, 37], [900, 480, 250, 130], model="exponential").r2
    """
    p, r = _paired(model, PARAMETER_MODELS, parameter, rate, "rate", "parameter")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(r))):
        raise invalid("rate", r.tolist(), "finite rates and parameters")
    nan = RQFit(model, (math.nan, math.nan), math.nan)
    if np.unique(p).size < 2:
        return replace(
            nan, reason=f"{np.unique(p).size} distinct parameter value(s); needs at least 2"
        )
    if model == "logarithmic" and np.any(p <= 0):
        return replace(nan, reason="a parameter <= 0; the logarithmic model needs p > 0")
    if model == "exponential" and np.any(r <= 0):
        return replace(nan, reason="a rate <= 0; the exponential model needs R > 0")
    x = np.log(p) if model == "logarithmic" else p
    y = np.log(r) if model == "exponential" else r
    design = np.column_stack([np.ones_like(x), x])
    (c0, c1), *_ = np.linalg.lstsq(design, y, rcond=None)
    a = float(np.exp(c0)) if model == "exponential" else float(c0)
    pred = a * np.exp(c1 * p) if model == "exponential" else c0 + c1 * x
    return RQFit(model, (a, float(c1)), _r2(r, pred))


_POINT_KEYS = ["sequence", "reference", "codec"]


def _parameter_values(rate_points: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``qp=22`` -> ("qp", 22.0); non-numeric levels -> their 1-based ladder position."""
    split = rate_points.str.split("=", n=1, expand=True)
    names, raw = split[0], split[1]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.isna().any():
        order = {v: i + 1 for i, v in enumerate(dict.fromkeys(raw))}
        numeric = raw.map(order).astype(float)
    return names, numeric


def rate_parameter_points(
    results: pd.DataFrame, per_frame: pd.DataFrame | None = None, *, level: str = "sequence"
) -> pd.DataFrame:
    """The (parameter, rate) points of every (sequence, reference, codec).

    Args:
        results: tidy results (results.csv); one point per rate point at sequence level.
        per_frame: per_frame.csv with ``frame_bits``; needed at ``level="frame"`` (one
            point per frame and rate point).
        level: ``"sequence"`` (rate in kbps) or ``"frame"`` (rate in bits per frame).

    Returns:
        Columns ``sequence, reference, codec, param, parameter, rate``. Rate-controlled
        points (``kbps=``) have no coding parameter and are left out.

    Raises:
        ConfigError: unknown level, or ``level="frame"`` without frame sizes.
    """
    if level not in LEVELS:
        raise invalid("level", level, " | ".join(LEVELS))
    if level == "sequence":
        pts = results.drop_duplicates([*_POINT_KEYS, "rate_point"])[
            [*_POINT_KEYS, "rate_point", "kbps"]
        ].rename(columns={"kbps": "rate"})
    else:
        if per_frame is None or "frame_bits" not in per_frame.columns:
            raise ConfigError(
                "level='frame' needs per_frame.csv with a frame_bits column "
                "(written by `vqabench run` since frame-level rates exist)"
            )
        pf = per_frame[per_frame["frame_bits"].notna() & (per_frame["frame_bits"] != "")]
        pts = pf.drop_duplicates([*_POINT_KEYS, "rate_point", "frame"])[
            [*_POINT_KEYS, "rate_point", "frame_bits"]
        ].rename(columns={"frame_bits": "rate"})
    pts = pts[~pts["rate_point"].astype(str).str.startswith("kbps=")].copy()
    pts["rate"] = pts["rate"].astype(float)
    names, values = _parameter_values(pts["rate_point"].astype(str))
    pts["param"], pts["parameter"] = names.to_numpy(), values.to_numpy()
    return pts[[*_POINT_KEYS, "param", "parameter", "rate"]].reset_index(drop=True)


def fit_rp_table(points: pd.DataFrame, *, models: Sequence[str] = PARAMETER_MODELS) -> pd.DataFrame:
    """Fit every model per (sequence, reference, codec) of :func:`rate_parameter_points`.

    Returns:
        Columns ``sequence, reference, codec, param, n_points, model, a, b, r2, reason``.
    """
    for m in models:
        if m not in PARAMETER_MODELS:
            raise invalid("models", list(models), " | ".join(PARAMETER_MODELS))
    rows = []
    for key, cell in points.groupby(_POINT_KEYS, sort=True):
        for m in models:
            f = fit_rate_parameter(cell["parameter"].to_numpy(), cell["rate"].to_numpy(), model=m)
            rows.append(
                {
                    **dict(zip(_POINT_KEYS, key, strict=True)),
                    "param": "/".join(dict.fromkeys(cell["param"])),
                    "n_points": len(cell),
                    "model": m,
                    "a": f.params[0],
                    "b": f.params[1],
                    "r2": f.r2,
                    "reason": f.reason,
                }
            )
    return pd.DataFrame(
        rows, columns=[*_POINT_KEYS, "param", "n_points", "model", "a", "b", "r2", "reason"]
    )


def rp_table(fits: pd.DataFrame) -> pd.DataFrame:
    """RQ-LVC Table 2 layout: rows (codec, sequence) with an ``Average`` row per codec,
    columns the models' R², and ``Best``: the model with the highest R² in the row."""
    models = list(dict.fromkeys(fits["model"]))
    rows = []
    for (codec, reference), part in fits.groupby(["codec", "reference"], sort=True):
        wide = part.pivot_table(
            index="sequence", columns="model", values="r2", aggfunc="first", dropna=False
        ).reindex(columns=models)
        wide.loc["Average"] = wide.mean(axis=0, skipna=True)
        for seq, r2 in wide.iterrows():
            best = r2.idxmax() if r2.notna().any() else ""
            rows.append(
                {
                    "Codec": codec,
                    "Reference": reference,
                    "Sequence": seq,
                    **{m: float(r2[m]) for m in models},
                    "Best": best,
                }
            )
    table = pd.DataFrame(rows, columns=["Codec", "Reference", "Sequence", *models, "Best"])
    if set(table["Reference"]) <= {"source"}:
        table = table.drop(columns="Reference")
    return table
