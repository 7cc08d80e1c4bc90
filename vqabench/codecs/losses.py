"""Training losses for learned codecs (the ``loss=`` option of the ``inr`` codec).

Every loss compares a clip's frames ``(reference, distorted)`` in that order, both
``(T, 3, H, W)`` RGB in [0, 1] (``T`` consecutive frames), and returns a scalar to minimise.
Every loss is built the one way (:mod:`vqabench.metrics.losses`): a metric's
``as_loss()`` for the perceptual term, mixed with L1 by :class:`MixedLoss`; nothing here
re-implements a metric, a model or the mixing rule.

==========================  ===================================================================
``loss``                    definition
==========================  ===================================================================
``l1_msssim``               ``0.7 L1 + 0.3 (1 - MS-SSIM)`` (HiNeRV); MS-SSIM by piq with as many
                            scales (<= 5) as the frame size allows
``pt_loss``                 ``(1 - alpha) L1 + alpha k PT-Loss``; PT-Loss sees the whole clip
                            as one (R, D) pair, ``loss = -score``
``rankdvqa_ugc``            as ``pt_loss`` with RankDVQA-UGC on windows of its fixed frame count
``lpips``                   as ``pt_loss`` with LPIPS (AlexNet, v0.1) frame by frame
``perceptual_ensemble``     as ``pt_loss`` with the AlexNet + VGG16 + DINOv2 feature distance
                            (:class:`vqabench.metrics.losses.PerceptualFeatureLoss`)
==========================  ===================================================================

``shortfall=True`` replaces the perceptual term P by ``max(0, P(R, D) - P(R, R))``, its
shortfall against R itself (:class:`~vqabench.metrics.losses.MixedLoss`).

``alpha`` defaults to 0.2. ``k`` aligns the magnitudes: over the first ``align_steps`` calls
it is the running ratio ``mean |L1| / mean |P|`` of the two terms, then it is frozen (a plain
number, no gradient). In the UGC transcoding setup ``reference`` is the codec's input R and
``distorted`` its reconstruction D.

Weights: ``weights="pretrained"`` (default) uses the shipped PT-Loss / RankDVQA-UGC
checkpoints or the cached ImageNet backbones, and raises
:class:`~vqabench.errors.WeightsUnavailableError` when they are absent; ``weights="random"``
builds the same networks with random weights under ``seed`` (plumbing tests only; the numbers
mean nothing); a path loads a PT-Loss / RankDVQA-UGC checkpoint. There is never a silent
fallback.

Example:
    >>> loss_fn = create_loss("l1_msssim")
    >>> loss = loss_fn(reference_rgb, decoded_rgb)   # (T, 3, H, W) each
    >>> loss.backward()
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.codecs.inr_format import LOSS_NAMES, LossName
from vqabench.errors import ConfigError, invalid
from vqabench.metrics.losses import DEFAULT_ALPHA, MixedLoss

__all__ = [
    "LossName",
    "LOSS_NAMES",
    "DEFAULT_ALPHA",
    "CodecLoss",
    "L1MsSsimLoss",
    "MixedLoss",
    "create_loss",
    "loss_complexity",
    "loss_weights_file",
    "ms_ssim_scales",
]

_WINDOW = 11  # piq's default Gaussian window for (MS-)SSIM


def ms_ssim_scales(height: int, width: int) -> int:
    """Largest number of MS-SSIM scales (<= 5) piq can use on ``height x width`` frames.

    Each scale halves the frame and the coarsest must still hold the 11-pixel window:
    ``min(height, width) >= 10 * 2**(scales - 1) + 1``.

    Raises:
        ConfigError: frames smaller than 11x11.
    """
    side = min(height, width)
    scales = 0
    while scales < 5 and side >= (_WINDOW - 1) * 2**scales + 1:
        scales += 1
    if scales == 0:
        raise invalid("frame size", f"{width}x{height}", "at least 11x11 for MS-SSIM")
    return scales


def _check_clip(reference: Tensor, distorted: Tensor) -> None:
    if reference.shape != distorted.shape or reference.dim() != 4 or reference.shape[1] != 3:
        raise invalid(
            "distorted.shape",
            tuple(distorted.shape),
            f"(T, 3, H, W) RGB equal to reference.shape {tuple(reference.shape)}",
        )


class CodecLoss(nn.Module):
    """Base class: ``forward(reference, distorted)`` on (T, 3, H, W) RGB clips.

    Attributes:
        name: loss name (one of :data:`LOSS_NAMES`).
        alpha: weight of the perceptual term (None for ``l1_msssim``).
        perceptual: the frozen network of the perceptual term, or None.
    """

    name: str = ""
    alpha: float | None = None

    @property
    def perceptual(self) -> nn.Module | None:
        """The frozen network of the perceptual term (registered as ``network``), or None."""
        return self._modules.get("network")


class L1MsSsimLoss(CodecLoss):
    """HiNeRV's loss: ``0.7 L1 + 0.3 (1 - MS-SSIM)`` on RGB frames in [0, 1].

    MS-SSIM is :func:`piq.multi_scale_ssim` with Wang et al.'s weights for the first
    :func:`ms_ssim_scales` scales (the same weights as the ``ms_ssim`` metric).
    """

    name = "l1_msssim"

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Loss of ``distorted`` against ``reference`` (in that order)."""
        from vqabench import metrics

        _check_clip(reference, distorted)
        scales = ms_ssim_scales(*reference.shape[-2:])
        one_minus_ms = metrics.create("ms_ssim", scales=scales).as_loss()
        l1 = F.l1_loss(distorted, reference)
        return 0.7 * l1 + 0.3 * one_minus_ms(reference, distorted)


