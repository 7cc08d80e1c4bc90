"""Sequences, datasets and the dataset registry.

A dataset loader turns a name (or a folder) into :class:`Sequence` objects whose sources are
Y4M files ready for encoding, converted and trimmed on the way where asked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vqabench.io.video import Video
from vqabench.registry import Registry

__all__ = ["Sequence", "DatasetLoader", "DATASETS", "cache_dir", "content_hash"]


@dataclass(frozen=True)
class Sequence:
    """One source sequence S.

    Attributes:
        name: short unique name within its dataset (used in results and file names).
        source: the Y4M source video.
        metadata: text facts such as ``dataset``, ``class`` or ``group``.
    """

    name: str
    source: Video
    metadata: Mapping[str, str] = field(default_factory=dict)


# loader(frames=..., size=..., work_dir=..., root=...) -> list[Sequence]
DatasetLoader = Callable[..., list[Sequence]]
DATASETS: Registry[DatasetLoader] = Registry("dataset")


def cache_dir() -> Path:
    """Where generated sources are cached: ``$VQABENCH_CACHE`` or ``~/.cache/vqabench``."""
    root = os.environ.get("VQABENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "vqabench"


_HASHES: dict[tuple[str, int, int], str] = {}


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and mtime within a process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]
