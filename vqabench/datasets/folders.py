"""Datasets that live in a folder on the user's disk.

The generic folder dataset takes every ``.y4m``, ``.yuv`` and container file (mp4, mkv,
mov, webm, avi, ...) in a directory, sorted by name. Raw ``.yuv`` files carry their size,
frame rate and format in the name (``Name_1920x1080_50fps_420_8bit.yuv``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from vqabench.datasets.base import Sequence, content_hash
from vqabench.errors import DatasetError
from vqabench.io.atomic import atomic_write_text
from vqabench.io.video import Video, open_video, to_y4m

__all__ = ["load_folder", "VIDEO_SUFFIXES", "sequence_name"]

VIDEO_SUFFIXES = {".y4m", ".yuv", ".mp4", ".mkv", ".mov", ".webm", ".avi", ".ivf", ".m4v",
                  ".ts", ".264", ".h264", ".265", ".hevc"}


def sequence_name(path: Path) -> str:
    """Short sequence name from a file name: the part before ``_WxH`` (``Beauty`` for
    ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``), else the stem."""
    stem = path.stem
    m = re.search(r"[_-]\d{2,5}x\d{2,5}", stem)
    return stem[: m.start()] if m and m.start() > 0 else stem


def _converted(file: Path, dst: Path, **options: object) -> Video:
    """``file`` converted to ``dst`` (:func:`to_y4m`), or the earlier conversion with the
    origins it recorded (``dst.origins.json``: the Y4M header cannot say that its rate was
    converted from a variable one, or that its format came from the container)."""
    note = dst.with_name(dst.name + ".origins.json")
    if dst.is_file():
        video = open_video(dst)
        try:
            origins = json.loads(note.read_text())
        except (OSError, ValueError):
            return video
        return replace(video, origins=tuple((str(k), str(v)) for k, v in origins.items()))
    video = to_y4m(file, dst, **options)  # type: ignore[arg-type]
    atomic_write_text(note, json.dumps(dict(video.origins), indent=1))
    return video


def load_folder(path: Path, *, frames: int | None = None, size: tuple[int, int] | None = None,
                work_dir: Path, fps: Fraction | None = None) -> list[Sequence]:
    """Sequences from the video files in ``path`` (a directory or one file).

    Files that need it (raw YUV, containers, or Y4M files whose frame count, size or frame
    rate differ from ``frames``/``size``/``fps``) are converted to Y4M under
    ``work_dir/sources``; other Y4M files are used in place, so their content hashes (and
    job keys) never change. A container with a variable frame rate is refused unless
    ``fps`` converts it (ffmpeg's fps filter; :func:`vqabench.io.video.to_y4m`).

    Raises:
        DatasetError: no video files, duplicate sequence names, unreadable videos.
    """
    path = Path(path)
    files = [path] if path.is_file() else sorted(
        p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise DatasetError(f"dataset={str(path)!r} holds no video files (expected "
                           f"{', '.join(sorted(VIDEO_SUFFIXES))})")
    sequences: list[Sequence] = []
    seen: dict[str, Path] = {}
    for file in files:
        name = sequence_name(file)
        if name in seen:
            raise DatasetError(f"two files give the sequence name {name!r}: {seen[name].name} "
                               f"and {file.name}; rename one")
        seen[name] = file
        suffix = file.suffix.lower()
        native = open_video(file) if suffix == ".y4m" else None
        if native is not None and frames in (None, native.frames) and size in (
                None, (native.width, native.height)) and fps in (None, native.fps):
            video = native  # already what was asked for: used in place, bytes unchanged
        else:
            raw = open_video(file) if suffix == ".yuv" else None
            tag = content_hash(file)[:12]
            dims = f"_{size[0]}x{size[1]}" if size else ""
            count = f"_{frames}f" if frames else ""
            rate = f"_{fps.numerator}-{fps.denominator}fps" if fps else ""
            dst = Path(work_dir) / "sources" / f"{name}{dims}{count}{rate}_{tag}.y4m"
            video = _converted(file, dst, frames=frames, size=size, raw_format=raw,
                               resample_fps=fps)
            if frames is not None and video.frames < frames:
                raise DatasetError(f"{file.name} has {video.frames} frames, fewer than "
                                   f"frames={frames}")
        sequences.append(Sequence(name, video, {"dataset": path.name, "file": file.name}))
    return sequences
