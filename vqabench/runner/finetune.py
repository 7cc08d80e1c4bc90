"""``vqabench train codec``: two-stage (S, R) patch clips and the fine-tuning of a codec.

Stage 1 of the UGC transcoding data (:mod:`vqabench.runner.ugc`) compresses each source S
into a reference R (default x264 at QP 37, the PT-Loss experiment's Medium group); random
co-located clips of S and R (:func:`vqabench.datasets.patches.sample_positions`, positions a
function of the seed and the unit only) are converted to RGB by the codec's own conversion
(:func:`vqabench.codecs.compressai_codec.to_rgb`: the source's matrix and range), so the
network is trained on what it codes in a run. The training itself is
:func:`vqabench.codecs.finetune.finetune_checkpoint`.

Example:
    >>> seqs = datasets.load("mini", frames=8, size=(128, 72), work_dir=Path("w"))
    >>> paths = train_codec("compressai:model=bmshj2018-factorized:checkpoint=random", [1],
    ...                     seqs, Path("ft"), options=FinetuneOptions(iterations=20))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vqabench.codecs.finetune import FinetuneOptions, check_image_model, finetune_checkpoint
from vqabench.datasets import Sequence as DatasetSequence
from vqabench.datasets.patches import PatchSize, clip_frames, crop_clip, sample_positions, unit_rng
from vqabench.errors import ConfigError, invalid
from vqabench.experiment import parse_codec_spec, parse_reference_spec
from vqabench.runner.ugc import create_codec, make_reference

__all__ = ["DEFAULT_FINETUNE_REFERENCE", "parse_start_codec", "training_clips", "train_codec"]

#: Stage 1 of the training data: the Medium group of the PT-Loss experiment.
DEFAULT_FINETUNE_REFERENCE = "x264:qp=37"


def parse_start_codec(text: str, qualities: Sequence[int] | None) -> tuple[object, list[int]]:
    """The codec to start from (a ``compressai:...`` spec) and the qualities to fine-tune.

    Qualities come from ``qualities`` or from the spec's ``quality=`` ladder, not both.

    Raises:
        ConfigError: another codec than compressai, a video model (ssf2020), no quality or
            two sources of them, a checkpoint file missing for a quality.
        WeightsUnavailableError: ``checkpoint=pretrained`` and the zoo weights not cached.
    """
    name = text.split(":", 1)[0]
    if name != "compressai":
        raise invalid(
            "codec",
            text,
            "a compressai spec, e.g. compressai:model=bmshj2018-factorized:checkpoint=random",
        )
    in_spec = any(p.startswith("quality=") for p in text.split(":")[1:])
    if in_spec and qualities:
        raise ConfigError(
            f"codec={text!r} has a quality= ladder and --quality is given too; "
            "pass the qualities once"
        )
    if not in_spec and not qualities:
        raise ConfigError(
            "no quality to fine-tune: pass --quality N (or quality=N in the codec spec)"
        )
    spec = parse_codec_spec(
        text if in_spec else f"{text}:quality=" + ",".join(str(q) for q in qualities or ())
    )
    codec = create_codec(spec)
    check_image_model(codec)
    levels = [int(v) for v in spec.values]
    if codec.checkpoint != "random":  # type: ignore[attr-defined]
        for quality in levels:  # a missing file or zoo weights: refused before any work
            codec.weights_file(quality)  # type: ignore[attr-defined]
    return codec, levels


def training_clips(
    sequences: Sequence[DatasetSequence],
    work_dir: Path,
    *,
    reference: str = DEFAULT_FINETUNE_REFERENCE,
    patch: PatchSize = PatchSize(64, 64, 4),
    clips_per_source: int = 4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Co-located (S, R) clips: float32 arrays (N, T, 3, H, W) RGB in [0, 1], and their
    description (for the card).

    Args:
        sequences: the sources S.
        work_dir: where the references R are kept (reused when present).
        reference: stage 1 (``x264:qp=37``; several rate points give several R per S).
        patch: clip size ``WxHxT``.
        clips_per_source: clips per (S, R).
        seed: seed of the positions.

    Raises:
        ConfigError: no sequences, a bad count or a patch that does not fit a source.
    """
    from vqabench.codecs.compressai_codec import to_rgb

    if not sequences:
        raise ConfigError("no source sequences to make training clips from")
    if (
        isinstance(clips_per_source, bool)
        or not isinstance(clips_per_source, int)
        or clips_per_source < 1
    ):
        raise invalid("clips_per_source", clips_per_source, "an integer >= 1")
    spec = parse_reference_spec(reference)
    s_clips, r_clips = [], []
    for seq in sequences:
        for value in spec.codec.values:
            label = f"{spec.codec.name}_{spec.codec.rate_param}{value}"
            ref = make_reference(
                seq.source,
                spec.codec,
                value,
                Path(work_dir) / "references" / seq.name / f"{label}.y4m",
            ).video
            rng = unit_rng(seed, f"{seq.name}/{label}")
            for x, y, t0 in sample_positions(rng, seq.source, patch, clips_per_source):
                for video, out in ((seq.source, s_clips), (ref, r_clips)):
                    clip = crop_clip(video, x, y, t0, patch)
                    out.append(np.stack([to_rgb(f, video) for f in clip_frames(clip)]))
    data = {
        "sources": [s.name for s in sequences],
        "reference": reference,
        "patch": patch.label,
        "clips_per_source": clips_per_source,
        "seed": seed,
        "clips": len(s_clips),
    }
    return np.stack(s_clips), np.stack(r_clips), data


def train_codec(
    codec: str,
    qualities: Sequence[int] | None,
    sequences: Sequence[DatasetSequence],
    out_dir: Path,
    *,
    options: FinetuneOptions,
    reference: str = DEFAULT_FINETUNE_REFERENCE,
    patch: PatchSize = PatchSize(64, 64, 4),
    clips_per_source: int = 4,
    lmbda: float | None = None,
    command: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Fine-tune the compressai codec ``codec`` at each quality; the checkpoint paths.

    Options are checked before the data are made. See :func:`training_clips` and
    :func:`vqabench.codecs.finetune.finetune_checkpoint`.
    """
    import torch

    start, levels = parse_start_codec(codec, qualities)
    s, r, data = training_clips(
        sequences,
        Path(out_dir) / "work",
        reference=reference,
        patch=patch,
        clips_per_source=clips_per_source,
        seed=options.seed,
    )
    s_t, r_t = torch.from_numpy(s), torch.from_numpy(r)
    total = options.iterations * len(levels)
    paths = []
    for i, quality in enumerate(levels):
        step = (
            None
            if progress is None
            else (lambda done, _, base=i * options.iterations: progress(base + done, total))
        )
        paths.append(
            finetune_checkpoint(
                start,
                quality,
                s_t,
                r_t,
                options,
                Path(out_dir),
                lmbda=lmbda,
                data=data,
                command=command,
                progress=step,
            )
        )
    return paths
