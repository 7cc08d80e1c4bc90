"""Network builders and batched evaluation for LPIPS and DISTS (torch imported lazily).

Networks are the libraries' own classes (``lpips.LPIPS``; pyiqa's ``DISTS`` architecture, a
port of the authors' ``DISTS_pt``). Backbone weights are never downloaded: with
``pretrained_backbone=True`` the torchvision file is resolved by
:func:`vqabench.metrics.weights.require` and loaded into the library's network; with False the
backbone is randomly initialised under ``seed`` (for plumbing tests), exactly as
``lpips.LPIPS(pnet_rand=True)`` does after ``torch.manual_seed(seed)``.

Example:
    >>> net = lpips_network("alex", pretrained_backbone=False, seed=0)
    >>> lpips_scores(net, reference_rgb, distorted_rgb)   # (N,) numpy
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np

from vqabench.errors import MetricError
from vqabench.metrics.weights import require

if TYPE_CHECKING:
    import torch

__all__ = [
    "LpipsNet",
    "LPIPS_BACKBONE_FILES",
    "DISTS_FILES",
    "to_tensor",
    "model_device",
    "seeded",
    "load_torch_file",
    "load_features",
    "lpips_network",
    "dists_network",
    "lpips_scores",
    "dists_scores",
]

LpipsNet = Literal["alex", "vgg", "squeeze"]
LPIPS_BACKBONE_FILES: dict[str, str] = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
DISTS_FILES = ("vgg16-397923af.pth", "DISTS_weights-f5e65c96.pth")


def to_tensor(batch: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """(B, H, W, 3) float array in [0, 1] -> (B, 3, H, W) float32 tensor (on ``device``)."""
    import torch

    out = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32))
    return out if device is None else out.to(device)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a network's first parameter (CPU for a network without any)."""
    import torch

    return next(iter(model.parameters()), torch.empty(0)).device


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run under ``torch.manual_seed(seed)`` without disturbing the caller's CPU RNG state."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def load_torch_file(path: object) -> dict:
    """``torch.load`` a state dict on CPU (tensors only); unwraps a ``params`` entry."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: say which
        raise MetricError(f"cannot read weight file {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("params"), dict):
        state = state["params"]
    return state


def load_features(target: torch.nn.Module, state: dict, prefix: str = "features.") -> None:
    """Load a torchvision ``features`` state dict into a module that slices it.

    lpips (``slice1.0.weight``...) and DISTS (``stage1.0.weight``...) keep torchvision's layer
    indices inside their slices, so ``sliceK.<i>.<param>`` is ``features.<i>.<param>``.

    Raises:
        MetricError: when a parameter of ``target`` has no counterpart in ``state``.
    """
    own = target.state_dict()
    new = {}
    for key, value in own.items():
        m = re.match(r"(?:slice|stage)\d+\.(\d+\..+)$", key)
        src = prefix + m.group(1) if m else None
        if src is not None and src in state:
            new[key] = state[src]
        elif m is not None and key.endswith(("weight", "bias")):
            raise MetricError(f"weight file has no {src!r} for layer {key!r}")
        else:
            new[key] = value  # buffers the library computes itself (e.g. L2-pooling filters)
    target.load_state_dict(new, strict=True)


def lpips_network(
    net: LpipsNet = "alex", *, pretrained_backbone: bool = True, seed: int = 0
) -> torch.nn.Module:
    """``lpips.LPIPS`` (v0.1, linear layers from the lpips wheel), in eval mode.

    Args:
        net: backbone, ``alex`` | ``vgg`` | ``squeeze``.
        pretrained_backbone: load torchvision's ImageNet weights from the local cache;
            False: random backbone under ``seed`` (``lpips.LPIPS(pnet_rand=True)``).
        seed: RNG seed of the random initialisation.

    Raises:
        WeightsUnavailableError: backbone file absent.
    """
    path = require(LPIPS_BACKBONE_FILES[net]) if pretrained_backbone else None
    import lpips

    with seeded(seed), warnings.catch_warnings():
        # lpips passes torchvision the deprecated ``pretrained=False``; nothing to act on.
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(net=net, version="0.1", pnet_rand=True, verbose=False)
    if path is not None:
        load_features(model.net, load_torch_file(path))
    return model.eval()


@contextlib.contextmanager
def _features_only_vgg16() -> Iterator[None]:
    """Make ``torchvision.models.vgg16`` build just ``features``, randomly initialised.

    pyiqa's DISTS takes only ``vgg16(...).features``; building the 120M-parameter classifier
    (and asking torchvision for a download) would be wasted. Conv layers keep PyTorch's default
    initialisation.
    """
    import types

    import torchvision.models as tvm
    from torchvision.models.vgg import cfgs, make_layers

    original = tvm.vgg16
    tvm.vgg16 = lambda *args, **kwargs: types.SimpleNamespace(  # type: ignore[assignment]
        features=make_layers(cfgs["D"], batch_norm=False))
    try:
        yield
    finally:
        tvm.vgg16 = original


def dists_network(*, pretrained_backbone: bool = True, seed: int = 0) -> torch.nn.Module:
    """pyiqa's DISTS network (VGG16 with L2 pooling, learned alpha/beta), in eval mode.

    Args:
        pretrained_backbone: load ``vgg16-397923af.pth`` and ``DISTS_weights-f5e65c96.pth``
            from the local cache; False: random VGG16 features and pyiqa's random alpha/beta
            (normal(0.1, 0.01)) under ``seed``.
        seed: RNG seed of the random initialisation.

    Raises:
        WeightsUnavailableError: a weight file is absent.
    """
    paths = [require(f) for f in DISTS_FILES] if pretrained_backbone else []
    from pyiqa.archs.dists_arch import DISTS

    with seeded(seed), _features_only_vgg16():
        model = DISTS(pretrained=False)
    if paths:
        load_features(model, load_torch_file(paths[0]))
        missing = model.load_state_dict(load_torch_file(paths[1]), strict=False).missing_keys
        if "alpha" in missing or "beta" in missing:
            raise MetricError(f"{paths[1]} holds no DISTS alpha/beta weights")
    return model.eval()


def lpips_scores(model: torch.nn.Module, reference: np.ndarray,
                 distorted: np.ndarray) -> np.ndarray:
    """Per-frame LPIPS of RGB batches (B, H, W, 3) in [0, 1] (lpips' ``normalize=True``),
    computed on the network's device."""
    import torch

    dev = model_device(model)
    with torch.inference_mode():
        out = model(to_tensor(distorted, dev), to_tensor(reference, dev), normalize=True)
    return out.reshape(-1).double().cpu().numpy()


def dists_scores(model: torch.nn.Module, reference: np.ndarray,
                 distorted: np.ndarray) -> np.ndarray:
    """Per-frame DISTS of RGB batches (B, H, W, 3) in [0, 1], on the network's device."""
    import torch

    dev = model_device(model)
    with torch.inference_mode():
        out = model(to_tensor(distorted, dev), to_tensor(reference, dev))
    return out.reshape(-1).double().cpu().numpy()
