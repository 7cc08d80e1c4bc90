"""Sequences, datasets and the dataset registry.

A dataset loader turns a name (or a folder) into :class:`Sequence` objects whose sources are
Y4M files ready for encoding, converted and trimmed on the way where asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vqabench.io.hashing import content_hash
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
