"""Tests of vqabench.models.mamba against an independent numpy recurrence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vqabench.errors import ConfigError
from vqabench.models.mamba import (
    MambaBlock,
    count_scan_macs,
    scan_macs,
    selective_scan,
)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def reference_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Straightforward float64 recurrence, one (batch, channel) at a time."""
    u, delta, A = (np.asarray(t, dtype=np.float64) for t in (u, delta, A))
    B, C = np.asarray(B, dtype=np.float64), np.asarray(C, dtype=np.float64)
    batch, dim, length = u.shape
    if delta_bias is not None:
        delta = delta + np.asarray(delta_bias, dtype=np.float64)[None, :, None]
    if delta_softplus:
        delta = _softplus(delta)

    def mat(m, b, d, t):  # the N-vector of B or C used by batch b, channel d, step t
        if m.ndim == 2:
            return m[d]
        if m.ndim == 3:
            return m[b, :, t]
        per_group = dim // m.shape[1]
        return m[b, d // per_group, :, t]

    y = np.zeros_like(u)
    for b in range(batch):
        for d in range(dim):
            h = np.zeros(A.shape[1])
            for t in range(length):
                dt = delta[b, d, t]
                h = np.exp(dt * A[d]) * h + dt * mat(B, b, d, t) * u[b, d, t]
                y[b, d, t] = np.dot(mat(C, b, d, t), h)
                if D is not None:
                    y[b, d, t] += np.asarray(D, dtype=np.float64)[d] * u[b, d, t]
                if z is not None:
                    zz = float(z[b, d, t])
                    y[b, d, t] *= zz / (1.0 + math.exp(-zz))
    return y


def _inputs(seed, batch=2, dim=6, length=11, d_state=5, bc="variable", groups=3):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=torch.float64, generator=g)
    u = torch.randn(batch, dim, length, **kw)
    delta = torch.rand(batch, dim, length, **kw) * 0.5
    A = -torch.rand(dim, d_state, **kw) * 2 - 0.1
    shape = {
        "constant": (dim, d_state),
        "variable": (batch, d_state, length),
        "grouped": (batch, groups, d_state, length),
    }[bc]
    B, C = torch.randn(*shape, **kw), torch.randn(*shape, **kw)
    D, bias = torch.randn(dim, **kw), torch.randn(dim, **kw)
    z = torch.randn(batch, dim, length, **kw)
    return u, delta, A, B, C, D, z, bias


