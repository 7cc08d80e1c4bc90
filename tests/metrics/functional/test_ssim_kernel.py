"""SSIM's compiled pass and MS-SSIM's pooling (vqabench.metrics.functional.ssim_kernel)
against a float64 computation with scipy's filters, and torch's avg_pool2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate1d

from vqabench.metrics.functional.ssim import _KERNEL, K1, K2
from vqabench.metrics.functional.ssim_kernel import _compiled, halve, ssim_sums


def _float64_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSIM and CS maps over the valid region, float64, scipy's separable correlation."""
    g = _KERNEL.astype(np.float64)

    def blur(p):
        p = correlate1d(correlate1d(p, g, axis=0, mode="constant"), g, axis=1, mode="constant")
        return p[5:-5, 5:-5]  # the window lies inside the plane

    x, y = x.astype(np.float64), y.astype(np.float64)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = K1**2, K2**2
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs, cs


@pytest.mark.parametrize("shape", [(11, 11), (21, 37), (22, 12), (67, 131)])
def test_sums_equal_a_float64_computation(shape):
    """The float32 pass (shifted by the reference's mean) within 5e-7 of float64 means (a
    few float32 roundings of one sample: the 11x11 plane has one);
    shapes where the 11-row ring wraps not at all, once, and at every offset."""
    rng = np.random.default_rng(1)
    x = rng.random(shape).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.05, shape), 0, 1).astype(np.float32)
    shift = np.float32(x.mean(dtype=np.float64))
    c1, c2 = np.float32(K1**2), np.float32(K2**2)
    ssim_map, cs_map = _float64_maps(x, y)
    count = ssim_map.size
    one, none = np.float32(1.0), np.empty((0, 0), np.float32)
    ssim_sum, cs_sum = ssim_sums(x, y, one, _KERNEL, shift, c1, c2, True, none, none, 0)
    assert (ssim_sum / count, cs_sum / count) == pytest.approx(
        (ssim_map.mean(), cs_map.mean()), abs=5e-7
    )
    cs_only = ssim_sums(x, y, one, _KERNEL, shift, c1, c2, False, none, none, 0)
    assert cs_only == (0.0, cs_sum)


@pytest.mark.parametrize(("shape", "bit_depth"), [((45, 62), 8), ((44, 61), 10), ((12, 11), 8)])
def test_the_pass_pools_and_divides_as_prepare_and_halve_do(shape, bit_depth):
    """From integer samples, the pass divides by the data range and pools to the next scale
    with the bits of prepare_plane followed by halve; the sums equal the float pass's."""
    from vqabench.metrics.functional.ssim import halve_pad, prepare_plane

    rng = np.random.default_rng(3)
    top = (1 << bit_depth) - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    x = rng.integers(0, top + 1, shape).astype(dtype)
    y = rng.integers(0, top + 1, shape).astype(dtype)
    fx, fy = prepare_plane(x, bit_depth), prepare_plane(y, bit_depth)
    pad = halve_pad(*shape)
    expected = halve(fx, pad), halve(fy, pad)
    hx, hy = (np.empty(expected[0].shape, np.float32) for _ in range(2))
    shift, c1, c2 = np.float32(0.5), np.float32(K1**2), np.float32(K2**2)
    got = ssim_sums(x, y, np.float32(top), _KERNEL, shift, c1, c2, True, hx, hy, pad)
    np.testing.assert_array_equal(hx, expected[0])
    np.testing.assert_array_equal(hy, expected[1])
    none = np.empty((0, 0), np.float32)
    one = np.float32(1.0)
    assert got == ssim_sums(fx, fy, one, _KERNEL, shift, c1, c2, True, none, none, 0)


def test_halve_is_torchs_avg_pool_bit_for_bit():
    plane = np.random.default_rng(2).random((45, 62)).astype(np.float32)
    for pad in (0, 1):
        padded = np.pad(plane, ((pad, 0), (pad, 0)), mode="edge")
        pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(padded)[None, None], 2)
        np.testing.assert_array_equal(halve(plane, pad), pooled[0, 0].numpy())


def test_compiled_without_a_cache_directory_still_compiles():
    """numba refuses cache=True for a function whose file it cannot locate (as it does
    where no cache directory is writable); the kernel then compiles per process."""
    namespace: dict = {}
    exec("def double(a):\n    return 2 * a\n", namespace)  # source '<string>': no locator
    double = _compiled(nogil=True)(namespace["double"])
    assert double(21) == 42
    assert double._cache.__class__.__name__ == "NullCache"


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_identical_planes_give_exactly_one(bit_depth):
    """SSIM and CS of a plane with itself are 1 to the last bit: numerator and denominator
    are the same IEEE operations (FMA contraction once made them 1 + 1e-8)."""
    from vqabench.metrics.functional.ssim import first_scale

    plane = np.random.default_rng(5).integers(0, 1 << bit_depth, (97, 131)).astype(np.uint16)
    stats = first_scale(plane, plane, bit_depth=bit_depth).stats
    assert (stats.ssim, stats.cs) == (1.0, 1.0)
