"""Datasets: the built-in ``mini`` set, named datasets and generic folders of videos.

Example:
    >>> from vqabench import datasets
    >>> seqs = datasets.load("mini", frames=16, size=(256, 144), work_dir=Path("runs/x"))
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from vqabench.datasets import builtin, named  # noqa: F401  (register 'mini', named sets)
from vqabench.datasets.base import DATASETS, Sequence, cache_dir, content_hash
from vqabench.datasets.folders import load_folder
from vqabench.errors import DatasetError
from vqabench.io.video import check_progressive

__all__ = [
    "load",
    "check_spec",
    "available",
    "select",
    "Sequence",
    "DATASETS",
    "cache_dir",
    "content_hash",
]


def available() -> list[str]:
    """Names of the registered datasets."""
    return DATASETS.names()


def select(
    sequences: list[Sequence], names: tuple[str, ...] | None, dataset: str = "the dataset"
) -> list[Sequence]:
    """The sequences named in ``names``, in the order given (all of them when None).

    Raises:
        DatasetError: a name that is not a sequence of the dataset, or a name given twice.
    """
    if names is None:
        return sequences
    by_name = {s.name: s for s in sequences}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        from difflib import get_close_matches

        close = get_close_matches(unknown[0], list(by_name), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DatasetError(
            f"sequences={unknown!r} not in {dataset} (its sequences: {', '.join(by_name)}){hint}"
        )
    if len(set(names)) != len(names):
        raise DatasetError(f"sequences={list(names)!r} names a sequence twice")
    return [by_name[n] for n in names]


def load(
    spec: str,
    *,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    work_dir: Path,
    root: Path | None = None,
    sequences: tuple[str, ...] | None = None,
    fps: Fraction | None = None,
    interlaced: str = "refuse",
) -> list[Sequence]:
    """Sequences of a registered dataset name or of a folder/file path.

    Every source's field order is checked (:func:`vqabench.io.video.check_progressive`):
    an interlaced one is refused unless ``interlaced="progressive"``.

    Args:
        spec: a dataset name (``mini``...) or a path to a folder of videos or one video.
        frames: frames per sequence (first N), or None for the dataset's default/all.
        size: (width, height) to scale to, or None.
        work_dir: where converted sources go (the run directory).
        root: data root for named datasets that live on the user's disk.
        sequences: names of the sequences to keep, in this order (None: all); see
            :func:`select`.
        fps: convert every source of a folder dataset to this constant frame rate
            (ffmpeg's fps filter): how a variable-rate container is benchmarked on purpose.
        interlaced: ``"refuse"`` (default) or ``"progressive"``: code interlaced sources'
            frames as progressive pictures on purpose (recorded in the source's
            assumptions).

    Raises:
        DatasetError: neither a registered name nor an existing path; an unknown sequence;
            ``fps`` with a registered dataset.
        VideoFormatError: an interlaced source with ``interlaced="refuse"``, a variable
            frame rate without ``fps``.
    """
    if spec in DATASETS:
        if fps is not None:
            raise DatasetError(
                f"fps={fps} converts the sources of folder datasets only; "
                f"dataset {spec!r} is read as its manifest states (leave fps "
                "out)"
            )
        loader = DATASETS.get(spec)
        return _progressive(
            select(
                loader(frames=frames, size=size, work_dir=work_dir, root=root),
                sequences,
                f"dataset {spec!r}",
            ),
            interlaced,
        )
    check_spec(spec)
    path = Path(spec).expanduser()
    return _progressive(
        select(
            load_folder(path, frames=frames, size=size, work_dir=work_dir, fps=fps),
            sequences,
            f"folder {str(path)!r}",
        ),
        interlaced,
    )


def check_spec(spec: str) -> None:
    """Raise DatasetError unless ``spec`` is a registered dataset or an existing path (what
    :func:`load` accepts), before anything is loaded: a mistyped name answers at once."""
    if spec in DATASETS or Path(spec).expanduser().exists():
        return
    from difflib import get_close_matches

    close = get_close_matches(spec, DATASETS.names(), n=2)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise DatasetError(
        f"dataset={spec!r} is neither a built-in dataset "
        f"({', '.join(DATASETS.names())}) nor an existing path{hint}"
    )


def _progressive(sequences: list[Sequence], interlaced: str) -> list[Sequence]:
    """``sequences`` with each source checked (and noted) by :func:`check_progressive`."""
    return [
        replace(
            s,
            source=check_progressive(
                s.source, interlaced, name=str(s.metadata.get("file") or s.source.path)
            ),
        )
        for s in sequences
    ]
