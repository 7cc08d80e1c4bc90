"""Complexity of the built-in INR codec per model size: parameters and decoder MACs.

The parameters are what the bitstream stores (feature grid + convolutions, counted on the
``meta`` device, no compute); MACs are those of decoding one frame (the forward pass from
the grid to the picture), counted as ``FLOPs / 2`` by
:class:`torch.utils.flop_counter.FlopCounterMode` (convolutions; the time interpolation,
pixel shuffle and activations are not counted, as usual for published MAC figures).

Example:
    >>> params, macs = inr_complexity("s", width=256, height=144, frames=16)
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from vqabench.codecs.inr import PRESETS, InrArch, InrNet
from vqabench.errors import invalid
from vqabench.io.video import Video

__all__ = ["inr_complexity", "arch_complexity"]


def inr_complexity(preset: str, *, width: int, height: int, frames: int) -> tuple[int, int]:
    """(parameters, MACs per decoded frame) of ``model=preset`` for a video of that size.

    Raises:
        ConfigError: unknown preset.
    """
    if preset not in PRESETS:
        raise invalid("model", preset, " | ".join(PRESETS))
    video = Video(
        path=Path("size-only"),
        width=width,
        height=height,
        fps=Fraction(25),
        pix_fmt="yuv420p",
        frames=frames,
    )
    return arch_complexity(InrArch.for_video(video, preset))


def arch_complexity(arch: InrArch) -> tuple[int, int]:
    """(parameters, MACs per decoded frame) of an INR architecture (e.g. a bitstream's, from
    :func:`vqabench.codecs.inr.read_bitstream`)."""
    with torch.device("meta"):
        net = InrNet(arch)
    params = sum(p.numel() for p in net.parameters())
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, dtype=torch.long, device="meta"))
    return params, counter.get_total_flops() // 2
