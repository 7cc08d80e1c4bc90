"""Weakly supervised Siamese ranking training of the learned quality models.

**Pairs directory** (written by the patch-pair generator, ``datasets/patches.py``)::

    manifest.csv   one row per patch pair; columns at least
                   file, source, reference, codec, qp, x, y, t0,
                   vmaf_sd, vmaf_rd, psnr_sd, psnr_rd
    *.npz          arrays ``reference`` (R) and ``distorted`` (D), uint8 (T, H, W, 3) RGB

``vmaf_sd`` (VMAF of D against the pristine source S, on the patch) is the only label.

**Training** (one step): sample ``batch_size`` pairs of patch pairs ``(i, j)``; the model
scores both (shared weights: a Siamese network); the target is 1 if ``vmaf_sd[i] >
vmaf_sd[j]`` else 0; loss ``BCE(sigmoid(s_i - s_j), target)``; AdamW. Pairs whose labels
differ by less than ``tie_margin`` VMAF points are not drawn (resampled), as their order is
within the label noise. A pair is *single-source* (both patches cut from the same source
sequence) or *cross-source*. Schedule: the last ``min(finetune_epochs, epochs - 1)`` epochs
are the fine-tune stage (single-source pairs only, at ``lr * finetune_lr_scale``); every
epoch before them is the ranking stage, mixing them 8:2 (``cross_fraction=0.2``) at ``lr``.
At least one epoch is always the ranking stage: ``epochs=1`` trains one ranking epoch, never
only the 0.1x-learning-rate fine-tune (``epochs=10, finetune_epochs=1`` is 9 + 1).

Sources, never patches, are split into training and validation (``val_fraction``); after
every epoch the Spearman rank correlation (SROCC) of the validation scores with
``vmaf_sd`` is logged, and a checkpoint (model state, model config, optimiser state,
training config, completed epochs, history) is written atomically. Calling :func:`train`
again with the same ``out_ckpt`` resumes after the last completed epoch; the sampling of
epoch ``k`` depends only on ``(seed, k)``, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import Tensor, nn

from vqabench.errors import ConfigError, DatasetError, invalid
from vqabench.io.atomic import atomic_path
from vqabench.models import CHECKPOINT_FORMAT, MODELS, create_model

__all__ = [
    "REQUIRED_COLUMNS",
    "score_pairs",
    "PairsDataset",
    "TrainConfig",
    "TrainResult",
    "sample_pairs",
    "split_by_source",
    "ranking_loss",
    "dihedral",
    "AUGMENTATIONS",
    "evaluate_srocc",
    "train",
]

REQUIRED_COLUMNS = (
    "file",
    "source",
    "reference",
    "codec",
    "qp",
    "x",
    "y",
    "t0",
    "vmaf_sd",
    "vmaf_rd",
    "psnr_sd",
    "psnr_rd",
)


class PairsDataset:
    """The patch pairs of a pairs directory, loaded lazily as float tensors in [0, 1].

    Args:
        pairs_dir: directory with ``manifest.csv`` and the ``.npz`` patch files.
        cache_size: patch pairs kept in memory.
        sources: use only the pairs of these sources (e.g. to hold some out for testing).
        codecs: use only the pairs whose D these made (the manifest's ``codec`` column:
            ``x264`` ..., or an off-codec defect such as ``noise``).

    Raises:
        DatasetError: missing manifest, columns, files or arrays, or non-numeric labels.
    """

    def __init__(
        self,
        pairs_dir: str | Path,
        *,
        cache_size: int = 4096,
        sources: Sequence[str] | None = None,
        codecs: Sequence[str] | None = None,
    ):
        self.root = Path(pairs_dir)
        manifest = self.root / "manifest.csv"
        if not manifest.is_file():
            raise DatasetError(
                f"pairs={str(self.root)!r} has no manifest.csv; make one with "
                "the patch-pair generator (vqabench.datasets.patches)"
            )
        with manifest.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{manifest} lacks columns {missing}; required: {', '.join(REQUIRED_COLUMNS)}"
                )
            self.rows = list(reader)
        if sources is not None:
            present = sorted({r["source"] for r in self.rows})
            unknown = sorted(set(sources) - set(present))
            if unknown:
                raise DatasetError(
                    f"sources={unknown} are not in {manifest}; present: {', '.join(present)}"
                )
            self.rows = [r for r in self.rows if r["source"] in set(sources)]
        if codecs is not None:
            present = sorted({r["codec"] for r in self.rows})
            unknown = sorted(set(codecs) - set(present))
            if unknown:
                raise DatasetError(
                    f"codecs={unknown} are not in {manifest}"
                    f"{' for these sources' if sources is not None else ''}; "
                    f"present: {', '.join(present)}"
                )
            self.rows = [r for r in self.rows if r["codec"] in set(codecs)]
        if not self.rows:
            raise DatasetError(f"{manifest} has no rows")
        try:
            self.vmaf_sd = np.array([float(r["vmaf_sd"]) for r in self.rows])
        except ValueError as exc:
            raise DatasetError(f"{manifest}: column vmaf_sd must be numeric ({exc})") from None
        self.sources = [r["source"] for r in self.rows]
        self._cache: dict[int, tuple[Tensor, Tensor]] = {}
        self._cache_size = cache_size

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """(reference, distorted) of row ``index``, each (3, T, H, W) float32 in [0, 1]."""
        if index in self._cache:
            return self._cache[index]
        path = self.root / self.rows[index]["file"]
        try:
            with np.load(path) as npz:
                ref, dist = npz["reference"], npz["distorted"]
        except (OSError, KeyError, ValueError) as exc:
            raise DatasetError(
                f"cannot read patch pair {str(path)!r}: {exc}; expected an "
                "npz with uint8 arrays 'reference' and 'distorted' "
                "(T, H, W, 3)"
            ) from None
        if ref.shape != dist.shape or ref.ndim != 4 or ref.shape[-1] != 3:
            raise DatasetError(
                f"{path}: reference {ref.shape} and distorted {dist.shape} "
                "must both be (T, H, W, 3)"
            )
        pair = tuple(
            torch.from_numpy(np.ascontiguousarray(a.transpose(3, 0, 1, 2))).float().div_(255.0)
            for a in (ref, dist)
        )
        if len(self._cache) < self._cache_size:
            self._cache[index] = pair
        return pair

    def batch(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        """Stacked (reference, distorted), each (len(indices), 3, T, H, W)."""
        pairs = [self[i] for i in indices]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def split_by_source(
    sources: Sequence[str], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split row indices into (train, validation) so that no source is in both.

    ``round(val_fraction * n_sources)`` sources (at least one when ``val_fraction`` > 0 and
    there are two sources or more; never all) go to validation, chosen by ``seed``.

    Raises:
        ConfigError: ``val_fraction`` outside [0, 1).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise invalid("val_fraction", val_fraction, "a number in [0, 1)")
    from vqabench.models.patches import split_sources

    _, val_sources = split_sources(sources, (1.0 - val_fraction, val_fraction), seed)
    train = [i for i, s in enumerate(sources) if s not in val_sources]
    val = [i for i, s in enumerate(sources) if s in val_sources]
    return train, val


def sample_pairs(
    rng: np.random.Generator,
    indices: Sequence[int],
    sources: Sequence[str],
    labels: np.ndarray,
    n: int,
    *,
    cross_fraction: float,
    tie_margin: float = 0.5,
    max_tries: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` ranking pairs from the rows ``indices``.

    Each pair is cross-source with probability ``cross_fraction`` (two different sources),
    otherwise single-source (two different rows of one source, the source drawn in
    proportion to its rows). Pairs with ``|labels[i] - labels[j]| < tie_margin`` are redrawn.

    Returns:
        ``(i, j, target)`` arrays; ``target = 1.0`` where ``labels[i] > labels[j]``.

    Raises:
        DatasetError: no pair of the required kind satisfies the margin.
    """
    by_source: dict[str, list[int]] = {}
    for i in indices:
        by_source.setdefault(sources[i], []).append(i)
    names = sorted(by_source)
    multi = [s for s in names if len(by_source[s]) >= 2]
    weights = np.array([len(by_source[s]) for s in multi], dtype=float)
    first, second = [], []
    for _ in range(n):
        cross = rng.random() < cross_fraction
        for _try in range(max_tries):
            if cross:
                if len(names) < 2:
                    raise DatasetError("cross-source pairs need two training sources or more")
                a, b = rng.choice(len(names), size=2, replace=False)
                i, j = rng.choice(by_source[names[a]]), rng.choice(by_source[names[b]])
            else:
                if not multi:
                    raise DatasetError(
                        "single-source pairs need a source with two patches "
                        "or more in the training split"
                    )
                rows = by_source[multi[rng.choice(len(multi), p=weights / weights.sum())]]
                i, j = rng.choice(rows, size=2, replace=False)
            if abs(labels[i] - labels[j]) >= tie_margin:
                break
        else:
            kind = "cross-source" if cross else "single-source"
            raise DatasetError(
                f"no {kind} pair with |vmaf_sd difference| >= "
                f"tie_margin={tie_margin} after {max_tries} draws; lower "
                "tie_margin or add distortion levels"
            )
        first.append(int(i))
        second.append(int(j))
    i_arr, j_arr = np.array(first), np.array(second)
    return i_arr, j_arr, (labels[i_arr] > labels[j_arr]).astype(np.float32)


