"""Atomic file writes: a temporary file in the destination's folder, renamed into place.

A crash leaves either the old file or the new one, never half of one; the temporary file is
removed on any error. The result gets the permissions a plain ``open(path, "w")`` would
give (``0o666`` less the umask), not the ``0o600`` of :func:`tempfile.mkstemp`, so that
results on a shared cluster stay readable by the group.

Example:
    >>> with atomic_path(Path("runs/x/results.csv")) as tmp:
    ...     frame.to_csv(tmp)
    >>> atomic_write_text(Path("config.toml"), text)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-"  # stale files with this prefix are removed when a run starts


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without error, it
    replaces ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=TMP_PREFIX, suffix=path.suffix if suffix is None else suffix, dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
