"""Selective state-space scan (Mamba) in plain PyTorch, and a Mamba block.

:func:`selective_scan` has the argument shapes and semantics of ``selective_scan_ref`` in
mamba-ssm (``mamba_ssm/ops/selective_scan_interface.py``, real ``A`` only). For every batch
``b``, channel ``d`` and state ``n`` it runs the zero-order-hold discretised recurrence

.. code-block:: text

    delta  = softplus(delta + delta_bias)          (bias and softplus optional)
    h[t]   = exp(delta[t] * A[d, n]) * h[t-1] + delta[t] * B[n, t] * u[t],   h[-1] = 0
    y[t]   = sum_n C[n, t] * h[t, n]  (+ D[d] * u[t])  (* silu(z[t]))

Two implementations give the same numbers:

* ``"sequential"``: a loop over the length ``L`` (``L`` small steps);
* ``"parallel"``: a Hillis–Steele inclusive scan with the associative operator
  ``(a1, b1) . (a2, b2) = (a1 * a2, a2 * b1 + b2)`` over ``h[t] = a[t] h[t-1] + b[t]``:
  ``ceil(log2 L)`` whole-tensor steps. It works on the decay factors themselves, never on
  ``exp(-cumsum(log a))`` (which overflows for long sequences): with ``A < 0`` every factor
  is in ``(0, 1]``, so products only shrink (and underflow to an exact 0 where the
  contribution is below the float resolution anyway).

``"auto"`` uses mamba-ssm's fused CUDA kernel when it is installed (extra ``mamba``) and
the tensors are on a CUDA device, otherwise the sequential loop for ``L <= 16`` and the
parallel scan above.

Cost model (used by :mod:`vqabench.models.complexity`, which cannot see elementwise work
through ``FlopCounterMode``): one scan costs ``4 * batch * dim * L * N`` MACs (``delta * A``,
``delta * B * u``, the recurrence MAC and the ``C . h`` MAC per state element) plus
``2 * batch * dim * L`` (skip and gate); exponentials, softplus and SiLU are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.errors import invalid

__all__ = [
    "selective_scan",
    "ScanMethod",
    "MambaBlock",
    "scan_macs",
    "count_scan_macs",
    "cuda_kernel_available",
]

ScanMethod = Literal["auto", "sequential", "parallel", "cuda"]
_METHODS = ("auto", "sequential", "parallel", "cuda")
_AUTO_SEQUENTIAL_MAX_LEN = 16

# Accumulates the analytic scan cost while :func:`count_scan_macs` is active.
_SCAN_TALLY: ContextVar[list[int] | None] = ContextVar("vqabench_scan_tally", default=None)


def scan_macs(batch: int, dim: int, length: int, d_state: int) -> int:
    """Multiply-accumulates of one selective scan (see the module docstring for the model).

    Example:
        >>> scan_macs(1, 64, 12, 16)
        50688
    """
    return 4 * batch * dim * length * d_state + 2 * batch * dim * length


@contextmanager
def count_scan_macs() -> Iterator[list[int]]:
    """Tally the MACs of every :func:`selective_scan` call made inside the block.

    Yields:
        A one-element list whose item is the running total.

    Example:
        >>> with count_scan_macs() as tally:
        ...     model(x)
        >>> tally[0]
    """
    tally = [0]
    token = _SCAN_TALLY.set(tally)
    try:
        yield tally
    finally:
        _SCAN_TALLY.reset(token)


def cuda_kernel_available() -> bool:
    """Whether mamba-ssm's fused ``selective_scan_fn`` CUDA kernel can be imported."""
    return _cuda_scan_fn() is not None


def _cuda_scan_fn():  # pragma: no cover - needs mamba-ssm and a GPU
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception:  # ImportError, or a kernel built for another torch/CUDA
        return None
    return selective_scan_fn


def _check_shapes(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
) -> None:
    if u.dim() != 3:
        raise invalid("u.shape", tuple(u.shape), "(batch, dim, L)")
    batch, dim, length = u.shape
    if tuple(delta.shape) != tuple(u.shape):
        raise invalid("delta.shape", tuple(delta.shape), f"the shape of u, {tuple(u.shape)}")
    if A.is_complex():
        raise invalid("A.dtype", A.dtype, "a real dtype (complex A is not supported)")
    if A.dim() != 2 or A.shape[0] != dim:
        raise invalid("A.shape", tuple(A.shape), f"(dim, N) with dim={dim}")
    d_state = A.shape[1]
    for name, m in (("B", B), ("C", C)):
        shape = tuple(m.shape)
        ok = (
            shape == (dim, d_state)
            or shape == (batch, d_state, length)
            or (
                m.dim() == 4
                and shape[0] == batch
                and shape[2:] == (d_state, length)
                and shape[1] >= 1
                and dim % shape[1] == 0
            )
        )
        if not ok:
            raise invalid(
                f"{name}.shape",
                shape,
                f"({dim}, {d_state}), ({batch}, {d_state}, {length}) or "
                f"({batch}, G, {d_state}, {length}) with G dividing {dim}",
            )
    if D is not None and tuple(D.shape) != (dim,):
        raise invalid("D.shape", tuple(D.shape), f"({dim},)")
    if z is not None and tuple(z.shape) != tuple(u.shape):
        raise invalid("z.shape", tuple(z.shape), f"the shape of u, {tuple(u.shape)}")
    if delta_bias is not None and tuple(delta_bias.shape) != (dim,):
        raise invalid("delta_bias.shape", tuple(delta_bias.shape), f"({dim},)")


