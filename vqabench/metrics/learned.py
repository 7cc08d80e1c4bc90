"""Learned source-aware quality metrics for UGC transcoding: PT-Loss and RankDVQA-UGC.

They see only the non-pristine reference R and the distorted D and were trained to rank D
by VMAF(S, D) against the absent pristine source S, so ``compute(reference=R,
distorted=D)``. A whole video pair is tiled into co-located patches (the trained patch size
by default), every patch pair is scored, and the scores are pooled into one clip score with
the models' differentiable soft minimum (the worst regions weigh most). Scores are ranking
logits: higher is better, only differences and orderings are meaningful.

Frames go to the model as they did in training: BT.709 limited-range RGB, rounded to 8 bits.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.io.video import Video, read_frames
from vqabench.metrics.base import METRICS, Metric, MetricResult, check_pair
from vqabench.metrics.functional.frames import frame_rgb

__all__ = ["PtLossMetric", "RankDvqaUgcMetric"]


def _rgb_clip(video: Video):  # -> torch.Tensor (1, 3, T, H, W) in [0, 1]
    import torch

    frames = [frame_rgb(f, video.bit_depth) for f in read_frames(video)]
    rgb8 = np.rint(np.stack(frames) * 255.0) / 255.0  # (T, H, W, 3), as the training patches
    return torch.from_numpy(rgb8.astype(np.float32)).permute(3, 0, 1, 2)[None]


@functools.lru_cache(maxsize=4)
def _load(name_or_path: str, weights_sha256: str):  # -> torch.nn.Module
    """A checkpoint loaded once per process (each job creates its own metric object)."""
    from vqabench.models import load_checkpoint

    return load_checkpoint(name_or_path)


class _LearnedMetric(Metric):
    """Shared: checkpoint loading, tiling, batched scoring and soft-minimum pooling.

    Args:
        checkpoint: ``"bundled"`` (the weights shipped in ``vqabench/models/weights``) or the
            path of a checkpoint written by ``vqabench train``.
        patch: tile size ``WIDTHxHEIGHTxFRAMES`` (default 64x64x12, the shipped models'
            training size); the remainder at the end of each axis is left out.
        temperature: soft-minimum temperature (large = mean of patch scores).
        batch_size: patch pairs scored at once.
    """

    model_name: ClassVar[str]
    higher_is_better = True
    kind = "full-reference"
    differentiable = True

    def __init__(self, *, checkpoint: str = "bundled", patch: str = "64x64x12",
                 temperature: float = 1.0, batch_size: int = 16):
        from vqabench.datasets.patches import PatchSize

        self.checkpoint = str(checkpoint)
        self.patch = PatchSize.parse(str(patch))
        if not float(temperature) > 0:
            raise invalid("temperature", temperature, "a number > 0")
        if int(batch_size) < 1:
            raise invalid("batch_size", batch_size, "an integer >= 1")
        self.temperature, self.batch_size = float(temperature), int(batch_size)
        self._model = None

    @property
    def options(self) -> dict:
        from vqabench.datasets.base import content_hash
        from vqabench.models import checkpoint_path

        path = (checkpoint_path(self.model_name) if self.checkpoint == "bundled"
                else Path(self.checkpoint))
        weights = content_hash(path)[:16] if path.is_file() else "missing"
        return {"checkpoint": self.checkpoint, "weights_sha256": weights,
                "patch": self.patch.label,
                "temperature": self.temperature}

    @property
    def model(self):  # -> torch.nn.Module, loaded once per process and weights file
        if self._model is None:
            name = self.model_name if self.checkpoint == "bundled" else self.checkpoint
            self._model = _load(name, self.options["weights_sha256"])
        return self._model

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """Score ``distorted`` (D) given the non-pristine ``reference`` (R)."""
        import torch

        from vqabench.models.ptloss import pool_patch_scores, tile_patches

        check_pair(reference, distorted)
        size = (self.patch.frames, self.patch.height, self.patch.width)
        if any(v < p for v, p in zip((reference.frames, reference.height, reference.width),
                                     size, strict=True)):
            raise MetricError(f"{self.name}: the video ({reference.width}x{reference.height}, "
                              f"{reference.frames} frames) is smaller than one "
                              f"{self.patch.width}x{self.patch.height}x{self.patch.frames} patch;"
                              " pass a smaller patch option")
        model = self.model
        with torch.no_grad():
            r = tile_patches(_rgb_clip(reference), size)[0]
            d = tile_patches(_rgb_clip(distorted), size)[0]
            scores = torch.cat([model(r[i:i + self.batch_size], d[i:i + self.batch_size])
                                for i in range(0, len(r), self.batch_size)])
            value = float(pool_patch_scores(scores, temperature=self.temperature))
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
