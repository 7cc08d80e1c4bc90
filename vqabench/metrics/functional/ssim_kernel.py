"""Compiled (numba) kernels of SSIM's full pass and MS-SSIM's 2x2 pooling, one thread each.

One pass over a plane pair forms every statistic SSIM needs: each input row's four products
(the shifted samples ``a`` and ``b``, ``a*a + b*b`` and ``a*b``) go into a ring of the
window's 11 rows, each output row is the vertical 11-tap Gaussian of the ring followed by the
horizontal 11-tap Gaussian, the SSIM and CS terms and their sums, without a full-size
intermediate plane. The OpenCV path it replaces (issue 34) made about a dozen library calls per
band of rows and wrote seven scratch planes: 7.4 ms for one 720p frame's statistics against
3.8 ms here (reports/performance.md, "Issue 34, item 1").

Arithmetic is float32 like that path (and piq's), the sums of the maps float64. The window's
symmetry is used (``g[k] == g[10 - k]``), so the filter sums in another order than OpenCV's:
the means differ from it by about 1e-8, far inside the pixel golden file's 1e-5.

Compiled on first use and cached on disk (numba's ``cache=True``: next to this file, or in
numba's user cache directory when that is read-only); importing numba costs about 0.3 s, once
per process, which is why :mod:`vqabench.metrics.functional.ssim` imports this module only
when a plane is measured.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ssim_sums", "halve"]

# reassoc: the row sums vectorise; contract: fused multiply-add. Not arcp (approximate
# reciprocals) nor nnan/ninf: a NaN sample must still give a NaN mean.
_FAST = {"reassoc", "contract", "nsz"}
# error_model="numpy": a float division by zero gives inf/nan instead of raising, which is
# what lets the row loops vectorise (the CS denominator is never 0: C2 > 0).
_JIT = {"nogil": True, "fastmath": _FAST, "error_model": "numpy"}
# the pooling keeps IEEE order (no reassociation): torch's sums, bit for bit
_EXACT = {"nogil": True, "error_model": "numpy"}


def _compiled(**options):
    """``njit`` with numba's on-disk cache, or without it where no cache directory is
    writable (numba refuses ``cache=True`` there): then each process compiles, about 2 s."""

    def wrap(function):
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:
            return njit(**options)(function)

    return wrap


@_compiled(inline="always", **_JIT)
def _vertical(ring, top, out, g0, g1, g2, g3, g4, g5):  # pragma: no cover (compiled)
    """``out = `` the 11-tap filter down the ring's rows ``top .. top+10`` (mod 11)."""
    r0, r1, r2, r3 = (
        ring[top % 11],
        ring[(top + 1) % 11],
        ring[(top + 2) % 11],
        ring[(top + 3) % 11],
    )
    r4, r5, r6 = ring[(top + 4) % 11], ring[(top + 5) % 11], ring[(top + 6) % 11]
    r7, r8, r9, r10 = (
        ring[(top + 7) % 11],
        ring[(top + 8) % 11],
        ring[(top + 9) % 11],
        ring[(top + 10) % 11],
    )
    for j in range(out.shape[0]):
        out[j] = (
            g0 * (r0[j] + r10[j])
            + g1 * (r1[j] + r9[j])
            + g2 * (r2[j] + r8[j])
            + g3 * (r3[j] + r7[j])
            + g4 * (r4[j] + r6[j])
            + g5 * r5[j]
        )


@_compiled(inline="always", **_JIT)
def _across(v, j, g0, g1, g2, g3, g4, g5):  # pragma: no cover (compiled)
    """The 11-tap filter along row ``v`` at output column ``j`` (input columns j..j+10)."""
    return (
        g0 * (v[j] + v[j + 10])
        + g1 * (v[j + 1] + v[j + 9])
        + g2 * (v[j + 2] + v[j + 8])
        + g3 * (v[j + 3] + v[j + 7])
        + g4 * (v[j + 4] + v[j + 6])
        + g5 * v[j + 5]
    )


