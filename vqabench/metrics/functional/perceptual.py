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
    "stage_geometry",
    "by_rows",
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


def _layer_geometry(module: torch.nn.Module) -> tuple[int, int] | None:
    """(kernel rows, stride) of one layer of a VGG/AlexNet-style stage; None for a layer of
    another kind (a SqueezeNet Fire module, ...)."""
    import torch

    if isinstance(module, torch.nn.Conv2d | torch.nn.MaxPool2d):
        def first(v: int | tuple[int, ...]) -> int:
            return v[0] if isinstance(v, tuple) else v

        dilation = first(module.dilation)
        return (first(module.kernel_size) - 1) * dilation + 1, first(module.stride)
    if hasattr(module, "filter") and hasattr(module, "stride"):  # pyiqa's L2pooling
        return int(module.filter.shape[-2]), int(module.stride)
    if isinstance(module, torch.nn.ReLU | torch.nn.Dropout | torch.nn.Identity):
        return 1, 1
    return None


def stage_geometry(stage: torch.nn.Module) -> tuple[int, int] | None:
    """(receptive field in input rows, total stride) of a sequential stage of convolutions,
    poolings and pointwise layers; None when it holds a layer of another kind."""
    field, stride = 1, 1
    for module in list(stage.children()) or [stage]:
        geometry = _layer_geometry(module)
        if geometry is None:
            return None
        kernel, step = geometry
        field += (kernel - 1) * stride
        stride *= step
    return field, stride