def _expand_bc(m: Tensor, dim: int) -> Tensor:
    """B or C as a tensor broadcastable to (batch, dim, L, N)."""
    if m.dim() == 2:  # constant (dim, N)
        return m[None, :, None, :]
    if m.dim() == 3:  # (batch, N, L): shared by all channels
        return m.transpose(1, 2)[:, None, :, :]
    groups = m.shape[1]  # (batch, G, N, L): channel d uses group d // (dim // G)
    return m.repeat_interleave(dim // groups, dim=1).transpose(2, 3)


def _scan_sequential(a: Tensor, b: Tensor) -> Tensor:
    """h[t] = a[t] h[t-1] + b[t] along dim -2, h[-1] = 0; a, b: (batch, dim, L, N)."""
    h = torch.zeros_like(b[..., 0, :])
    hs = []
    for t in range(b.shape[-2]):
        h = a[..., t, :] * h + b[..., t, :]
        hs.append(h)
    return torch.stack(hs, dim=-2)


def _scan_parallel(a: Tensor, b: Tensor) -> Tensor:
    """Same result as :func:`_scan_sequential` in ``ceil(log2 L)`` Hillis–Steele steps."""
    length = b.shape[-2]
    offset = 1
    while offset < length:
        # Combine element t with element t - offset: (a', b') = (a_t a_s, a_t b_s + b_t).
        a_hi, b_hi = a[..., offset:, :], b[..., offset:, :]
        a_lo, b_lo = a[..., :-offset, :], b[..., :-offset, :]
        b = torch.cat([b[..., :offset, :], torch.addcmul(b_hi, a_hi, b_lo)], dim=-2)
        if 2 * offset < length:  # the decay products are not needed after the last step
            a = torch.cat([a[..., :offset, :], a_hi * a_lo], dim=-2)
        offset *= 2
    return b


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    *,
    return_last_state: bool = False,
    method: ScanMethod = "auto",
) -> Tensor | tuple[Tensor, Tensor]:
    """Selective scan with the semantics of mamba-ssm's ``selective_scan_ref``.

    Computation runs in at least float32 (float64 stays float64); the output has the dtype
    of ``u``.

    Args:
        u: input, (batch, dim, L).
        delta: time steps before bias/softplus, (batch, dim, L).
        A: state matrix (diagonal per channel), (dim, N); negative for a stable scan.
        B: input matrix: (dim, N) constant, (batch, N, L) variable, or (batch, G, N, L)
            variable per group of ``dim // G`` consecutive channels.
        C: output matrix, same shape options as ``B``.
        D: skip connection, (dim,).
        z: gate, (batch, dim, L); the output is multiplied by ``silu(z)``.
        delta_bias: added to ``delta`` (broadcast over batch and L) before the softplus.
        delta_softplus: apply ``softplus`` to ``delta``.
        return_last_state: also return the state after the last step, (batch, dim, N).
        method: ``"sequential"``, ``"parallel"``, ``"cuda"`` (mamba-ssm kernel) or
            ``"auto"`` (kernel on CUDA when available, else by length).

    Returns:
        ``y`` of shape (batch, dim, L), or ``(y, last_state)``.

    Raises:
        ConfigError: a shape does not match, or ``method`` is unknown or unavailable.

    Example:
        >>> u = torch.randn(2, 8, 100); delta = torch.rand(2, 8, 100)
        >>> A = -torch.rand(8, 16); B = torch.randn(2, 16, 100); C = torch.randn(2, 16, 100)
        >>> selective_scan(u, delta, A, B, C).shape
        torch.Size([2, 8, 100])
    """
    if method not in _METHODS:
        raise invalid("method", method, " | ".join(_METHODS))
    _check_shapes(u, delta, A, B, C, D, z, delta_bias)
    batch, dim, length = u.shape
    d_state = A.shape[1]
    tally = _SCAN_TALLY.get()
    if tally is not None:
        tally[0] += scan_macs(batch, dim, length, d_state)

    use_cuda = method == "cuda" or (
        method == "auto" and u.is_cuda and u.dtype != torch.float64 and cuda_kernel_available()
    )
    if use_cuda:
        fn = _cuda_scan_fn()
        if fn is None or not u.is_cuda:
            raise invalid(
                "method",
                method,
                "'cuda' only with mamba-ssm installed and CUDA "
                "tensors; use 'auto', 'sequential' or 'parallel'",
            )
        return fn(
            u,
            delta,
            A,
            B,
            C,
            D,
            z,
            delta_bias,
            delta_softplus,  # pragma: no cover
            return_last_state,
        )
    if method == "auto":
        method = "sequential" if length <= _AUTO_SEQUENTIAL_MAX_LEN else "parallel"

    dtype_in = u.dtype
    work = torch.promote_types(dtype_in, torch.float32)
    u_, delta_ = u.to(work), delta.to(work)
    if delta_bias is not None:
        delta_ = delta_ + delta_bias.to(work)[:, None]
    if delta_softplus:
        delta_ = F.softplus(delta_)
    # Elementwise products only (no matmul/einsum), so FlopCounterMode does not count the
    # scan; its cost is tallied analytically above.
    dt = delta_.unsqueeze(-1)  # (batch, dim, L, 1)
    a = torch.exp(dt * A.to(work)[:, None, :])  # (batch, dim, L, N)
    b = (dt * u_.unsqueeze(-1)) * _expand_bc(B.to(work), dim)
    h = _scan_sequential(a, b) if method == "sequential" else _scan_parallel(a, b)
    y = (h * _expand_bc(C.to(work), dim)).sum(-1)  # (batch, dim, L)
    if D is not None:
        y = y + u_ * D.to(work)[:, None]
    if z is not None:
        y = y * F.silu(z.to(work))
    y = y.to(dtype_in)
    return (y, h[..., -1, :]) if return_last_state else y


