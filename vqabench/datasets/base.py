"""Sequences, datasets and the dataset registry.

A dataset loader turns a name (or a folder) into :class:`Sequence` objects whose sources are
Y4M files ready for encoding, converted and trimmed on the way where asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vqabench.io.cache import cache_dir
from vqabench.io.hashing import content_hash
from vqabench.io.video import Video, probe
from vqabench.registry import Registry

__all__ = ["Sequence", "DatasetLoader", "DATASETS", "cache_dir", "content_hash", "conversion_steps"]


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


def conversion_steps(
    path: Path,
    as_is: Video | None,
    *,
    size: tuple[int, int] | None,
    frames: int | None,
    start: int = 0,
) -> tuple[tuple[int, int] | None, int | None]:
    """``size`` and ``frames`` without the steps that change nothing.

    A size equal to the file's own and a frame count equal to all its frames (from
    ``start``) are no conversion: dropped, they cannot change the converted source's name or
    bytes (``setsar=1`` of a scaling), so the same file gives the same source whether the
    values came from the command line or from a run's resolved config.toml, and the two
    share every job.

    Args:
        path: the video file.
        as_is: its :func:`~vqabench.io.video.open_video` handle (Y4M, raw YUV), or None for
            a container (probed; a container that does not state its packet count keeps
            ``frames``).
        size: (width, height) asked for, or None.
        frames: frame count asked for, or None.
        start: first frame kept.

    Returns:
        ``(size, frames)``, each None where it would change nothing.
    """
    if size is None and frames is None:
        return None, None
    if as_is is not None:
        dims, count = (as_is.width, as_is.height), as_is.frames
    else:
        info = probe(path)
        dims, count = (info.width, info.height), info.packets
    return (
        None if size is not None and tuple(size) == dims else size,
        None if frames is not None and count and frames == count - start else frames,
    )
