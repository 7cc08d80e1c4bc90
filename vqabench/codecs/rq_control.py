"""Rate control for codecs whose rate parameter is a discrete quality level (RQ-LVC).

**The R-Q model** (RQ-LVC: NguyenQuang, Chen, HoangVan, Peng, "A Rate-Quality Model for
Learned Video Coding", 2025): the quality level ``Q`` of a frame against its rate ``R``
(bits of the frame) is ``Q = alpha * ln(R) + beta``, fitted by ordinary least squares
(``Q`` on ``[ln R, 1]``, :func:`numpy.linalg.lstsq`) to every (level, bits) point seen so
far. The paper's prior points come from RQNet, a network that predicts the rates of four
fixed levels; vqabench has no such network and *measures* its prior instead: the first frame
is coded at the probe levels :func:`probe_levels` (lowest, middle, highest), and those points
join the fit with every frame coded since.

**Per-frame allocation** (:func:`control_frames`): the target of frame ``t`` of ``n`` is the
budget left over the frames left, ``(budget - spent) / (n - t)``, so an overshoot on one
frame lowers the targets of the next ones and the cumulative rate tracks the budget.

**From the continuous model to a level** (:func:`level_for`): ``Q* = alpha * ln(target) +
beta``, rounded to the nearest integer and clipped to the codec's range. ``ln R`` is linear in
``Q`` under the model, so the rounded level is the one whose modelled rate is nearest to the
target in log-rate. When the fit is unusable (fewer than two distinct rates, ``alpha <= 0``
or not finite) the level whose observed mean ``ln R`` is nearest ``ln(target)`` is taken.

**Multi-pass baseline** (:func:`bisect_level`): one level for the whole sequence, found by
bisection over the levels on the sequence's total bits (rates assumed to grow with the
level; each probe is one full encode), then the one of the two bracketing levels whose
total is closest to the target in bits (``|R - target|``, what ΔR measures).

All functions are pure: the codec passes a callable that codes one frame (or the sequence)
at a level and returns its bits.

Example:
    >>> table = {1: 100, 2: 200, 3: 400}
    >>> levels, bits, _ = control_frames(lambda t, q: table[q], frames=4, budget_bits=1000,
    ...                                  lo=1, hi=3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from vqabench.errors import invalid

__all__ = [
    "fit_log_rq",
    "level_for",
    "probe_levels",
    "choose_level",
    "control_frames",
    "bisect_level",
]

Point = tuple[int, float]  # (quality level, bits)


def fit_log_rq(levels: Sequence[float], bits: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``Q = alpha * ln(R) + beta``.

    Args:
        levels: quality level ``Q`` of each point.
        bits: rate ``R`` (> 0) of each point.

    Returns:
        ``(alpha, beta)``; NaNs with fewer than two distinct rates.

    Raises:
        ConfigError: mismatched lengths or a rate <= 0.
    """
    q = np.asarray(levels, dtype=np.float64)
    r = np.asarray(bits, dtype=np.float64)
    if q.shape != r.shape or q.ndim != 1:
        raise invalid("bits", f"{r.size} values", f"one per level ({q.size})")
    if np.any(r <= 0) or not np.all(np.isfinite(r)):
        raise invalid("bits", r.tolist(), "finite rates > 0")
    if np.unique(r).size < 2:
        return math.nan, math.nan
    design = np.column_stack([np.log(r), np.ones_like(r)])
    (alpha, beta), *_ = np.linalg.lstsq(design, q, rcond=None)
    return float(alpha), float(beta)


def level_for(target_bits: float, alpha: float, beta: float, lo: int, hi: int) -> int:
    """The level of the model ``Q = alpha ln R + beta`` at ``target_bits``: rounded to the
    nearest integer (half up) and clipped to ``lo..hi``."""
    q = alpha * math.log(max(target_bits, 1e-9)) + beta
    return int(min(hi, max(lo, math.floor(q + 0.5))))