def by_rows(stage: torch.nn.Module, x: torch.Tensor, rows: int) -> torch.Tensor:
    """``stage(x)`` computed ``rows`` output rows at a time, each from a band of input rows
    with a halo of the stage's receptive field, the band's output cropped to its own rows.

    Bands start on multiples of the stage's stride and reach the image's own top and bottom
    where it has them, so every kept output row sees the same inputs and the same zero
    padding as in ``stage(x)``: the result equals it up to float rounding of the convolution
    kernels, while the stage's intermediate activations exist for one band at a time.
    A stage with layers of unknown geometry runs whole.
    """
    import torch

    geometry = stage_geometry(stage)
    if geometry is None:
        return stage(x)
    field, stride = geometry
    halo = -(-field // stride) * stride  # rows, a multiple of the stride
    height = x.shape[2]
    step = max(1, rows) * stride
    if height <= step + 2 * halo:
        return stage(x)
    tops = list(range(0, height, step))
    result: torch.Tensor | None = None
    for top in tops[-1:] + tops[:-1]:  # the last band first: it gives the output's height
        start, stop = max(0, top - halo), min(height, top + step + halo)
        out = stage(x[:, :, start:stop])
        first = (top - start) // stride
        band = out[:, :, first:first + step // stride]
        if result is None:  # written in place: no list of bands and concatenated copy
            rows_out = top // stride + band.shape[2]
            result = torch.empty((*band.shape[:2], rows_out, band.shape[3]), dtype=band.dtype,
                                 device=band.device)
        result[:, :, top // stride:top // stride + band.shape[2]] = band
        del out, band
    return result


#: Output rows per band in :func:`by_rows` and feature rows per step of the distance stage of
#: :func:`lpips_scores` and :func:`dists_scores` (bounds their temporaries; values do not
#: depend on it beyond float rounding).
LPIPS_ROWS = 64


def lpips_scores(model: torch.nn.Module, reference: np.ndarray,
                 distorted: np.ndarray) -> np.ndarray:
    """Per-frame LPIPS of RGB batches (B, H, W, 3) in [0, 1] (lpips' ``normalize=True``),
    computed on the network's device.

    The same arithmetic as ``lpips.LPIPS.forward`` (scaling layer, the backbone's slices,
    unit-normalised features, squared difference, the learned 1x1 weights, spatial mean,
    sum over layers), evaluated layer by layer: only the current layer's features of both
    inputs are alive, each slice runs in bands of rows (:func:`by_rows`), and the distance
    stage runs :data:`LPIPS_ROWS` feature rows at a time. The package itself holds every
    layer's features, normalised features and differences of both frames at once: 6.3 GiB
    for one 1080p pair with VGG (reports/performance.md, "Memory"). Values equal the
    package's within float rounding (``tests/metrics/functional/test_perceptual.py``).
    """
    import lpips
    import torch

    dev = model_device(model)
    with torch.inference_mode():
        x0 = model.scaling_layer(2 * to_tensor(distorted, dev) - 1)
        x1 = model.scaling_layer(2 * to_tensor(reference, dev) - 1)
        total = torch.zeros(x0.shape[0], dtype=torch.float64, device=dev)
        for kk in range(model.L):
            layer = getattr(model.net, f"slice{kk + 1}")
            x0 = by_rows(layer, x0, LPIPS_ROWS)  # one at a time: the input is freed first
            x1 = by_rows(layer, x1, LPIPS_ROWS)
            height, width = x0.shape[2:]
            acc = torch.zeros(x0.shape[0], dtype=torch.float64, device=dev)
            for top in range(0, height, LPIPS_ROWS):
                rows = slice(top, top + LPIPS_ROWS)
                diff = (lpips.normalize_tensor(x0[:, :, rows])
                        - lpips.normalize_tensor(x1[:, :, rows])) ** 2
                acc += model.lins[kk](diff).sum(dim=(1, 2, 3), dtype=torch.float64)
            total += acc / (height * width)
    return total.cpu().numpy()


def dists_scores(model: torch.nn.Module, reference: np.ndarray,
                 distorted: np.ndarray) -> np.ndarray:
    """Per-frame DISTS of RGB batches (B, H, W, 3) in [0, 1], on the network's device.

    The arithmetic of pyiqa's ``DISTS.forward`` (per layer and channel: means, variances and
    covariance of both inputs' features, the structure and texture terms weighted by the
    learned alpha and beta), evaluated stage by stage like :func:`lpips_scores`: each stage
    in bands of rows (:func:`by_rows`), the variance and covariance sums
    :data:`LPIPS_ROWS` rows at a time (in float64), so only one layer's features of both
    inputs are alive. Values equal pyiqa's within float rounding.
    """
    import torch

    dev = model_device(model)
    c1 = c2 = 1e-6
    with torch.inference_mode():
        x, y = to_tensor(distorted, dev), to_tensor(reference, dev)
        w_sum = model.alpha.sum() + model.beta.sum()
        alpha = torch.split(model.alpha / w_sum, model.chns, dim=1)
        beta = torch.split(model.beta / w_sum, model.chns, dim=1)
        dist1 = dist2 = torch.zeros(x.shape[0], 1, 1, 1, device=dev)
        hx, hy = x, y
        for k in range(len(model.chns)):
            if k == 1:
                hx, hy = (x - model.mean) / model.std, (y - model.mean) / model.std
            if k >= 1:
                stage = getattr(model, f"stage{k}")
                hx = by_rows(stage, hx, LPIPS_ROWS)  # one at a time, as in lpips_scores
                hy = by_rows(stage, hy, LPIPS_ROWS)
            x_mean = hx.mean([2, 3], keepdim=True)
            y_mean = hy.mean([2, 3], keepdim=True)
            s1 = (2 * x_mean * y_mean + c1) / (x_mean**2 + y_mean**2 + c1)
            dist1 = dist1 + (alpha[k] * s1).sum(1, keepdim=True)
            sums = torch.zeros(3, *x_mean.shape, dtype=torch.float64, device=dev)
            for top in range(0, hx.shape[2], LPIPS_ROWS):
                fx, fy = hx[:, :, top:top + LPIPS_ROWS], hy[:, :, top:top + LPIPS_ROWS]
                for i, t in enumerate(((fx - x_mean) ** 2, (fy - y_mean) ** 2, fx * fy)):
                    sums[i] += t.sum([2, 3], keepdim=True, dtype=torch.float64)
            x_var, y_var, xy = (v.float() / (hx.shape[2] * hx.shape[3]) for v in sums)
            s2 = (2 * (xy - x_mean * y_mean) + c2) / (x_var + y_var + c2)
            dist2 = dist2 + (beta[k] * s2).sum(1, keepdim=True)
        out = 1 - (dist1 + dist2)
    return out.reshape(-1).double().cpu().numpy()
