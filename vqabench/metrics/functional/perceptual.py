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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np

from vqabench.errors import MetricError
from vqabench.io.memory import release_free_heap
from vqabench.metrics.weights import require, require_all

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
    "pair_by_rows",
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
        features=make_layers(cfgs["D"], batch_norm=False)
    )
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
    paths = require_all(DISTS_FILES, fetch_name="dists") if pretrained_backbone else []
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


def _bands(height: int, field: int, stride: int, rows: int) -> list[tuple[int, int, int]]:
    """``(top, start, stop)`` input rows of each band of ``rows`` output rows of a stage with
    receptive field ``field`` and stride ``stride``: tops on multiples of the stride, a halo
    of ``field`` rounded up to the stride, clipped to the image. The last band comes first
    (it gives the output's height). Empty when one band would hold the whole input."""
    halo = -(-field // stride) * stride
    step = max(1, rows) * stride
    if height <= step + 2 * halo:
        return []
    tops = list(range(0, height, step))
    return [
        (top, max(0, top - halo), min(height, top + step + halo)) for top in tops[-1:] + tops[:-1]
    ]


def _keep(
    result: torch.Tensor | None, out: torch.Tensor, top: int, start: int, stride: int, rows: int
) -> torch.Tensor:
    """Write the kept ``rows`` rows of a band's output ``out`` into ``result`` at their place
    (allocated at the first, last band: no list of bands and concatenated copy)."""
    import torch

    first = (top - start) // stride
    band = out[:, :, first : first + rows]
    if result is None:
        result = torch.empty(
            (*band.shape[:2], top // stride + band.shape[2], band.shape[3]),
            dtype=band.dtype,
            device=band.device,
        )
    result[:, :, top // stride : top // stride + band.shape[2]] = band
    return result


def by_rows(
    stage: torch.nn.Module, x: torch.Tensor, rows: int, *, release: bool = True
) -> torch.Tensor:
    """``stage(x)`` computed ``rows`` output rows at a time, each from a band of input rows
    with a halo of the stage's receptive field, the band's output cropped to its own rows.

    Bands start on multiples of the stage's stride and reach the image's own top and bottom
    where it has them, so every kept output row sees the same inputs and the same zero
    padding as in ``stage(x)``: the result equals it up to float rounding of the convolution
    kernels, while the stage's intermediate activations exist for one band at a time.
    A stage with layers of unknown geometry runs whole.

    With ``release`` (the default) the free heap is handed back to the system after every
    band (:func:`~vqabench.io.memory.release_free_heap`): it bounds the fragmentation that
    LPIPS-VGG's band temporaries leave, but every band's allocations then fault their pages
    in again (about 10 % of DISTS's CPU time: DISTS passes False and trims once per stage
    instead, reports/performance.md, "Round 4: DISTS").
    """
    geometry = stage_geometry(stage)
    bands = _bands(x.shape[2], *geometry, rows) if geometry is not None else []
    if not bands:
        return stage(x)
    result = None
    for top, start, stop in bands:
        result = _keep(result, stage(x[:, :, start:stop]), top, start, geometry[1], rows)
        if release:  # the band's temporaries, or fragmentation grows the peak
            release_free_heap()
    return result


#: Output rows per band in :func:`by_rows` and feature rows per step of the distance stage of
#: :func:`lpips_scores` and :func:`dists_scores` (bounds their temporaries; values do not
#: depend on it beyond float rounding).
LPIPS_ROWS = 64


def pair_by_rows(
    first: torch.nn.Module,
    second: torch.nn.Module,
    x0: torch.Tensor,
    x1: torch.Tensor,
    rows: int,
    visit: Callable[[torch.Tensor, torch.Tensor], None],
    *,
    release: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``second(first(x))`` for two inputs in joint bands of rows, never holding ``first``'s
    whole output: ``visit(f0, f1)`` sees each band's exact rows of ``first(x0)`` and
    ``first(x1)`` (every row once) while they exist. The bands are those of :func:`by_rows`
    for the two stages together; with an unknown geometry or a small input the two stages
    run whole (``visit`` then sees all rows at once). ``release`` as in :func:`by_rows`.
    """
    import torch

    geometry = stage_geometry(torch.nn.Sequential(*first.children(), *second.children()))
    inner = stage_geometry(first)
    if geometry is None or inner is None:
        f0, f1 = (
            by_rows(first, x0, rows, release=release),
            by_rows(first, x1, rows, release=release),
        )
        visit(f0, f1)
        return by_rows(second, f0, rows, release=release), by_rows(
            second, f1, rows, release=release
        )
    stride = geometry[1]
    bands = _bands(x0.shape[2], *geometry, rows)
    if not bands:
        f0, f1 = first(x0), first(x1)
        visit(f0, f1)
        return second(f0), second(f1)
    core_rows = rows * stride // inner[1]  # the band's rows of first's output
    y0 = y1 = None
    for top, start, stop in bands:
        f0, f1 = first(x0[:, :, start:stop]), first(x1[:, :, start:stop])
        core = (top - start) // inner[1]
        visit(f0[:, :, core : core + core_rows], f1[:, :, core : core + core_rows])
        y0 = _keep(y0, second(f0), top, start, stride, rows)
        y1 = _keep(y1, second(f1), top, start, stride, rows)
        del f0, f1
        if release:
            release_free_heap()
    return y0, y1


def _lpips_layer_sum(
    model: torch.nn.Module, kk: int, f0: torch.Tensor, f1: torch.Tensor
) -> torch.Tensor:
    """Sum over positions of LPIPS layer ``kk``'s weighted distance (float64, per image),
    :data:`LPIPS_ROWS` rows at a time."""
    import lpips
    import torch

    acc = torch.zeros(f0.shape[0], dtype=torch.float64, device=f0.device)
    for top in range(0, f0.shape[2], LPIPS_ROWS):
        rows = slice(top, top + LPIPS_ROWS)
        diff = (
            lpips.normalize_tensor(f0[:, :, rows]) - lpips.normalize_tensor(f1[:, :, rows])
        ) ** 2
        acc += model.lins[kk](diff).sum(dim=(1, 2, 3), dtype=torch.float64)
    return acc


def lpips_scores(
    model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray
) -> np.ndarray:
    """Per-frame LPIPS of RGB batches (B, H, W, 3) in [0, 1] (lpips' ``normalize=True``),
    computed on the network's device.

    The same arithmetic as ``lpips.LPIPS.forward`` (scaling layer, the backbone's slices,
    unit-normalised features, squared difference, the learned 1x1 weights, spatial mean,
    sum over layers), evaluated layer by layer: the first two slices run in joint bands of
    rows (:func:`pair_by_rows`: the largest features never exist whole), the others in
    bands (:func:`by_rows`) with only the current layer's features of both inputs alive,
    and each distance :data:`LPIPS_ROWS` rows at a time. The package itself holds every
    layer's features, normalised features and differences of both frames at once: 6.3 GiB
    for one 1080p pair with VGG (reports/performance.md, "Memory"). Values equal the
    package's within float rounding (``tests/metrics/functional/test_perceptual.py``).
    """
    import torch

    dev = model_device(model)
    slices = [getattr(model.net, f"slice{k + 1}") for k in range(model.L)]
    with torch.inference_mode():
        x0 = model.scaling_layer(2 * to_tensor(distorted, dev) - 1)
        x1 = model.scaling_layer(2 * to_tensor(reference, dev) - 1)
        total = torch.zeros(x0.shape[0], dtype=torch.float64, device=dev)
        joint = 0
        if model.L >= 2:
            first = {"sum": torch.zeros_like(total), "n": 0}

            def visit(f0: torch.Tensor, f1: torch.Tensor) -> None:
                first["sum"] += _lpips_layer_sum(model, 0, f0, f1)
                first["n"] += f0.shape[2] * f0.shape[3]

            x0, x1 = pair_by_rows(slices[0], slices[1], x0, x1, LPIPS_ROWS, visit)
            total += first["sum"] / first["n"]
            joint = 2  # x0, x1 now hold the second slice's features
        for kk in range(joint - 1 if joint else 0, model.L):
            if kk >= joint:
                x0 = by_rows(slices[kk], x0, LPIPS_ROWS)  # one at a time: frees the input
                x1 = by_rows(slices[kk], x1, LPIPS_ROWS)
            total += _lpips_layer_sum(model, kk, x0, x1) / (x0.shape[2] * x0.shape[3])
    return total.cpu().numpy()


class _Moments:
    """Running per-channel sums of two feature maps for DISTS's statistics: of ``a = f0 - s0``,
    ``b = f1 - s1``, ``a^2``, ``b^2`` and ``a b``, where ``s0``, ``s1`` are the per-channel
    means of the first rows added (a shift, fixed for the whole map).

    Each block of :data:`LPIPS_ROWS` rows is summed in float32 (pyiqa's own precision;
    torch's cascaded float32 sum) and the block sums are accumulated in float64. The shift
    keeps ``E[a^2] - E[a]^2`` free of cancellation as in pyiqa's two-pass variance (a flat
    map gives exactly 0), so the values equal pyiqa's within float rounding. Summing the
    float32 features with ``dtype=torch.float64`` instead (the earlier code) made a float64
    copy of every block: 16 % of DISTS's CPU time at 720p (reports/performance.md, "Round 4:
    DISTS").
    """

    def __init__(self) -> None:
        self.shift: tuple[torch.Tensor, torch.Tensor] | None = None
        self.sums: torch.Tensor | None = None  # (5, B, C, 1, 1) float64
        self.count = 0

    def add(self, f0: torch.Tensor, f1: torch.Tensor) -> None:
        """Add the rows of ``f0`` and ``f1`` (B, C, rows, W), the same positions of each."""
        import torch

        if self.shift is None:
            head = slice(0, LPIPS_ROWS)
            self.shift = (
                f0[:, :, head].mean([2, 3], keepdim=True),
                f1[:, :, head].mean([2, 3], keepdim=True),
            )
        s0, s1 = self.shift
        for top in range(0, f0.shape[2], LPIPS_ROWS):
            a = f0[:, :, top : top + LPIPS_ROWS] - s0
            b = f1[:, :, top : top + LPIPS_ROWS] - s1
            # one product alive at a time (a tuple of all three held 5 blocks at once)
            part = torch.stack(
                [
                    a.sum([2, 3], keepdim=True),
                    b.sum([2, 3], keepdim=True),
                    (a * a).sum([2, 3], keepdim=True),
                    (b * b).sum([2, 3], keepdim=True),
                    (a * b).sum([2, 3], keepdim=True),
                ]
            ).double()
            self.sums = part if self.sums is None else self.sums + part
        self.count += f0.shape[2] * f0.shape[3]

    def statistics(self) -> tuple[torch.Tensor, ...]:
        """float64 (mean of f0, mean of f1, variance of f0, of f1, covariance), (B, C, 1, 1)."""
        a, b, aa, bb, ab = (v / self.count for v in self.sums)  # type: ignore[union-attr]
        s0, s1 = (s.double() for s in self.shift)  # type: ignore[union-attr]
        return a + s0, b + s1, aa - a * a, bb - b * b, ab - a * b


def dists_scores(
    model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray
) -> np.ndarray:
    """Per-frame DISTS of RGB batches (B, H, W, 3) in [0, 1], on the network's device.

    The formula of pyiqa's ``DISTS.forward`` (per layer and channel: means, variances and
    covariance of both inputs' features, the structure and texture terms weighted by the
    learned alpha and beta), with the statistics from shifted float32 block sums
    accumulated in float64 (:class:`_Moments`) rather than pyiqa's float32 two-pass means,
    evaluated like :func:`lpips_scores`: the first two stages in joint bands of rows, the
    others in bands, one layer's features alive at a time. Values equal pyiqa's within
    float rounding.

    Cost (reports/performance.md, "Round 4: DISTS"): the bands recompute a halo of rows on
    VGG's full-resolution stages, which the banded evaluation's locality about pays back.
    The free heap is handed back after every band of the full-resolution stages (their
    temporaries fragment it: without it the peak at 1080p varied between 1.90 and 2.08 GiB)
    but only once per later stage (``release=False``): each trim makes the next allocations
    fault their pages in again, which after every band of every stage cost about 10 % of
    the time.
    """
    import torch

    dev = model_device(model)
    c1 = c2 = 1e-6
    stages = [getattr(model, f"stage{k}") for k in range(1, len(model.chns))]
    with torch.inference_mode():
        x, y = to_tensor(distorted, dev), to_tensor(reference, dev)
        w_sum = model.alpha.sum() + model.beta.sum()
        alpha = torch.split((model.alpha / w_sum).double(), model.chns, dim=1)
        beta = torch.split((model.beta / w_sum).double(), model.chns, dim=1)
        layers = [_Moments() for _ in model.chns]
        layers[0].add(x, y)
        hx, hy = pair_by_rows(
            stages[0],
            stages[1],
            (x - model.mean) / model.std,
            (y - model.mean) / model.std,
            LPIPS_ROWS,
            layers[1].add,  # trims after each band: the full-resolution temporaries
        )
        layers[2].add(hx, hy)
        for k, stage in enumerate(stages[2:], start=3):
            hx = by_rows(stage, hx, LPIPS_ROWS, release=False)  # one at a time: frees the input
            release_free_heap()  # once per stage, not per band (see above)
            hy = by_rows(stage, hy, LPIPS_ROWS, release=False)
            release_free_heap()
            layers[k].add(hx, hy)
        dist1 = dist2 = torch.zeros(x.shape[0], 1, 1, 1, dtype=torch.float64, device=dev)
        for k, layer in enumerate(layers):
            x_mean, y_mean, x_var, y_var, xy_cov = layer.statistics()
            s1 = (2 * x_mean * y_mean + c1) / (x_mean**2 + y_mean**2 + c1)
            dist1 = dist1 + (alpha[k] * s1).sum(1, keepdim=True)
            s2 = (2 * xy_cov + c2) / (x_var + y_var + c2)
            dist2 = dist2 + (beta[k] * s2).sum(1, keepdim=True)
        out = 1 - (dist1 + dist2)
    return out.reshape(-1).cpu().numpy()
