"""Where torch-based metrics run: ``device="auto" | "cpu" | "cuda" | "cuda:N"``.

``auto`` is the first CUDA device when torch sees one, else the CPU. The device is not part of
a metric's job key (:attr:`~vqabench.metrics.base.Metric.spec`): the networks compute the same
function on either, and values agree to float32 rounding (a few 1e-6 relative), far below any
difference a benchmark reports. The device a result was computed on is recorded in the
metric's ``execution`` instead (:class:`OnDevice`).

Example:
    >>> resolve_device("auto")     # device(type='cpu') on a machine without CUDA
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from vqabench.errors import ConfigError, invalid

if TYPE_CHECKING:
    import torch

__all__ = [
    "Device",
    "DEVICES",
    "resolve_device",
    "OnDevice",
    "check_network_options",
    "check_bool",
    "seed_option",
]

Device = Literal["auto", "cpu", "cuda"]
DEVICES = "auto | cpu | cuda | cuda:N"


def resolve_device(device: object) -> torch.device:
    """The torch device named by ``device``.

    Args:
        device: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        ConfigError: ``device`` is not one of those, or names a CUDA device this machine
            does not have.
    """
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise invalid("device", device, DEVICES)
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        raise ConfigError(
            f"device={device!r} is not available: torch {torch.__version__} sees "
            f"{count} CUDA device(s); use device='auto' or 'cpu'"
        )
    return torch.device(device)


class OnDevice:
    """Mixin of the metrics that run a network: the torch device and the batch size they run
    with, recorded as :attr:`execution` (never part of the job key or the metric's id).

    Attributes:
        device: from :func:`resolve_device`.
        batch_size: frames or clips per forward pass; None = chosen automatically.
    """

    device: torch.device
    batch_size: int | None

    @property
    def execution(self) -> dict[str, object]:
        """How the values were computed, beyond the key: device and batch size."""
        return {
            "device": str(self.device),
            "batch_size": "auto" if self.batch_size is None else self.batch_size,
        }


def check_network_options(batch_size: object, seed: object) -> None:
    """Check the options every network metric takes besides ``device``.

    Raises:
        ConfigError: ``batch_size`` is neither None nor an integer >= 1, or ``seed`` is not
            an integer.
    """
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise invalid("batch_size", batch_size, "None (automatic) or an integer >= 1")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise invalid("seed", seed, "an integer")


def check_bool(argument: str, value: object) -> bool:
    """``value`` when it is a bool.

    Raises:
        ConfigError: anything else (named as ``argument``).
    """
    if not isinstance(value, bool):
        raise invalid(argument, value, "True or False")
    return value


def seed_option(pretrained_backbone: bool, seed: int) -> dict[str, int]:
    """``{"seed": seed}`` for a random backbone, ``{}`` for a pretrained one: the seed is part
    of a network metric's options (its job key) only when it chooses the weights."""
    return {} if pretrained_backbone else {"seed": seed}
