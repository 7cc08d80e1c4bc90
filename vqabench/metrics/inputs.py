"""What a metric accepts as ``reference`` and ``distorted``, turned into :class:`Video` handles.

Every :meth:`Metric.compute <vqabench.metrics.base.Metric.compute>` (and
:func:`vqabench.compute`) takes, for each of ``reference`` and ``distorted``:

==============================  ===========================================================
input                           how it is read
==============================  ===========================================================
:class:`~vqabench.io.video.Video`  as is
path to ``.y4m``                :func:`~vqabench.io.video.open_video`
path to ``.yuv`` / ``.raw``     size, rate and format from ``width``/``height``/``fps``/
                                ``pix_fmt`` when given, else from the file name
                                (``Foo_1920x1080_50fps_10bit_420.yuv``)
path to any other file          any container ffmpeg reads, converted to a temporary Y4M
                                (``pix_fmt`` default yuv420p)
numpy array or torch tensor     frames with a declared ``fmt`` (below), written to a
                                temporary Y4M
YUV planes ``(y, u, v)``        a tuple (or :class:`~vqabench.io.video.YuvFrame`) of three
                                integer arrays (T, H, W), (T, h, w), (T, h, w); the chroma
                                size gives 4:2:0 / 4:2:2 / 4:4:4, ``bit_depth`` (8 or 10)
                                the sample depth
==============================  ===========================================================

Arrays are (T, H, W, C) or (T, H, W), and ``fmt`` says what they hold (nothing is guessed):

* ``fmt="rgb"``: C = 3; floats in [0, 1], or integers of ``bit_depth`` bits (default 8);
  converted with the project's one RGB -> YUV definition
  (:func:`~vqabench.io.video.rgb_to_yuv`, BT.709, limited range) to ``pix_fmt``
  (default yuv444p, so no chroma is lost);
* ``fmt="yuv"``: C = 3, interleaved Y, U, V samples of ``bit_depth`` bits (4:4:4);
* ``fmt="gray"``: (T, H, W) luma samples of ``bit_depth`` bits; chroma is set to the
  neutral value (luma metrics such as ``psnr_y`` see exactly these samples).

A torch tensor is detached and copied to the CPU first; (T, 3, H, W) tensors (torch's
channel-first layout) are accepted for ``fmt="rgb"``/``"yuv"``. Anything else is a
:class:`~vqabench.errors.ConfigError` naming the argument and what is accepted.

Example:
    >>> metrics.create("vmaf").compute(reference="ref.y4m", distorted="dis.mp4")
    >>> metrics.create("psnr_y")(reference=ref_rgb, distorted=dis_rgb, fmt="rgb")  # floats
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vqabench.errors import ConfigError, invalid
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, open_video, rgb_to_yuv, to_y4m, write_y4m

__all__ = [
    "INPUT_OPTIONS",
    "ACCEPTED",
    "Fmt",
    "as_videos",
    "as_video",
    "accepting_inputs",
    "swapped_warning",
]

Fmt = Literal["rgb", "yuv", "gray"]
#: keyword options that describe inputs (not metric options)
INPUT_OPTIONS = ("fmt", "pix_fmt", "bit_depth", "fps", "width", "height")
ACCEPTED = (
    "a Video, a path (.y4m, raw .yuv named by the conventions, or any container "
    "ffmpeg reads), a numpy array or torch tensor (T, H, W[, C]) with fmt='rgb'|'yuv'|"
    "'gray', or YUV planes (y, u, v)"
)
_RAW = {".yuv", ".raw"}


def _is_torch(value: object) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _array(value: Any, argument: str, fmt: str | None) -> np.ndarray:
    """numpy copy of an array or tensor; channel-first torch clips moved to channel-last."""
    if _is_torch(value):
        arr = value.detach().cpu().numpy()
        if arr.ndim == 4 and arr.shape[1] == 3 and arr.shape[-1] != 3 and fmt in ("rgb", "yuv"):
            arr = arr.transpose(0, 2, 3, 1)
        return arr
    return np.asarray(value)


def _samples(arr: np.ndarray, argument: str, bit_depth: int) -> np.ndarray:
    """Integer samples of ``bit_depth`` bits, refused when out of range or not integers."""
    if not np.issubdtype(arr.dtype, np.integer):
        raise invalid(
            f"{argument}.dtype",
            str(arr.dtype),
            f"integer samples of bit_depth="
            f"{bit_depth} bits for fmt='yuv'/'gray' (floats only with fmt='rgb')",
        )
    hi = (1 << bit_depth) - 1
    if arr.size and (arr.min() < 0 or arr.max() > hi):
        raise invalid(
            f"{argument} samples", f"{arr.min()}..{arr.max()}", f"0..{hi} for bit_depth={bit_depth}"
        )
    return arr.astype(np.uint16 if bit_depth > 8 else np.uint8)


def _planes_pix_fmt(y: np.ndarray, u: np.ndarray, argument: str, bit_depth: int) -> str:
    h, w = y.shape[1:]
    for name, (sx, sy, depth) in PIX_FMTS.items():
        if depth == bit_depth and u.shape[1:] == (-(-h // sy), -(-w // sx)):
            return name
    raise invalid(
        f"{argument} chroma shape",
        u.shape[1:],
        f"(H, W), (H, W/2) or (H/2, W/2) of luma {(h, w)} (4:4:4, 4:2:2, 4:2:0)",
    )


def _frames_of(
    value: Any, argument: str, fmt: str | None, pix_fmt: str | None, bit_depth: int | None
) -> tuple[list[YuvFrame], str]:
    """YUV frames and their pix_fmt from planes or an array with a declared format."""
    if bit_depth is not None and bit_depth not in (8, 10):
        raise invalid("bit_depth", bit_depth, "8 or 10")
    if isinstance(value, tuple) and len(value) == 3:
        depth = bit_depth or 8
        y, u, v = (_samples(_array(p, argument, None), argument, depth) for p in value)
        if y.ndim != 3 or u.shape != v.shape or u.ndim != 3 or len(u) != len(y):
            raise invalid(
                f"{argument} planes",
                [p.shape for p in (y, u, v)],
                "(T, H, W), (T, h, w), (T, h, w) with the same T",
            )
        fmt_name = _planes_pix_fmt(y, u, argument, depth)
        return [YuvFrame(y[t], u[t], v[t]) for t in range(len(y))], fmt_name
    arr = _array(value, argument, fmt)
    if fmt is None:
        raise invalid(
            "fmt",
            None,
            f"'rgb', 'yuv' or 'gray' to say what the array {argument} "
            f"of shape {arr.shape} holds (nothing is guessed)",
        )
    if fmt not in ("rgb", "yuv", "gray"):
        raise invalid("fmt", fmt, "'rgb' | 'yuv' | 'gray'")
    want = "(T, H, W)" if fmt == "gray" else "(T, H, W, 3)"
    if (fmt == "gray" and arr.ndim != 3) or (
        fmt != "gray" and (arr.ndim != 4 or arr.shape[-1] != 3)
    ):
        raise invalid(f"{argument}.shape", arr.shape, f"{want} for fmt={fmt!r}")
    if len(arr) == 0:
        raise invalid(f"{argument}.shape", arr.shape, "at least one frame")
    depth = bit_depth or 8
    if fmt == "rgb":
        out_fmt = pix_fmt or ("yuv444p" if depth == 8 else "yuv444p10le")
        if np.issubdtype(arr.dtype, np.integer):
            rgb = _samples(arr, argument, depth).astype(np.float64) / ((1 << depth) - 1)
        else:
            rgb = arr.astype(np.float64)
            if arr.size and (rgb.min() < 0 or rgb.max() > 1):
                raise invalid(
                    f"{argument} values",
                    f"{rgb.min():g}..{rgb.max():g}",
                    "floats in [0, 1] for fmt='rgb' (or integers with bit_depth)",
                )
        return [rgb_to_yuv(f, pix_fmt=out_fmt) for f in rgb], out_fmt
    samples = _samples(arr, argument, depth)
    out_fmt = "yuv444p" if depth == 8 else "yuv444p10le"
    if pix_fmt is not None and pix_fmt != out_fmt:
        raise invalid(
            "pix_fmt",
            pix_fmt,
            f"{out_fmt!r} (or none) for fmt={fmt!r} arrays; "
            "pass subsampled chroma as planes (y, u, v)",
        )
    if fmt == "yuv":
        return [YuvFrame(f[..., 0], f[..., 1], f[..., 2]) for f in samples], out_fmt
    mid = np.full(samples.shape[1:], 1 << (depth - 1), dtype=samples.dtype)
    return [YuvFrame(f, mid, mid) for f in samples], out_fmt


def as_video(
    value: Any,
    argument: str,
    work_dir: Path,
    *,
    fmt: str | None = None,
    pix_fmt: str | None = None,
    bit_depth: int | None = None,
    fps: float | Fraction | None = None,
    width: int | None = None,
    height: int | None = None,
) -> Video:
    """One metric input as a :class:`Video` (temporary files go to ``work_dir``).

    Args:
        value: what the caller passed (see the module docstring).
        argument: its name (``"reference"`` or ``"distorted"``), for error messages.
        work_dir: where converted inputs are written; the caller removes it.
        fmt, pix_fmt, bit_depth, fps, width, height: how to read arrays and raw YUV.

    Raises:
        ConfigError: a value of another type, or an array that does not match its format.
        VideoFormatError: a path that cannot be read.
    """
    if isinstance(value, Video):
        return value
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        suffix = path.suffix.lower()
        if suffix == ".y4m" or not path.is_file():
            return open_video(path)  # a missing file: open_video names it
        if suffix in _RAW:
            return open_video(path, width=width, height=height, fps=fps, pix_fmt=pix_fmt)
        return to_y4m(path, work_dir / f"{argument}.y4m", pix_fmt=pix_fmt, fps=fps)
    if isinstance(value, np.ndarray | tuple | list) or _is_torch(value):
        frames, out_fmt = _frames_of(value, argument, fmt, pix_fmt, bit_depth)
        h, w = frames[0].y.shape
        return write_y4m(
            work_dir / f"{argument}.y4m",
            frames,
            width=w,
            height=h,
            fps=Fraction(25) if fps is None else fps,
            pix_fmt=out_fmt,
        )
    raise ConfigError(f"{argument}={type(value).__name__} is not accepted: expected {ACCEPTED}")


@contextlib.contextmanager
def as_videos(
    reference: Any, distorted: Any, **options: Any
) -> Iterator[tuple[Video | None, Video]]:
    """``(reference, distorted)`` as Videos for the duration of the ``with`` block.

    ``reference`` may be None (no-reference and sequence metrics). Temporary Y4M files are
    removed on exit.

    Raises:
        ConfigError: an unknown option (allowed: :data:`INPUT_OPTIONS`) or input.
    """
    unknown = sorted(set(options) - set(INPUT_OPTIONS))
    if unknown:
        raise invalid("input options", unknown, ", ".join(INPUT_OPTIONS))
    if distorted is None:
        raise ConfigError(f"distorted=None is not accepted: expected {ACCEPTED}")
    with tempfile.TemporaryDirectory(prefix="vqabench-inputs-") as tmp:
        ref = None if reference is None else as_video(reference, "reference", Path(tmp), **options)
        yield ref, as_video(distorted, "distorted", Path(tmp), **options)


#: Folders of a run directory (vqabench.runner.run) by how far they are from the pristine
#: source: sources (0) -> references, the decoded R of UGC transcoding (1) -> bitstreams and
#: the decoded videos of running jobs in .tmp (2).
_RUN_STAGES = {"sources": 0, "references": 1, "bitstreams": 2, ".tmp": 2}


def _run_stage(path: Path) -> tuple[int, Path | None] | None:
    """``(stage, run directory)`` of a path inside a vqabench run directory (from its last
    stage folder; paths only, nothing read), ``(0, None)`` for the dataset cache, or None."""
    from vqabench.io.cache import cache_dir

    parts = path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in _RUN_STAGES:
            return _RUN_STAGES[parts[i]], Path(*parts[:i])
    if path.is_relative_to(cache_dir().absolute()):
        return 0, None
    return None


def swapped_warning(reference: Any, distorted: Any) -> str | None:
    """A one-line warning when two paths look given in the wrong order, else None.

    Free, from the paths alone: ``reference`` lies in a later stage of a vqabench run
    directory (``bitstreams/``, ``.tmp/``, or ``references/`` for UGC anchors) than
    ``distorted`` in the same run (``references/`` or ``sources/``), or ``distorted`` is a
    source in the dataset cache. Anything else (arrays, Videos, other paths) gives None.
    """
    if not all(isinstance(v, (str, os.PathLike)) for v in (reference, distorted)):
        return None
    ref_path, dis_path = Path(reference).absolute(), Path(distorted).absolute()
    ref, dis = _run_stage(ref_path), _run_stage(dis_path)
    if ref is None or dis is None or ref[0] <= dis[0] or dis[1] not in (None, ref[1]):
        return None
    return (
        f"reference={str(reference)!r} looks decoded from distorted={str(distorted)!r}; "
        "the order is (reference, distorted), the opposite of pyiqa/torchmetrics: "
        "swap them (pass them by keyword)"
    )


def accepting_inputs(compute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a metric's ``compute(self, reference: Video, distorted: Video)`` so that it
    accepts every input of the module docstring (and the :data:`INPUT_OPTIONS` keywords).

    Two Videos (or None and a Video) go straight through, with no copy and no cost.
    """

    @functools.wraps(compute)
    def wrapper(self: Any, reference: Any = None, distorted: Any = None, **options: Any) -> Any:
        if (
            not options
            and isinstance(distorted, Video)
            and (reference is None or isinstance(reference, Video))
        ):
            return compute(self, reference, distorted)
        if (message := swapped_warning(reference, distorted)) is not None:
            warnings.warn(message, UserWarning, stacklevel=2)
        with as_videos(reference, distorted, **options) as (ref, dis):
            return compute(self, ref, dis)

    return wrapper