class MambaBlock(nn.Module):
    """One Mamba (selective SSM) block, as in mamba-ssm's ``Mamba`` module.

    ``in_proj`` -> (x, z); x -> causal depthwise ``conv1d`` -> SiLU -> ``x_proj`` ->
    (dt, B, C); ``dt_proj`` gives the time steps (its bias goes in as ``delta_bias`` with
    softplus); selective scan with ``A = -exp(A_log)``, skip ``D`` and gate ``silu(z)``;
    ``out_proj``. No normalisation or residual: the caller adds them.

    Args:
        d_model: width of the input and output.
        d_state: state size ``N`` per channel.
        d_conv: kernel size of the causal depthwise convolution.
        expand: inner width is ``expand * d_model``.
        dt_rank: rank of the time-step projection; ``"auto"`` is ``ceil(d_model / 16)``.
        dt_min: smallest initial time step.
        dt_max: largest initial time step.
        dt_init_floor: floor of the initial time steps.
        scan_method: passed to :func:`selective_scan`.

    Example:
        >>> block = MambaBlock(64)
        >>> block(torch.randn(2, 12, 64)).shape
        torch.Size([2, 12, 64])
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | Literal["auto"] = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        *,
        scan_method: ScanMethod = "auto",
    ):
        super().__init__()
        for name, value in (
            ("d_model", d_model),
            ("d_state", d_state),
            ("d_conv", d_conv),
            ("expand", expand),
        ):
            if not isinstance(value, int) or value < 1:
                raise invalid(name, value, "an integer >= 1")
        if not 0 < dt_min <= dt_max:
            raise invalid("dt_min, dt_max", (dt_min, dt_max), "0 < dt_min <= dt_max")
        if dt_rank == "auto":
            dt_rank = math.ceil(d_model / 16)
        if not isinstance(dt_rank, int) or dt_rank < 1:
            raise invalid("dt_rank", dt_rank, "'auto' or an integer >= 1")
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner, self.dt_rank, self.scan_method = expand * d_model, dt_rank, scan_method
        d_inner = self.d_inner

        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

        # dt_proj: weights uniform in +-dt_rank**-0.5; bias so that softplus(bias) is a
        # log-uniform time step in [dt_min, dt_max] (inverse softplus: dt + log(1 - e^-dt)).
        std = dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(
            torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        # S4D-real initialisation: A[d, n] = -(n + 1).
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
        self.A_log = nn.Parameter(torch.log(a))
        self.D = nn.Parameter(torch.ones(d_inner))
        for p in (self.A_log, self.D, self.dt_proj.bias):
            p._no_weight_decay = True  # read by the optimiser set-up in ranking.py

    def forward(self, x: Tensor) -> Tensor:
        """Map (batch, L, d_model) to (batch, L, d_model); causal along L."""
        length = x.shape[1]
        xz = self.in_proj(x).transpose(1, 2)  # (batch, 2 * d_inner, L)
        xs, z = xz.chunk(2, dim=1)
        xs = F.silu(self.conv1d(xs)[..., :length])
        x_dbl = self.x_proj(xs.transpose(1, 2))  # (batch, L, dt_rank + 2N)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (batch, d_inner, L)
        A = -torch.exp(self.A_log.float())
        y = selective_scan(
            xs,
            delta,
            A,
            B.transpose(1, 2),
            C.transpose(1, 2),
            self.D.float(),
            z,
            delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True,
            method=self.scan_method,
        )
        return self.out_proj(y.transpose(1, 2))
