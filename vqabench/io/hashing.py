"""The one content hasher: SHA-256 of files (``hashlib.file_digest``) and of key texts.

Every job key, source identity, weight checksum and checkpoint fingerprint in vqabench is a
SHA-256 hex digest made here.

Example:
    >>> file_sha256(Path("src.y4m"))[:12]
    >>> text_sha256("encode", input_hash, codec_spec, "qp=32")
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["file_sha256", "content_hash", "text_sha256"]

_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes, read in blocks (``hashlib.file_digest``)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_hash(path: str | os.PathLike[str]) -> str:
    """:func:`file_sha256`, memoised per (resolved path, size, mtime) within a process, so a
    run hashes each source once however many jobs use it."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MEMO:
        _MEMO[key] = file_sha256(path)
    return _MEMO[key]


def text_sha256(*parts: str) -> str:
    """SHA-256 hex digest of ``parts`` joined by the unit separator ``\\x1f`` (a key's fields
    can then never run into each other)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
