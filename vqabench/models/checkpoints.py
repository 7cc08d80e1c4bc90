"""Checkpoints of the quality models (load, export) and the model as a training loss.

The torch-dependent half of :mod:`vqabench.models`, which re-exports every name here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from vqabench.errors import ConfigError, WeightsUnavailableError, invalid
from vqabench.models import (
    CHECKPOINT_FORMAT,
    MODELS,
    checkpoint_path,
    create_model,
)

__all__ = ["load_checkpoint", "export_checkpoint", "perceptual_loss", "PerceptualLoss"]


class _CheckpointUnavailableError(WeightsUnavailableError):
    """A checkpoint this project trains itself is missing; the message names the command."""

    def __init__(self, name: str, path: Path):
        command = f"vqabench train {name} --pairs PAIRS_DIR --out {path}"
        super().__init__(path.name, f"`{command}`", str(path))
        self.message = (
            f"checkpoint {path.name!r} not found at {path}; no published checkpoint "
            f"ships yet: make it with `{command}`"
        )


def load_checkpoint(
    name_or_path: str | Path, *, map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Load a trained quality model in eval mode.

    Args:
        name_or_path: a model name (loads ``vqabench/models/weights/NAME.pt``) or the path
            of a checkpoint written by :func:`vqabench.models.ranking.train`.
        map_location: device for the weights.

    Raises:
        WeightsUnavailableError: the file does not exist (names the ``vqabench train``
            command that makes it).
        ConfigError: the file is not a vqabench quality-model checkpoint.
    """
    if isinstance(name_or_path, str) and name_or_path in MODELS:
        path, name = checkpoint_path(name_or_path), name_or_path
    else:
        path, name = Path(name_or_path), "MODEL_NAME"
    if not path.is_file():
        raise _CheckpointUnavailableError(name, path)
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise invalid(
            "checkpoint", str(path), f"a {CHECKPOINT_FORMAT} file written by `vqabench train`"
        )
    model = create_model(ckpt["model_name"], **ckpt["model_config"])
    model.load_state_dict(
        _dequantize(ckpt["model_int8"], ckpt["model_scale"], ckpt["model"])
        if "model_int8" in ckpt
        else ckpt["model"]
    )
    return model.to(map_location).eval()


class PerceptualLoss(nn.Module):
    """A frozen quality model used as a training loss: ``loss = -score``.

    Scores are ranking logits (only differences are trained), so there is no natural
    [0, 1] scale to subtract from; minimising ``-score`` maximises predicted quality and
    its gradient is that of the score. The model's parameters are frozen and it stays in
    eval mode, so gradients reach only ``distorted`` (and ``reference`` if it requires
    them).

    Args:
        model: a quality model.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.
    """

    def __init__(self, model: nn.Module, reduction: Literal["mean", "sum", "none"] = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise invalid("reduction", reduction, "mean | sum | none")
        self.model, self.reduction = model.eval(), reduction
        for p in self.model.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> PerceptualLoss:  # the quality model stays frozen
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Loss of (reference R, distorted D = codec output), RGB in [0, 1]."""
        loss = -self.model(reference, distorted)
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss


def _quantize(state: dict[str, torch.Tensor]) -> tuple[dict, dict, dict]:
    """Symmetric int8 per output channel (dim 0) for weights of 2+ dims; the rest float16."""
    q, scales, rest = {}, {}, {}
    for k, v in state.items():
        if v.is_floating_point() and v.dim() >= 2:
            amax = v.abs().flatten(1).amax(dim=1).clamp_min(1e-12)
            scale = amax / 127.0
            shape = (-1,) + (1,) * (v.dim() - 1)
            q[k] = torch.round(v / scale.reshape(shape)).clamp(-127, 127).to(torch.int8)
            scales[k] = scale.float()
        else:
            rest[k] = v.half() if v.is_floating_point() else v
    return q, scales, rest


def _dequantize(q: dict, scales: dict, rest: dict) -> dict[str, torch.Tensor]:
    out = {k: v.float() if v.is_floating_point() else v for k, v in rest.items()}
    for k, v in q.items():
        out[k] = v.float() * scales[k].reshape((-1,) + (1,) * (v.dim() - 1))
    return out


def export_checkpoint(
    src: str | Path, dst: str | Path, *, half: bool = True, int8: bool = False
) -> Path:
    """Write a small, inference-only copy of a training checkpoint (what ships).

    Keeps the format tag, model name and config, the weights (float16 when ``half``; with
    ``int8``, weights of two or more dimensions as int8 with a float scale per output
    channel, the rest float16; all load back into float32 parameters), the training config,
    the sources trained on and the history; drops the optimizer state and the speed-only
    ``frame_chunk`` option. Written atomically.

    Raises:
        WeightsUnavailableError / ConfigError: as :func:`load_checkpoint`.
    """
    from vqabench.io.atomic import atomic_path

    model = load_checkpoint(src)  # validates format and architecture
    ckpt = torch.load(Path(src), map_location="cpu", weights_only=True)
    state = {
        k: (v.half() if half and v.is_floating_point() else v)
        for k, v in model.state_dict().items()
    }
    small = {
        k: ckpt[k]
        for k in (
            "format",
            "model_name",
            "model_config",
            "epoch",
            "history",
            "train_config",
            "trained_sources",
        )
        if k in ckpt
    }
    # frame_chunk only trades memory for speed (scores are identical): ship the default
    small["model_config"] = {k: v for k, v in small["model_config"].items() if k != "frame_chunk"}
    if int8:
        small["model_int8"], small["model_scale"], small["model"] = _quantize(model.state_dict())
    else:
        small["model"] = state
    with atomic_path(dst) as tmp:
        torch.save(small, tmp)
    return Path(dst)


def perceptual_loss(
    name: str = "pt_loss",
    *,
    checkpoint: Literal["bundled"] | str | Path | None = "bundled",
    reduction: Literal["mean", "sum", "none"] = "mean",
    **model_kwargs: object,
) -> PerceptualLoss:
    """A differentiable loss from a quality model (see :class:`PerceptualLoss`).

    Args:
        name: model name.
        checkpoint: ``"bundled"`` (the shipped weights), a checkpoint path, or None for
            random weights (tests, or training the loss network yourself).
        reduction: over the batch.
        **model_kwargs: architecture options when ``checkpoint`` is None.

    Raises:
        WeightsUnavailableError: the checkpoint does not exist.
        ConfigError: ``model_kwargs`` given together with a checkpoint.
    """
    if checkpoint is None:
        model = create_model(name, **model_kwargs)
    else:
        if model_kwargs:
            raise ConfigError(
                f"model options {sorted(model_kwargs)} cannot be combined with "
                f"checkpoint={str(checkpoint)!r}: the checkpoint fixes them"
            )
        model = load_checkpoint(name if checkpoint == "bundled" else checkpoint)
    return PerceptualLoss(model, reduction)
