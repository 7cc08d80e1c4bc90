"""Bjøntegaard-delta rate and quality (BD-rate, BD-PSNR/BD-quality).

BD-rate is the average relative rate difference between two rate–quality (RD) curves over the
quality interval both curves cover; BD-quality is the average quality difference over the
log-rate interval both cover. Each curve is interpolated with log10(rate) on one axis:

- ``"pchip"``: piecewise cubic Hermite interpolation (Fritsch–Carlson slopes), integrated
  exactly over the overlap. This is the JCT-VC/JVET common-test-conditions Excel sheet
  (JCTVC-E137, JCTVC-L1100, JVET-T2010) and the default of the ``bjontegaard`` package; on
  monotonic curves it reproduces the sheet to ~1e-12.
- ``"cubic"``: a third-order polynomial least-squares fit (VCEG-M33, Bjøntegaard 2001).
  It can oscillate between points; kept for comparison with older papers.
- ``"akima"``: Akima (1970) interpolation, as recommended by Herglotz et al., "Beyond
  Bjontegaard" (arXiv:2202.12565).

Behaviour on awkward data (each case has a test):

- **Fewer than** ``min_points`` (default 4, as JVET requires) distinct points on a curve: NaN
  with a reason. ``min_points`` may be lowered to 2 for ``pchip``/``akima`` (linear pieces
  then); ``cubic`` always needs 4.
- **Duplicate points** (same rate and quality) are merged into one before counting.
- **Non-monotonic curves** (quality not strictly increasing with rate, including flat or
  saturated stretches such as VMAF at 100): NaN with a reason by default
  (``nonmonotonic="reject"``); ``nonmonotonic="pareto"`` keeps only the Pareto-efficient
  points (each point must beat every cheaper point), which is what a convex-hull/"best
  encode" comparison does, and records a note.
- **Quality falling as rate rises on a whole curve** with ``higher_is_better=True`` is the
  signature of a lower-is-better metric (LPIPS, DISTS) passed without
  ``higher_is_better=False``: NaN with a reason that says so, never a silently wrong sign.
- **Lower-is-better metrics**: the quality axis is negated internally, so BD-rate keeps its
  meaning (negative = the test codec needs fewer bits for the same quality). BD-quality is
  returned in the metric's own units as test minus anchor (for LPIPS, negative = better).
- **No overlap** of the integration intervals: NaN with a reason. Overlap is measured as
  intersection over union of the two intervals; below ``min_overlap`` (default 0, i.e. only
  an empty overlap) the result is NaN; below 0.75 the value is computed with a note
  (and :func:`bd_rate`/:func:`bd_quality` emit :class:`BDWarning`), following the threshold
  the ``bjontegaard`` package and its Matlab twin use.
- **Invalid input** (unknown method, mismatched lengths, rates <= 0, non-finite values):
  :class:`~vqabench.errors.ConfigError` naming the argument.

Two API flavours, consistent everywhere:

- :func:`bd_rate_result` / :func:`bd_quality_result` never raise for data conditions: they
  return a :class:`BDResult` whose ``value`` is NaN and whose ``reason`` says why.
- :func:`bd_rate` / :func:`bd_quality` return a float and raise :class:`BDRateError` (a
  :class:`~vqabench.errors.VqabenchError`) carrying the same reason instead of returning NaN.

Example:
    >>> r, q = [100, 200, 400, 800], [30, 33, 36, 39]
    >>> round(bd_rate(r, q, [0.9 * x for x in r], q), 6)  # 10 % fewer bits at every quality
    -10.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.interpolate import Akima1DInterpolator, PchipInterpolator

from vqabench.errors import VqabenchError, invalid

__all__ = [
    "Method",
    "METHODS",
    "Nonmonotonic",
    "BDResult",
    "BDRateError",
    "BDWarning",
    "bd_rate",
    "bd_quality",
    "bd_rate_result",
    "bd_quality_result",
    "SMALL_OVERLAP",
]

Method = Literal["pchip", "cubic", "akima"]
METHODS: tuple[str, ...] = ("pchip", "cubic", "akima")
Nonmonotonic = Literal["reject", "pareto"]
_NONMONOTONIC: tuple[str, ...] = ("reject", "pareto")

#: Overlap (intersection over union) below which a computed value carries a note.
SMALL_OVERLAP = 0.75


class BDRateError(VqabenchError, ValueError):
    """A BD value cannot be computed from the given curves; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(f"BD value is undefined: {reason}")
        self.reason = reason


