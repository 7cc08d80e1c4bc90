"""The Typer application object; command modules attach their commands to it."""

from __future__ import annotations

import typer

__all__ = ["app", "console", "err_console"]

app = typer.Typer(
    name="vqabench",
    help="Benchmark video codecs and video quality metrics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

from rich.console import Console  # noqa: E402

console = Console()
err_console = Console(stderr=True)
