"""Faults of the machine rather than of the input.

A job failure is *transient* when the same job may well succeed on the next try with the
same input and code: the disk (or the quota) was full, the worker process was killed (the
OOM killer, ``kill``), the job was interrupted (Ctrl-C, a signal), memory ran out. The next
plain ``vqabench run`` retries it. Every other failure (the encoder refused the input, a
metric gave NaN, a corrupt frame) is *permanent*: it is reported again until its cause is
fixed and the run is repeated with ``--retry-failed``.

:func:`resource_error` turns an ``OSError`` or ``sqlite3`` error caused by the machine (a
full disk, a read-only folder, a corrupt SQLite file) into a typed one-line
:class:`~vqabench.errors.ResourceError` that names the path (and, for a full disk, how much
was free there).

Example:
    >>> failure_kind(OSError(28, "No space left on device"))
    'transient'
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Literal

from vqabench.errors import (
    DiskFullError,
    FfmpegError,
    ReadOnlyError,
    ResourceError,
    StoreCorruptError,
)

__all__ = [
    "TRANSIENT",
    "PERMANENT",
    "FailureKind",
    "failure_kind",
    "kind_of_error",
    "is_disk_full",
    "is_corrupt_store",
    "free_bytes",
    "human_bytes",
    "disk_full_text",
    "written_path",
    "resource_error",
]

TRANSIENT: Literal["transient"] = "transient"
PERMANENT: Literal["permanent"] = "permanent"
FailureKind = Literal["transient", "permanent"]

_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "database or disk is full")
#: What the recorded error text of a transient failure contains (for stores written before
#: failures had a kind, and for errors that only arrive as text, e.g. from a cluster).
_TRANSIENT_TEXT = re.compile(
    "|".join(
        map(
            re.escape,
            (
                *_DISK_FULL_TEXT,
                "DiskFullError:",
                "WorkerDied:",
                "KilledWorker",
                "received signal",
                "killed by signal",
                "MemoryError:",
            ),
        )
    )
)
#: SQLite texts of a file that is not a (whole) database.
_CORRUPT_TEXT = ("file is not a database", "database disk image is malformed")


def kind_of_error(text: str) -> FailureKind:
    """The kind of a failure known only by its recorded text.

    Example:
        >>> kind_of_error("FfmpegError: ffmpeg failed (exit code 228): No space left on device")
        'transient'
    """
    return TRANSIENT if _TRANSIENT_TEXT.search(text or "") else PERMANENT


def is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, SQLite's "database or disk is full", and a tool (ffmpeg, an
    encoder) whose error output says so."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = f"{exc} {getattr(exc, 'stderr_tail', '')}"
    return any(t in text for t in _DISK_FULL_TEXT)


def is_corrupt_store(exc: BaseException) -> bool:
    """True for SQLite's "file is not a database" and "database disk image is malformed"."""
    return isinstance(exc, sqlite3.DatabaseError) and any(t in str(exc) for t in _CORRUPT_TEXT)


def failure_kind(exc: BaseException) -> FailureKind:
    """``transient`` for a full disk, memory that ran out, or a tool killed by a signal
    (Ctrl-C, the OOM killer); ``permanent`` for everything else."""
    if is_disk_full(exc) or isinstance(exc, MemoryError | KeyboardInterrupt):
        return TRANSIENT
    if isinstance(exc, FfmpegError) and (
        exc.returncode < -1  # -1: timed out
        or "received signal" in exc.stderr_tail
    ):
        return TRANSIENT
    return PERMANENT


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Free bytes on the file system of ``path`` (or of its nearest existing parent)."""
    path = Path(path).absolute()
    for where in (path, *path.parents):
        if where.exists():
            try:
                return shutil.disk_usage(where).free
            except OSError:
                return None
    return None


def human_bytes(n: int) -> str:
    """``n`` bytes as text with a binary unit, e.g. ``24.0 KiB``.

    Example:
        >>> human_bytes(24576)
        '24.0 KiB'
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, i = float(n), 0
    while value >= 1024 and i < len(units) - 1:
        value, i = value / 1024, i + 1
    return f"{int(n)} B" if i == 0 else f"{value:.1f} {units[i]}"


def disk_full_text(path: str | os.PathLike[str]) -> str:
    """``no space left on device writing PATH (N free there)``."""
    free = free_bytes(path)
    amount = "free space unknown" if free is None else f"{human_bytes(free)} free there"
    return f"no space left on device writing {path} ({amount})"


def written_path(exc: BaseException) -> Path | None:
    """The file an error was writing, where it says: an OSError's file name, or the output
    (last argument) of a failed ffmpeg command."""
    if isinstance(exc, OSError) and exc.filename:
        return Path(os.fsdecode(exc.filename))
    cmd = getattr(exc, "cmd", None)
    if isinstance(exc, FfmpegError) and cmd and os.path.isabs(cmd[-1]):
        return Path(cmd[-1])
    return None


def resource_error(
    exc: BaseException, path: str | os.PathLike[str] | None = None
) -> ResourceError | None:
    """The typed one-line error of a machine fault, or None when ``exc`` is not one.

    Args:
        exc: an OSError, a sqlite3 error, an FfmpegError...
        path: what was being written or opened, when ``exc`` does not say (a store).

    Returns:
        DiskFullError (disk or quota full: the path and the free bytes there),
        ReadOnlyError (read-only file system, or no write permission), StoreCorruptError
        (an SQLite file that is not a database), or None.
    """
    if isinstance(exc, ResourceError):
        return exc
    where = written_path(exc) or (Path(path) if path is not None else None)
    shown = where if where is not None else "a file"
    if is_disk_full(exc) or (
        isinstance(exc, sqlite3.OperationalError)
        and "disk I/O error" in str(exc)
        and where is not None
        and (free_bytes(where) or 0) < 1 << 20
    ):
        # SQLite reports a full disk while it grows its -shm file as an I/O error
        return DiskFullError(f"disk full: {disk_full_text(shown)}")
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return ReadOnlyError(f"cannot write {shown}: {reason}")
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
        return ReadOnlyError(f"cannot write {shown}: {exc}")
    if is_corrupt_store(exc):
        return StoreCorruptError(f"store {shown} is corrupt: {exc}")
    return None