class BDWarning(UserWarning):
    """A BD value was computed but deserves a look (e.g. small curve overlap)."""


@dataclass(frozen=True)
class BDResult:
    """A BD value with the reason it is NaN, or notes about how it was obtained.

    Attributes:
        value: BD-rate in percent, or BD-quality in the metric's units; NaN when undefined.
        reason: why ``value`` is NaN; empty when it is defined.
        notes: remarks on a defined value (small overlap, points dropped by ``pareto``).
        overlap: intersection over union of the two integration intervals (0..1); NaN when
            it could not be measured.
        method: the interpolation method used.
    """

    value: float
    reason: str = ""
    notes: tuple[str, ...] = ()
    overlap: float = math.nan
    method: str = "pchip"

    @property
    def ok(self) -> bool:
        """True when ``value`` is defined."""
        return not self.reason


# ---------------------------------------------------------------------------------------------
# curve preparation


def _as_curve(
    rate: Sequence[float], quality: Sequence[float], name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve; return float arrays (rate, quality) in input order."""
    try:
        r = np.asarray(rate, dtype=np.float64)
        q = np.asarray(quality, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise invalid(
            f"rate_{name}/quality_{name}", (rate, quality), "sequences of numbers"
        ) from exc
    if r.ndim != 1 or q.ndim != 1 or r.shape != q.shape:
        raise invalid(
            f"quality_{name}",
            list(np.ravel(q)),
            f"a 1-D sequence as long as rate_{name} ({r.size} values)",
        )
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise invalid(f"rate_{name}", r.tolist(), "finite rates > 0 (e.g. kbps)")
    if not np.all(np.isfinite(q)):
        raise invalid(
            f"quality_{name}", q.tolist(), "finite values (drop lossless points whose PSNR is inf)"
        )
    return r, q


def _prepare(
    rate: np.ndarray,
    quality: np.ndarray,
    name: str,
    *,
    sign: float,
    min_points: int,
    nonmonotonic: str,
) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """Sort by rate, merge duplicates, check monotonicity.

    Returns (log10 rate, oriented quality, reason, notes); reason is empty when usable.
    """
    notes: list[str] = []
    q = sign * quality
    pts = sorted(set(zip(rate.tolist(), q.tolist(), strict=True)))
    if len(pts) < rate.size:
        notes.append(f"{name}: merged {rate.size - len(pts)} duplicate point(s)")
    r = np.array([p[0] for p in pts])
    q = np.array([p[1] for p in pts])
    if r.size < min_points:
        return (
            r,
            q,
            (f"{name} curve has {r.size} distinct point(s); at least {min_points} are needed"),
            notes,
        )
    if np.unique(r).size < r.size:
        return r, q, f"{name} curve has several quality values at the same rate", notes
    if np.all(q == q[0]):
        return r, q, f"{name} curve is flat (quality {sign * q[0]:g} at every rate)", notes
    if q[-1] < q[0]:
        hint = (
            "is the metric lower-is-better? pass higher_is_better=False"
            if sign > 0
            else "is the metric higher-is-better? pass higher_is_better=True"
        )
        return r, q, f"{name} quality falls as rate rises; {hint}", notes
    if np.any(np.diff(q) <= 0):
        if nonmonotonic == "reject":
            return (
                r,
                q,
                (
                    f"{name} curve is not strictly monotonic (quality "
                    f"{(sign * q).round(4).tolist()} at increasing rate; saturated or "
                    "noisy); use nonmonotonic='pareto' to keep efficient points"
                ),
                notes,
            )
        keep = np.concatenate([[True], q[1:] > np.maximum.accumulate(q)[:-1]])
        notes.append(
            f"{name}: dropped {int((~keep).sum())} dominated point(s) (nonmonotonic='pareto')"
        )
        r, q = r[keep], q[keep]
        if r.size < min_points:
            return (
                r,
                q,
                (
                    f"{name} curve has {r.size} Pareto-efficient point(s); at least "
                    f"{min_points} are needed"
                ),
                notes,
            )
    return np.log10(r), q, "", notes


def _fit(x: np.ndarray, y: np.ndarray, method: str):
    """Interpolant of y over x (x strictly increasing) with an exact ``integrate(a, b)``."""
    if method == "pchip":
        return PchipInterpolator(x, y, extrapolate=False)
    if method == "akima":
        if x.size < 3:  # Akima needs 3 points; two points give the line through them
            return PchipInterpolator(x, y, extrapolate=False)
        return Akima1DInterpolator(x, y, method="akima")
    return _Poly3(x, y)


class _Poly3:
    """Least-squares cubic polynomial (VCEG-M33) with exact integration."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self._antiderivative = np.polyint(np.polyfit(x, y, 3))

    def integrate(self, a: float, b: float) -> float:
        return float(np.polyval(self._antiderivative, b) - np.polyval(self._antiderivative, a))


def _check_options(method: str, min_points: int, nonmonotonic: str, min_overlap: float) -> None:
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    if nonmonotonic not in _NONMONOTONIC:
        raise invalid("nonmonotonic", nonmonotonic, " | ".join(_NONMONOTONIC))
    lowest = 4 if method == "cubic" else 2
    if not isinstance(min_points, int | np.integer) or min_points < lowest:
        raise invalid(
            "min_points",
            min_points,
            f"an integer >= {lowest} for method={method!r} (JVET practice: 4)",
        )
    if not 0.0 <= float(min_overlap) < 1.0:
        raise invalid("min_overlap", min_overlap, "a fraction in [0, 1)")


def _delta(
    rate_anchor,
    quality_anchor,
    rate_test,
    quality_test,
    *,
    axis: str,
    method: str,
    higher_is_better: bool,
    min_points: int,
    nonmonotonic: str,
    min_overlap: float,
) -> BDResult:
    """Shared core: ``axis`` 'rate' integrates log-rate over quality, 'quality' the reverse."""
    _check_options(method, min_points, nonmonotonic, min_overlap)
    ra, qa = _as_curve(rate_anchor, quality_anchor, "anchor")
    rt, qt = _as_curve(rate_test, quality_test, "test")
    sign = 1.0 if higher_is_better else -1.0
    xa, ya, reason_a, notes_a = _prepare(
        ra, qa, "anchor", sign=sign, min_points=min_points, nonmonotonic=nonmonotonic
    )
    xt, yt, reason_t, notes_t = _prepare(
        rt, qt, "test", sign=sign, min_points=min_points, nonmonotonic=nonmonotonic
    )
    notes = notes_a + notes_t
    reason = "; ".join(r for r in (reason_a, reason_t) if r)
    if reason:
        return BDResult(math.nan, reason, tuple(notes), method=method)
    if axis == "rate":  # integrate log-rate (y = xa) over oriented quality
        xa, ya, xt, yt = ya, xa, yt, xt
    lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
    union = max(xa[-1], xt[-1]) - min(xa[0], xt[0])
    overlap = max(hi - lo, 0.0) / union
    domain = "quality" if axis == "rate" else "log-rate"
    if hi <= lo:
        return BDResult(
            math.nan, f"the curves do not overlap in {domain}", tuple(notes), 0.0, method
        )
    if overlap < min_overlap:
        return BDResult(
            math.nan,
            f"{domain} overlap {overlap:.0%} is below min_overlap {min_overlap:.0%}",
            tuple(notes),
            overlap,
            method,
        )
    if overlap < SMALL_OVERLAP:
        notes.append(
            f"small {domain} overlap ({overlap:.0%} of the union); the value rests on "
            "a narrow interval"
        )
    mean_diff = (
        _fit(xt, yt, method).integrate(lo, hi) - _fit(xa, ya, method).integrate(lo, hi)
    ) / (hi - lo)
    if axis == "rate":
        value = (10.0**mean_diff - 1.0) * 100.0
    else:
        value = sign * mean_diff
    return BDResult(float(value), "", tuple(notes), float(overlap), method)


def bd_rate_result(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    min_points: int = 4,
    nonmonotonic: Nonmonotonic = "reject",
    min_overlap: float = 0.0,
) -> BDResult:
    """BD-rate of ``test`` against ``anchor`` as a :class:`BDResult` (NaN with a reason).

    Args:
        rate_anchor: anchor rates, any positive unit (kbps, bits, bpp), same unit as test.
        quality_anchor: anchor quality at each rate (metric units).
        rate_test: test rates.
        quality_test: test quality at each rate.
        method: ``"pchip"`` (JVET CTC), ``"cubic"`` (VCEG-M33) or ``"akima"``.
        higher_is_better: False for LPIPS, DISTS and other distances.
        min_points: distinct points each curve needs (default 4, as JVET; >= 2 for
            pchip/akima, >= 4 for cubic).
        nonmonotonic: ``"reject"`` (NaN) or ``"pareto"`` (keep efficient points).
        min_overlap: quality-interval overlap (intersection over union) below which the
            value is NaN.

    Returns:
        BDResult whose ``value`` is the average rate difference in percent at equal quality;
        negative means the test codec saves bits.

    Raises:
        ConfigError: invalid option or malformed curve (lengths, rates <= 0, inf/NaN).
    """
    return _delta(
        rate_anchor,
        quality_anchor,
        rate_test,
        quality_test,
        axis="rate",
        method=method,
        higher_is_better=higher_is_better,
        min_points=min_points,
        nonmonotonic=nonmonotonic,
        min_overlap=min_overlap,
    )


def bd_quality_result(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    min_points: int = 4,
    nonmonotonic: Nonmonotonic = "reject",
    min_overlap: float = 0.0,
) -> BDResult:
    """BD-quality (BD-PSNR for PSNR) of ``test`` against ``anchor`` as a :class:`BDResult`.

    Arguments as :func:`bd_rate_result`; ``min_overlap`` applies to the log-rate interval.

    Returns:
        BDResult whose ``value`` is the average quality difference test minus anchor at equal
        rate, in the metric's units (positive is better for PSNR, negative for LPIPS).
    """
    return _delta(
        rate_anchor,
        quality_anchor,
        rate_test,
        quality_test,
        axis="quality",
        method=method,
        higher_is_better=higher_is_better,
        min_points=min_points,
        nonmonotonic=nonmonotonic,
        min_overlap=min_overlap,
    )


def _unwrap(result: BDResult) -> float:
    if not result.ok:
        raise BDRateError(result.reason)
    for note in result.notes:
        warnings.warn(note, BDWarning, stacklevel=3)
    return result.value


def bd_rate(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    min_points: int = 4,
    nonmonotonic: Nonmonotonic = "reject",
    min_overlap: float = 0.0,
) -> float:
    """BD-rate in percent of ``test`` against ``anchor``; negative = test saves bits.

    Same arguments as :func:`bd_rate_result`. Notes on a defined value (small overlap,
    dropped points) are emitted as :class:`BDWarning`.

    Raises:
        BDRateError: the value is undefined (too few points, non-monotonic, no overlap...);
            the message gives the reason.
        ConfigError: invalid option or malformed curve.

    Example:
        >>> round(bd_rate([1000, 2000, 4000, 8000], [30, 33, 36, 39],
        ...               [1000, 2000, 4000, 8000], [31, 34, 37, 40]), 4)  # 1 dB better
        -20.6299
    """
    return _unwrap(
        bd_rate_result(
            rate_anchor,
            quality_anchor,
            rate_test,
            quality_test,
            method=method,
            higher_is_better=higher_is_better,
            min_points=min_points,
            nonmonotonic=nonmonotonic,
            min_overlap=min_overlap,
        )
    )


def bd_quality(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
    *,
    method: Method = "pchip",
    higher_is_better: bool = True,
    min_points: int = 4,
    nonmonotonic: Nonmonotonic = "reject",
    min_overlap: float = 0.0,
) -> float:
    """BD-quality (test minus anchor, metric units, at equal rate); BD-PSNR for PSNR.

    Same arguments and errors as :func:`bd_rate`.
    """
    return _unwrap(
        bd_quality_result(
            rate_anchor,
            quality_anchor,
            rate_test,
            quality_test,
            method=method,
            higher_is_better=higher_is_better,
            min_points=min_points,
            nonmonotonic=nonmonotonic,
            min_overlap=min_overlap,
        )
    )
