"""Learned quality models for UGC transcoding: PT-Loss and RankDVQA-UGC.

Both score a (non-pristine reference ``R``, distorted ``D``) patch pair, shape
(B, 3, T, H, W) RGB in [0, 1], by its quality relative to the absent pristine source;
higher is better. They are trained by :func:`vqabench.models.ranking.train` and used as
metrics and as differentiable losses for learned codecs. The public way to get a loss is the
metric's: ``metrics.create("pt_loss").as_loss()`` (:mod:`vqabench.metrics.losses`), which
wraps the model in :class:`PerceptualLoss`; :func:`perceptual_loss` builds the same module
straight from a model name (random weights included) for training code below the metrics.

Example:
    >>> model = create_model("pt_loss")
    >>> loss_fn = perceptual_loss("pt_loss", checkpoint=None)   # random weights
    >>> loss = loss_fn(reference, codec_output)                 # -score, mean over batch
    >>> loss.backward()
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vqabench.errors import invalid
from vqabench.registry import Registry, lazy_exports

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "export_checkpoint",
    "MODELS",
    "CHECKPOINT_FORMAT",
    "CURRENT_RELEASES",
    "available",
    "create_model",
    "load_checkpoint",
    "checkpoint_path",
    "parse_pretrained",
    "perceptual_loss",
    "PerceptualLoss",
    "PTLoss",
    "RankDVQAUGC",
    "MambaBlock",
    "selective_scan",
    "pool_patch_scores",
]

#: Quality models by name; entries are lazy, so listing them imports no torch.
MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
MODELS.add_lazy("pt_loss", "vqabench.models.ptloss:PTLoss")
MODELS.add_lazy("rankdvqa_ugc", "vqabench.models.rankdvqa:RankDVQAUGC")

#: What needs torch is imported on first use (``import vqabench.models`` stays light).
__getattr__ = lazy_exports(
    __name__,
    {
        "load_checkpoint": "checkpoints",
        "export_checkpoint": "checkpoints",
        "perceptual_loss": "checkpoints",
        "PerceptualLoss": "checkpoints",
        "PTLoss": "ptloss",
        "pool_patch_scores": "ptloss",
        "RankDVQAUGC": "rankdvqa",
        "MambaBlock": "mamba",
        "selective_scan": "mamba",
    },
)

CHECKPOINT_FORMAT = "vqabench-quality-model/1"

# The release that each model's current checkpoint (weights/NAME.pt) is. Earlier releases
# live in weights/RELEASE/NAME.pt; naming the current one resolves to the top-level file, so
# a config can pin the release it was run with before a newer one ships (the model card).
CURRENT_RELEASES: dict[str, str] = {"pt_loss": "v2", "rankdvqa_ugc": "v1"}


def available() -> list[str]:
    """Names of the registered quality models (no torch import)."""
    return MODELS.names()


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build a quality model with random weights.

    Args:
        name: ``"pt_loss"`` or ``"rankdvqa_ugc"`` (or a plugin).
        **kwargs: architecture options of the model class.

    Raises:
        UnknownNameError: unknown model name, with close matches.
    """
    return MODELS.get(name)(**kwargs)


def checkpoint_path(name: str, release: str | None = None) -> Path:
    """Where the shipped checkpoint of model ``name`` lives (``vqabench/models/weights``).

    Args:
        name: model name.
        release: a shipped release, e.g. ``"v1"`` (see the model card): an earlier one is
            kept as ``weights/RELEASE/NAME.pt`` for reproducing results made with it, the
            current one (:data:`CURRENT_RELEASES`) is ``weights/NAME.pt``; None for the
            current one, whichever it is.

    Raises:
        ConfigError: ``release`` is not a plain folder name.
    """
    if name not in MODELS.names():
        MODELS.get(name)  # raises UnknownNameError with close matches
    weights = Path(str(importlib.resources.files("vqabench.models") / "weights"))
    if release is None or release == CURRENT_RELEASES.get(name):
        return weights / f"{name}.pt"
    if not release or not release.replace("-", "").replace("_", "").isalnum():
        raise invalid("release", release, "a release folder name such as 'v1'")
    return weights / release / f"{name}.pt"


def parse_pretrained(weights: str) -> str | None:
    """The release of a ``"pretrained"`` / ``"pretrained:RELEASE"`` weights option, else
    raise. ``"pretrained"`` gives None (the current shipped checkpoint).

    Raises:
        ConfigError: not of that form.
    """
    head, sep, release = weights.partition(":")
    if head != "pretrained" or (sep and not release):
        raise invalid(
            "weights", weights, "'pretrained' or 'pretrained:RELEASE' (e.g. 'pretrained:v1')"
        )
    return release or None