class _CodecMixedLoss(MixedLoss, CodecLoss):
    """:class:`vqabench.metrics.losses.MixedLoss` on (T, 3, H, W) clips (shape-checked)."""

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Loss of ``distorted`` against ``reference`` (in that order)."""
        _check_clip(reference, distorted)
        return super().forward(reference, distorted)


def _clip5d(x: Tensor) -> Tensor:
    """(T, 3, H, W) -> (1, 3, T, H, W)."""
    return x.permute(1, 0, 2, 3).unsqueeze(0)


def loss_weights_file(name: str, weights: str) -> Path | None:
    """The checkpoint file that quality-model loss ``name`` loads for ``weights``.

    Args:
        name: ``"pt_loss"`` or ``"rankdvqa_ugc"``.
        weights: ``"random"`` (None), ``"pretrained"`` (the current shipped checkpoint),
            ``"pretrained:RELEASE"`` (a shipped release, e.g. ``"pretrained:v1"``) or a
            checkpoint path.

    Raises:
        ConfigError: a malformed ``pretrained:RELEASE``.
    """
    if weights == "random":
        return None
    if weights == "pretrained" or weights.startswith("pretrained:"):
        from vqabench.models import checkpoint_path, parse_pretrained

        return checkpoint_path(name, parse_pretrained(weights))
    return Path(weights)


def _checkpoint(name: str, weights: str) -> str | Path | None:
    # "bundled" keeps the missing-checkpoint error that names the training command
    return "bundled" if weights == "pretrained" else loss_weights_file(name, weights)


def _window_starts(clip: int, frames: int) -> list[int]:
    """First frames of the ``frames``-frame windows a fixed-length quality model sees in a
    ``clip``-frame batch: back to back from 0, the last one aligned to the clip's end."""
    return sorted({*range(0, clip - frames + 1, frames), clip - frames})


def _quality_model_term(
    name: str, weights: str, seed: int
) -> tuple[Callable[[Tensor, Tensor], Tensor], nn.Module]:
    from vqabench import metrics
    from vqabench.metrics.functional.perceptual import seeded
    from vqabench.models import perceptual_loss

    checkpoint = _checkpoint(name, weights)
    if checkpoint is None:  # random weights (plumbing tests): no metric has those
        with seeded(seed):
            loss_fn = perceptual_loss(name, checkpoint=None)
    else:
        loss_fn = metrics.create(name, checkpoint=str(checkpoint)).as_loss()
    if name == "pt_loss":
        return (lambda r, d: loss_fn(_clip5d(r), _clip5d(d))), loss_fn

    frames = int(loss_fn.model.frames)

    def windows(r: Tensor, d: Tensor) -> Tensor:
        t = r.shape[0]
        if t < frames:
            raise invalid(
                "clip frames",
                t,
                f">= {frames}: RankDVQA-UGC folds {frames} frames "
                "into channels (train the INR with batch_frames >= that)",
            )
        return torch.stack(
            [
                loss_fn(_clip5d(r[s : s + frames]), _clip5d(d[s : s + frames]))
                for s in _window_starts(t, frames)
            ]
        ).mean()

    return windows, loss_fn


