"""Losses from metrics: ``metric.as_loss()``, one mixing function, and the feature ensemble.

The one loss API (in the spirit of pyiqa's ``as_loss``):

* :func:`as_loss` (also :meth:`Metric.as_loss <vqabench.metrics.base.Metric.as_loss>`) turns
  a differentiable metric into a torch loss ``loss(reference, distorted) -> scalar`` to
  minimise, built from the metric's own network and options: ``pt_loss`` and
  ``rankdvqa_ugc`` (``-score`` on (B, 3, T, H, W) clips, through
  :class:`vqabench.models.PerceptualLoss`), ``lpips`` (the distance, on (N, 3, H, W) frames),
  ``ms_ssim`` (``1 - MS-SSIM`` on (N, 3, H, W) frames, data range 1). RGB in [0, 1].
* :class:`MixedLoss` / :func:`mix` is the one mixing rule: ``(1 - alpha) L1 + alpha k P``
  with the magnitude alignment ``k`` of the PT-Loss paper.

The codec training losses (:func:`vqabench.codecs.losses.create_loss`) are built from
these two pieces only.

``PerceptualFeatureLoss`` (below) is a weighted sum, over backbones (AlexNet, VGG16, DINOv2
ViT-S/14), of the LPIPS-style feature distance without learned linear layers: for each
tapped layer, channel-normalised features of reference and distorted are compared by
squared difference, summed over channels and averaged over positions; layers are averaged
within a backbone.

Backbones are frozen; gradients flow to the input. Weights follow the offline rules of
:mod:`vqabench.metrics.weights` (``pretrained=False`` gives random backbones under ``seed``).
This module imports torch when imported (it defines an ``nn.Module``); the metric registry does
not import it.

Example:
    >>> loss_fn = PerceptualFeatureLoss({"alexnet": 1.0, "vgg16": 0.5})
    >>> loss = loss_fn(reference, decoded)   # (N, 3, H, W) in [0, 1]
    >>> loss.backward()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.errors import MetricError, invalid
from vqabench.metrics.functional.perceptual import load_torch_file, seeded
from vqabench.metrics.weights import offline_guard, require, require_all
from vqabench.registry import Registry

__all__ = [
    "PerceptualFeatureLoss",
    "Backbone",
    "BACKBONE_FILES",
    "as_loss",
    "LOSSES",
    "MixedLoss",
    "mix",
    "DEFAULT_ALPHA",
]

DEFAULT_ALPHA = 0.2
#: metric name -> builder(metric) of its loss module
LOSSES: Registry[Callable[..., nn.Module]] = Registry("loss")


def as_loss(metric: Any, **options: Any) -> nn.Module:
    """A torch loss ``loss(reference, distorted) -> scalar`` to minimise, from ``metric``.

    Args:
        metric: a :class:`~vqabench.metrics.base.Metric` (its options choose the network
            and weights).
        **options: options of the loss builder (``reduction`` for the quality models).

    Raises:
        MetricError: the metric has no differentiable loss (names those that have).

    Example:
        >>> loss = metrics.create("lpips", net="alex").as_loss()
        >>> loss(reference, decoded).backward()          # (N, 3, H, W) RGB in [0, 1]
    """
    if metric.name not in LOSSES:
        raise MetricError(
            f"metric {metric.name!r} gives no differentiable loss; these do: "
            f"{', '.join(LOSSES.names())}"
        )
    return LOSSES.get(metric.name)(metric, **options)


class _Frozen(nn.Module):
    """``fn(reference, distorted)`` around a frozen network (kept in eval mode)."""

    def __init__(self, network: nn.Module, fn: Callable[[nn.Module, Tensor, Tensor], Tensor]):
        super().__init__()
        self.network, self._fn = network, fn
        self.network.requires_grad_(False)

    def train(self, mode: bool = True) -> _Frozen:
        super().train(mode)
        self.network.eval()
        return self

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Loss of ``distorted`` against ``reference`` (in that order)."""
        return self._fn(self.network, reference, distorted)


def _quality_model_loss(metric: Any, *, reduction: str = "mean") -> nn.Module:
    from vqabench.models import PerceptualLoss, load_checkpoint

    name = metric.model_name if metric.checkpoint == "bundled" else metric.checkpoint
    return PerceptualLoss(load_checkpoint(name), reduction)


def _lpips_loss(metric: Any) -> nn.Module:
    from vqabench.metrics.functional.perceptual import lpips_network

    net = lpips_network(
        metric.net, pretrained_backbone=metric.pretrained_backbone, seed=metric.seed
    )
    return _Frozen(net, lambda n, r, d: n(d, r, normalize=True).mean())


