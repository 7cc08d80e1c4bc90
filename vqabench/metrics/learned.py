"""Learned source-aware quality metrics for UGC transcoding: PT-Loss and RankDVQA-UGC.

They see only the non-pristine reference R and the distorted D and were trained to rank D
by VMAF(S, D) against the absent pristine source S, so ``compute(reference=R,
distorted=D)``. A whole video pair is tiled into co-located patches (the trained patch size
by default), every patch pair is scored, and the scores are pooled into one clip score with
the models' differentiable soft minimum (the worst regions weigh most). Scores are ranking
logits: higher is better, only differences and orderings are meaningful.

Whole-video coverage (version 2): on each axis the tiles start at ``0, p, 2p, ...`` and,
when the patch ``p`` does not divide the length ``n``, one last tile starts at ``n - p`` and
overlaps its neighbour, so every pixel of every frame is scored. No region counts twice: the
pool is the soft minimum over *voxels*, each voxel taking the score of the first tile (in
``t, y, x`` order) that covers it, i.e. ``sum_i c_i e^(-s_i/T) s_i / sum_i c_i e^(-s_i/T)``
with ``c_i`` the voxels tile ``i`` covers first (``remainder / p`` of a full tile per
overlapping axis). When the patch divides every axis all ``c_i`` are equal and the value is
the plain soft minimum of version 1 (which dropped the remainder of each axis).

Memory is one temporal window: the frames of one row of tiles (``p_t`` frames of R and of D,
8-bit RGB, one buffer each reused from window to window) are read at a time
(:func:`vqabench.io.video.read_frames` with ``start``/``count``); frames the last,
overlapping window shares with the one before are kept, not read again.

Frames go to the model as they did in training: BT.709 limited-range RGB, rounded to 8 bits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.io.memory import keep_freed_heap
from vqabench.io.video import Video, read_frames
from vqabench.metrics.base import METRICS, Metric, MetricResult, check_pair
from vqabench.metrics.device import OnDevice, resolve_device
from vqabench.metrics.functional.frames import frame_rgb8

if TYPE_CHECKING:
    import torch

__all__ = [
    "PtLossMetric",
    "RankDvqaUgcMetric",
    "tile_starts",
    "first_cover_counts",
    "covering_tiles",
    "weighted_soft_minimum",
]


def tile_starts(length: int, size: int) -> tuple[int, ...]:
    """Starts of tiles of ``size`` that cover ``0 .. length-1`` (``size <= length``).

    Every multiple of ``size`` that fits, plus ``length - size`` when ``size`` does not divide
    ``length`` (that last tile overlaps the one before it).

    Example:
        >>> tile_starts(16, 12)
        (0, 4)
    """
    if not 1 <= size <= length:
        raise invalid("size", size, f"1..{length}")
    starts = list(range(0, length - size + 1, size))
    if starts[-1] + size < length:
        starts.append(length - size)
    return tuple(starts)


def first_cover_counts(length: int, size: int) -> tuple[int, ...]:
    """Positions each tile of :func:`tile_starts` covers that no earlier tile covers.

    They sum to ``length``: ``size`` for each regular tile, ``length % size`` for an
    overlapping last one.

    Example:
        >>> first_cover_counts(16, 12)
        (12, 4)
    """
    starts = tile_starts(length, size)
    return tuple(
        size if i == 0 else s + size - (starts[i - 1] + size) for i, s in enumerate(starts)
    )


def covering_tiles(
    shape: tuple[int, int, int], patch: tuple[int, int, int]
) -> list[tuple[tuple[int, int, int], int]]:
    """The tiles that cover a ``(frames, height, width)`` video, in ``t, y, x`` order.

    Returns:
        ``[((t0, y0, x0), voxels), ...]``: the corner of each tile and the voxels it covers
        first; the voxels sum to ``frames * height * width``.
    """
    axes = [
        list(zip(tile_starts(n, p), first_cover_counts(n, p), strict=True))
        for n, p in zip(shape, patch, strict=True)
    ]
    return [
        ((t, y, x), ct * cy * cx) for t, ct in axes[0] for y, cy in axes[1] for x, cx in axes[2]
    ]


def weighted_soft_minimum(
    scores: torch.Tensor, counts: torch.Tensor, *, temperature: float
) -> torch.Tensor:
    """``sum_i c_i e^(-s_i/T) s_i / sum_i c_i e^(-s_i/T)``: the soft minimum over voxels when
    tile ``i`` (score ``s_i``) stands for ``c_i`` voxels.

    Equal counts give :func:`vqabench.models.ptloss.pool_patch_scores` exactly (the counts are
    divided by their maximum, so their logarithm is 0 for full tiles).
    """
    import torch

    log_c = torch.log(counts.to(scores.dtype) / counts.max())
    weights = torch.softmax(-scores / temperature + log_c, dim=-1)
    return (weights * scores).sum(dim=-1)


def _rgb8_windows(video: Video, starts: tuple[int, ...], count: int) -> Iterator[np.ndarray]:
    """Frames ``t0 .. t0+count-1`` for each ``t0`` of increasing ``starts`` as 8-bit RGB,
    (count, H, W, 3) uint8, as in training, converted with the video's own colour matrix and
    range (issue 12.3).

    One buffer, yielded again for each window (overwritten by the next): the frames a window
    shares with the one before (the last, overlapping temporal tile) are moved within it, not
    read and converted again, and no window's pages are mapped afresh.
    """
    out = np.empty((count, video.height, video.width, 3), dtype=np.uint8)
    end = 0  # frames before ``end`` are in ``out``'s last places
    for t0 in starts:
        keep = max(0, end - t0)
        if keep:
            out[:keep] = out[count - keep :]
        frames = read_frames(video, start=t0 + keep, count=count - keep)
        for i, frame in enumerate(frames, start=keep):
            frame_rgb8(
                frame,
                video.bit_depth,
                matrix=video.color_matrix,
                color_range=video.color_range,
                out=out[i],
            )
        end = t0 + count
        yield out


def _patch_batches(
    ref: np.ndarray,
    dis: np.ndarray,
    corners: list[tuple[int, int]],
    size: tuple[int, int],
    batch_size: int,
    device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Co-located (B, 3, T, h, w) float patches in [0, 1] of two uint8 (T, H, W, 3) windows.

    A batch is its uint8 tiles stacked by torch (B, T, h, w, 3), moved to ``device``,
    converted to float32 and divided by 255 in place, then permuted to (B, 3, T, h, w) as a
    view: the model sees channels-last memory, as before. One float32 buffer a batch instead
    of two (issue 34 item 3); a uint8 tensor divided by a float directly is 4x slower on CPU
    (cast per element, not vectorised).
    """
    import torch

    ph, pw = size
    windows = [torch.from_numpy(w) for w in (ref, dis)]

    def cut(window: torch.Tensor, chunk: list[tuple[int, int]]) -> torch.Tensor:
        tiles = torch.stack([window[:, y : y + ph, x : x + pw] for y, x in chunk])
        return tiles.to(device).to(torch.float32).div_(255.0).permute(0, 4, 1, 2, 3)

    for i in range(0, len(corners), batch_size):
        chunk = corners[i : i + batch_size]
        yield cut(windows[0], chunk), cut(windows[1], chunk)