def dihedral(video: Tensor, codes: Sequence[int]) -> Tensor:
    """Flip or rotate each clip of a batch (B, C, T, H, W) by one of the 8 square symmetries.

    ``codes[k]`` in 0..7 is a bit field for clip ``k``: 1 mirrors left-right, 2 mirrors
    top-bottom, 4 swaps height and width (a transpose; with 1 or 2 this makes the 90-degree
    rotations). Code 0 is the identity. Time is never reordered.

    Raises:
        ConfigError: a code outside 0..7, as many codes as clips, or a transpose of a
            non-square clip.
    """
    if len(codes) != video.shape[0]:
        raise invalid("codes", list(codes), f"{video.shape[0]} codes, one per clip")
    out = []
    for clip, code in zip(video, codes, strict=True):
        code = int(code)
        if not 0 <= code <= 7:
            raise invalid("codes", code, "an integer in 0..7")
        if code & 4:
            if clip.shape[-1] != clip.shape[-2]:
                raise invalid(
                    "codes",
                    code,
                    f"0..3 for a non-square {tuple(clip.shape[-2:])} clip (4..7 transpose it)",
                )
            clip = clip.transpose(-1, -2)
        dims = [d for bit, d in ((1, -1), (2, -2)) if code & bit]
        out.append(clip.flip(dims) if dims else clip)
    return torch.stack(out)


