"""Pure functions behind the source-anchored temporal flicker metrics.

Flicker is judged against the source S: a codec that leaves temporal change as it was in S
scores 0, however large its spatial error; one that adds frame-to-frame change (brightness
pumping, texture boiling, drifting quantisation) scores above 0.

Example:
    >>> flow = farneback_flow(s_next, s_prev)              # from S_{t+1} to S_t
    >>> warped_flicker(s_prev, s_next, d_prev, d_next, flow)
"""

from __future__ import annotations

import numpy as np

from vqabench.metrics.functional.flow import warp

__all__ = ["warped_residual", "warped_flicker", "temporal_change_difference"]


def warped_residual(prev: np.ndarray, nxt: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``nxt - warp(prev, flow)``: what motion compensation leaves of the change prev -> nxt.

    Args:
        prev, nxt: frames (H, W) in 8-bit units.
        flow: flow from ``nxt`` to ``prev`` (``nxt(x) ≈ prev(x + flow(x))``).
    """
    return np.asarray(nxt, dtype=np.float64) - warp(prev, flow).astype(np.float64)


def warped_flicker(
    s_prev: np.ndarray, s_next: np.ndarray, d_prev: np.ndarray, d_next: np.ndarray, flow: np.ndarray
) -> float:
    """Mean absolute difference between D's and S's motion-compensated temporal change.

    ``mean | (D_{t+1} - W(D_t)) - (S_{t+1} - W(S_t)) |`` with ``W`` the warp by the flow
    estimated on the source. 0 when D's change over time equals S's (e.g. D = S, or D = S plus
    a constant offset); grows with flicker that S does not have.

    Args:
        s_prev, s_next: source frames t and t+1 (8-bit units).
        d_prev, d_next: distorted frames t and t+1.
        flow: flow from S_{t+1} to S_t.

    Returns:
        the value in 8-bit code values.
    """
    d = warped_residual(d_prev, d_next, flow)
    s = warped_residual(s_prev, s_next, flow)
    return float(np.mean(np.abs(d - s)))


def temporal_change_difference(
    change_source: np.ndarray, change_distorted: np.ndarray
) -> np.ndarray:
    """Per-pair ``|change_D(t) - change_S(t)|`` of any frame-to-frame change measure."""
    return np.abs(
        np.asarray(change_distorted, dtype=np.float64) - np.asarray(change_source, dtype=np.float64)
    )
