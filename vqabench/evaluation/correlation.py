"""How well a quality metric predicts subjective scores (MOS/DMOS), VQEG style.

- SROCC and KROCC (Kendall tau-b) on the raw predictions: they are invariant to monotonic
  mappings.
- PLCC and RMSE after an optional monotonic logistic mapping of the predictions onto the
  label scale, fitted by least squares (VQEG FR-TV Phase II; ITU-T P.1401):

  * ``logistic4``: ``f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``
  * ``logistic5``: ``f(x) = b1 * (0.5 - 1 / (1 + exp(b2 * (x - b3)))) + b4 * x + b5``
    (Sheikh et al. 2006, LIVE)

- Outlier ratio: fraction of items whose mapped prediction lies more than twice the label's
  standard deviation (across raters) from the label (VQEG FR-TV Phase I definition);
  NaN when ``label_std`` is not given.
- Percentile bootstrap confidence intervals (items resampled with replacement, seeded).
  PLCC/RMSE intervals keep the mapping fitted on all items (they do not refit per resample).
  With ``groups`` (e.g. the source of each patch), whole groups are resampled instead
  (a cluster bootstrap), as items cut from one source are not independent; with few groups
  the percentile interval is too narrow, so read it as a lower bound on the uncertainty.
- :func:`compare_metrics` tests whether two metrics differ on the same items: Williams' t-test
  for two dependent correlations sharing one variable (Williams 1959; Steiger 1980, eq. 7;
  on ranks for SROCC) and a paired bootstrap of the difference.
- From runs: :func:`items_from_results` joins a run's tidy results (metrics ``NAME@ANCHOR``)
  with labels (a study's scores.csv, or a metric of the run as proxy ground truth) on
  (sequence, reference, codec, rate point); :func:`correlation_by` and
  :func:`comparison_table` give the tables overall and per codec / group / dataset.

Example:
    >>> r = correlation(vmaf_scores, mos, fit="logistic4", bootstrap=1000, seed=0)
    >>> r.srocc, r.ci["srocc"]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from vqabench.errors import ConfigError, invalid

__all__ = [
    "Fit",
    "FITS",
    "CorrelationResult",
    "ComparisonResult",
    "logistic4",
    "logistic5",
    "fit_logistic",
    "correlation",
    "correlation_table",
    "compare_metrics",
    "williams_test",
    "ITEM_KEYS",
    "parse_metric_ref",
    "items_from_results",
    "correlation_by",
    "comparison_table",
]

Fit = Literal["logistic4", "logistic5"]
FITS: tuple[str, ...] = ("logistic4", "logistic5")
_STATS = ("srocc", "krocc", "plcc", "rmse")


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """Four-parameter logistic: ``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``."""
    z = np.clip(-(np.asarray(x, dtype=np.float64) - b3) / (abs(b4) + 1e-12), -500, 500)
    return (b1 - b2) / (1.0 + np.exp(z)) + b2


def logistic5(x: np.ndarray, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    """Five-parameter logistic: ``b1 * (0.5 - 1 / (1 + exp(b2 * (x - b3)))) + b4 * x + b5``."""
    x = np.asarray(x, dtype=np.float64)
    z = np.clip(b2 * (x - b3), -500, 500)
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(z))) + b4 * x + b5


@dataclass(frozen=True)
class CorrelationResult:
    """Agreement between predictions and labels.

    Attributes:
        srocc: Spearman rank-order correlation.
        krocc: Kendall rank-order correlation (tau-b).
        plcc: Pearson correlation of the (mapped) predictions with the labels.
        rmse: root mean squared error of the (mapped) predictions, in label units.
        outlier_ratio: see module docstring; NaN without ``label_std``.
        n: number of items.
        fit: the mapping used (``"none"``, ``"logistic4"``, ``"logistic5"``).
        fit_params: fitted parameters (b1, b2, ...); empty without a mapping.
        ci: statistic name -> (low, high) bootstrap interval; empty without bootstrap.
    """

    srocc: float
    krocc: float
    plcc: float
    rmse: float
    outlier_ratio: float
    n: int
    fit: str = "none"
    fit_params: tuple[float, ...] = ()
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonResult:
    """Difference ``statistic(a) - statistic(b)`` on the same items and its significance.

    Attributes:
        statistic: ``"srocc"`` or ``"plcc"``.
        difference: the observed difference.
        ci: percentile bootstrap interval of the difference.
        p_bootstrap: two-sided bootstrap p-value (share of resamples on the other side of 0,
            doubled).
        williams_t: Williams' t statistic (df = n - 3).
        p_williams: two-sided p-value of Williams' test.
    """

    statistic: str
    difference: float
    ci: tuple[float, float]
    p_bootstrap: float
    williams_t: float
    p_williams: float


def _pair(
    predictions: Sequence[float], labels: Sequence[float], min_n: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise invalid(
            "labels", f"array of shape {y.shape}", f"a 1-D array as long as predictions ({x.shape})"
        )
    if x.size < min_n:
        raise invalid("predictions", f"{x.size} items", f"at least {min_n} items")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise invalid("predictions/labels", "non-finite values", "finite numbers only")
    return x, y


def fit_logistic(
    predictions: Sequence[float], labels: Sequence[float], *, kind: Fit = "logistic4"
) -> tuple[float, ...]:
    """Least-squares fit of a logistic mapping from predictions to labels.

    Returns:
        The parameters (b1..b4 or b1..b5) of :func:`logistic4` / :func:`logistic5`.

    Raises:
        ConfigError: unknown ``kind``, too few items, or the optimiser did not converge.
    """
    if kind not in FITS:
        raise invalid("fit", kind, " | ".join(FITS))
    x, y = _pair(predictions, labels, min_n=len(FITS) + 3)
    sx = float(np.std(x)) or 1.0
    increasing = stats.pearsonr(x, y)[0] >= 0 if np.ptp(x) > 0 and np.ptp(y) > 0 else True
    if kind == "logistic4":
        hi, lo = (y.max(), y.min()) if increasing else (y.min(), y.max())
        func, p0 = logistic4, [hi, lo, float(np.median(x)), sx / 2]
    else:
        span = float(np.ptp(y)) or 1.0
        func, p0 = (
            logistic5,
            [span if increasing else -span, 2.0 / sx, float(np.median(x)), 0.0, float(np.mean(y))],
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            params, _ = optimize.curve_fit(func, x, y, p0=p0, maxfev=20000)
    except RuntimeError as exc:
        raise ConfigError(
            f"fit={kind!r} did not converge on these {x.size} items: {exc}; "
            "try fit=None or the other logistic"
        ) from exc
    return tuple(float(p) for p in params)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _resamples(
    rng: np.random.Generator, n: int, count: int, groups: Sequence[object] | None
) -> np.ndarray | list[np.ndarray]:
    """``count`` bootstrap index sets over ``n`` items: items, or whole ``groups``, drawn
    with replacement (a cluster bootstrap; resamples then vary in size)."""
    if groups is None:
        return rng.integers(0, n, size=(count, n))
    if len(groups) != n:
        raise invalid("groups", f"{len(groups)} labels", f"one group label per item ({n})")
    _, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    members = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    if len(members) < 2:
        raise invalid("groups", f"{len(members)} group", "two groups or more to resample")
    return [
        np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        for _ in range(count)
    ]


def _stats(x: np.ndarray, y: np.ndarray, mapped: np.ndarray) -> dict[str, float]:
    return {
        "srocc": float(stats.spearmanr(x, y)[0]),
        "krocc": float(stats.kendalltau(x, y)[0]),
        "plcc": float(stats.pearsonr(mapped, y)[0]),
        "rmse": _rmse(mapped, y),
    }


def correlation(
    predictions: Sequence[float],
    labels: Sequence[float],
    *,
    fit: Fit | None = None,
    label_std: Sequence[float] | None = None,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[object] | None = None,
) -> CorrelationResult:
    """SROCC, KROCC, PLCC, RMSE, outlier ratio and optional bootstrap intervals.

    Args:
        predictions: metric values, one per item.
        labels: subjective scores (MOS/DMOS), one per item.
        fit: None (PLCC/RMSE on raw predictions), ``"logistic4"`` or ``"logistic5"``.
        label_std: per-item standard deviation of the labels across raters, for the outlier
            ratio.
        bootstrap: number of bootstrap resamples (0 = no intervals).
        confidence: interval coverage, e.g. 0.95.
        seed: seed of the resampling generator.
        groups: one label per item; the bootstrap then resamples whole groups (see the
            module docstring).

    Returns:
        CorrelationResult.

    Raises:
        ConfigError: mismatched lengths, fewer than 3 items, bad options.

    Example:
        >>> correlation([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.9]).srocc
        1.0
    """
    x, y = _pair(predictions, labels)
    if not 0 < confidence < 1:
        raise invalid("confidence", confidence, "a fraction in (0, 1)")
    if not isinstance(bootstrap, int) or bootstrap < 0:
        raise invalid("bootstrap", bootstrap, "an integer >= 0 (number of resamples)")
    params: tuple[float, ...] = ()
    mapped = x
    if fit is not None:
        params = fit_logistic(x, y, kind=fit)
        mapped = (logistic4 if fit == "logistic4" else logistic5)(x, *params)
    values = _stats(x, y, mapped)
    outliers = math.nan
    if label_std is not None:
        sd = np.asarray(label_std, dtype=np.float64)
        if sd.shape != y.shape or np.any(sd < 0):
            raise invalid(
                "label_std",
                f"array of shape {sd.shape}",
                f"non-negative values, one per item ({y.size})",
            )
        outliers = float(np.mean(np.abs(mapped - y) > 2.0 * sd))
    ci: dict[str, tuple[float, float]] = {}
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = np.array(
            [
                list(_stats(x[i], y[i], mapped[i]).values())
                for i in _resamples(rng, x.size, bootstrap, groups)
            ]
        )
        tail = (1.0 - confidence) / 2.0 * 100.0
        for k, name in enumerate(_STATS):
            lo, hi = np.nanpercentile(draws[:, k], [tail, 100.0 - tail])
            ci[name] = (float(lo), float(hi))
    return CorrelationResult(
        n=int(x.size), fit=fit or "none", fit_params=params, ci=ci, outlier_ratio=outliers, **values
    )


def williams_test(r12: float, r13: float, r23: float, n: int) -> tuple[float, float]:
    """Williams' t-test of ``r12 == r13`` for correlations that share variable 1.

    Args:
        r12: correlation of the labels with metric A.
        r13: correlation of the labels with metric B.
        r23: correlation of metric A with metric B.
        n: number of items (> 3).

    Returns:
        (t, two-sided p) with n - 3 degrees of freedom.
    """
    if n <= 3:
        raise invalid("n", n, "an integer > 3")
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    denom = 2 * (n - 1) / (n - 3) * det + ((r12 + r13) ** 2 / 4) * (1 - r23) ** 3
    if denom <= 0:
        return 0.0 if r12 == r13 else math.copysign(math.inf, r12 - r13), float(r12 == r13)
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / denom)
    return float(t), float(2 * stats.t.sf(abs(t), n - 3))


def compare_metrics(
    predictions_a: Sequence[float],
    predictions_b: Sequence[float],
    labels: Sequence[float],
    *,
    statistic: Literal["srocc", "plcc"] = "srocc",
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[object] | None = None,
) -> ComparisonResult:
    """Is metric A's correlation with the labels different from metric B's?

    Both tests are paired (same items). Williams' test is applied to Pearson correlations of
    the raw values (``plcc``) or of their ranks (``srocc``) and assumes independent items;
    the bootstrap resamples items, or whole ``groups`` (one label per item) when given, and
    recomputes both correlations on each resample.
    """
    if statistic not in ("srocc", "plcc"):
        raise invalid("statistic", statistic, "srocc | plcc")
    a, y = _pair(predictions_a, labels, min_n=4)
    b, _ = _pair(predictions_b, labels, min_n=4)
    if not isinstance(bootstrap, int) or bootstrap < 1:
        raise invalid("bootstrap", bootstrap, "an integer >= 1 (number of resamples)")
    if statistic == "srocc":
        a, b, y = stats.rankdata(a), stats.rankdata(b), stats.rankdata(y)

    def corr(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.corrcoef(u, v)[0, 1])

    r12, r13, r23 = corr(y, a), corr(y, b), corr(a, b)
    t, p_w = williams_test(r12, r13, r23, a.size)
    rng = np.random.default_rng(seed)
    diffs = np.empty(bootstrap)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant resamples give NaN, dropped
        for k, i in enumerate(_resamples(rng, a.size, bootstrap, groups)):
            ya, aa, bb = y[i], a[i], b[i]
            if statistic == "srocc":
                ya, aa, bb = stats.rankdata(ya), stats.rankdata(aa), stats.rankdata(bb)
            diffs[k] = corr(aa, ya) - corr(bb, ya)
    diffs = diffs[np.isfinite(diffs)]
    tail = (1.0 - confidence) / 2.0 * 100.0
    if not diffs.size:  # a constant metric: no correlation, so no difference, on any resample
        return ComparisonResult(statistic, r12 - r13, (math.nan, math.nan), math.nan, t, p_w)
    lo, hi = np.percentile(diffs, [tail, 100.0 - tail])
    p_boot = min(1.0, 2.0 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    return ComparisonResult(statistic, r12 - r13, (float(lo), float(hi)), float(p_boot), t, p_w)


def correlation_table(
    table: pd.DataFrame,
    *,
    label: str,
    metrics: Sequence[str],
    fit: Fit | None = None,
    label_std: str | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`correlation` of each metric column of ``table`` with the ``label`` column.

    Rows with a missing value in the label or the metric are skipped for that metric.

    Returns:
        One row per metric: ``metric, n, srocc, krocc, plcc, rmse, outlier_ratio`` and, with
        ``bootstrap``, ``<stat>_lo``/``<stat>_hi`` interval columns.

    Raises:
        ConfigError: a named column is missing.
    """
    for name, col in [
        ("label", label),
        ("label_std", label_std),
        *[("metrics", m) for m in metrics],
    ]:
        if col is not None and col not in table.columns:
            present = ", ".join(map(str, table.columns))
            raise invalid(name, col, f"a column of the table ({present})")
    if not metrics:
        raise invalid("metrics", list(metrics), "at least one metric column")
    rows = []
    for metric in metrics:
        cols = [metric, label] + ([label_std] if label_std else [])
        part = table[cols].apply(pd.to_numeric, errors="coerce").dropna()
        r = correlation(
            part[metric],
            part[label],
            fit=fit,
            label_std=part[label_std] if label_std else None,
            bootstrap=bootstrap,
            seed=seed,
        )
        row = {
            "metric": metric,
            "n": r.n,
            "srocc": r.srocc,
            "krocc": r.krocc,
            "plcc": r.plcc,
            "rmse": r.rmse,
            "outlier_ratio": r.outlier_ratio,
        }
        for stat, (lo, hi) in r.ci.items():
            row[f"{stat}_lo"], row[f"{stat}_hi"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


ITEM_KEYS: tuple[str, ...] = ("sequence", "reference", "codec", "rate_point")


def parse_metric_ref(text: str, *, default_anchor: str = "source") -> tuple[str, str]:
    """``"vmaf@reference"`` -> ``("vmaf", "reference")``; no ``@`` -> the default anchor.

    Raises:
        ConfigError: empty name or anchor.
    """
    name, _, anchor = text.strip().partition("@")
    anchor = anchor or default_anchor
    if not name or not anchor or "@" in anchor:
        raise invalid("metric", text, "NAME or NAME@ANCHOR, e.g. vmaf@source")
    return name, anchor


def items_from_results(
    results: pd.DataFrame,
    metrics: Sequence[str],
    *,
    label: pd.DataFrame | str,
    extra: Sequence[str] = ("group",),
) -> pd.DataFrame:
    """One row per coded item (sequence, reference, codec, rate point) with metric columns.

    Args:
        results: tidy results (results.csv of a run).
        metrics: ``NAME@ANCHOR`` column names to build (anchor default ``source``).
        label: ``NAME@ANCHOR`` of a metric of the same results used as proxy ground truth,
            or a tidy table of scores (``scores.csv`` of a study, one metric) with a
            ``value`` column; the label column is named ``label``.
        extra: item columns of ``results`` kept for grouping (when present).

    Returns:
        Items that have the label and at least one metric; metric columns may hold NaN.

    Raises:
        ConfigError: a metric/anchor missing from the results, or no items in common.
    """

    def column(name: str, anchor: str) -> pd.Series:
        part = results[(results["metric"] == name) & (results["anchor"] == anchor)]
        if part.empty:
            have = sorted(
                {f"{m}@{a}" for m, a in zip(results["metric"], results["anchor"], strict=True)}
            )
            raise invalid("metrics", f"{name}@{anchor}", f"a metric of the run ({', '.join(have)})")
        return part.drop_duplicates(list(ITEM_KEYS)).set_index(list(ITEM_KEYS))["value"]

    keep = [c for c in extra if c in results.columns]
    base = results.drop_duplicates(list(ITEM_KEYS)).set_index(list(ITEM_KEYS))[keep]
    cols = {m: column(*parse_metric_ref(m)) for m in metrics}
    if isinstance(label, str):
        lab = column(*parse_metric_ref(label))
    else:
        missing = [c for c in (*ITEM_KEYS, "value") if c not in label.columns]
        if missing:
            raise invalid(
                "label",
                f"table lacking {', '.join(missing)}",
                "a tidy scores table (scores.csv of `vqabench study analyze`)",
            )
        lab = (
            label.assign(**{k: label[k].astype(str) for k in ITEM_KEYS})
            .drop_duplicates(list(ITEM_KEYS))
            .set_index(list(ITEM_KEYS))["value"]
        )
    table = base.join(pd.DataFrame(cols)).join(lab.rename("label"), how="inner")
    table = table[table["label"].notna()]
    if table.empty:
        raise invalid(
            "label",
            "scores without items in common with the run",
            "scores of the run's (sequence, reference, codec, rate_point) items",
        )
    return table.reset_index()


def correlation_by(
    items: pd.DataFrame,
    *,
    metrics: Sequence[str],
    by: str | None = None,
    label: str = "label",
    fit: Fit | None = "logistic4",
    bootstrap: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`correlation_table` per group of ``by`` (and over all items: group ``all``).

    A group too small for the statistics gets NaN and the reason in ``note``; no number is
    made up for it.

    Returns:
        the group (column named after ``by``; ``items`` without one), then the columns of
        :func:`correlation_table` and ``note``.
    """
    groups = [("all", items)]
    if by is not None:
        if by not in items.columns:
            raise invalid("by", by, f"an item column ({', '.join(map(str, items.columns))})")
        groups += [(str(g), part) for g, part in items.groupby(by, sort=True)]
    rows = []
    for name, part in groups:
        try:
            table = correlation_table(
                part, label=label, metrics=metrics, fit=fit, bootstrap=bootstrap, seed=seed
            ).assign(note="")
        except ConfigError as exc:
            table = pd.DataFrame(
                {"metric": list(metrics), "n": len(part), "note": f"not computed: {exc}"}
            )
        rows.append(table.assign(**{by or "items": name}))
    out = pd.concat(rows, ignore_index=True)
    out["n"] = out["n"].astype(int)
    first = [by or "items", "metric", "n", *_STATS, "outlier_ratio"]
    out = out.reindex(columns=[*first, *(c for c in out.columns if c not in first)])
    return out


def comparison_table(
    items: pd.DataFrame,
    *,
    metrics: Sequence[str],
    by: str | None = None,
    label: str = "label",
    statistic: Literal["srocc", "plcc"] = "srocc",
    bootstrap: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`compare_metrics` for every pair of metrics, per group of ``by`` and overall.

    Returns:
        ``by, metric_a, metric_b, statistic, n, difference, lo, hi, williams_t,
        p_williams, p_bootstrap, note``.
    """
    groups = [("all", items)]
    if by is not None:
        groups += [(str(g), part) for g, part in items.groupby(by, sort=True)]
    rows = []
    for name, part in groups:
        for i, a in enumerate(metrics):
            for b in metrics[i + 1 :]:
                both = part[[a, b, label]].apply(pd.to_numeric, errors="coerce").dropna()
                row = {
                    by or "items": name,
                    "metric_a": a,
                    "metric_b": b,
                    "statistic": statistic,
                    "n": len(both),
                }
                try:
                    r = compare_metrics(
                        both[a],
                        both[b],
                        both[label],
                        statistic=statistic,
                        bootstrap=bootstrap,
                        seed=seed,
                    )
                    row.update(
                        difference=r.difference,
                        lo=r.ci[0],
                        hi=r.ci[1],
                        williams_t=r.williams_t,
                        p_williams=r.p_williams,
                        p_bootstrap=r.p_bootstrap,
                        note="",
                    )
                except ConfigError as exc:
                    row.update(note=str(exc))
                rows.append(row)
    return pd.DataFrame(rows)
