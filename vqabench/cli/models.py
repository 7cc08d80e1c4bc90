"""``vqabench models info|list`` and ``vqabench train model``: learned quality models.

Only maps flags onto :mod:`vqabench.models`; errors are typed and printed by the CLI shell.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vqabench.cli.app import app, console, err_console, new_typer, set_threads
from vqabench.cli.train import train_app
from vqabench.errors import invalid

__all__ = ["models_app", "info", "list_models", "train"]

models_app = new_typer(help="Learned quality models (PT-Loss, RankDVQA-UGC).")
app.add_typer(models_app, name="models")


def _models_dir() -> Path:
    """``vqabench/models`` found without importing it (its import loads torch: seconds)."""
    import importlib.util

    spec = importlib.util.find_spec("vqabench.models")
    assert spec is not None and spec.submodule_search_locations  # part of this package
    return Path(list(spec.submodule_search_locations)[0])


def shipped_checkpoints() -> dict[str, Path]:
    """Model name -> checkpoint shipped in ``vqabench/models/weights`` (no torch import)."""
    weights = _models_dir() / "weights"
    return {p.stem: p for p in sorted(weights.glob("*.pt"))}


def model_names() -> list[str]:
    """The registered model names (lazy registry entries and entry-point plugins; no torch
    import): :func:`vqabench.models.available`."""
    from vqabench.models import available

    return available()


@models_app.command("list")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="One JSON array of model objects."),
) -> None:
    """List the registered quality models and their shipped checkpoints (fast: no torch)."""
    shipped = shipped_checkpoints()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": name,
                        "checkpoint": str(shipped[name]) if name in shipped else None,
                        "shipped": name in shipped,
                    }
                    for name in model_names()
                ]
            )
        )
        return
    for name in model_names():
        path = shipped.get(name)
        where = (
            f"shipped {path.name} ({path.stat().st_size / 1e6:.1f} MB)"
            if path
            else "no shipped checkpoint"
        )
        typer.echo(f"{name}\t{where}")


@models_app.command("info")
def info(
    name: str = typer.Argument(..., help="Model name: pt_loss | rankdvqa_ugc."),
    patch: str = typer.Option("256x256x12", "--patch", help="Patch WIDTHxHEIGHTxFRAMES."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    repeats: int = typer.Option(3, "--repeats", help="Timed CPU runs (median); 0 skips."),
    threads: int = typer.Option(
        None, "--threads", metavar="N", help="torch CPU threads (default 1: see --help of run)."
    ),
) -> None:
    """Parameters, MACs and CPU time per (reference, distorted) patch pair."""
    set_threads(threads)
    from vqabench.models.complexity import model_info, parse_patch

    result = model_info(name, parse_patch(patch), time_repeats=repeats)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), sort_keys=True))
        return
    console.print(f"model       {result.name}")
    console.print(f"patch       {result.width}x{result.height}x{result.frames} (WxHxT)")
    console.print(f"parameters  {result.params:,} ({result.params / 1e6:.3f} M)")
    console.print(
        f"MACs        {result.macs / 1e9:.3f} G per patch pair "
        f"(selective scan {result.scan_macs / 1e6:.3f} M)"
    )
    if result.cpu_s is not None:
        per_pair = f"{result.cpu_s * 1e3:.1f} ms per patch pair"
        console.print(f"CPU time    {per_pair} ({result.threads} threads, median of {repeats})")


@train_app.command("model")
def train(
    model: str = typer.Argument(..., help="Model to train: pt_loss | rankdvqa_ugc."),
    pairs: Path = typer.Option(..., "--pairs", help="Pairs directory (manifest.csv + .npz)."),
    out: Path = typer.Option(..., "--out", help="Checkpoint to write (resumed if present)."),
    epochs: int = typer.Option(10, "--epochs", help="Epochs, fine-tuning included."),
    steps: int = typer.Option(500, "--steps", help="Optimiser steps per epoch."),
    batch_size: int = typer.Option(8, "--batch-size", help="Ranking pairs per step."),
    lr: float = typer.Option(1e-4, "--lr", help="AdamW learning rate."),
    seed: int = typer.Option(0, "--seed", help="Seed of init, split and sampling."),
    finetune_epochs: int = typer.Option(
        1, "--finetune-epochs", help="Final single-source-only epochs."
    ),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of sources held out."),
    device: str = typer.Option(None, "--device", help="cpu | cuda (default: cuda if any)."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Start over even if OUT exists."),
    sources: str = typer.Option(
        None,
        "--sources",
        help="Train on these sources only (comma-separated); the others stay held out.",
    ),
    model_config: str = typer.Option(
        None, "--model-config", help="Architecture options as JSON, e.g. '{\"frame_chunk\": null}'."
    ),
    threads: int = typer.Option(
        None,
        "--threads",
        metavar="N",
        help="torch CPU threads (default 1; see reports/performance.md, Threads).",
    ),
    augment: str = typer.Option(
        "none",
        "--augment",
        help="Random symmetry of each training "
        "patch pair: none | transpose (keeps VMAF) | dihedral (8 "
        "flips and rotations).",
    ),
    lr_schedule: str = typer.Option(
        "constant",
        "--lr-schedule",
        help="constant | cosine (decay to the fine-tuning rate over the ranking stage).",
    ),
) -> None:
    """Train a quality model by Siamese ranking on (R, D) patch pairs labelled VMAF(S, D).

    Schedule: the last min(--finetune-epochs, --epochs - 1) epochs fine-tune on
    single-source pairs at 0.1x the learning rate; every epoch before them is the ranking
    stage (single- and cross-source pairs 8:2), so --epochs 1 is one ranking epoch.
    """
    set_threads(threads)
    from vqabench.cli.run import BarFeed
    from vqabench.models.ranking import train as run_training

    feed = BarFeed(f"train {model}", "steps")
    try:
        result = run_training(
            model,
            pairs,
            out,
            epochs=epochs,
            steps_per_epoch=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            finetune_epochs=finetune_epochs,
            val_fraction=val_fraction,
            resume=not no_resume,
            device=device,
            log=True,
            sources=_names(sources),
            model_config=_json_options(model_config),
            progress=feed.both,
            augment=augment,
            lr_schedule=lr_schedule,
        )
    finally:
        feed.stop()
    last = result.history[-1] if result.history else {}
    console.print(
        f"wrote {result.checkpoint} (epoch {result.epochs_completed}, "
        f"val SROCC {last.get('val_srocc', float('nan')):.4f})"
    )


def _training_overlap(checkpoint: str, sources: set[str]) -> str:
    """Text naming the evaluated sources the checkpoint's training run used, or ``""``."""
    import torch

    shipped = shipped_checkpoints()
    path = shipped.get(checkpoint, Path(checkpoint))
    data = torch.load(path, map_location="cpu", weights_only=True)
    config = data.get("train_config") or {}
    trained = data.get("trained_sources") or config.get("sources")
    if trained is None:
        return (
            (
                f"checkpoint {checkpoint!r} was trained on every source of "
                f"{config.get('pairs_dir', 'its pairs directory')!r}; if these pairs come "
                "from there, they overlap it"
            )
            if config
            else ""
        )
    both = sorted(sources & {str(s) for s in trained})
    if not both:
        return ""
    return (
        f"{len(both)} of the {len(sources)} evaluated sources ({', '.join(both)}) were "
        f"used to train or validate checkpoint {checkpoint!r}"
    )


