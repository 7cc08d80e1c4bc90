"""Differentiable multi-backbone perceptual feature loss for training learned codecs.

``PerceptualFeatureLoss`` is a weighted sum, over backbones (AlexNet, VGG16, DINOv2 ViT-S/14),
of the LPIPS-style feature distance without learned linear layers: for each tapped layer,
channel-normalised features of reference and distorted are compared by squared difference,
summed over channels and averaged over positions; layers are averaged within a backbone.

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

from collections.abc import Mapping
from typing import Literal, get_args

import torch
from torch import nn

from vqabench.errors import invalid
from vqabench.metrics.functional.perceptual import load_torch_file, seeded
from vqabench.metrics.weights import offline_guard, require

__all__ = ["PerceptualFeatureLoss", "Backbone", "BACKBONE_FILES"]

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
            {k.removeprefix("features."): v for k, v in state.items()
             if k.startswith("features.")}, strict=True)
    return features


def _dinov2(pretrained: bool) -> nn.Module:
    import timm

    with offline_guard():
        model = timm.create_model("vit_small_patch14_dinov2", pretrained=False, num_classes=0,
                                  img_size=224, dynamic_img_size=True, dynamic_img_pad=True)
    if pretrained:
        from timm.models.vision_transformer import checkpoint_filter_fn

        state = checkpoint_filter_fn(load_torch_file(require(BACKBONE_FILES["dinov2_vits14"])),
                                     model)
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

    def __init__(self, weights: Mapping[str, float] | None = None, *, pretrained: bool = True,
                 seed: int = 0, reduction: Literal["mean", "sum", "none"] = "mean"):
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
            for name in self.weights:
                require(BACKBONE_FILES[name])  # fail before building anything
        nets = {}
        with seeded(seed):
            for name in self.weights:
                nets[name] = (_dinov2(pretrained) if name == "dinov2_vits14"
                              else _cnn_features(name, pretrained))
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
            return list(net.forward_intermediates(x, indices=_DINOV2_BLOCKS,
                                                  intermediates_only=True))
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
            raise invalid("distorted.shape", tuple(distorted.shape),
                          f"(N, 3, H, W) equal to reference {tuple(reference.shape)}")
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