@_compiled(**_JIT)
def ssim_sums(x, y, kernel, shift, c1, c2, luminance):  # pragma: no cover (compiled)
    """Sums of the SSIM and CS maps over the valid region of two float32 planes.

    Args:
        x: reference plane, float32, C-contiguous, at least 11x11.
        y: distorted plane, same shape.
        kernel: the 11 float32 Gaussian taps (symmetric).
        shift: float32 subtracted from both planes before the moments (the reference's mean).
        c1: float32 ``K1**2``; c2: float32 ``K2**2``.
        luminance: form the SSIM map; without it the SSIM sum is 0 and only CS is summed.

    Returns:
        (SSIM sum, CS sum), float64, over ``(H - 10) * (W - 10)`` positions.
    """
    height, width = x.shape
    out_width = width - 10
    ring_a = np.empty((11, width), np.float32)
    ring_b = np.empty((11, width), np.float32)
    ring_q = np.empty((11, width), np.float32)
    ring_p = np.empty((11, width), np.float32)
    va = np.empty(width, np.float32)
    vb = np.empty(width, np.float32)
    vq = np.empty(width, np.float32)
    vp = np.empty(width, np.float32)
    g0, g1, g2, g3, g4, g5 = kernel[0], kernel[1], kernel[2], kernel[3], kernel[4], kernel[5]
    two = np.float32(2.0)
    ssim_sum = 0.0
    cs_sum = 0.0
    for r in range(height):
        slot = r % 11
        xr, yr = x[r], y[r]
        ra, rb, rq, rp = ring_a[slot], ring_b[slot], ring_q[slot], ring_p[slot]
        for j in range(width):
            a = xr[j] - shift
            b = yr[j] - shift
            ra[j] = a
            rb[j] = b
            rq[j] = a * a + b * b
            rp[j] = a * b
        if r < 10:
            continue
        top = r - 10
        _vertical(ring_a, top, va, g0, g1, g2, g3, g4, g5)
        _vertical(ring_b, top, vb, g0, g1, g2, g3, g4, g5)
        _vertical(ring_q, top, vq, g0, g1, g2, g3, g4, g5)
        _vertical(ring_p, top, vp, g0, g1, g2, g3, g4, g5)
        row_ssim = 0.0
        row_cs = 0.0
        if luminance:
            for j in range(out_width):
                mx = _across(va, j, g0, g1, g2, g3, g4, g5)
                my = _across(vb, j, g0, g1, g2, g3, g4, g5)
                e2 = _across(vq, j, g0, g1, g2, g3, g4, g5)
                exy = _across(vp, j, g0, g1, g2, g3, g4, g5)
                cs = (two * (exy - mx * my) + c2) / (e2 - (mx * mx + my * my) + c2)
                ux = mx + shift
                uy = my + shift
                row_cs += np.float64(cs)
                row_ssim += np.float64((two * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs)
        else:
            for j in range(out_width):
                mx = _across(va, j, g0, g1, g2, g3, g4, g5)
                my = _across(vb, j, g0, g1, g2, g3, g4, g5)
                e2 = _across(vq, j, g0, g1, g2, g3, g4, g5)
                exy = _across(vp, j, g0, g1, g2, g3, g4, g5)
                row_cs += np.float64((two * (exy - mx * my) + c2) / (e2 - (mx * mx + my * my) + c2))
        ssim_sum += row_ssim
        cs_sum += row_cs
    return ssim_sum, cs_sum


@_compiled(**_EXACT)
def halve(plane, pad):  # pragma: no cover (compiled)
    """MS-SSIM's next scale: ``pad`` edge rows and columns added at the top left, then 2x2
    average pooling (remainder dropped), summed in torch's ``avg_pool2d`` order (the window
    row by row, then divided by 4): its float32 results bit for bit."""
    height, width = plane.shape[0] + pad, plane.shape[1] + pad
    h, w = height // 2, width // 2
    out = np.empty((h, w), np.float32)
    zero, four = np.float32(0.0), np.float32(4.0)
    for i in range(h):
        r0 = plane[max(2 * i - pad, 0)]
        r1 = plane[2 * i + 1 - pad]
        o = out[i]
        if pad:  # the first output column reads the replicated column 0 twice
            o[0] = (((zero + r0[0]) + r0[0]) + r1[0] + r1[0]) / four
        for j in range(pad, w):
            c = 2 * j - pad
            o[j] = (((zero + r0[c]) + r0[c + 1]) + r1[c] + r1[c + 1]) / four
    return out
