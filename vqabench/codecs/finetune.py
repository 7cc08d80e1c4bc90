"""Fine-tuning a CompressAI image codec with a quality-model loss (PT-Loss paper, DCVC side).

Training data are two-stage patches: co-located clips of the pristine source S and of its
compressed version R (stage 1). The codec codes R, as in UGC transcoding, and its
reconstruction D is judged as follows (``target="source"``, the default):

* distortion ``MSE(S, D)`` (``target="reference"``: ``MSE(R, D)``, the codec's input);
* quality term ``P``: ``pt_loss`` / ``rankdvqa_ugc`` see ``(R, D)`` as they do as metrics
  (they predict D's quality against S from R and D; ``-score``, through
  :func:`vqabench.codecs.losses.create_loss`); ``l1_msssim`` (``0.7 L1 + 0.3 (1 - MS-SSIM)``,
  full-reference) judges D against the same target as the MSE; ``mse`` has no quality term;
* the mix ``M = (1 - alpha) MSE + alpha k P`` (:func:`vqabench.metrics.losses.mix`, the one
  mixing rule), where the alignment factor ``k`` is the ratio of the means of the two terms
  over the first ``align_iterations`` (5) iterations,
  ``k = sum_i |MSE_i| / sum_i |P_i|`` (:func:`alignment_factor`); during those iterations
  ``k`` is the running ratio, then it is frozen (a plain number, no gradient);
* the rate stays: ``loss = lambda 255^2 M + bpp``, CompressAI's rate-distortion loss with
  ``M`` in place of its MSE, ``bpp`` from the likelihoods, ``lambda`` CompressAI's MSE
  lambda of the quality level (:data:`COMPRESSAI_MSE_LAMBDAS`) unless given.

Optimisation follows CompressAI's ``examples/train.py``: Adam on the network, a second Adam
(lr 1e-3) on the entropy bottlenecks' quantiles minimising ``aux_loss()``, gradient norm
clipped to 1. Only image models (intra) are fine-tuned: each frame of a clip is coded on its
own, and the quality term sees the clip.

Example:
    >>> result = finetune(net, source_clips, reference_clips,
    ...                   FinetuneOptions(loss="pt_loss", alpha=0.2), lmbda=0.0018)
    >>> result.alignment_factor, result.history[-1]["loss"]
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vqabench.errors import ConfigError, invalid

__all__ = [
    "FINETUNE_LOSSES",
    "COMPRESSAI_MSE_LAMBDAS",
    "SHIPPED_LAMBDAS",
    "FinetuneOptions",
    "FinetuneResult",
    "alignment_factor",
    "check_image_model",
    "default_lambda",
    "finetune",
    "finetune_checkpoint",
]

FinetuneLoss = Literal["mse", "pt_loss", "rankdvqa_ugc", "l1_msssim"]
FINETUNE_LOSSES: tuple[str, ...] = ("mse", "pt_loss", "rankdvqa_ugc", "l1_msssim")
#: CompressAI's lambdas of its MSE-trained zoo models, quality 1..8 (its documentation,
#: "Model zoo": 0.0018 ... 0.18; cheng2020-anchor uses the first six).
COMPRESSAI_MSE_LAMBDAS: dict[int, float] = {
    1: 0.0018,
    2: 0.0035,
    3: 0.0067,
    4: 0.0130,
    5: 0.0250,
    6: 0.0483,
    7: 0.0932,
    8: 0.1800,
}
_AUX_LR = 1e-3
_CLIP_NORM = 1.0
#: The lambdas the shipped ``vqabench-small`` levels were trained with (its MODEL_CARD.md).
SHIPPED_LAMBDAS: dict[int, float] = {1: 0.001, 2: 0.0035, 3: 0.013, 4: 0.0483}


@dataclass(frozen=True)
class FinetuneOptions:
    """Options of one fine-tuning run (see the module docstring).

    Attributes:
        loss: ``mse | pt_loss | rankdvqa_ugc | l1_msssim``.
        alpha: weight of the quality term in 0..1 (0 for ``mse``).
        iterations: optimiser steps.
        batch: clips per step.
        lr: Adam learning rate of the network.
        seed: seed of the batch order and of the training noise.
        align_iterations: iterations over which ``k`` is measured.
        target: what the MSE (and ``l1_msssim``) judges D against: ``source`` (S) or
            ``reference`` (R, the codec's input).
        loss_weights: weights of the quality model (``pretrained``, ``pretrained:RELEASE``,
            ``random`` for plumbing tests, or a checkpoint path).
        device: ``cpu`` (default), ``cuda``, ``cuda:N`` or ``auto`` (training only; the
            checkpoint is saved with CPU tensors and the codec codes on the CPU).
    """

    loss: str = "pt_loss"
    alpha: float = 0.2
    iterations: int = 40
    batch: int = 2
    lr: float = 1e-4
    seed: int = 0
    align_iterations: int = 5
    target: str = "source"
    loss_weights: str = "pretrained"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.loss not in FINETUNE_LOSSES:
            raise invalid("loss", self.loss, " | ".join(FINETUNE_LOSSES))
        if isinstance(self.alpha, bool) or not 0.0 <= float(self.alpha) <= 1.0:
            raise invalid("alpha", self.alpha, "a number in 0..1")
        if self.loss == "mse" and self.alpha != 0:
            raise ConfigError(
                f"alpha={self.alpha} is not allowed with loss='mse' (it has no "
                "quality term); pass alpha 0 or a loss such as pt_loss"
            )
        for name, lo in (("iterations", 1), ("batch", 1), ("seed", 0), ("align_iterations", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise invalid(name, value, f"an integer >= {lo}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr >= 0):
            raise invalid("lr", self.lr, "a finite number >= 0")
        if self.target not in ("source", "reference"):
            raise invalid("target", self.target, "source | reference")
        if not isinstance(self.device, str) or not re.fullmatch(
            r"auto|cpu|cuda(:\d+)?", self.device
        ):
            from vqabench.metrics.device import DEVICES

            raise invalid("device", self.device, DEVICES)


@dataclass
class FinetuneResult:
    """What :func:`finetune` returns.

    Attributes:
        state_dict: the fine-tuned network's weights (CPU tensors, no optimiser state).
        alignment_factor: ``k`` (None without a quality term or with ``alpha=0``).
        lmbda: the rate-distortion lambda used.
        history: one dict per iteration: ``iteration, loss, mse, quality, bpp, k``
            (``quality`` and ``k`` None without a quality term).
        wall_s: training wall seconds.
    """

    state_dict: dict[str, Any]
    alignment_factor: float | None
    lmbda: float
    history: list[dict[str, float | None]] = field(default_factory=list)
    wall_s: float = 0.0


def alignment_factor(distortion: Sequence[float], quality: Sequence[float]) -> float:
    """``k = mean |distortion| / mean |quality|`` over the same iterations (equal counts).

    Raises:
        ConfigError: no values, unequal counts or a quality term that is zero throughout.
    """
    if not distortion or len(distortion) != len(quality):
        raise invalid(
            "alignment values",
            f"{len(distortion)} and {len(quality)}",
            "the same positive number of distortion and quality values",
        )
    den = sum(abs(float(q)) for q in quality)
    if den == 0.0:
        raise ConfigError(
            "the quality term is 0 over the alignment iterations: its "
            "magnitude cannot be aligned with the MSE's"
        )
    return sum(abs(float(d)) for d in distortion) / den


def check_image_model(codec: Any) -> None:
    """Refuse a compressai video model (fine-tuning codes each frame on its own).

    Raises:
        ConfigError: naming the model and the image models allowed.
    """
    from vqabench.codecs.compressai_codec import MODELS

    if codec.is_video:
        images = ", ".join(m for m, (_, kind) in MODELS.items() if kind == "image")
        raise invalid(
            "model",
            codec.model,
            f"an image model ({images}): fine-tuning codes each frame on its own",
        )


def default_lambda(quality: int, model: str | None = None) -> float:
    """The lambda ``quality`` was trained with: :data:`SHIPPED_LAMBDAS` for the shipped
    ``vqabench-small`` (its model card), else CompressAI's MSE lambda
    (:data:`COMPRESSAI_MSE_LAMBDAS`).

    Raises:
        ConfigError: a quality without a known lambda (pass one explicitly).
    """
    table, name = (
        (SHIPPED_LAMBDAS, "vqabench-small's")
        if model == "vqabench-small"
        else (COMPRESSAI_MSE_LAMBDAS, "CompressAI's")
    )
    if quality not in table:
        raise invalid(
            "quality", quality, f"{min(table)}..{max(table)} for {name} lambdas (or pass lmbda)"
        )
    return table[quality]


def _quality_term(options: FinetuneOptions, device: Any) -> Callable[..., Any] | None:
    """``term(reference_clip, target_clip, decoded_clip)`` on (T, 3, H, W), or None."""
    if options.loss == "mse" or options.alpha == 0:
        return None
    from vqabench.codecs.losses import create_loss

    if options.loss == "l1_msssim":
        fn = create_loss("l1_msssim")
        return lambda r, t, d: fn(t, d)
    # alpha=1 and no alignment: MixedLoss returns the quality model's loss -score alone
    fn = create_loss(
        options.loss, alpha=1.0, align_steps=0, weights=options.loss_weights, seed=options.seed
    )
    fn.eval().requires_grad_(False).to(device)
    return lambda r, t, d: fn(r, d)


def finetune(
    net: Any,
    source: Any,
    reference: Any,
    options: FinetuneOptions,
    *,
    lmbda: float,
    progress: Callable[[int, int], None] | None = None,
) -> FinetuneResult:
    """Fine-tune ``net`` (a CompressAI image model, changed in place) on (S, R) clips.

    Args:
        net: the model (trained in train mode; left in eval mode with updated CDF tables).
        source: S clips, float tensor (N, T, 3, H, W) RGB in [0, 1].
        reference: R clips, the same shape: the codec's input.
        options: the options.
        lmbda: the rate-distortion lambda.
        progress: ``progress(done, total)`` after each iteration.

    Raises:
        ConfigError: clips of different shapes, too few frames for RankDVQA-UGC.
        WeightsUnavailableError: the quality model's weights are absent.
    """
    import torch
    import torch.nn.functional as F

    from vqabench.metrics.losses import mix

    if tuple(source.shape) != tuple(reference.shape) or source.dim() != 5 or source.shape[2] != 3:
        raise invalid(
            "clips",
            f"S {tuple(source.shape)}, R {tuple(reference.shape)}",
            "two float tensors of the same shape (N, T, 3, H, W)",
        )
    n, t, _, h, w = source.shape
    if options.loss == "rankdvqa_ugc" and options.alpha > 0 and t < 12:
        raise invalid("patch frames", t, ">= 12 for loss=rankdvqa_ugc (it folds 12 frames)")
    from vqabench.metrics.device import resolve_device

    device = resolve_device(options.device)
    term = _quality_term(options, device)
    net.to(device)
    source, reference = source.to(device), reference.to(device)
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    aux = [p for name, p in net.named_parameters() if name.endswith(".quantiles")]
    main = [p for name, p in net.named_parameters() if not name.endswith(".quantiles")]
    opt = torch.optim.Adam(main, lr=options.lr)
    aux_opt = torch.optim.Adam(aux, lr=_AUX_LR) if aux else None
    sums, k = [0.0, 0.0], None
    history: list[dict[str, float | None]] = []
    net.train()
    start = time.perf_counter()
    for it in range(options.iterations):
        idx = torch.from_numpy(rng.choice(n, options.batch, replace=options.batch > n))
        idx = idx.to(device)
        r, s = reference[idx], source[idx]
        target = s if options.target == "source" else r
        out = net(r.flatten(0, 1))
        x_hat = out["x_hat"]
        mse = F.mse_loss(x_hat, target.flatten(0, 1))
        bpp = sum(torch.log(v).sum() for v in out["likelihoods"].values()) / (
            -math.log(2) * options.batch * t * h * w
        )
        quality = None
        if term is None:
            distortion = mse
        else:
            d = x_hat.view(options.batch, t, 3, h, w)
            quality = torch.stack(
                [term(r[j], target[j], d[j]) for j in range(options.batch)]
            ).mean()
            if it < options.align_iterations:
                sums[0] += abs(float(mse.detach()))
                sums[1] += abs(float(quality.detach()))
                k = alignment_factor([sums[0]], [sums[1]])
            distortion = mix(mse, quality, alpha=float(options.alpha), k=float(k or 1.0))
        loss = lmbda * 255.0**2 * distortion + bpp
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, _CLIP_NORM)
        opt.step()
        if aux_opt is not None:
            aux_opt.zero_grad()
            net.aux_loss().backward()
            aux_opt.step()
        history.append(
            {
                "iteration": it + 1,
                "loss": float(loss.detach()),
                "mse": float(mse.detach()),
                "bpp": float(bpp.detach()),
                "quality": None if quality is None else float(quality.detach()),
                "k": k,
            }
        )
        if progress is not None:
            progress(it + 1, options.iterations)
    wall_s = time.perf_counter() - start
    net.eval().to("cpu")
    net.update(force=True)
    state = {key: v.detach().cpu().clone() for key, v in net.state_dict().items()}
    return FinetuneResult(state, k, lmbda, history, wall_s)


def finetune_checkpoint(
    codec: Any,
    quality: int,
    source: Any,
    reference: Any,
    options: FinetuneOptions,
    out_dir: Path,
    *,
    lmbda: float | None = None,
    data: dict | None = None,
    command: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Fine-tune ``codec``'s network at ``quality`` and write ``OUT/{quality}.pth`` + card.

    The state dict (no optimiser state) is written atomically, so
    ``compressai:model=M:checkpoint=OUT/{quality}.pth:quality=Q`` codes with it; next to it
    ``{quality}.json`` (the card: command, base weights and their SHA-256, options, lambda,
    alignment factor, wall time, first and last losses, data) and ``{quality}.md``.

    Args:
        codec: a :class:`~vqabench.codecs.compressai_codec.CompressAICodec` (image model).
        quality: the quality level (rate point) to fine-tune.
        source, reference: S and R clips (see :func:`finetune`).
        options: the options.
        out_dir: output folder.
        lmbda: rate-distortion lambda (default :func:`default_lambda`).
        data: description of the training data, recorded in the card.
        command: the command line, recorded in the card.
        progress: ``progress(done, total)``.

    Returns:
        The checkpoint path.

    Raises:
        ConfigError: a video model (``ssf2020``) or a quality outside the model's range.
    """
    import torch

    from vqabench.codecs.compressai_codec import MODELS, compressai_version
    from vqabench.io.atomic import atomic_path, atomic_write_text
    from vqabench.io.hashing import file_sha256

    check_image_model(codec)
    hi = MODELS[codec.model][0]
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= hi:
        raise invalid("quality", quality, f"an integer in 1..{hi} for model {codec.model}")
    lmbda = default_lambda(quality, codec.model) if lmbda is None else float(lmbda)
    if not (math.isfinite(lmbda) and lmbda > 0):
        raise invalid("lmbda", lmbda, "a finite number > 0")
    base, ident = codec.network(quality)
    base_sha = None if codec.checkpoint == "random" else file_sha256(codec.weights_file(quality))
    net = copy.deepcopy(base)
    result = finetune(net, source, reference, options, lmbda=lmbda, progress=progress)
    out_dir = Path(out_dir)
    path = out_dir / f"{quality}.pth"
    with atomic_path(path) as tmp:
        torch.save(result.state_dict, tmp)
    first, last = result.history[0], result.history[-1]
    card = {
        "checkpoint": path.name,
        "sha256": file_sha256(path),
        "command": command,
        "codec": f"compressai:model={codec.model}:checkpoint={path}:quality={quality}",
        "base": {
            "model": codec.model,
            "checkpoint": codec.checkpoint,
            "quality": quality,
            "weights": ident,
            "sha256": base_sha,
            **({"seed": codec.seed} if codec.checkpoint == "random" else {}),
        },
        "options": asdict(options),
        "lmbda": lmbda,
        "loss_formula": (
            "lmbda * 255^2 * ((1 - alpha) MSE(target, D) + alpha k P) + bpp; "
            "k = sum|MSE_i| / sum|P_i| over the first align_iterations"
        ),
        "alignment_factor": result.alignment_factor,
        "wall_s": round(result.wall_s, 3),
        "first": first,
        "final": last,
        "data": data or {},
        "software": {"compressai": compressai_version(), "torch": torch.__version__},
        "note": "fine-tuned at the size recorded in 'data'; at CPU size this shows the "
        "mechanism, not the PT-Loss paper's numbers",
    }
    atomic_write_text(out_dir / f"{quality}.json", json.dumps(card, indent=2) + "\n")
    atomic_write_text(out_dir / f"{quality}.md", _card_markdown(card))
    return path


def _card_markdown(card: dict) -> str:
    o, f, last = card["options"], card["first"], card["final"]
    k = card["alignment_factor"]
    lines = [
        f"# Fine-tuned {card['base']['model']}, quality {card['base']['quality']}",
        "",
        f"Use: `--codec {card['codec']}`",
        "",
        f"- command: `{card['command']}`",
        f"- base weights: {card['base']['weights']} (checkpoint={card['base']['checkpoint']}"
        f", sha256 {card['base']['sha256']})",
        f"- loss: {o['loss']}, alpha {o['alpha']}, MSE against {o['target']}, lambda "
        f"{card['lmbda']}: {card['loss_formula']}",
        f"- alignment factor k: {'n/a' if k is None else f'{k:.6g}'} "
        f"(first {o['align_iterations']} iterations)",
        f"- {o['iterations']} iterations, batch {o['batch']}, lr {o['lr']}, seed {o['seed']};"
        f" {card['wall_s']:.1f} s",
        f"- loss {f['loss']:.4f} -> {last['loss']:.4f}; MSE {f['mse']:.5f} -> "
        f"{last['mse']:.5f}; bpp {f['bpp']:.4f} -> {last['bpp']:.4f}",
        f"- data: {json.dumps(card['data'])}",
        f"- sha256 of {card['checkpoint']}: {card['sha256']}",
        "",
        card["note"] + ".",
        "",
    ]
    return "\n".join(lines)
