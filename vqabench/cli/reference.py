"""The CLI reference (docs/cli.md), generated from the Typer app.

Every command and command group, in the app's order, with its ``--help`` text as click
renders it at a fixed width (:data:`WIDTH`), so the file does not depend on the terminal
that writes it. ``tests/cli/test_reference.py`` regenerates it and compares.

Usage::

    python -m vqabench.cli.reference            # rewrites docs/cli.md
    python -m vqabench.cli.reference --check    # exit 1 when docs/cli.md is out of date
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

__all__ = ["WIDTH", "DEFAULT_PATH", "iter_commands", "render_reference", "main"]

#: Columns of the help text (click's formatter width), fixed for reproducible output.
WIDTH = 100
#: Where the reference lives in a source checkout.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

_HEADER = """\
# CLI reference

Generated from the Typer app by `python -m vqabench.cli.reference` (do not edit by hand;
`tests/cli/test_reference.py` fails when this file is out of date). Every command also
answers `-h` / `--help`. How the commands fit together: [the user guide](index.md).

Help text as typer {typer_version} lays it out.
"""


def typer_version() -> str:
    """The installed Typer's version (its help layout differs between releases)."""
    from importlib.metadata import version

    return version("typer")


# Typer ships its own copy of click (typer._click), so the command objects are typed loosely
# (Any) and their own context class is used, not the installed click's.


def _context(command: Any, name: str, parent: Any) -> Any:
    settings = {
        **command.context_settings,
        "terminal_width": WIDTH,
        "max_content_width": WIDTH,
    }  # -h as well as --help, as on the command line
    return command.context_class(command, info_name=name, parent=parent, **settings)


def iter_commands(
    command: Any, name: str = "vqabench", parent: Any = None
) -> Iterator[tuple[str, Any, Any]]:
    """Each command and group under ``command``, depth first in the app's order.

    Args:
        command: a click command or group (``typer.main.get_command(app)``).
        name: its name on the command line.
        parent: the click context of the group above it (None at the top).

    Yields:
        (command path, command, its click context).
    """
    ctx = _context(command, name, parent)
    yield ctx.command_path, command, ctx
    if hasattr(command, "list_commands"):  # a group
        for sub in command.list_commands(ctx):
            child = command.get_command(ctx, sub)
            if child is None or child.hidden:
                continue
            yield from iter_commands(child, sub, ctx)


def render_reference(app: typer.Typer | None = None) -> str:
    """The Markdown text of docs/cli.md for ``app`` (default: vqabench's)."""
    if app is None:
        from vqabench.cli import app as vqabench_app

        app = vqabench_app
    root = typer.main.get_command(app)
    entries = list(iter_commands(root))
    lines = [_HEADER.format(typer_version=typer_version()), "## Commands", ""]
    for path, command, _ in entries:
        summary = command.get_short_help_str(limit=WIDTH)
        lines.append(f"- [`{path}`](#{_anchor(path)}): {summary}")
    for path, command, ctx in entries:
        lines += ["", f"## {path}", "", "```text", command.get_help(ctx).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading made of words and spaces."""
    return "-".join(heading.lower().split())


def main(argv: list[str] | None = None) -> int:
    """Write docs/cli.md, or with ``--check`` compare it; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    text = render_reference()
    if args == ["--check"]:
        current = DEFAULT_PATH.read_text() if DEFAULT_PATH.exists() else ""
        if current != text:
            print(
                f"{DEFAULT_PATH} is out of date: run python -m vqabench.cli.reference",
                file=sys.stderr,
            )
            return 1
        return 0
    if args:
        print("usage: python -m vqabench.cli.reference [--check]", file=sys.stderr)
        return 2
    from vqabench.io.atomic import atomic_write_text

    atomic_write_text(DEFAULT_PATH, text)
    print(f"wrote {DEFAULT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