def probe_levels(lo: int, hi: int) -> tuple[int, ...]:
    """Levels the first frame is probed at: lowest, middle (rounded down), highest."""
    return tuple(dict.fromkeys((lo, (lo + hi) // 2, hi)))


def _nearest_observed(points: Sequence[Point], target_bits: float) -> int:
    logs: dict[int, list[float]] = {}
    for q, b in points:
        logs.setdefault(int(q), []).append(math.log(b))
    goal = math.log(max(target_bits, 1e-9))
    return min(sorted(logs), key=lambda q: abs(float(np.mean(logs[q])) - goal))


def choose_level(points: Sequence[Point], target_bits: float, lo: int, hi: int) -> int:
    """The level for a frame whose target is ``target_bits``, given the (level, bits)
    ``points`` seen so far (module docstring: fit, round, clip; fallback when unusable).

    Raises:
        ConfigError: no points.
    """
    if not points:
        raise invalid("points", [], "at least one (level, bits) point")
    alpha, beta = fit_log_rq([q for q, _ in points], [b for _, b in points])
    if not (math.isfinite(alpha) and math.isfinite(beta)) or alpha <= 0:
        return _nearest_observed(points, target_bits)
    return level_for(target_bits, alpha, beta, lo, hi)


def control_frames(
    code: Callable[[int, int], float],
    *,
    frames: int,
    budget_bits: float,
    lo: int,
    hi: int,
    probes: Sequence[int] | None = None,
) -> tuple[list[int], list[float], list[Point]]:
    """Code ``frames`` frames one after the other under ``budget_bits`` (module docstring).

    Args:
        code: ``code(frame, level) -> bits`` codes one frame at a level (called once per
            probe of frame 0 and once per frame; a probe at the level frame 0 then gets is
            called again: the caller may cache it).
        frames: number of frames.
        budget_bits: bits for all frames together.
        lo, hi: the level range.
        probes: levels frame 0 is probed at (default :func:`probe_levels`).

    Returns:
        ``(levels, bits, prior)``: per frame the level chosen and its bits, and the probe
        points.

    Raises:
        ConfigError: ``frames`` < 1, ``budget_bits`` <= 0, or a probe outside ``lo..hi``.
    """
    if frames < 1:
        raise invalid("frames", frames, "an integer >= 1")
    if not budget_bits > 0:
        raise invalid("budget_bits", budget_bits, "a number > 0")
    probes = probe_levels(lo, hi) if probes is None else tuple(probes)
    if any(not lo <= p <= hi for p in probes) or not probes:
        raise invalid("probes", list(probes), f"levels in {lo}..{hi}")
    prior: list[Point] = [(int(p), float(code(0, int(p)))) for p in probes]
    points = list(prior)
    levels: list[int] = []
    bits: list[float] = []
    for t in range(frames):
        target = (budget_bits - sum(bits)) / (frames - t)
        level = choose_level(points, target, lo, hi)
        spent = float(code(t, level))
        levels.append(level)
        bits.append(spent)
        points.append((level, spent))
    return levels, bits, prior


def bisect_level(
    total_bits: Callable[[int], float], target_bits: float, lo: int, hi: int
) -> tuple[int, dict[int, float]]:
    """The single level whose sequence total is closest to ``target_bits`` (multi-pass).

    Bisection on the largest level whose total does not exceed the target (totals assumed
    to grow with the level); the answer is whichever of it and the next level up is closer
    to the target in bits (the lower on a tie).

    Args:
        total_bits: ``total_bits(level)`` codes the whole sequence at ``level``; called at
            most once per level.
        target_bits: the target for the whole sequence.
        lo, hi: the level range.

    Returns:
        ``(level, tried)``: the level and the totals of every level coded, in call order.
    """
    tried: dict[int, float] = {}

    def at(level: int) -> float:
        if level not in tried:
            tried[level] = float(total_bits(level))
        return tried[level]

    if at(lo) >= target_bits:
        return lo, tried
    if at(hi) <= target_bits:
        return hi, tried
    below, above = lo, hi  # at(below) < target < at(above)
    while above - below > 1:
        mid = (below + above) // 2
        if at(mid) <= target_bits:
            below = mid
        else:
            above = mid
    best = below if target_bits - at(below) <= at(above) - target_bits else above
    return best, tried
