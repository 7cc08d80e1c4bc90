"""``vqabench train``: a group, ``train codec`` (fine-tune a learned codec) and ``train model``.

``vqabench train MODEL ...`` (the form before the group existed) still trains a quality
model: a first argument that is not a subcommand is read as ``train model MODEL ...``. No
quality model is named ``codec`` or ``model``, so the two cannot be confused.

Only maps flags onto :mod:`vqabench.runner.finetune`; errors are typed and printed by the CLI
shell.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from vqabench.cli.app import app, console, new_typer, set_threads
from vqabench.cli.coercion import PlainGroup

__all__ = ["train_app", "codec"]


class _TrainGroup(PlainGroup):
    """``train NAME ...`` with NAME not a subcommand means ``train model NAME ...``."""

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["model", *args]
        return super().resolve_command(ctx, args)


train_app = new_typer(
    cls=_TrainGroup,
    help="Train quality models (train model NAME, or "
    "train NAME) and fine-tune learned codecs (train codec).",
)
app.add_typer(train_app, name="train")


def _qualities(text: str | None) -> list[int] | None:
    from vqabench.errors import invalid

    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise invalid("--quality", text, "integers separated by commas, e.g. 1 or 1,2,3") from None


def _command_line(ctx: typer.Context) -> str:
    """The command with every option's value, defaults included (for the card)."""
    words = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None:
            continue
        if param.param_type_name == "argument":
            words.append(str(value))
        else:
            words += [param.opts[0], str(value)]
    return shlex.join(words)


@train_app.command("codec")
def codec(
    ctx: typer.Context,
    start: str = typer.Argument(
        ...,
        metavar="CODEC",
        help="The codec to start from, e.g. "
        "compressai:model=bmshj2018-factorized:checkpoint=random "
        "(checkpoint=pretrained | random | PATH).",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for QUALITY.pth and its card (QUALITY.json, QUALITY.md)."
    ),
    quality: str = typer.Option(
        None, "--quality", help="Quality level(s), e.g. 1 or 1,2,3 (or quality= in CODEC)."
    ),
    loss: str = typer.Option(
        "pt_loss",
        "--loss",
        help="mse | pt_loss | rankdvqa_ugc | l1_msssim, mixed (1 - alpha) MSE + alpha k LOSS.",
    ),
    alpha: float = typer.Option(
        None, "--alpha", help="Weight of the quality term (default 0.2; 0 with --loss mse)."
    ),
    target: str = typer.Option(
        "source",
        "--target",
        help="What the MSE judges D against: source (S) | reference (R, the codec's input).",
    ),
    loss_weights: str = typer.Option(
        "pretrained",
        "--loss-weights",
        help="Quality-model weights: pretrained | pretrained:RELEASE | random | PATH.",
    ),
    dataset: str = typer.Option(
        "mini", "--dataset", help="Sources S: a dataset name or a folder of videos."
    ),
    sources: str = typer.Option(None, "--sources", help="Comma-separated source names."),
    frames: int = typer.Option(8, "--frames", help="Frames per source (first N)."),
    size: str = typer.Option("128x72", "--size", help="Scale sources to WIDTHxHEIGHT."),
    reference: str = typer.Option(
        "x264:qp=37", "--reference", help="Stage 1, S -> R: the codec's input."
    ),
    patch: str = typer.Option(
        "64x64x4", "--patch", help="Clip WIDTHxHEIGHTxFRAMES (frames >= 12 for rankdvqa_ugc)."
    ),
    clips: int = typer.Option(4, "--clips-per-source", help="Clips per (S, R)."),
    iterations: int = typer.Option(40, "--iterations", help="Optimiser steps."),
    batch: int = typer.Option(2, "--batch", help="Clips per step."),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate."),
    lmbda: float = typer.Option(
        None,
        "--lambda",
        help="Rate-distortion lambda (default CompressAI's MSE lambda of the quality).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of clip positions, batches, noise."),
    device: str = typer.Option(
        "cpu",
        "--device",
        help="Training device: cpu | cuda | cuda:N | auto (the codec codes on the CPU).",
    ),
    threads: int = typer.Option(
        None, "--threads", metavar="N", help="torch CPU threads (default 1)."
    ),
) -> None:
    """Fine-tune a CompressAI image codec with (1 - alpha) MSE + alpha k PT-Loss and rate.

    loss = lambda 255^2 ((1 - alpha) MSE(S, D) + alpha k P(R, D)) + bpp; k = the ratio of the
    means of the MSE and P over the first 5 iterations. The result runs in vqabench run as
    --codec compressai:model=SAME:checkpoint=OUT/{quality}.pth:quality=N.
    """
    set_threads(threads)
    from vqabench import datasets
    from vqabench.cli.run import BarFeed
    from vqabench.codecs.finetune import FinetuneOptions
    from vqabench.config import parse_size
    from vqabench.datasets.patches import PatchSize
    from vqabench.runner.finetune import parse_start_codec, train_codec

    options = FinetuneOptions(
        loss=loss,
        alpha=(0.0 if loss == "mse" else 0.2) if alpha is None else alpha,
        iterations=iterations,
        batch=batch,
        lr=lr,
        seed=seed,
        target=target,
        loss_weights=loss_weights,
        device=device,
    )
    levels = _qualities(quality)
    parse_start_codec(start, levels)  # refuse a bad codec before the data are made
    patch_size = PatchSize.parse(patch)
    names = tuple(s.strip() for s in sources.split(",") if s.strip()) if sources else None
    seqs = datasets.load(
        dataset,
        frames=frames,
        size=parse_size(size) if size else None,
        work_dir=out / "work",
        sequences=names,
    )
    feed = BarFeed(f"train codec -> {out}", "iterations")
    try:
        paths = train_codec(
            start,
            levels,
            seqs,
            out,
            options=options,
            reference=reference,
            patch=patch_size,
            clips_per_source=clips,
            lmbda=lmbda,
            command=_command_line(ctx),
            progress=feed.both,
        )
    finally:
        feed.stop()
    for path in paths:
        console.print(f"wrote {path} (card {path.with_suffix('.md')})")
