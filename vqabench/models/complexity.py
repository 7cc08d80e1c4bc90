"""Model complexity: parameters, multiply-accumulates and CPU time per patch pair.

MACs are counted as ``FLOPs / 2`` by :class:`torch.utils.flop_counter.FlopCounterMode`
(which counts matrix products and convolutions: ``nn.Linear``, ``nn.Conv*``, attention
``matmul``) plus the selective scans' elementwise cost, tallied analytically by
:func:`vqabench.models.mamba.count_scan_macs` (``4·B·D·L·N + 2·B·D·L`` per scan).
Other elementwise work (activations, normalisation, softmax) is not counted, as is usual
for published GMAC figures. The count runs on the ``meta`` device, so it costs no compute.

Example:
    >>> info = model_info("pt_loss", patch=(12, 256, 256), time_repeats=0)
    >>> info.params, info.macs
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vqabench.errors import invalid
from vqabench.models.mamba import count_scan_macs

__all__ = [
    "Complexity",
    "count_params",
    "count_macs",
    "cpu_time_per_pair",
    "cpu_times_per_pair",
    "model_info",
    "parse_patch",
]

Patch = tuple[int, int, int]  # (frames, height, width)


@dataclass(frozen=True)
class Complexity:
    """Size and cost of a quality model on one (reference, distorted) patch pair.

    Attributes:
        name: registered model name.
        frames, height, width: the patch.
        params: trainable and frozen parameters.
        macs: multiply-accumulates per patch pair, scan included.
        scan_macs: the selective-scan part of ``macs`` (0 for models without one).
        cpu_s: median CPU seconds per patch pair (batch 1, inference), or None.
        threads: torch intra-op threads used for ``cpu_s``.
    """

    name: str
    frames: int
    height: int
    width: int
    params: int
    macs: int
    scan_macs: int
    cpu_s: float | None
    threads: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for JSON), with ``gmacs`` and ``mparams`` added."""
        d = asdict(self)
        d["mparams"] = self.params / 1e6
        d["gmacs"] = self.macs / 1e9
        return d


def parse_patch(text: str) -> Patch:
    """Parse ``WIDTHxHEIGHTxFRAMES`` (e.g. ``256x256x12``) into (frames, height, width).

    Raises:
        ConfigError: not three positive integers separated by ``x``.

    Example:
        >>> parse_patch("320x256x12")
        (12, 256, 320)
    """
    from vqabench.models.patches import PatchSize

    size = PatchSize.parse(text)
    return size.frames, size.height, size.width


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def _pair(patch: Patch, batch: int, device: str | torch.device) -> tuple[torch.Tensor, ...]:
    frames, height, width = patch
    shape = (batch, 3, frames, height, width)
    return torch.rand(shape, device=device), torch.rand(shape, device=device)


def count_macs(model: nn.Module, patch: Patch = (12, 256, 256)) -> tuple[int, int]:
    """MACs of one forward pass on one (reference, distorted) patch pair.

    Args:
        model: a quality model taking ``(reference, distorted)`` of shape (B, 3, T, H, W).
        patch: (frames, height, width).

    Returns:
        ``(total_macs, scan_macs)``; ``total_macs`` includes ``scan_macs``.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    ref, dist = _pair(patch, 1, "meta")
    with torch.no_grad(), count_scan_macs() as tally:
        counter = FlopCounterMode(display=False)
        with counter:
            meta(ref, dist)
    scan = int(tally[0])
    return counter.get_total_flops() // 2 + scan, scan


def cpu_times_per_pair(
    model: nn.Module, patch: Patch = (12, 256, 256), *, repeats: int = 5, warmup: int = 1
) -> list[float]:
    """Wall-clock seconds of ``repeats`` CPU inferences on one patch pair (batch 1).

    Raises:
        ConfigError: ``repeats`` < 1.
    """
    if repeats < 1:
        raise invalid("repeats", repeats, "an integer >= 1")
    model = copy.deepcopy(model).to("cpu").eval()
    ref, dist = _pair(patch, 1, "cpu")
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            model(ref, dist)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def cpu_time_per_pair(
    model: nn.Module,
    patch: Patch = (12, 256, 256),
    *,
    repeats: int = 5,
    warmup: int = 1,
    statistic: Literal["median", "min"] = "median",
) -> float:
    """Median (or minimum) CPU seconds of one inference on one patch pair (batch 1).

    Args:
        model: the quality model.
        patch: (frames, height, width).
        repeats: timed runs.
        warmup: untimed runs first.
        statistic: ``"median"`` of the runs, or ``"min"`` (robust on a busy machine).

    Raises:
        ConfigError: ``repeats`` < 1 or unknown ``statistic``.
    """
    if statistic not in ("median", "min"):
        raise invalid("statistic", statistic, "median | min")
    times = cpu_times_per_pair(model, patch, repeats=repeats, warmup=warmup)
    return statistics.median(times) if statistic == "median" else min(times)


def model_info(
    name: str, patch: Patch = (12, 256, 256), *, time_repeats: int = 3, **model_kwargs: object
) -> Complexity:
    """Parameters, MACs and (if ``time_repeats`` > 0) CPU time of a registered model.

    Args:
        name: model name (see :func:`vqabench.models.available`).
        patch: (frames, height, width).
        time_repeats: timed runs for the median CPU time; 0 skips timing.
        **model_kwargs: passed to :func:`vqabench.models.create_model`.
    """
    from vqabench.models import create_model

    model = create_model(name, **model_kwargs)
    macs, scan = count_macs(model, patch)
    cpu_s = cpu_time_per_pair(model, patch, repeats=time_repeats) if time_repeats > 0 else None
    frames, height, width = patch
    return Complexity(
        name=name,
        frames=frames,
        height=height,
        width=width,
        params=count_params(model),
        macs=macs,
        scan_macs=scan,
        cpu_s=cpu_s,
        threads=torch.get_num_threads()
        if cpu_s is not None
        else int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())),
    )