def _rel_err(got: torch.Tensor, want: np.ndarray) -> float:
    return float(np.max(np.abs(got.detach().numpy() - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("method", ["sequential", "parallel", "auto"])
@pytest.mark.parametrize("bc", ["constant", "variable", "grouped"])
@pytest.mark.parametrize("extras", ["none", "D_z", "bias_softplus", "all"])
def test_selective_scan_matches_reference(method, bc, extras):
    u, delta, A, B, C, D, z, bias = _inputs(seed=len(bc) * 10 + len(extras), bc=bc)
    kw = {}
    if extras in ("D_z", "all"):
        kw.update(D=D, z=z)
    if extras in ("bias_softplus", "all"):
        kw.update(delta_bias=bias, delta_softplus=True)
    got = selective_scan(u, delta, A, B, C, method=method, **kw)
    want = reference_scan(u, delta, A, B, C, **kw)
    assert got.dtype == torch.float64
    assert _rel_err(got, want) < 1e-6


@pytest.mark.parametrize("length", [1, 2, 3, 8, 9, 64, 257])
def test_parallel_equals_sequential_any_length(length):
    u, delta, A, B, C, D, z, bias = _inputs(seed=length, length=length, dim=4, d_state=3)
    seq, last_seq = selective_scan(
        u, delta, A, B, C, D, z, bias, True, method="sequential", return_last_state=True
    )
    par, last_par = selective_scan(
        u, delta, A, B, C, D, z, bias, True, method="parallel", return_last_state=True
    )
    torch.testing.assert_close(par, seq, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(last_par, last_seq, rtol=1e-10, atol=1e-12)


def test_parallel_scan_stays_finite_on_long_strongly_decaying_sequences():
    # cumsum(delta * A) reaches about -8e4 here: exp(-cumsum) tricks would overflow.
    u, delta, A, B, C, *_ = _inputs(seed=3, length=4096, dim=2, d_state=4, batch=1)
    A = A * 20
    par = selective_scan(u, delta, A, B, C, method="parallel")
    seq = selective_scan(u, delta, A, B, C, method="sequential")
    assert torch.isfinite(par).all()
    torch.testing.assert_close(par, seq, rtol=1e-9, atol=1e-12)


def test_hand_derived_single_channel():
    # A = -ln 2, delta = 1: decay 1/2; B = C = 1; u = [1, 0, 0] -> h = [1, 1/2, 1/4].
    u = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=torch.float64)
    delta = torch.ones_like(u)
    A = torch.tensor([[-math.log(2.0)]], dtype=torch.float64)
    B = C = torch.ones(1, 1, dtype=torch.float64)
    for method in ("sequential", "parallel"):
        y = selective_scan(
            u, delta, A, B, C, D=torch.tensor([2.0], dtype=torch.float64), method=method
        )
        torch.testing.assert_close(y, torch.tensor([[[3.0, 0.5, 0.25]]], dtype=torch.float64))


def test_float32_input_keeps_dtype():
    u, delta, A, B, C, *_ = _inputs(seed=5)
    y = selective_scan(u.float(), delta.float(), A.float(), B.float(), C.float())
    assert y.dtype == torch.float32
    want = reference_scan(u, delta, A, B, C)
    assert _rel_err(y.double(), want) < 1e-5


@pytest.mark.parametrize("method", ["sequential", "parallel"])
@pytest.mark.slow
def test_gradients_match_between_methods_and_finite_differences(method):
    u, delta, A, B, C, D, z, bias = _inputs(seed=11, batch=1, dim=2, length=5, d_state=2)
    tensors = [t.clone().requires_grad_(True) for t in (u, delta, A, B, C, D, z, bias)]
    assert torch.autograd.gradcheck(
        lambda *ts: selective_scan(*ts[:7], delta_bias=ts[7], delta_softplus=True, method=method),
        tensors,
    )


def test_gradients_flow_through_block():
    block = MambaBlock(16, d_state=4).double()
    x = torch.randn(2, 7, 16, dtype=torch.float64, requires_grad=True)
    block(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name in ("A_log", "D", "in_proj.weight", "dt_proj.bias", "conv1d.weight"):
        assert block.get_parameter(name).grad.abs().sum() > 0, name


def test_block_is_causal_and_methods_agree():
    torch.manual_seed(0)
    block = MambaBlock(8, d_state=4).double()
    x = torch.randn(1, 20, 8, dtype=torch.float64)
    y = block(x)
    x2 = x.clone()
    x2[:, 10:] += 1.0  # changing the future must not change the past
    y2 = block(x2)
    torch.testing.assert_close(y2[:, :10], y[:, :10])
    assert not torch.allclose(y2[:, 10:], y[:, 10:])
    block.scan_method = "sequential"
    torch.testing.assert_close(block(x), y)


def test_block_init_follows_mamba():
    block = MambaBlock(40, d_state=16, expand=2, dt_min=0.001, dt_max=0.1)
    assert block.dt_rank == math.ceil(40 / 16) == 3
    A = -torch.exp(block.A_log)
    torch.testing.assert_close(A[5], -torch.arange(1.0, 17.0))
    dt = torch.nn.functional.softplus(block.dt_proj.bias)
    assert dt.min() >= 0.001 * (1 - 1e-4) and dt.max() <= 0.1 * (1 + 1e-4)
    n_params = sum(p.numel() for p in block.parameters())
    d_inner = 80
    want = (
        40 * 2 * d_inner
        + d_inner * 4
        + d_inner
        + d_inner * (3 + 32)
        + 3 * d_inner
        + d_inner
        + d_inner * 40
        + d_inner * 16
        + d_inner
    )
    assert n_params == want


def test_scan_mac_tally():
    u, delta, A, B, C, *_ = _inputs(seed=1, batch=2, dim=6, length=11, d_state=5)
    with count_scan_macs() as tally:
        selective_scan(u, delta, A, B, C)
        selective_scan(u, delta, A, B, C)
    assert tally[0] == 2 * (4 * 2 * 6 * 11 * 5 + 2 * 2 * 6 * 11) == 2 * scan_macs(2, 6, 11, 5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "fast"}, "method='fast'"),
        ({"A": torch.zeros(5, 5)}, "A.shape"),
        ({"B": torch.zeros(2, 4, 5, 11)}, "B.shape"),
        ({"D": torch.zeros(3)}, "D.shape"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    u, delta, A, B, C, *_ = _inputs(seed=1)
    args = {"u": u, "delta": delta, "A": A, "B": B, "C": C} | kwargs
    with pytest.raises(ConfigError, match=match.replace("(", r"\(").replace(")", r"\)")):
        selective_scan(**args)


def test_cuda_method_without_kernel_raises():
    u, delta, A, B, C, *_ = _inputs(seed=1)
    with pytest.raises(ConfigError, match="method='cuda'"):
        selective_scan(u, delta, A, B, C, method="cuda")
