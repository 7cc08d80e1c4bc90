"""Command-line interface: ``vqabench COMMAND``.

One module per command group; they only map flags onto the library. :func:`main` turns
every :class:`~vqabench.errors.VqabenchError` into one line on stderr and a non-zero exit,
never a traceback (set ``VQABENCH_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click
import typer

from vqabench.cli.app import app
from vqabench.errors import VqabenchError

__all__ = ["main", "app"]

# Each module attaches its commands to ``app`` on import.
_COMMAND_MODULES = ("run", "doctor", "metrics", "report", "evaluate", "models", "status",
                    "datasets", "study", "speed", "codecs")
for _mod in _COMMAND_MODULES:
    importlib.import_module(f"vqabench.cli.{_mod}")


def _click_errors() -> tuple[type[BaseException], ...]:
    """The click exception base classes in use (Typer may vendor its own click)."""
    bases: list[type[BaseException]] = [click.exceptions.ClickException]
    try:
        from typer._click import exceptions as vendored  # Typer >= 0.2x ships its own click

        bases.append(vendored.ClickException)
    except ImportError:
        pass
    return tuple(bases)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings as one line on stderr: ``vqabench: warning: ...``."""
    print(f"vqabench: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``vqabench`` console script."""
    debug = bool(os.environ.get("VQABENCH_DEBUG"))
    if not debug:
        warnings.showwarning = _one_line_warning
    try:
        result = app(args=argv, prog_name="vqabench", standalone_mode=False)
    except VqabenchError as exc:
        if debug:
            raise
        print(f"vqabench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (typer.Exit, click.exceptions.Exit) as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, click.exceptions.Abort):
        print("vqabench: aborted", file=sys.stderr)
        sys.exit(130)
    except _click_errors() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `vqabench` or a group: help
            exc.show()
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        print(f"vqabench: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except KeyboardInterrupt:
        print("vqabench: interrupted; finished jobs are kept, run the same command to resume",
              file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, traceback on request
        if debug:
            raise
        print(f"vqabench: internal error: {type(exc).__name__}: {exc} "
              "(set VQABENCH_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(3)
    sys.exit(result if isinstance(result, int) else 0)
