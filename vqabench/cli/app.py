"""The Typer application object; command modules attach their commands to it.

Help is click's plain layout (``rich_markup_mode=None``): one line per option, no
``<bool>`` metavars on flags, nothing boxed or cut when piped. Console output is never
hard-wrapped at 80 columns when stdout is not a terminal: tables keep one row per line.
The consoles are made on first use: a command that prints nothing through them (``-h``, a
validation error) does not import rich.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import typer

from vqabench.cli.coercion import PlainTyper

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "app",
    "console",
    "err_console",
    "LazyConsole",
    "new_typer",
    "set_threads",
    "version_callback",
    "CONTEXT",
    "CommandInterrupted",
]

#: ``-h`` as well as ``--help`` on every command.
CONTEXT = {"help_option_names": ["-h", "--help"]}


class CommandInterrupted(Exception):  # noqa: N818 (it is what happened, not an error)
    """Ctrl-C stopped a command; the message says what was kept. An Exception, so that it
    reaches :func:`vqabench.cli.main` (Typer turns a KeyboardInterrupt into a silent exit
    code 130)."""


def new_typer(**kwargs: object) -> typer.Typer:
    """A Typer (sub-)application with the settings every command group shares."""
    kwargs.setdefault("no_args_is_help", True)
    return PlainTyper(  # plain parameters parsed without pydantic (coercion.py)
        rich_markup_mode=None,
        context_settings=CONTEXT,
        pretty_exceptions_enable=False,
        add_completion=False,
        **kwargs,
    )


app = new_typer(name="vqabench", help="Benchmark video codecs and video quality metrics.")


def version_callback(value: bool) -> None:
    """Print ``vqabench VERSION`` and exit (``--version``)."""
    if value:
        from vqabench import __version__

        typer.echo(f"vqabench {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Benchmark video codecs and video quality metrics."""


def _width() -> int | None:
    """Terminal width on a terminal; wide enough for any table when piped or captured."""
    return None if sys.stdout.isatty() else 100_000


class LazyConsole:
    """A rich ``Console`` made on the first use of one of its attributes (:meth:`get` gives
    the console itself, for rich objects that take one)."""

    def __init__(self, *, stderr: bool = False):
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        """The console, made now if not yet: wide enough for any table when piped."""
        if self._console is None:
            from rich.console import Console

            if self._stderr:
                self._console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
            else:
                self._console = Console(width=_width(), soft_wrap=not sys.stdout.isatty())
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not forwarded (and no recursion before __init__ ran)
            raise AttributeError(name)
        return getattr(self.get(), name)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


def set_threads(threads: int | None) -> int:
    """Threads of torch and the BLAS/OpenMP libraries in this process; returns the count.

    Default 1 (see reports/performance.md, "Threads": with the cores shared, one thread per
    process stays fast where a thread per core collapses). Worker processes always use 1.
    """
    from vqabench.errors import invalid

    n = 1 if threads is None else threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise invalid("--threads", threads, "an integer >= 1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    return n


#: ``--executor`` and ``--scheduler``, shared by the commands that run runner jobs
#: (``run``, ``make-pairs``).
EXECUTOR_OPTION = typer.Option(
    "local",
    "--executor",
    metavar="local|dask",
    help="local (worker processes on this machine) or dask (a "
    "Dask cluster: local with --jobs workers, or the one at "
    "--scheduler).",
)
SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler address, e.g. tcp://head:8786 (with --executor dask).",
)
