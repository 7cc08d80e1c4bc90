"""``vqabench metrics list`` and ``vqabench metrics compute`` (``vqabench weights`` is in
:mod:`vqabench.cli.weights`).

Only maps flags onto :mod:`vqabench.metrics`.

Example:
    $ vqabench metrics compute lpips src.y4m dec.y4m --opt net=vgg
    $ vqabench metrics compute motion_smoothness_flow - dec.y4m
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from vqabench.cli.app import app, console, new_typer
from vqabench.errors import invalid

__all__ = ["metrics_app", "parse_options", "list_metrics", "compute", "columns"]

metrics_app = new_typer(help="List and compute quality metrics.")
app.add_typer(metrics_app, name="metrics")


def parse_options(pairs: list[str]) -> dict[str, str]:
    """``["net=vgg", "batch_size=4"]`` -> ``{"net": "vgg", "batch_size": "4"}``: the text
    of each option, parsed from the metric's declaration by :func:`vqabench.options.parse_options`.

    Raises:
        ConfigError: an item without ``=``.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise invalid("--opt", pair, "KEY=VALUE, e.g. --opt net=vgg")
        out[key.strip()] = value
    return out


@metrics_app.command("list")
def list_metrics(
    as_json: bool = typer.Option(False, "--json", help="One JSON array of metric objects."),
) -> None:
    """List registered metrics with kind, direction and licence (plus any pyiqa metric as
    pyiqa:NAME)."""
    from vqabench import metrics

    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": name,
                        "kind": cls.kind,
                        "higher_is_better": cls.higher_is_better,
                        "differentiable": bool(getattr(cls, "differentiable", False)),
                        "licence": cls.licence or "unknown",
                    }
                    for name in metrics.available()
                    if (cls := metrics.get_class(name))
                ]
            )
        )
        return
    for name in metrics.available():
        cls = metrics.get_class(name)
        direction = "higher" if cls.higher_is_better else "lower"
        console.print(
            f"{name:28s} {cls.kind:15s} {direction + ' is better':19s} "
            f"{cls.licence or 'licence unknown'}",
            highlight=False,
            markup=False,
        )
    from vqabench.metrics.perceptual import PyiqaMetric

    console.print(
        f"{'pyiqa:<name>':28s} any pyiqa image metric, frame-wise; {PyiqaMetric.licence}",
        highlight=False,
        markup=False,
    )
    from vqabench.metrics.vmaf import model_note, vmaf_models

    console.print("VMAF models (vmaf:model=NAME; vmaf_neg = vmaf_v0.6.1neg):", highlight=False)
    for model in vmaf_models():
        note = model_note(model)
        console.print(f"  {model:26s} {note or 'runs at any size'}", highlight=False, markup=False)


@metrics_app.command("compute")
def compute(
    name: str = typer.Argument(..., help="metric name, e.g. lpips, dists, pyiqa:ms_ssim"),
    reference: str = typer.Argument(
        ...,
        help="reference (source) video; '-' for none (sequence and no-reference metrics ignore it)",
    ),
    distorted: Path = typer.Argument(..., help="distorted (decoded) video"),
    opt: list[str] = typer.Option(
        [], "--opt", metavar="KEY=VALUE", help="metric option KEY=VALUE (repeatable)"
    ),
    per_frame: bool = typer.Option(False, "--per-frame", help="also print per-frame values"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Compute metric NAME of DISTORTED against REFERENCE (in that order)."""
    from vqabench import metrics
    from vqabench.options import parse_options as typed

    options = typed(metrics.get_class(name), parse_options(opt), f"metric {name!r}", text=True)
    metric = metrics.create(name, **options)  # fails fast on options or missing weights
    ref = None if reference == "-" else Path(reference)
    if ref is None and metric.kind == "full-reference":
        raise invalid("reference", reference, f"a video: {name} is full-reference")
    result = metric.compute(ref, distorted)  # any container, Y4M or named raw YUV
    if as_json:
        out = {
            "metric": metric.name,
            "value": result.value,
            "options": metric.options,
            "higher_is_better": metric.higher_is_better,
        }
        if per_frame:
            out["per_frame"] = list(result.per_frame)
        typer.echo(json.dumps(out, default=str))
        return
    typer.echo(f"{metric.name}\t{result.value:.6f}")
    if per_frame:
        for index, value in enumerate(result.per_frame):
            typer.echo(f"{index}\t{value:.6f}")


def columns(rows: list[tuple[str, ...]], gap: int = 2) -> str:
    """Rows as text columns, each as wide as its longest cell plus ``gap`` spaces (the last
    column unpadded): cells never run together, one row per line."""
    widths = [max(len(r[i]) for r in rows) + gap for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + r[-1] for r in rows
    )