@functools.lru_cache(maxsize=4)
def _load(name_or_path: str, weights_sha256: str, device: str):  # -> torch.nn.Module
    """A checkpoint loaded once per process and device (each job creates its own metric)."""
    from vqabench.models import load_checkpoint

    return load_checkpoint(name_or_path, map_location=device).to(device)


class _LearnedMetric(OnDevice, Metric):
    """Shared: checkpoint loading, tiling, batched scoring and soft-minimum pooling.

    Args:
        checkpoint: ``"bundled"`` (the weights shipped in ``vqabench/models/weights``) or the
            path of a checkpoint written by ``vqabench train``.
        patch: tile size ``WIDTHxHEIGHTxFRAMES`` (default 64x64x12, the shipped models'
            training size); the last tile on an axis the patch does not divide overlaps its
            neighbour and is weighted by the voxels it adds (module docstring).
        temperature: soft-minimum temperature (large = mean of patch scores).
        batch_size: patch pairs scored at once (not part of the job key).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N`` (not part of
            the job key; recorded in :attr:`provenance`).

    Raises:
        ConfigError: an option is not allowed, or the CUDA device is not available.
    """

    model_name: ClassVar[str]
    higher_is_better = True
    kind = "full-reference"
    differentiable = True
    version: ClassVar[str] = "2"  # 2: whole-video coverage (12.4), the video's colour (12.3)
    licence = "MIT (vqabench's own code and shipped checkpoints, trained by vqabench)"

    def __init__(
        self,
        *,
        checkpoint: str = "bundled",
        patch: str = "64x64x12",
        temperature: float = 1.0,
        batch_size: int = 16,
        device: str = "auto",
    ):
        from vqabench.models.patches import PatchSize

        self.checkpoint = str(checkpoint)
        self.patch = PatchSize.parse(str(patch))
        if not float(temperature) > 0:
            raise invalid("temperature", temperature, "a number > 0")
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise invalid("batch_size", batch_size, "an integer >= 1")
        self.temperature, self.batch_size = float(temperature), int(batch_size)
        self.device = resolve_device(device)
        self._model = None

    @property
    def options(self) -> dict:
        from vqabench.io.hashing import content_hash
        from vqabench.models import checkpoint_path

        path = (
            checkpoint_path(self.model_name)
            if self.checkpoint == "bundled"
            else Path(self.checkpoint)
        )
        weights = content_hash(path)[:16] if path.is_file() else "missing"
        return {
            "checkpoint": self.checkpoint,
            "weights_sha256": weights,
            "patch": self.patch.label,
            "temperature": self.temperature,
        }

    @property
    def model(self):  # -> torch.nn.Module, loaded once per process, weights file and device
        if self._model is None:
            name = self.model_name if self.checkpoint == "bundled" else self.checkpoint
            self._model = _load(name, self.options["weights_sha256"], str(self.device))
        return self._model

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """Score ``distorted`` (D) given the non-pristine ``reference`` (R).

        Order: ``(reference, distorted)``, the pristine or anchor video first (the
        opposite of pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by
        keyword).
        """
        import torch

        check_pair(reference, distorted)
        pw, ph, pt = self.patch.width, self.patch.height, self.patch.frames
        if reference.frames < pt or reference.height < ph or reference.width < pw:
            raise MetricError(
                f"{self.name}: the video ({reference.width}x{reference.height}, "
                f"{reference.frames} frames) is smaller than one "
                f"{pw}x{ph}x{pt} patch; pass a smaller patch option"
            )
        model = self.model
        if self.device.type == "cpu":
            keep_freed_heap()  # a batch's activations reuse the last one's pages (io.memory)
        tiles = covering_tiles((reference.frames, reference.height, reference.width), (pt, ph, pw))
        scores: list[torch.Tensor] = []
        with torch.no_grad():
            starts = tile_starts(reference.frames, pt)
            refs, diss = (_rgb8_windows(v, starts, pt) for v in (reference, distorted))
            for t0, ref, dis in zip(starts, refs, diss, strict=True):
                corners = [(y, x) for (t, y, x), _ in tiles if t == t0]
                for r, d in _patch_batches(
                    ref, dis, corners, (ph, pw), self.batch_size, self.device
                ):
                    scores.append(model(r, d).reshape(-1).float().cpu())
            counts = torch.tensor([c for _, c in tiles], dtype=torch.float64)
            value = float(
                weighted_soft_minimum(torch.cat(scores), counts, temperature=self.temperature)
            )
        return MetricResult(value, ())


@METRICS.register("pt_loss")
class PtLossMetric(_LearnedMetric):
    """PT-Loss (Mamba temporal scan) quality of D given the non-pristine reference R."""

    name = "pt_loss"
    model_name = "pt_loss"


@METRICS.register("rankdvqa_ugc")
class RankDvqaUgcMetric(_LearnedMetric):
    """RankDVQA-UGC (Swin fusion) quality of D given the non-pristine reference R."""

    name = "rankdvqa_ugc"
    model_name = "rankdvqa_ugc"
