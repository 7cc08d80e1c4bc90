"""Named datasets that live on the user's disk: UVG, BVI-DVC, BVI-UGC, MCL-JCV, HEVC CTC
classes B-F and YouTube-UGC.

Nothing is downloaded. Each dataset is a naming convention: the files under ``root`` are
found recursively, every video file must follow the dataset's pattern (a file that does not
is an error naming the file and the pattern, never silently skipped), and the name gives the
frame size, frame rate, bit depth and metadata (dataset, class/category, group). Sources are
converted to Y4M under ``work_dir/sources/<dataset>/`` when they need trimming (``frames``,
``start``), scaling (``size``) or are not Y4M; a Y4M file that already matches is used in place.

========== ===================================================== ==========================
dataset    file name                                              metadata
========== ===================================================== ==========================
uvg        ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv`` (10bit)   class = resolution (1080p)
bvi-dvc    ``AAdvertisingMassagesBangkokVidevo_3840x2176_25fps_   class = first letter A-D
           10bit_420.mp4`` (or ``.yuv``)                          (A 2160p ... D 272p)
bvi-ugc    ``high|medium|low/<Category><n>_<W>x<H>_<fps>fps_      category, group High/
           8bit.mp4``                                             Medium/Low (from folder)
mcl-jcv    ``videoSRC01_1920x1080_30.yuv``                        source_id
hevc-ctc   ``BasketballDrive_1920x1080_50.yuv``; class from the   class B-F
           CTC table or a ``ClassB``..``ClassF`` folder
youtube-   ``Gaming_720P-1ea7.mkv`` (``<Category>_<res>P-<id>``)  category, resolution
ugc
========== ===================================================== ==========================

The facts (file-name patterns, layouts, the CTC class table, the BVI-DVC class sizes, the
BVI-UGC group folders) come from the dataset manifests (:mod:`vqabench.datasets.manifest`,
``vqabench/datasets/manifests/*.toml``); this module holds only the parsing logic.

Example:
    >>> from vqabench import datasets
    >>> seqs = datasets.load("uvg", root=Path("/data/UVG"), frames=96, work_dir=Path("run"))
    >>> seqs[0].metadata["class"]   # '1080p'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from vqabench.datasets.base import DATASETS, Sequence, conversion_steps
from vqabench.datasets.folders import video_files
from vqabench.datasets.manifest import load_manifest
from vqabench.errors import DatasetError, invalid
from vqabench.io.video import Video, open_video, to_y4m

__all__ = [
    "Convention",
    "NamedFile",
    "CONVENTIONS",
    "HEVC_CTC_CLASSES",
    "BVI_DVC_CLASSES",
    "scan",
    "load_named",
]


@dataclass(frozen=True)
class NamedFile:
    """One video file of a named dataset, as its name describes it (nothing decoded yet).

    Attributes:
        path: the file.
        name: sequence name, unique within the dataset.
        width, height: frame size from the name (None where only the container has it).
        fps: frame rate from the name, or None where the container carries it.
        pix_fmt: pixel format from the name (bit depth and 4:2:0 chroma).
        metadata: text facts: ``dataset``, ``class``/``category``/``group``, ``file`` ...
    """

    path: Path
    name: str
    width: int | None
    height: int | None
    fps: Fraction | None
    pix_fmt: str
    metadata: Mapping[str, str] = field(default_factory=dict)


# parse(match, path, root) -> NamedFile
_Parser = Callable[[re.Match, Path, Path], NamedFile]


@dataclass(frozen=True)
class Convention:
    """A dataset's naming convention.

    Attributes:
        name: registry name (``uvg``, ``bvi-dvc`` ...).
        title: the dataset's usual name (``UVG``), written to ``metadata["dataset"]``.
        pattern: regular expression a file name must match in full.
        layout: the expected layout in words, used in messages and ``vqabench datasets list``.
        example: one valid relative path.
        parse: turns a match into a :class:`NamedFile` (may raise DatasetError).
    """

    name: str
    title: str
    pattern: re.Pattern
    layout: str
    example: str
    parse: _Parser


def _pix_fmt(bits: str | None) -> str:
    return "yuv420p10le" if bits == "10" else "yuv420p"


def _fps(text: str | None) -> Fraction | None:
    return Fraction(text).limit_denominator(1001) if text else None


def _base(
    conv_title: str,
    m: re.Match,
    path: Path,
    name: str,
    *,
    fps_text: str | None,
    bits: str | None,
    **meta: str,
) -> NamedFile:
    width, height = int(m.group("w")), int(m.group("h"))
    if width <= 0 or height <= 0:
        raise DatasetError(f"{path.name}: frame size {width}x{height} must be positive")
    pix_fmt = _pix_fmt(bits)
    metadata = {
        "dataset": conv_title,
        **meta,
        "bit_depth": "10" if bits == "10" else "8",
        "file": path.name,
    }
    return NamedFile(path, name, width, height, _fps(fps_text), pix_fmt, metadata)


def _folder_names(path: Path, root: Path) -> list[str]:
    """Folder names between ``root`` and the file, nearest first."""
    try:
        rel = path.parent.relative_to(root)
    except ValueError:
        return []
    return [p for p in reversed(rel.parts) if p]


# --- UVG --------------------------------------------------------------------------------


def _parse_uvg(m: re.Match, path: Path, root: Path) -> NamedFile:
    return _base(
        "UVG",
        m,
        path,
        m.group("name"),
        fps_text=m.group("fps"),
        bits=m.group("bits"),
        **{"class": f"{m.group('h')}p"},
    )


# --- BVI-DVC ----------------------------------------------------------------------------

#: BVI-DVC class letter -> frame size (from the manifest's ``[classes]``).
BVI_DVC_CLASSES: dict[str, str] = {
    str(k): str(v) for k, v in load_manifest("bvi-dvc").data.get("classes", {}).items()
}


def _parse_bvi_dvc(m: re.Match, path: Path, root: Path) -> NamedFile:
    cls = m.group("cls")
    return _base(
        "BVI-DVC",
        m,
        path,
        m.group("cls") + m.group("name"),
        fps_text=m.group("fps"),
        bits=m.group("bits"),
        **{"class": cls, "class_size": BVI_DVC_CLASSES[cls], "content": m.group("name")},
    )


# --- BVI-UGC ----------------------------------------------------------------------------

_UGC_GROUPS: dict[str, str] = {
    str(k).lower(): str(v) for k, v in load_manifest("bvi-ugc").naming.get("groups", {}).items()
}


def _parse_bvi_ugc(m: re.Match, path: Path, root: Path) -> NamedFile:
    group = next(
        (_UGC_GROUPS[f.lower()] for f in _folder_names(path, root) if f.lower() in _UGC_GROUPS),
        None,
    )
    if group is None:
        raise DatasetError(
            f"{path}: a BVI-UGC file must be under a folder named high, medium "
            "or low (its quality group); expected "
            "ROOT/high/<Category><n>_<W>x<H>_<fps>fps_8bit.mp4"
        )
    return _base(
        "BVI-UGC",
        m,
        path,
        f"{m.group('category')}{m.group('n')}",
        fps_text=m.group("fps"),
        bits="8",
        category=m.group("category"),
        group=group,
    )


# --- MCL-JCV ----------------------------------------------------------------------------


def _parse_mcl_jcv(m: re.Match, path: Path, root: Path) -> NamedFile:
    return _base(
        "MCL-JCV",
        m,
        path,
        f"videoSRC{m.group('n')}",
        fps_text=m.group("fps"),
        bits="8",
        source_id=m.group("n"),
    )


# --- HEVC CTC ---------------------------------------------------------------------------


def _ctc_tables() -> tuple[dict[str, str], dict[str, dict[int, str]]]:
    """From the manifest: file name part -> class, and for names used by two classes
    (RaceHorses: C at 832x480, D at 416x240) width -> class."""
    by_width: dict[str, dict[int, str]] = {}
    for entry in load_manifest("hevc-ctc").sequences:
        for file in (entry.file, *entry.aliases):
            base = file.split("_", 1)[0]
            by_width.setdefault(base, {})[int(entry.facts["width"])] = str(  # type: ignore[arg-type]
                entry.facts["class"]
            )
    unique = {b: next(iter(w.values())) for b, w in by_width.items() if len(set(w.values())) == 1}
    return unique, {b: w for b, w in by_width.items() if b not in unique}


#: CTC sequences of classes B-F (file name part -> class), from the hevc-ctc manifest.
HEVC_CTC_CLASSES, _BY_WIDTH = _ctc_tables()
_SIZES = {
    (e.file.split("_", 1)[0], int(e.facts["width"])):  # type: ignore[arg-type]
    f"{e.facts['width']}x{e.facts['height']}"
    for e in load_manifest("hevc-ctc").sequences
}
_CTC_FOLDER = re.compile(str(load_manifest("hevc-ctc").naming["class_folder"]), re.IGNORECASE)


def _parse_hevc_ctc(m: re.Match, path: Path, root: Path) -> NamedFile:
    name, width = m.group("name"), int(m.group("w"))
    cls = None
    for folder in _folder_names(path, root):
        fm = _CTC_FOLDER.fullmatch(folder)
        if fm:
            cls = fm.group("cls").upper()
            break
    if cls is None and name in _BY_WIDTH:
        cls = _BY_WIDTH[name].get(width)
        if cls is None:
            sizes = " and ".join(
                f"class {c} at {_SIZES[(name, w)]}" for w, c in _BY_WIDTH[name].items()
            )
            raise DatasetError(
                f"{path}: {name} is {sizes}, not {width} wide; put it in a ClassB..ClassF folder"
            )
    if cls is None:
        cls = HEVC_CTC_CLASSES.get(name)
    if cls is None:
        raise DatasetError(
            f"{path}: {name!r} is not a CTC sequence of classes B-F (known: "
            f"{', '.join(sorted([*HEVC_CTC_CLASSES, *_BY_WIDTH]))}); put it in a "
            "ClassB..ClassF folder to give its class"
        )
    return _base(
        "HEVC-CTC", m, path, name, fps_text=m.group("fps"), bits=m.group("bits"), **{"class": cls}
    )


# --- YouTube-UGC ------------------------------------------------------------------------


def _parse_youtube_ugc(m: re.Match, path: Path, root: Path) -> NamedFile:
    res = int(m.group("res"))
    # The frame size is read from the container; the name gives the nominal resolution.
    return NamedFile(
        path,
        path.stem,
        None,
        None,
        None,
        "yuv420p",
        {
            "dataset": "YouTube-UGC",
            "category": m.group("category"),
            "resolution": f"{res}P",
            "id": m.group("id"),
            "bit_depth": "8",
            "file": path.name,
        },
    )


_PARSERS: dict[str, tuple[str, _Parser]] = {
    "uvg": ("UVG", _parse_uvg),
    "bvi-dvc": ("BVI-DVC", _parse_bvi_dvc),
    "bvi-ugc": ("BVI-UGC", _parse_bvi_ugc),
    "mcl-jcv": ("MCL-JCV", _parse_mcl_jcv),
    "hevc-ctc": ("HEVC-CTC", _parse_hevc_ctc),
    "youtube-ugc": ("YouTube-UGC", _parse_youtube_ugc),
}


def _from_manifest(name: str, title: str, parse: _Parser) -> Convention:
    m = load_manifest(name)
    if m.pattern is None:
        raise DatasetError(f"manifests/{name}.toml has no [naming] pattern")
    return Convention(
        name, title, m.pattern, str(m.naming["layout"]), str(m.naming["example"]), parse
    )


CONVENTIONS: dict[str, Convention] = {n: _from_manifest(n, t, p) for n, (t, p) in _PARSERS.items()}


def _convention(name: str) -> Convention:
    if name not in CONVENTIONS:
        from vqabench.errors import UnknownNameError

        raise UnknownNameError("named dataset", name, CONVENTIONS)
    return CONVENTIONS[name]


def scan(name: str, root: str | Path | None) -> list[NamedFile]:
    """Find and parse the video files of dataset ``name`` under ``root`` (nothing decoded).

    Files are taken recursively in sorted path order; hidden files and files that are not
    video (``.txt``, ``.csv``, ...) are ignored.

    Args:
        name: a key of :data:`CONVENTIONS`.
        root: the folder holding the dataset.

    Returns:
        One :class:`NamedFile` per video file.

    Raises:
        DatasetError: ``root`` missing, no video files, a file that does not follow the
            naming convention, or two files with the same sequence name.
        UnknownNameError: ``name`` is not a named dataset.
    """
    conv = _convention(name)
    if root is None:
        raise DatasetError(
            f"dataset {name!r} lives on your disk: give root=PATH (--root) holding {conv.layout}"
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"root={str(root)!r} is not a folder; dataset {name!r} expects {conv.layout}"
        )
    files = video_files(
        root, recursive=True, argument="root", expected=f"dataset {name!r}: {conv.layout}"
    )
    found: list[NamedFile] = []
    seen: dict[str, Path] = {}
    for path in files:
        m = conv.pattern.fullmatch(path.name)
        if m is None:
            raise DatasetError(
                f"{path}: file name {path.name!r} does not follow the "
                f"{conv.title} naming convention: expected {conv.layout}, "
                f"e.g. {conv.example}"
            )
        entry = conv.parse(m, path, root)
        if entry.name in seen:
            raise DatasetError(
                f"two files give the sequence name {entry.name!r}: {seen[entry.name]} and {path}"
            )
        seen[entry.name] = path
        found.append(entry)
    return found


def _tag(path: Path) -> str:
    st = path.stat()
    text = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _materialise(
    entry: NamedFile,
    dataset: str,
    *,
    frames: int | None,
    size: tuple[int, int] | None,
    start: int,
    work_dir: Path,
) -> Video:
    """The Y4M source of one file: in place when it already matches, else converted."""
    suffix = entry.path.suffix.lower()
    native = raw = None
    if suffix == ".y4m":
        native = open_video(entry.path)
        if (
            start == 0
            and frames in (None, native.frames)
            and size in (None, (native.width, native.height))
        ):
            return native
    if suffix == ".yuv":
        native = raw = open_video(
            entry.path,
            width=entry.width,
            height=entry.height,
            fps=entry.fps or Fraction(25),
            pix_fmt=entry.pix_fmt,
        )
        if start >= raw.frames:
            raise invalid(
                "start",
                start,
                f"a frame index below {raw.frames} ({entry.path.name} has {raw.frames} frames)",
            )
    asked = frames
    size, frames = conversion_steps(entry.path, native, size=size, frames=frames, start=start)
    dims = f"_{size[0]}x{size[1]}" if size else ""
    count = f"_{frames}f" if frames else ""
    first = f"_s{start}" if start else ""
    dst = (
        Path(work_dir)
        / "sources"
        / dataset
        / f"{entry.name}{dims}{count}{first}_{_tag(entry.path)}.y4m"
    )
    if dst.is_file():
        video = open_video(dst)
    else:
        video = to_y4m(
            entry.path,
            dst,
            frames=frames,
            start=start,
            size=size,
            raw_format=raw,
            pix_fmt=entry.pix_fmt,
            fps=entry.fps,
        )
    if asked is not None and video.frames < asked:
        raise DatasetError(
            f"{entry.path.name} has {video.frames} frames from frame {start}, "
            f"fewer than frames={asked}"
        )
    return video


def load_named(
    name: str,
    *,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    work_dir: Path,
    root: str | Path | None = None,
    start: int = 0,
) -> list[Sequence]:
    """Sequences of the named dataset ``name`` found under ``root``.

    Args:
        name: a key of :data:`CONVENTIONS` (``uvg``, ``bvi-dvc``, ``bvi-ugc``, ``mcl-jcv``,
            ``hevc-ctc``, ``youtube-ugc``).
        frames: keep this many frames from ``start`` (e.g. 96, as neural-codec papers
            report), or None for all.
        size: (width, height) to scale to (Lanczos, aspect kept by centre crop), or None.
        work_dir: converted sources go to ``work_dir/sources/<name>/``.
        root: the folder holding the dataset (required).
        start: first frame to keep.

    Returns:
        One :class:`Sequence` per file, in sorted path order, with the file's metadata.

    Raises:
        DatasetError: see :func:`scan`; too few frames.
        ConfigError: bad ``frames``, ``start`` or ``size``.

    Example:
        >>> load_named("mcl-jcv", root="/data/MCL-JCV", frames=96, work_dir=Path("run"))
    """
    if frames is not None and int(frames) < 1:
        raise invalid("frames", frames, "an integer >= 1, or None for all frames")
    if int(start) < 0:
        raise invalid("start", start, "an integer >= 0")
    if size is not None and (size[0] < 2 or size[1] < 2 or size[0] % 2 or size[1] % 2):
        raise invalid("size", f"{size[0]}x{size[1]}", "even width and height >= 2")
    sequences = []
    for entry in scan(name, root):
        video = _materialise(
            entry, name, frames=frames, size=size, start=int(start), work_dir=Path(work_dir)
        )
        sequences.append(Sequence(entry.name, video, dict(entry.metadata)))
    return sequences


def _make_loader(name: str) -> Callable[..., list[Sequence]]:
    def loader(
        *,
        frames: int | None = None,
        size: tuple[int, int] | None = None,
        work_dir: Path,
        root: str | Path | None = None,
        start: int = 0,
    ) -> list[Sequence]:
        return load_named(name, frames=frames, size=size, work_dir=work_dir, root=root, start=start)

    conv = CONVENTIONS[name]
    loader.__name__ = f"load_{name.replace('-', '_')}"
    loader.__doc__ = f"Load {conv.title} from ``root`` ({conv.layout}); see :func:`load_named`."
    return loader


for _name in CONVENTIONS:
    if _name not in DATASETS:
        DATASETS.add(_name, _make_loader(_name))
