"""Compiled (numba) kernels of SSIM's full pass and MS-SSIM's 2x2 pooling, one thread each.

One pass over a plane pair (:func:`ssim_sums`) forms every statistic SSIM needs: each input
row is divided by the data range (integer samples are read as they are), its four products
(the shifted samples ``a`` and ``b``, ``a*a + b*b`` and ``a*b``) go into a ring of the
window's 11 rows, and each output row is the vertical 11-tap Gaussian of the ring followed by
the horizontal one, the SSIM and CS terms and their sums; the same pass pools the rows to
MS-SSIM's next scale. No full-size intermediate plane is written. The OpenCV path it
replaces (issue 34) divided the planes first, made about a dozen library calls per band of
rows with seven scratch planes, and pooled in another pass: one 720p frame's first scale
took 0.6 + 7.4 + 1.3 ms there, 2.6 ms here (``benchmarks/bench_ssim_stages.py``;
reports/performance.md).

Arithmetic is float32 like that path (and piq's), the sums of the maps float64. The window's
symmetry is used (``g[k] == g[10 - k]``), so the filter sums in another order than OpenCV's:
the means differ from it by about 1e-8, far inside the pixel golden file's 1e-5. The pooling
keeps torch's ``avg_pool2d`` order and bits.

Compiled on first use and cached on disk (numba's ``cache=True``: next to this file, or in
numba's user cache directory; where neither is writable, each process compiles, about 2 s).
Importing numba and loading the cached kernels cost about 0.3-0.5 s and 130 MB of resident
memory, once per process, which is why :mod:`vqabench.metrics.functional.ssim` imports this
module only when a plane is measured.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ssim_sums", "halve"]

# IEEE arithmetic, no fastmath flags: with FMA contraction ("contract") the SSIM of two
# identical planes came out 1 + 1e-8 (``mx*mx + my*my`` fused, ``2*mx*my`` not), and with
# reassociation the pooling lost torch's order (numba compiles the functions a kernel calls
# with the caller's flags). The loops vectorise without them (the map sums as per-column
# float64 sums) and were no slower. error_model="numpy": a float division by zero gives
# inf/nan instead of raising, which is what lets the row loops vectorise (the CS
# denominator is never 0: C2 > 0).
_JIT = {"nogil": True, "error_model": "numpy"}


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
def ssim_sums(
    x, y, data_range, kernel, shift, c1, c2, luminance, half_x, half_y, pad
):  # pragma: no cover (compiled)
    """Sums of the SSIM and CS maps over the valid region of two planes, and optionally the
    planes' next MS-SSIM scale, in one pass.

    Args:
        x: reference plane, C-contiguous, at least 11x11: float32 already divided by the
            data range (then ``data_range`` is 1), or the integer samples.
        y: distorted plane, same shape and type.
        data_range: float32 every sample is divided by first (``2**b - 1``, or 1): the
            same bits as :func:`vqabench.metrics.functional.ssim.prepare_plane`.
        kernel: the 11 float32 Gaussian taps (symmetric).
        shift: float32 subtracted from both divided planes before the moments (about the
            reference's mean: float32's cancellation in ``E[x^2] - E[x]^2`` stays small).
        c1: float32 ``K1**2``; c2: float32 ``K2**2``.
        luminance: form the SSIM map; without it the SSIM sum is 0 and only CS is summed.
        half_x, half_y: float32 ``((H + pad) // 2, (W + pad) // 2)`` outputs for the 2x2
            pooling of the divided planes (:func:`halve`'s bits), or 0x0 for none.
        pad: 0 or 1, :func:`halve`'s top-left edge padding.

    Returns:
        (SSIM sum, CS sum), float64, over ``(H - 10) * (W - 10)`` positions.
    """
    height, width = x.shape
    out_width = width - 10
    ring_a = np.empty((11, width), np.float32)
    ring_b = np.empty((11, width), np.float32)
    ring_q = np.empty((11, width), np.float32)
    ring_p = np.empty((11, width), np.float32)
    rows_x = np.empty((2, width), np.float32)  # the divided rows r - 1 and r, for pooling
    rows_y = np.empty((2, width), np.float32)
    va = np.empty(width, np.float32)
    vb = np.empty(width, np.float32)
    vq = np.empty(width, np.float32)
    vp = np.empty(width, np.float32)
    ssim_cols = np.zeros(out_width, np.float64)  # per-column sums, down the rows
    cs_cols = np.zeros(out_width, np.float64)
    g0, g1, g2, g3, g4, g5 = kernel[0], kernel[1], kernel[2], kernel[3], kernel[4], kernel[5]
    two = np.float32(2.0)
    pooled = half_x.shape[0]
    for r in range(height):
        slot = r % 11
        xr, yr = x[r], y[r]
        xd, yd = rows_x[r % 2], rows_y[r % 2]
        ra, rb, rq, rp = ring_a[slot], ring_b[slot], ring_q[slot], ring_p[slot]
        for j in range(width):
            xv = np.float32(xr[j]) / data_range
            yv = np.float32(yr[j]) / data_range
            xd[j] = xv
            yd[j] = yv
            a = xv - shift
            b = yv - shift
            ra[j] = a
            rb[j] = b
            rq[j] = a * a + b * b
            rp[j] = a * b
        if (r + pad) % 2 == 1 and (r + pad) // 2 < pooled:  # rows max(r - 1, 0) and r
            i, above = (r + pad) // 2, (r + 1) % 2 if r > 0 else r % 2
            _halve_row(rows_x[above], xd, half_x[i], pad)
            _halve_row(rows_y[above], yd, half_y[i], pad)
        if r < 10:
            continue
        top = r - 10
        _vertical(ring_a, top, va, g0, g1, g2, g3, g4, g5)
        _vertical(ring_b, top, vb, g0, g1, g2, g3, g4, g5)
        _vertical(ring_q, top, vq, g0, g1, g2, g3, g4, g5)
        _vertical(ring_p, top, vp, g0, g1, g2, g3, g4, g5)
        if luminance:
            for j in range(out_width):
                mx = _across(va, j, g0, g1, g2, g3, g4, g5)
                my = _across(vb, j, g0, g1, g2, g3, g4, g5)
                e2 = _across(vq, j, g0, g1, g2, g3, g4, g5)
                exy = _across(vp, j, g0, g1, g2, g3, g4, g5)
                cs = (two * (exy - mx * my) + c2) / (e2 - (mx * mx + my * my) + c2)
                ux = mx + shift
                uy = my + shift
                cs_cols[j] += np.float64(cs)
                ssim_cols[j] += np.float64((two * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs)
        else:
            for j in range(out_width):
                mx = _across(va, j, g0, g1, g2, g3, g4, g5)
                my = _across(vb, j, g0, g1, g2, g3, g4, g5)
                e2 = _across(vq, j, g0, g1, g2, g3, g4, g5)
                exy = _across(vp, j, g0, g1, g2, g3, g4, g5)
                cs_cols[j] += np.float64(
                    (two * (exy - mx * my) + c2) / (e2 - (mx * mx + my * my) + c2)
                )
    ssim_sum, cs_sum = 0.0, 0.0
    for j in range(out_width):
        ssim_sum += ssim_cols[j]
        cs_sum += cs_cols[j]
    return ssim_sum, cs_sum


@_compiled(inline="always", **_JIT)
def _pool_pairs(row0, row1, out):  # pragma: no cover (compiled)
    """``out[j]`` = the 2x2 average of columns ``2j, 2j+1`` of two rows, in torch's order."""
    quarter = np.float32(0.25)  # exact: the same bits as dividing by 4
    for j in range(out.shape[0]):
        out[j] = (((row0[2 * j] + row0[2 * j + 1]) + row1[2 * j]) + row1[2 * j + 1]) * quarter


@_compiled(inline="always", **_JIT)
def _halve_row(row0, row1, out, pad):  # pragma: no cover (compiled)
    """One output row of :func:`halve` from its two input rows."""
    if pad:  # the first output column reads the replicated column 0 twice
        out[0] = (((row0[0] + row0[0]) + row1[0]) + row1[0]) * np.float32(0.25)
        _pool_pairs(row0[1:], row1[1:], out[1:])
    else:
        _pool_pairs(row0, row1, out)


@_compiled(**_JIT)
def halve(plane, pad):  # pragma: no cover (compiled)
    """MS-SSIM's next scale: ``pad`` (0 or 1) edge rows and columns added at the top left,
    then 2x2 average pooling (remainder dropped), summed in torch's ``avg_pool2d`` order (the
    window row by row, then divided by 4): its float32 results bit for bit. Contiguous pairs
    of columns, so the loop vectorises: 0.14 ms for a 1080p plane in cache."""
    h, w = (plane.shape[0] + pad) // 2, (plane.shape[1] + pad) // 2
    out = np.empty((h, w), np.float32)
    for i in range(h):
        _halve_row(plane[max(2 * i - pad, 0)], plane[2 * i + 1 - pad], out[i], pad)
    return out