def _backbone_term(
    name: str, weights: str, seed: int
) -> tuple[Callable[[Tensor, Tensor], Tensor], nn.Module]:
    if weights not in ("pretrained", "random"):
        raise invalid(
            "weights",
            weights,
            f"'pretrained' or 'random' for loss={name!r} "
            "(a checkpoint path applies to pt_loss and rankdvqa_ugc)",
        )
    pretrained = weights == "pretrained"
    if name == "lpips":
        from vqabench import metrics

        loss = metrics.create(
            "lpips", net="alex", pretrained_backbone=pretrained, seed=seed
        ).as_loss()
        return loss, loss.network
    from vqabench.metrics.losses import PerceptualFeatureLoss

    ens = PerceptualFeatureLoss(pretrained=pretrained, seed=seed)
    return (lambda r, d: ens(r, d)), ens


def create_loss(
    name: str,
    *,
    alpha: float | None = None,
    align_steps: int = 10,
    weights: str = "pretrained",
    seed: int = 0,
    shortfall: bool = False,
) -> CodecLoss:
    """Build the training loss ``name`` (see the module docstring).

    Args:
        name: one of :data:`LOSS_NAMES`.
        alpha: perceptual weight in 0..1 (default 0.2); not allowed for ``l1_msssim``.
        align_steps: calls over which the magnitude ratio is measured.
        weights: ``"pretrained"`` (the shipped checkpoint), ``"pretrained:RELEASE"`` (an
            earlier shipped one, e.g. ``"pretrained:v1"``), ``"random"`` (tests only) or a
            checkpoint path.
        seed: seed of random weights.
        shortfall: the perceptual term as its shortfall against R itself,
            ``max(0, P(R, D) - P(R, R))`` (not for ``l1_msssim``).

    Raises:
        ConfigError: unknown name or option not allowed.
        WeightsUnavailableError: the loss network's weights are not available.

    Example:
        >>> create_loss("pt_loss", alpha=0.3)   # needs vqabench/models/weights/pt_loss.pt
    """
    if name not in LOSS_NAMES:
        raise invalid("loss", name, " | ".join(LOSS_NAMES))
    if name == "l1_msssim":
        if alpha is not None:
            raise ConfigError(
                f"alpha={alpha!r} is not allowed with loss='l1_msssim' (fixed "
                "0.7 L1 + 0.3 (1 - MS-SSIM)); use a perceptual loss such as "
                "loss='pt_loss' to sweep alpha"
            )
        if shortfall:
            raise ConfigError(
                "shortfall=True is not allowed with loss='l1_msssim' (it has no "
                "perceptual term); use a perceptual loss such as "
                "loss='pt_loss'"
            )
        return L1MsSsimLoss()
    if name in ("pt_loss", "rankdvqa_ugc"):
        term, net = _quality_model_term(name, weights, seed)
    else:
        term, net = _backbone_term(name, weights, seed)
    return _CodecMixedLoss(
        name,
        term,
        net,
        alpha=DEFAULT_ALPHA if alpha is None else float(alpha),
        align_steps=align_steps,
        shortfall=bool(shortfall),
    )


def loss_complexity(name: str, *, frames: int, height: int, width: int) -> tuple[int, int]:
    """Parameters and MACs of a loss's network on one training window of ``frames`` frames.

    The window is what the codec hands the loss per iteration (the ``inr`` codec's
    ``batch_frames``); RankDVQA-UGC runs once per window of its own frame count inside it, as
    in training. MACs are counted by :func:`vqabench.models.complexity.count_macs` (the
    network forward; its backward in training costs about twice that again). ``l1_msssim``
    has no network: (0, 0). Weight values do not change the counts, so no checkpoint is
    needed.

    Raises:
        ConfigError: unknown loss, or a loss whose network the counter cannot run on
            (``lpips``, ``perceptual_ensemble``: frame-wise image networks).
    """
    from vqabench.models import perceptual_loss
    from vqabench.models.complexity import count_macs, count_params

    if name not in LOSS_NAMES:
        raise invalid("loss", name, " | ".join(LOSS_NAMES))
    if name == "l1_msssim":
        return 0, 0
    if name not in ("pt_loss", "rankdvqa_ugc"):
        raise invalid(
            "loss",
            name,
            "l1_msssim, pt_loss or rankdvqa_ugc (a video quality "
            "model whose MACs are counted per window)",
        )
    model = perceptual_loss(name, checkpoint=None).model
    if name == "pt_loss":
        return count_params(model), count_macs(model, (frames, height, width))[0]
    per = int(model.frames)
    if frames < per:
        raise invalid("frames", frames, f">= {per} (RankDVQA-UGC folds {per} frames)")
    windows = len(_window_starts(frames, per))
    return count_params(model), windows * count_macs(model, (per, height, width))[0]