def _json_options(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise invalid("--model-config", text, 'a JSON object, e.g. {"frame_chunk": null}')
    return value


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


@models_app.command("evaluate")
def evaluate(
    pairs: Path = typer.Option(..., "--pairs", help="Pairs directory (manifest.csv + .npz)."),
    checkpoint: str = typer.Option(
        None,
        "--checkpoint",
        help="Model name (shipped weights) or checkpoint path; omit for the baselines only.",
    ),
    sources: str = typer.Option(
        None,
        "--sources",
        help="Only these sources (comma-separated), e.g. the ones held out of training.",
    ),
    codecs: str = typer.Option(
        None,
        "--codecs",
        help="Only the D of these codecs or "
        "defects (comma-separated, the manifest's codec column), "
        "e.g. x264,aom-av1,vp9 or noise,blur.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    threads: int = typer.Option(
        None, "--threads", metavar="N", help="torch CPU threads (default 1)."
    ),
    bootstrap: int = typer.Option(
        0, "--bootstrap", metavar="N", help="95 % intervals from N resamples of whole sources."
    ),
) -> None:
    """SROCC with VMAF(S, D) of a quality model and of PSNR/SSIM/VMAF(R, D) baselines.

    Warns when the pairs include sources the checkpoint was trained (or validated) on: the
    SROCC is then not a held-out result.
    """
    set_threads(threads)
    from vqabench.cli.run import BarFeed
    from vqabench.evaluation.quality_models import ranking_srocc
    from vqabench.models import load_checkpoint
    from vqabench.models.ranking import PairsDataset

    model = load_checkpoint(checkpoint) if checkpoint else None
    if checkpoint:
        seen = set(PairsDataset(pairs, sources=_names(sources), codecs=_names(codecs)).sources)
        overlap = _training_overlap(checkpoint, seen)
        if overlap:
            err_console.print(
                f"warning: {overlap}; this SROCC is not a held-out result "
                "(pass --sources with sources the checkpoint never saw)",
                markup=False,
                highlight=False,
            )
    feed = BarFeed("models evaluate", "pairs scored")
    try:
        result = ranking_srocc(
            pairs,
            model=model,
            sources=_names(sources),
            codecs=_names(codecs),
            progress=feed.both,
            bootstrap=bootstrap,
        )
    finally:
        feed.stop()
    if as_json:
        console.print_json(json.dumps(result))
        return
    intervals = result.get("intervals", {})
    for key, value in result.items():
        if key in ("pairs", "sources"):
            console.print(f"{key:8s} {int(value)}")
        elif key not in ("intervals", "differences"):
            ci = intervals.get(key)
            console.print(f"{key:8s} {value:.4f}" + (f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
    for name, d in result.get("differences", {}).items():
        console.print(
            f"model - {name}  {d['difference']:+.4f}  [{d['ci'][0]:+.4f}, "
            f"{d['ci'][1]:+.4f}]  p {d['p_bootstrap']:.3f}"
        )
    if intervals:
        console.print(f"(95 % intervals: {bootstrap} bootstrap resamples of whole sources)")


@models_app.command("export")
def export(
    checkpoint: Path = typer.Argument(..., help="Checkpoint written by vqabench train."),
    out: Path = typer.Argument(..., help="Inference-only copy to write."),
    full_precision: bool = typer.Option(False, "--float32", help="Keep float32 weights."),
    int8: bool = typer.Option(False, "--int8", help="int8 weights, a scale per channel."),
) -> None:
    """Write a small inference-only checkpoint (no optimizer state, float16 weights)."""
    from vqabench.models import export_checkpoint

    path = export_checkpoint(checkpoint, out, half=not full_precision, int8=int8)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
