"""Frames of a :class:`~vqabench.io.video.Video` as arrays for the learned and temporal metrics.

RGB comes from :func:`vqabench.io.video.yuv_to_rgb` (chroma upsampled by repetition) with the
video's own matrix and range (``Video.color_matrix``, ``Video.color_range``: header, container
or the size convention), as float32 in [0, 1]. Luma is float64 in 8-bit code values
(10-bit video divided by 4), so thresholds mean the same at either bit depth.

8-bit RGB (:func:`frame_rgb8`, the learned models' input as in training) is
``rint(frame_rgb(...) * 255)``. For 8-bit video both are read from tables of that very
computation, filled per (matrix, range) and chroma pair (U, V) on first sight: same bits,
several times faster.

Example:
    >>> for batch in rgb_batches(dec, batch_size=8):
    ...     batch.shape   # (8, H, W, 3), float32 in [0, 1]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from vqabench.errors import invalid
from vqabench.io.video import Video, YuvFrame, read_frames, yuv_to_rgb, yuv_to_rgb_coefficients

__all__ = [
    "BATCH_PIXELS",
    "frames_per_batch",
    "batch_for_size",
    "frame_rgb",
    "frame_rgb8",
    "rgb_batches",
    "rgb_pairs",
    "luma",
    "luma_frames",
]


# Pixels per video in a default batch: one 1080p frame. Eight 1080p frames through
# LPIPS-AlexNet peak at 6.05 GiB resident on CPU (benchmarks/bench_memory.py,
# reports/performance.md "Memory").
BATCH_PIXELS = 1920 * 1080


def frames_per_batch(batch_size: int | None, video: Video) -> int:
    """``batch_size`` when given; by default 8 frames, fewer when frames are large, so that a
    batch holds at most :data:`BATCH_PIXELS` pixels per video (8 at 256x144, 2 at 720p, 1 at
    1080p and above). Per-frame values do not depend on it."""
    return batch_for_size(batch_size, video.width, video.height)


def batch_for_size(
    batch_size: int | None, width: int, height: int, *, pixels: int = BATCH_PIXELS
) -> int:
    """:func:`frames_per_batch` for frames of ``width`` x ``height``; ``pixels``: the most
    pixels per video in a default batch (a metric may ask for fewer, e.g. DISTS)."""
    if batch_size is not None:
        return batch_size
    return max(1, min(8, pixels // (width * height)))


def _rgb_definition(
    frame: YuvFrame, bit_depth: int, *, matrix: str, color_range: str
) -> np.ndarray:
    """The definition of float RGB: :func:`yuv_to_rgb` (float64) as float32."""
    return yuv_to_rgb(frame, bit_depth=bit_depth, matrix=matrix, color_range=color_range).astype(
        np.float32
    )


def _rgb8_definition(
    frame: YuvFrame, bit_depth: int, *, matrix: str, color_range: str
) -> np.ndarray:
    """The definition of 8-bit RGB: float RGB times 255, rounded half to even."""
    rgb = _rgb_definition(frame, bit_depth, matrix=matrix, color_range=color_range)
    return np.rint(rgb * 255.0).astype(np.uint8)


# Chroma pairs converted per call when a table is filled: 16384 pixels, whose float64
# temporaries stay in cache (one call over a million pixels is ten times slower per pixel).
_FILL_PAIRS = 64


class _RgbTable:
    """A definition (:func:`_rgb8_definition` or :func:`_rgb_definition`) of every 8-bit
    (Y, U, V) of one matrix and range, filled one chroma pair (all 256 Y at once) when a frame
    first shows it.

    ``rgb[(U << 16) | (V << 8) | Y]`` is the (R, G, B) of that triple. The table is zeroed
    virtual memory (48 MiB as uint8, 192 MiB as float32); only the pages of pairs filled become
    resident (768 or 3,072 bytes a pair: about 4 or 16 MiB for the 5,400 pairs of
    BigBuckBunny's first 12 frames, the whole table if a video shows all 65,536). Each entry is
    the definition run on that triple, which gives the same bits wherever the pixel sits in a
    frame (tests/metrics/functional/test_frames.py checks every triple of every matrix and range
    against whole-frame conversions).
    """

    def __init__(self, matrix: str, color_range: str, dtype: type = np.uint8):
        self.matrix, self.color_range = matrix, color_range
        self.definition = _rgb8_definition if dtype == np.uint8 else _rgb_definition
        self.rgb = np.zeros((1 << 24, 3), dtype=dtype)
        self.known = np.zeros(1 << 16, dtype=bool)
        self._lock = threading.Lock()

    def fill(self, pairs: np.ndarray) -> None:
        """Convert the chroma pairs ``(U << 8) | V`` among ``pairs`` not seen before."""
        missing = pairs[~self.known[pairs]]
        if missing.size == 0:
            return
        with self._lock:
            wanted = np.zeros(1 << 16, dtype=bool)
            wanted[missing] = True
            keys = np.flatnonzero(wanted & ~self.known)
            columns = self.rgb.reshape(1 << 16, 256, 3)
            luma8 = np.arange(256, dtype=np.uint8)
            for i in range(0, keys.size, _FILL_PAIRS):
                chunk = keys[i : i + _FILL_PAIRS]
                shape = (chunk.size, 256)
                frame = YuvFrame(
                    np.broadcast_to(luma8, shape),
                    np.broadcast_to((chunk >> 8).astype(np.uint8)[:, None], shape),
                    np.broadcast_to((chunk & 255).astype(np.uint8)[:, None], shape),
                )
                columns[chunk] = self.definition(
                    frame, 8, matrix=self.matrix, color_range=self.color_range
                )
                self.known[chunk] = True


_RGB_TABLES: dict[tuple[str, str, type], _RgbTable] = {}


def _rgb_table(matrix: str, color_range: str, dtype: type = np.uint8) -> _RgbTable:
    """The process's table of ``(matrix, color_range)`` and output type (ConfigError if the
    matrix or range is unknown)."""
    key = (matrix, color_range, dtype)
    if key not in _RGB_TABLES:
        yuv_to_rgb_coefficients(matrix, color_range)  # validates both
        _RGB_TABLES.setdefault(key, _RgbTable(matrix, color_range, dtype))
    return _RGB_TABLES[key]


def _from_table(frame: YuvFrame, table: _RgbTable, out: np.ndarray) -> np.ndarray:
    """Look every pixel of an 8-bit ``frame`` up in ``table`` into ``out`` (H, W, 3)."""
    h, w = frame.y.shape
    pairs, index = _table_index(frame)
    table.fill(pairs)
    np.take(table.rgb, index, axis=0, out=out.reshape(h * w, 3), mode="clip")
    return out


def _is_8bit(frame: YuvFrame, bit_depth: int) -> bool:
    return bit_depth == 8 and all(p.dtype == np.uint8 for p in frame)


def frame_rgb(
    frame: YuvFrame, bit_depth: int, *, matrix: str = "bt709", color_range: str = "limited"
) -> np.ndarray:
    """One YUV frame as RGB float32 in [0, 1], shape (H, W, 3) (BT.709, limited range unless
    given; pass ``video.color_matrix`` / ``video.color_range`` to honour a video's own).

    The values are :func:`vqabench.io.video.yuv_to_rgb`'s as float32; 8-bit frames are looked
    up in a per-process table of that computation (same bits, several times faster:
    benchmarks/bench_rgb8.py)."""
    if not _is_8bit(frame, bit_depth):
        return _rgb_definition(frame, bit_depth, matrix=matrix, color_range=color_range)
    out = np.empty((*frame.y.shape, 3), dtype=np.float32)
    return _from_table(frame, _rgb_table(matrix, color_range, np.float32), out)


def _table_index(frame: YuvFrame) -> tuple[np.ndarray, np.ndarray]:
    """(chroma pairs ``(U << 8) | V`` at chroma resolution, table index of every pixel, flat).

    Chroma is repeated over its block and cropped, as :func:`yuv_to_rgb` upsamples it."""
    h, w = frame.y.shape
    ch, cw = frame.u.shape
    ry, rx = -(-h // ch), -(-w // cw)
    pairs = (frame.u.astype(np.intp) << 8) | frame.v
    blocks = (pairs << 8)[:, None, :, None]
    if (ch * ry, cw * rx) == (h, w):
        index = blocks | frame.y.reshape(ch, ry, cw, rx)
    else:
        full = np.broadcast_to(blocks, (ch, ry, cw, rx)).reshape(ch * ry, cw * rx)
        index = full[:h, :w] | frame.y
    return pairs.reshape(-1), index.reshape(-1)


def frame_rgb8(
    frame: YuvFrame,
    bit_depth: int,
    *,
    matrix: str = "bt709",
    color_range: str = "limited",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """One YUV frame as 8-bit RGB, (H, W, 3) uint8: ``rint(frame_rgb(...) * 255)``.

    8-bit frames are looked up in a per-process table of that computation (same bits, 4-6x
    faster: benchmarks/bench_rgb8.py); other bit depths are computed.

    Args:
        frame: the YUV planes.
        bit_depth: bits per sample of the planes.
        matrix, color_range: as for :func:`frame_rgb`.
        out: a C-contiguous (H, W, 3) uint8 array to write into (returned).
    """
    h, w = frame.y.shape
    if out is None:
        out = np.empty((h, w, 3), dtype=np.uint8)
    elif out.shape != (h, w, 3) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise invalid(
            "out", f"{out.dtype} {out.shape}", f"a C-contiguous ({h}, {w}, 3) uint8 array"
        )
    if not _is_8bit(frame, bit_depth):
        out[...] = _rgb8_definition(frame, bit_depth, matrix=matrix, color_range=color_range)
        return out
    return _from_table(frame, _rgb_table(matrix, color_range), out)


def _check_batch(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise invalid("batch_size", batch_size, "an integer >= 1")


def rgb_batches(video: Video, batch_size: int) -> Iterator[np.ndarray]:
    """Yield the frames of ``video`` as RGB batches of shape (B, H, W, 3), B <= batch_size."""
    _check_batch(batch_size)
    batch: list[np.ndarray] = []
    for frame in read_frames(video):
        batch.append(
            frame_rgb(
                frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
            )
        )
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def rgb_pairs(video: Video, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield batches of consecutive-frame pairs ``(frames t, frames t+1)``, each (B, H, W, 3).

    Streams the video (one frame of overlap between batches), so memory stays at two batches.
    """
    _check_batch(batch_size)
    prev: np.ndarray | None = None
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for frame in read_frames(video):
        cur = frame_rgb(
            frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
        )
        if prev is not None:
            firsts.append(prev)
            seconds.append(cur)
            if len(firsts) == batch_size:
                yield np.stack(firsts), np.stack(seconds)
                firsts, seconds = [], []
        prev = cur
    if firsts:
        yield np.stack(firsts), np.stack(seconds)


def luma(frame: YuvFrame, bit_depth: int) -> np.ndarray:
    """The Y plane as float64 in 8-bit code values."""
    return frame.y.astype(np.float64) / float(1 << (bit_depth - 8))


def luma_frames(video: Video) -> Iterator[np.ndarray]:
    """Yield the Y plane of every frame (float64, 8-bit code values)."""
    for frame in read_frames(video):
        yield luma(frame, video.bit_depth)
