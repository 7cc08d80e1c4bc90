"""The one subprocess runner: argument lists (never a shell), timed, the tail of the error
output in the exception. ffmpeg (:func:`vqabench.io.ffmpeg.run_ffmpeg`), the codecs'
encoders and decoders and the external codec adapter all run through :func:`run_command`.

Example:
    >>> done = run_command(["ffmpeg", "-version"])
    >>> done.returncode, done.elapsed_s
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence

from vqabench.errors import FfmpegError

__all__ = ["TimedProcess", "run_command", "ErrorFactory"]

#: ``error(cmd, returncode, output)`` -> the exception to raise; ``output`` is the error
#: output (stderr, or stdout when stderr is empty); returncode -1 means it timed out
ErrorFactory = Callable[[list[str], int, str], Exception]


class TimedProcess(subprocess.CompletedProcess):
    """A finished process (``args``, ``returncode``, ``stdout``, ``stderr``) and its wall
    time ``elapsed_s`` in seconds."""

    elapsed_s: float = 0.0


def run_command(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    timeout_s: float | None = None,
    check: bool = True,
    error: ErrorFactory = FfmpegError,
    errors: str = "strict",
) -> TimedProcess:
    """Run ``cmd`` (an argument list, executable first), capture its text output, time it.

    Args:
        cmd: the argument list; file names are never interpreted by a shell.
        timeout_s: wall-clock limit in seconds (None: none).
        check: raise ``error(...)`` on a non-zero exit code (and on a timeout).
        error: builds the exception (default :class:`~vqabench.errors.FfmpegError`, which
            keeps the command and the last lines of the error output).
        errors: how output bytes that are not UTF-8 are decoded (``"replace"`` for a command
            that writes binary data, e.g. a bitstream on stdout, or logs raw header bytes).

    Raises:
        The exception of ``error``: non-zero exit or timeout (with ``check``).
        OSError: the executable cannot be started (callers name what they tried to run).
    """
    args = [str(a) for a in cmd]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, errors=errors, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        raise error(args, -1, f"timed out after {timeout_s} s") from exc
    done = TimedProcess(proc.args, proc.returncode, proc.stdout, proc.stderr)
    done.elapsed_s = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise error(args, proc.returncode, proc.stderr if proc.stderr.strip() else proc.stdout)
    return done
