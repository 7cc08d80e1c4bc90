"""Frames of a :class:`~vqabench.io.video.Video` as arrays for the learned and temporal metrics.

RGB comes from :func:`vqabench.io.video.yuv_to_rgb` (chroma upsampled by repetition) with the
video's own matrix and range (``Video.color_matrix``, ``Video.color_range``: header, container
or the size convention), as float32 in [0, 1]. Luma is float64 in 8-bit code values
(10-bit video divided by 4), so thresholds mean the same at either bit depth.

Example:
    >>> for batch in rgb_batches(dec, batch_size=8):
    ...     batch.shape   # (8, H, W, 3), float32 in [0, 1]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vqabench.errors import invalid
from vqabench.io.video import Video, YuvFrame, read_frames, yuv_to_rgb

__all__ = [
    "BATCH_PIXELS",
    "frames_per_batch",
    "batch_for_size",
    "frame_rgb",
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


def frame_rgb(
    frame: YuvFrame, bit_depth: int, *, matrix: str = "bt709", color_range: str = "limited"
) -> np.ndarray:
    """One YUV frame as RGB float32 in [0, 1], shape (H, W, 3) (BT.709, limited range unless
    given; pass ``video.color_matrix`` / ``video.color_range`` to honour a video's own)."""
    return yuv_to_rgb(frame, bit_depth=bit_depth, matrix=matrix, color_range=color_range).astype(
        np.float32
    )


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
