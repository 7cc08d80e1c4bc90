"""``vqabench weights`` (status of every pretrained file) and ``vqabench weights fetch``.

Only maps flags onto :mod:`vqabench.metrics.weights`.

Example:
    $ vqabench weights
    $ vqabench weights fetch dists lpips:net=vgg
    $ vqabench weights fetch --all --mirror http://weights.lab.example/
"""

from __future__ import annotations

import contextlib
import json
import sys

import typer

from vqabench.cli.app import app, err_console, new_typer
from vqabench.errors import DownloadError

__all__ = ["weights_app", "weights", "fetch"]

weights_app = new_typer(
    no_args_is_help=False,
    invoke_without_command=True,
    help="List pretrained weight files; fetch them.",
)
app.add_typer(weights_app, name="weights")


@weights_app.callback()
def weights(
    ctx: typer.Context,
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="hash present files against their published SHA-256"
    ),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object: searched folders and one entry per weight file."
    ),
) -> None:
    """List every pretrained weight file vqabench can use: present?, checksum, where to get it.
    ``vqabench weights fetch NAME...|--all`` downloads them."""
    if ctx.invoked_subcommand is not None:
        return
    from vqabench.cli.metrics import columns
    from vqabench.cli.models import shipped_checkpoints
    from vqabench.metrics.weights import search_dirs, weight_status

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "searched": [str(d) for d in search_dirs()],
                    "weights": [
                        {
                            "file": st.weight.filename,
                            "present": st.present,
                            "checksum": st.checksum,
                            "used_by": list(st.weight.used_by),
                            "path": str(st.path) if st.path else None,
                            "url": st.weight.url,
                        }
                        for st in weight_status(verify=verify)
                    ],
                },
                default=str,
            )
        )
        return

    typer.echo("searched, in order: " + ", ".join(str(d) for d in search_dirs()))
    rows = [("file", "checksum", "used by", "location")]
    for st in weight_status(verify=verify):
        where = str(st.path) if st.path else f"missing; get it from {st.weight.url}"
        rows.append((st.weight.filename, st.checksum, ", ".join(st.weight.used_by), where))
    for name, path in shipped_checkpoints().items():
        rows.append((path.name, "shipped", f"{name} metric and loss", str(path)))
    typer.echo(columns(rows))


def _bytes_bar(filename: str):  # noqa: ANN202 (rich.progress.Progress, imported lazily)
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn(f"[bold]{filename}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console.get(),
        transient=True,
        disable=not err_console.is_terminal,
    )


def _checked(result) -> str:  # noqa: ANN001 (FetchResult)
    """How the file was checked, in words."""
    expected = result.weight.sha256_prefix
    if result.verified == "full":
        return f"sha256 {expected[:12]}... matches (full published hash)"
    if result.verified == "prefix":
        return f"sha256 prefix {expected} matches"
    return f"no published checksum; its sha256 is {result.sha256}"


@weights_app.command("fetch")
def fetch(
    names: list[str] = typer.Argument(
        None,
        metavar="NAME...",
        show_default=False,
        help="metric (dists, lpips, lpips:net=vgg, "
        "subject_consistency...), perceptual_loss or file name",
    ),
    all_: bool = typer.Option(False, "--all", help="every file in `vqabench weights`"),
    mirror: str = typer.Option(
        None,
        "--mirror",
        metavar="URL",
        show_default=False,
        help="fetch URL/<file> instead of the origin (default: $VQABENCH_WEIGHTS_MIRROR)",
    ),
    timeout_s: float = typer.Option(
        60.0,
        "--timeout",
        metavar="SECONDS",
        help="seconds without data before a transfer counts as broken",
    ),
) -> None:
    """Download the pretrained files that metrics need, check the published SHA-256, and
    move each into place atomically (into $VQABENCH_WEIGHTS when set, else the folder its
    library reads). A broken transfer resumes when the command is run again."""
    from vqabench.errors import invalid
    from vqabench.metrics import weights as w

    if not names and not all_:
        raise invalid("NAME", "nothing", "one or more names (see `vqabench weights`) or --all")
    if names and all_:
        raise invalid("NAME", " ".join(names), "nothing with --all (it fetches every file)")
    if not timeout_s > 0:
        raise invalid("--timeout", timeout_s, "a number of seconds > 0")
    files = list(w.KNOWN_WEIGHTS.values()) if all_ else w.files_for(names)
    failed = 0
    for weight in files:
        bar = _bytes_bar(weight.filename)
        task = bar.add_task(weight.filename, total=None)
        try:
            # not on a terminal: no bar at all (older rich prints an empty line on stop)
            with bar if not bar.disable else contextlib.nullcontext():
                result = w.fetch(
                    weight,
                    mirror=mirror,
                    timeout_s=timeout_s,
                    progress=lambda done, total, bar=bar, task=task: bar.update(
                        task, completed=done, total=total
                    ),
                )
        except DownloadError as exc:
            failed += 1
            print(f"vqabench: error: {exc}", file=sys.stderr)
            continue
        verb = "fetched to" if result.fetched else "already at"
        typer.echo(f"{weight.filename}: {verb} {result.path}; {_checked(result)}")
    if failed:  # one line per failed file above; exit 4 like any ResourceError
        raise typer.Exit(4)