AUGMENTATIONS = {"none": (0,), "transpose": (0, 4), "dihedral": tuple(range(8))}
"""The :func:`dihedral` codes each ``augment`` mode draws from (uniformly)."""


def _augment(
    rng: np.random.Generator, mode: str, ref: Tensor, dist: Tensor
) -> tuple[Tensor, Tensor]:
    """The same random symmetry of ``AUGMENTATIONS[mode]`` for R and D of each pair."""
    codes = rng.choice(AUGMENTATIONS[mode], size=ref.shape[0]).tolist()
    return dihedral(ref, codes), dihedral(dist, codes)


def ranking_loss(score_first: Tensor, score_second: Tensor, target: Tensor) -> Tensor:
    """Mean ``BCE(sigmoid(s1 - s2), target)``: target 1 means the first pair is better."""
    return F.binary_cross_entropy_with_logits(score_first - score_second, target)


@torch.no_grad()
def _scores(
    model: nn.Module,
    data: PairsDataset,
    indices: Sequence[int],
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    out = []
    for k in range(0, len(indices), batch_size):
        ref, dist = data.batch(indices[k : k + batch_size])
        out.append(model(ref.to(device), dist.to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


score_pairs = _scores  # public name (vqabench.evaluation.quality_models scores with it)


def evaluate_srocc(
    model: nn.Module,
    data: PairsDataset,
    indices: Sequence[int],
    *,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
) -> float:
    """Spearman correlation of model scores with ``vmaf_sd`` on ``indices`` (nan if < 3)."""
    if len(indices) < 3:
        return float("nan")
    was_training = model.training
    model.eval()
    scores = _scores(model, data, list(indices), batch_size, torch.device(device))
    model.train(was_training)
    labels = data.vmaf_sd[list(indices)]
    if np.ptp(scores) == 0 or np.ptp(labels) == 0:
        return float("nan")
    return float(spearmanr(scores, labels).statistic)


@dataclass(frozen=True)
class TrainConfig:
    """The options of one training run (stored in the checkpoint)."""

    model_name: str
    pairs_dir: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    lr: float
    seed: int
    weight_decay: float = 0.01
    finetune_epochs: int = 1
    finetune_lr_scale: float = 0.1
    cross_fraction: float = 0.2
    tie_margin: float = 0.5
    val_fraction: float = 0.2
    grad_clip: float = 1.0
    model_config: dict = field(default_factory=dict)
    sources: tuple[str, ...] | None = None
    augment: str = "none"
    lr_schedule: str = "constant"


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did.

    Attributes:
        checkpoint: path of the checkpoint written.
        epochs_completed: epochs in the checkpoint (including earlier runs).
        history: per epoch: ``epoch`` (1-based), ``stage`` ("mixed" | "finetune"),
            ``train_loss`` (mean over steps), ``val_srocc``, ``lr``.
        model: the trained model (eval mode).
    """

    checkpoint: Path
    epochs_completed: int
    history: list[dict]
    model: nn.Module


def _cosine_lr(step: int, total: int, start: float, end: float) -> float:
    """Learning rate of ``step`` (0-based) of ``total`` on a half cosine from start to end."""
    return end + 0.5 * (start - end) * (1.0 + np.cos(np.pi * step / max(total - 1, 1)))


def _atomic_save(obj: object, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            skip = getattr(p, "_no_weight_decay", False) or p.ndim < 2
            (no_decay if skip else decay).append(p)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=lr,
    )


def _validate(cfg: TrainConfig) -> None:
    MODELS.get(cfg.model_name)
    for name in ("epochs", "steps_per_epoch", "batch_size"):
        if getattr(cfg, name) < 1:
            raise invalid(name, getattr(cfg, name), "an integer >= 1")
    if not 0 <= cfg.finetune_epochs <= cfg.epochs:
        raise invalid("finetune_epochs", cfg.finetune_epochs, f"0..epochs ({cfg.epochs})")
    if not cfg.lr > 0:
        raise invalid("lr", cfg.lr, "a number > 0")
    if not 0.0 <= cfg.cross_fraction <= 1.0:
        raise invalid("cross_fraction", cfg.cross_fraction, "a number in [0, 1]")
    if cfg.tie_margin < 0:
        raise invalid("tie_margin", cfg.tie_margin, "a number >= 0")


def train(
    model_name: str,
    pairs_dir: str | Path,
    out_ckpt: str | Path,
    *,
    epochs: int = 10,
    steps_per_epoch: int = 500,
    batch_size: int = 8,
    lr: float = 1e-4,
    seed: int = 0,
    weight_decay: float = 0.01,
    finetune_epochs: int = 1,
    finetune_lr_scale: float = 0.1,
    cross_fraction: float = 0.2,
    tie_margin: float = 0.5,
    val_fraction: float = 0.2,
    grad_clip: float = 1.0,
    model_config: dict | None = None,
    resume: bool = True,
    device: str | torch.device | None = None,
    log: bool = False,
    sources: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    augment: str = "none",
    lr_schedule: str = "constant",
) -> TrainResult:
    """Train a quality model by Siamese ranking on a pairs directory (see module docstring).

    Args:
        model_name: ``"pt_loss"`` or ``"rankdvqa_ugc"``.
        pairs_dir: directory with ``manifest.csv`` and ``.npz`` patch pairs.
        out_ckpt: checkpoint to write (and to resume from when it exists and ``resume``).
        epochs: total epochs, fine-tuning included.
        steps_per_epoch: optimiser steps per epoch.
        batch_size: ranking pairs per step (each step scores ``2 * batch_size`` patches).
        lr: AdamW learning rate of the mixed stage.
        seed: seeds the model initialisation, the source split and the sampling.
        weight_decay: AdamW weight decay (not on biases, norms, ``A_log``, ``D``).
        finetune_epochs: final epochs on single-source pairs only.
        finetune_lr_scale: learning-rate factor of the fine-tuning epochs.
        cross_fraction: share of cross-source pairs in the mixed stage (0.2 = 8:2).
        tie_margin: pairs closer than this in ``vmaf_sd`` are not used.
        val_fraction: share of sources held out for validation.
        grad_clip: max gradient norm (0 disables clipping).
        model_config: architecture options; for ``rankdvqa_ugc`` ``frames`` defaults to
            the patch length.
        resume: continue from ``out_ckpt`` if it exists (else start over).
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available.
        log: print one line per epoch.
        sources: train (and validate) on the pairs of these sources only, so that others
            stay held out for a test.
        progress: called as ``progress(steps_done, steps_total)`` after each optimiser step.
        augment: give each training patch pair (R and D alike) a random square symmetry
            (:func:`dihedral`): ``"none"``; ``"transpose"`` (half of them swap height and
            width, which leaves VMAF(S, D) unchanged to 0.05 points); ``"dihedral"`` (all 8
            flips and rotations; a flip moves libvmaf's decimation phase, so the true VMAF
            of a flipped 64x64 patch can differ from its label by a few points). Square
            patches only, unless ``"none"``. Drawn from its own generator, so the pairs
            sampled are those of an unaugmented run.
        lr_schedule: ``"constant"`` (``lr`` through the ranking stage) or ``"cosine"``
            (per step, a half cosine from ``lr`` down to ``lr * finetune_lr_scale`` over the
            ranking stage, so the fine-tune stage continues at its end rate).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: a bad option, or a checkpoint of another model at ``out_ckpt``.
        DatasetError: an unreadable pairs directory or no valid pairs.

    Example:
        >>> train("pt_loss", "pairs/", "pt_loss.pt", epochs=10, steps_per_epoch=500)
    """
    if augment not in AUGMENTATIONS:
        raise invalid("augment", augment, " | ".join(AUGMENTATIONS))
    if lr_schedule not in ("constant", "cosine"):
        raise invalid("lr_schedule", lr_schedule, "constant | cosine")
    data = PairsDataset(pairs_dir, sources=sources)
    model_config = dict(model_config or {})
    if model_name == "rankdvqa_ugc" and "frames" not in model_config:
        model_config["frames"] = int(data[0][0].shape[1])
    cfg = TrainConfig(
        model_name=model_name,
        pairs_dir=str(pairs_dir),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        weight_decay=weight_decay,
        finetune_epochs=finetune_epochs,
        finetune_lr_scale=finetune_lr_scale,
        cross_fraction=cross_fraction,
        tie_margin=tie_margin,
        val_fraction=val_fraction,
        grad_clip=grad_clip,
        model_config=model_config,
        sources=tuple(sorted(sources)) if sources is not None else None,
        augment=augment,
        lr_schedule=lr_schedule,
    )
    _validate(cfg)
    patch_hw = tuple(data[0][0].shape[-2:])
    if augment != "none" and patch_hw[0] != patch_hw[1]:
        raise invalid(
            "augment",
            augment,
            f"'none' for non-square {patch_hw[1]}x{patch_hw[0]} "
            "patches (the others transpose them)",
        )
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out = Path(out_ckpt)

    torch.manual_seed(seed)
    model = create_model(model_name, **model_config).to(dev)
    opt = _optimizer(model, lr, weight_decay)
    start, history = 0, []
    if resume and out.is_file():
        ckpt = torch.load(out, map_location=dev, weights_only=True)
        if ckpt.get("format") != CHECKPOINT_FORMAT or ckpt.get("model_name") != model_name:
            raise ConfigError(
                f"out_ckpt={str(out)!r} holds a checkpoint of "
                f"{ckpt.get('model_name')!r}, not {model_name!r}; choose another "
                "path or pass resume=False"
            )
        if ckpt["model_config"] != model_config:
            raise ConfigError(
                f"out_ckpt={str(out)!r} was trained with model_config="
                f"{ckpt['model_config']}, not {model_config}"
            )
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        start, history = int(ckpt["epoch"]), list(ckpt["history"])

    train_idx, val_idx = split_by_source(data.sources, val_fraction, seed)
    if not val_idx:
        warnings.warn("only one source: no validation split, val_srocc will be nan", stacklevel=2)
    ranking_epochs = epochs - min(finetune_epochs, epochs - 1)  # >= 1 ranking epoch
    for epoch in range(start, epochs):
        finetune = epoch >= ranking_epochs
        epoch_lr = lr * (finetune_lr_scale if finetune else 1.0)
        for group in opt.param_groups:
            group["lr"] = epoch_lr
        ranking_steps = ranking_epochs * steps_per_epoch
        rng = np.random.default_rng([seed, epoch])
        aug_rng = np.random.default_rng([seed, epoch, 1])
        model.train()
        losses = []
        for _ in range(steps_per_epoch):
            i, j, target = sample_pairs(
                rng,
                train_idx,
                data.sources,
                data.vmaf_sd,
                batch_size,
                tie_margin=tie_margin,
                cross_fraction=0.0 if finetune else cross_fraction,
            )
            if lr_schedule == "cosine" and not finetune:
                step = epoch * steps_per_epoch + len(losses)
                for group in opt.param_groups:
                    group["lr"] = _cosine_lr(step, ranking_steps, lr, lr * finetune_lr_scale)
            ref, dist = data.batch(np.concatenate([i, j]).tolist())
            if augment != "none":
                ref, dist = _augment(aug_rng, augment, ref, dist)
            scores = model(ref.to(dev), dist.to(dev))
            loss = ranking_loss(
                scores[:batch_size], scores[batch_size:], torch.from_numpy(target).to(dev)
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(epoch * steps_per_epoch + len(losses), epochs * steps_per_epoch)
        srocc = evaluate_srocc(model, data, val_idx, batch_size=2 * batch_size, device=dev)
        history.append(
            {
                "epoch": epoch + 1,
                "stage": "finetune" if finetune else "mixed",
                "train_loss": float(np.mean(losses)),
                "val_srocc": srocc,
                "lr": float(opt.param_groups[0]["lr"]),
            }
        )  # the epoch's last step
        _atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "model_name": model_name,
                "model_config": model_config,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": opt.state_dict(),
                "epoch": epoch + 1,
                "history": history,
                "train_config": asdict(cfg),
                "trained_sources": sorted(set(data.sources)),  # training + validation
            },
            out,
        )
        if log:
            h = history[-1]
            print(
                f"epoch {h['epoch']}/{epochs} [{h['stage']}] loss {h['train_loss']:.4f} "
                f"val SROCC {h['val_srocc']:.4f}",
                flush=True,
            )
    return TrainResult(
        checkpoint=out, epochs_completed=max(start, epochs), history=history, model=model.eval()
    )
