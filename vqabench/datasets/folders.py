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

from vqabench.datasets.base import Sequence, content_hash, conversion_steps
from vqabench.errors import DatasetError
from vqabench.io.atomic import atomic_write_text
from vqabench.io.video import Video, open_video, to_y4m

__all__ = ["load_folder", "VIDEO_SUFFIXES", "video_files", "sequence_name"]

#: File suffixes (lower case) read as videos wherever vqabench looks for them in a folder:
#: folder datasets, named datasets' roots and ``vqabench datasets verify``.
VIDEO_SUFFIXES = frozenset(
    {
        ".y4m",
        ".yuv",
        ".mp4",
        ".mkv",
        ".mov",
        ".webm",
        ".avi",
        ".ivf",
        ".m4v",
        ".ts",
        ".264",
        ".h264",
        ".265",
        ".hevc",
    }
)


def video_files(
    folder: Path,
    *,
    recursive: bool = False,
    required: bool = True,
    argument: str = "dataset",
    expected: str = "",
) -> list[Path]:
    """The video files (by :data:`VIDEO_SUFFIXES`) in ``folder``, sorted; with ``recursive``
    those of its subfolders too. Hidden files and folders (a leading dot) are left out.

    Args:
        folder: the folder to list.
        recursive: also list the subfolders.
        required: raise when there is none (else return []).
        argument: what ``folder`` was given as, for the message.
        expected: what the folder should hold, for the message (default: the suffixes).

    Raises:
        DatasetError: no video file there and ``required``.
    """
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(
        p
        for p in found
        if p.is_file()
        and p.suffix.lower() in VIDEO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files and required:
        raise DatasetError(
            f"{argument}={str(folder)!r} holds no video files; expected "
            f"{expected or ', '.join(sorted(VIDEO_SUFFIXES))}"
        )
    return files


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


def load_folder(
    path: Path,
    *,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    work_dir: Path,
    fps: Fraction | None = None,
) -> list[Sequence]:
    """Sequences from the video files in ``path`` (a directory or one file).

    Files that need it (raw YUV, containers, or Y4M files whose frame count, size or frame
    rate differ from ``frames``/``size``/``fps``) are converted to Y4M under
    ``work_dir/sources``; other Y4M files are used in place, so their content hashes (and
    job keys) never change. A container with a variable frame rate is refused unless
    ``fps`` converts it (ffmpeg's fps filter; :func:`vqabench.io.video.to_y4m`).
    A ``size`` or ``frames`` equal to the file's own changes nothing
    (:func:`~vqabench.datasets.base.conversion_steps`).

    Raises:
        DatasetError: no video files, duplicate sequence names, unreadable videos.
        ConfigError: a ``size`` a file's chroma subsampling cannot hold whole.
    """
    path = Path(path)
    files = [path] if path.is_file() else video_files(path)
    sequences: list[Sequence] = []
    seen: dict[str, Path] = {}
    for file in files:
        name = sequence_name(file)
        if name in seen:
            raise DatasetError(
                f"two files give the sequence name {name!r}: {seen[name].name} "
                f"and {file.name}; rename one"
            )
        seen[name] = file
        suffix = file.suffix.lower()
        native = open_video(file) if suffix in (".y4m", ".yuv") else None
        scale, count = conversion_steps(file, native, size=size, frames=frames)
        rate = None if fps is None or (native is not None and fps == native.fps) else fps
        if rate is not None:  # frames count output frames of the resampled rate
            count = frames
        if suffix == ".y4m" and scale is None and count is None and rate is None:
            video = native  # already what was asked for: used in place, bytes unchanged
        else:
            tag = content_hash(file)[:12]
            dims_tag = f"_{scale[0]}x{scale[1]}" if scale else ""
            count_tag = f"_{count}f" if count else ""
            rate_tag = f"_{rate.numerator}-{rate.denominator}fps" if rate else ""
            dst = Path(work_dir) / "sources" / f"{name}{dims_tag}{count_tag}{rate_tag}_{tag}.y4m"
            video = _converted(
                file,
                dst,
                frames=count,
                size=scale,
                raw_format=native if suffix == ".yuv" else None,
                resample_fps=rate,
            )
            if frames is not None and video.frames < frames:
                raise DatasetError(
                    f"{file.name} has {video.frames} frames, fewer than frames={frames}"
                )
        sequences.append(Sequence(name, video, {"dataset": path.name, "file": file.name}))
    return sequences
