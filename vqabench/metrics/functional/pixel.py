"""PSNR per plane, as pure numpy functions.

PSNR uses the peak ``2**bit_depth - 1`` (255 for 8-bit, 1023 for 10-bit) and the mean
squared error over all samples of a plane, per frame; the sequence value is the mean of the
per-frame values (JVET/AOM common test condition practice). A frame identical to its
reference has infinite PSNR; it is capped at ``max_db`` (default 100 dB) so that averages and
BD-rate stay finite (HM reports 999.99 in that case; any cap above the codec's range works).
"""

from __future__ import annotations

import numpy as np

from vqabench.errors import invalid

__all__ = ["mse", "psnr_from_mse", "plane_psnr", "weighted_psnr", "DEFAULT_MAX_DB"]

DEFAULT_MAX_DB = 100.0


def mse(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Mean squared error of two equally shaped sample arrays, computed in float64."""
    if reference.shape != distorted.shape:
        raise invalid("distorted.shape", distorted.shape, f"the reference shape {reference.shape}")
    diff = reference.astype(np.float64) - distorted.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr_from_mse(mse_value: float, *, bit_depth: int = 8, max_db: float = DEFAULT_MAX_DB) -> float:
    """PSNR in dB for a mean squared error at ``bit_depth``, capped at ``max_db``."""
    peak = float((1 << bit_depth) - 1)
    if mse_value <= 0.0:
        return max_db
    return min(max_db, 10.0 * np.log10(peak * peak / mse_value))


def plane_psnr(
    reference: np.ndarray, distorted: np.ndarray, *, bit_depth: int = 8,
    max_db: float = DEFAULT_MAX_DB,
) -> float:
    """PSNR in dB of one plane (reference first, distorted second)."""
    return psnr_from_mse(mse(reference, distorted), bit_depth=bit_depth, max_db=max_db)


def weighted_psnr(psnr_y: float, psnr_u: float, psnr_v: float,
                  weights: tuple[float, float, float] = (6.0, 1.0, 1.0)) -> float:
    """Weighted YUV PSNR: ``(wY*Y + wU*U + wV*V) / (wY + wU + wV)``.

    6:1:1 is JVET practice; 8:1:1, 14:1:1 and 4:1:1 appear elsewhere.
    """
    wy, wu, wv = weights
    return (wy * psnr_y + wu * psnr_u + wv * psnr_v) / (wy + wu + wv)