def _ms_ssim_loss(metric: Any) -> nn.Module:
    from vqabench.metrics.functional.ssim import MS_SSIM_WEIGHTS

    scales = metric.scales

    def one_minus_ms_ssim(_: nn.Module, r: Tensor, d: Tensor) -> Tensor:
        import piq

        weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], device=r.device)
        return 1.0 - piq.multi_scale_ssim(d.clamp(0, 1), r, data_range=1.0, scale_weights=weights)

    return _Frozen(nn.Identity(), one_minus_ms_ssim)


LOSSES.add("pt_loss", _quality_model_loss)
LOSSES.add("rankdvqa_ugc", _quality_model_loss)
LOSSES.add("lpips", _lpips_loss)
LOSSES.add("ms_ssim", _ms_ssim_loss)


def mix(l1: Tensor, perceptual: Tensor, *, alpha: float, k: float = 1.0) -> Tensor:
    """``(1 - alpha) l1 + alpha k perceptual``: the PT-Loss paper's mixing rule."""
    return (1.0 - alpha) * l1 + alpha * k * perceptual


class MixedLoss(nn.Module):
    """``(1 - alpha) L1 + alpha k P(reference, distorted)`` with magnitude alignment ``k``.

    Args:
        name: loss name.
        term: the perceptual term, ``term(reference, distorted) -> scalar``.
        network: the frozen network behind ``term`` (reported as :attr:`perceptual`).
        alpha: weight of the perceptual term, in [0, 1].
        align_steps: calls over which ``k = mean |L1| / mean |P|`` is measured, then frozen
            (a plain number, no gradient); 0 keeps ``k = 1``.
        shortfall: use ``P = max(0, term(R, D) - term(R, R))`` (``term(R, R)`` without
            gradient): the perceptual term is the shortfall of D against R itself, zero for
            D = R and for any D the network scores at least as well as R, so it cannot
            reward moving away from R (a quality model whose best score is not at D = R,
            experiments/ptloss/report.md, "Release 3"). Costs one more forward per call.

    Raises:
        ConfigError: ``alpha`` outside [0, 1] or a negative ``align_steps``.
    """

    def __init__(
        self,
        name: str,
        term: Callable[[Tensor, Tensor], Tensor],
        network: nn.Module,
        *,
        alpha: float = DEFAULT_ALPHA,
        align_steps: int = 10,
        shortfall: bool = False,
    ):
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise invalid("alpha", alpha, "a number in 0..1")
        if int(align_steps) != align_steps or align_steps < 0:
            raise invalid("align_steps", align_steps, "an integer >= 0")
        self.name, self.alpha, self.align_steps = name, float(alpha), int(align_steps)
        self.term, self.network, self.shortfall = term, network, bool(shortfall)
        self._sums = [0.0, 0.0]
        self._calls = 0
        self.ratio = 1.0

    @property
    def perceptual(self) -> nn.Module | None:
        """The frozen network of the perceptual term."""
        return self._modules.get("network")

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Loss of ``distorted`` against ``reference`` (in that order)."""
        l1 = F.l1_loss(distorted, reference)
        if self.alpha == 0.0:
            return l1
        p = self.term(reference, distorted.clamp(0, 1))
        if self.shortfall:
            with torch.no_grad():
                best = self.term(reference, reference)
            p = (p - best).clamp(min=0.0)
        if self._calls < self.align_steps:
            self._sums[0] += abs(float(l1.detach()))
            self._sums[1] += abs(float(p.detach()))
            self._calls += 1
            self.ratio = self._sums[0] / max(self._sums[1], 1e-12)
        return mix(l1, p, alpha=self.alpha, k=self.ratio)


Backbone = Literal["alexnet", "vgg16", "dinov2_vits14"]
BACKBONE_FILES: dict[str, str] = {
    "alexnet": "alexnet-owt-7be5be79.pth",
    "vgg16": "vgg16-397923af.pth",
    "dinov2_vits14": "dinov2_vits14_pretrain.pth",
}
# ReLU outputs tapped in torchvision's ``features`` (LPIPS' choice for AlexNet and VGG16).
_TAPS = {"alexnet": (1, 4, 7, 9, 11), "vgg16": (3, 8, 15, 22, 29)}
_DINOV2_BLOCKS = 4  # last blocks of DINOv2 whose patch tokens are compared
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _cnn_features(name: str, pretrained: bool) -> nn.Module:
    """torchvision ``features`` of AlexNet/VGG16, without building the classifier."""
    import torchvision.models as tvm

    with torch.device("meta"):
        full = tvm.alexnet(weights=None) if name == "alexnet" else tvm.vgg16(weights=None)
    features = full.features.to_empty(device="cpu")
    for module in features.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    if pretrained:
        state = load_torch_file(require(BACKBONE_FILES[name]))
        features.load_state_dict(
            {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")},
            strict=True,
        )
    return features


def _dinov2(pretrained: bool) -> nn.Module:
    import timm

    with offline_guard():
        model = timm.create_model(
            "vit_small_patch14_dinov2",
            pretrained=False,
            num_classes=0,
            img_size=224,
            dynamic_img_size=True,
            dynamic_img_pad=True,
        )
    if pretrained:
        from timm.models.vision_transformer import checkpoint_filter_fn

        state = checkpoint_filter_fn(
            load_torch_file(require(BACKBONE_FILES["dinov2_vits14"])), model
        )
        model.load_state_dict(state, strict=True)
    return model


def _unit(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class PerceptualFeatureLoss(nn.Module):
    """Weighted sum of per-backbone perceptual feature distances.

    Args:
        weights: backbone -> weight; backbones ``alexnet``, ``vgg16``, ``dinov2_vits14``.
            Zero-weight backbones are not built.
        pretrained: ImageNet / DINOv2 weights from the local cache (default); False: random
            backbones under ``seed`` (tests only).
        seed: seed of the random backbones.
        reduction: ``mean`` over the batch (default), ``sum`` or ``none`` (one value per image).

    Raises:
        ConfigError: unknown backbone, negative weight or bad reduction.
        WeightsUnavailableError: a backbone file is not in the local cache.

    Example:
        >>> PerceptualFeatureLoss({"alexnet": 1.0}, pretrained=False)(x, y)
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        *,
        pretrained: bool = True,
        seed: int = 0,
        reduction: Literal["mean", "sum", "none"] = "mean",
    ):
        super().__init__()
        weights = dict(weights or {"alexnet": 1.0, "vgg16": 1.0, "dinov2_vits14": 1.0})
        for name, w in weights.items():
            if name not in get_args(Backbone):
                raise invalid("weights", name, " | ".join(get_args(Backbone)))
            if not w >= 0:
                raise invalid(f"weights[{name!r}]", w, "a number >= 0")
        if reduction not in ("mean", "sum", "none"):
            raise invalid("reduction", reduction, "'mean' | 'sum' | 'none'")
        self.weights = {k: float(v) for k, v in weights.items() if v > 0}
        self.reduction = reduction
        if pretrained:
            # fail before building anything, naming every missing file
            require_all([BACKBONE_FILES[name] for name in self.weights])
        nets = {}
        with seeded(seed):
            for name in self.weights:
                nets[name] = (
                    _dinov2(pretrained)
                    if name == "dinov2_vits14"
                    else _cnn_features(name, pretrained)
                )
        self.backbones = nn.ModuleDict(nets)
        self.backbones.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualFeatureLoss:
        """Backbones stay in eval mode whatever the caller's mode."""
        super().train(mode)
        self.backbones.eval()
        return self

    def _taps(self, name: str, x: torch.Tensor) -> list[torch.Tensor]:
        net = self.backbones[name]
        if name == "dinov2_vits14":
            return list(
                net.forward_intermediates(x, indices=_DINOV2_BLOCKS, intermediates_only=True)
            )
        out, taps = [], set(_TAPS[name])
        for index, layer in enumerate(net):
            x = layer(x)
            if index in taps:
                out.append(x)
            if index >= max(taps):
                break
        return out

    def forward(self, reference: torch.Tensor, distorted: torch.Tensor) -> torch.Tensor:
        """Loss of ``distorted`` against ``reference`` (in that order), (N, 3, H, W) in [0, 1].

        Returns:
            scalar (``mean``/``sum``) or (N,) (``none``); 0 when the inputs are equal.
        """
        if reference.shape != distorted.shape or reference.dim() != 4:
            raise invalid(
                "distorted.shape",
                tuple(distorted.shape),
                f"(N, 3, H, W) equal to reference {tuple(reference.shape)}",
            )
        ref = (reference - self.mean) / self.std
        dis = (distorted - self.mean) / self.std
        total = reference.new_zeros(reference.shape[0])
        for name, weight in self.weights.items():
            layers = [
                (_unit(a) - _unit(b)).pow(2).sum(dim=1).mean(dim=(1, 2))
                for a, b in zip(self._taps(name, ref), self._taps(name, dis), strict=True)
            ]
            total = total + weight * torch.stack(layers).mean(dim=0)
        if self.reduction == "mean":
            return total.mean()
        return total.sum() if self.reduction == "sum" else total
