"""Command-line interface: ``vqabench COMMAND``.

One module per command group; they only map flags onto the library. :func:`main` turns
every :class:`~vqabench.errors.VqabenchError` into one line on stderr and a non-zero exit,
never a traceback (set ``VQABENCH_DEBUG=1`` to see one).

Exit codes: 0 done; 1 work remains (failed or pending jobs); 2 bad input (a flag, a config,
a video); 3 internal error (a bug: please report it); 4 the machine stopped the work (disk
full, a read-only folder, a corrupt store: :class:`~vqabench.errors.ResourceError`; what was
finished is kept); 130 interrupted (Ctrl-C; what was finished is kept).
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import warnings

import typer

from vqabench.cli.app import CommandInterrupted, app
from vqabench.errors import ResourceError, VqabenchError

__all__ = ["main", "app"]

# Each module attaches its commands to ``app`` on import.
_COMMAND_MODULES = (
    "run",
    "doctor",
    "metrics",
    "report",
    "evaluate",
    "models",
    "status",
    "datasets",
    "study",
    "speed",
    "codecs",
    "weights",
)
for _mod in _COMMAND_MODULES:
    importlib.import_module(f"vqabench.cli.{_mod}")


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """The click exception class ``name`` (``ClickException``, ``Exit``, ``Abort``) of the
    clicks in use: Typer's own copy (Typer >= 0.2x) and the installed click once something
    imported it (Typer < 0.2x does; importing it only to catch its errors costs 0.02 s)."""
    classes = []
    try:
        from typer._click import exceptions as vendored  # Typer >= 0.2x ships its own click

        classes.append(getattr(vendored, name, None))
    except ImportError:
        pass
    if (click := sys.modules.get("click")) is not None:
        classes.append(getattr(click.exceptions, name, None))
    return tuple(c for c in classes if c is not None)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings as one line on stderr: ``vqabench: warning: ...``."""
    print(f"vqabench: warning: {message}", file=sys.stderr)


def _interrupted(exc: BaseException | None, argv: list[str]) -> None:
    """Ctrl-C: what was kept (a run says how much) and the command that resumes; exit 130."""
    command = shlex.join(["vqabench", *argv])
    if isinstance(exc, CommandInterrupted):
        print(f"vqabench: interrupted: {exc}; resume with: {command}", file=sys.stderr)
    else:
        print(f"vqabench: interrupted; run it again with: {command}", file=sys.stderr)
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``vqabench`` console script."""
    debug = bool(os.environ.get("VQABENCH_DEBUG"))
    if not debug:
        warnings.showwarning = _one_line_warning
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="vqabench", standalone_mode=False)
    except ResourceError as exc:
        if debug:
            raise
        print(f"vqabench: error: {exc}", file=sys.stderr)
        sys.exit(4)
    except VqabenchError as exc:
        if debug:
            raise
        print(f"vqabench: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except CommandInterrupted as exc:
        _interrupted(exc, args)
    except (typer.Exit, *_click_classes("Exit")) as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, *_click_classes("Abort")):
        print("vqabench: aborted", file=sys.stderr)
        sys.exit(130)
    except _click_classes("ClickException") as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `vqabench` or a group: help
            exc.show()
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        print(f"vqabench: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except KeyboardInterrupt as exc:
        _interrupted(exc, args)
    except Exception as exc:  # a bug: still one line, traceback on request
        if debug:
            raise
        from vqabench.io.faults import resource_error

        if (fault := resource_error(exc)) is not None:  # a full disk, a read-only folder...
            print(f"vqabench: error: {fault}", file=sys.stderr)
            sys.exit(4)
        print(
            f"vqabench: internal error: {type(exc).__name__}: {exc} "
            "(set VQABENCH_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        sys.exit(3)
    if result == 130:  # Typer's answer to a KeyboardInterrupt (Ctrl-C) outside a run
        _interrupted(None, args)
    sys.exit(result if isinstance(result, int) else 0)
