"""VBench-style sequence metrics (kind ``"sequence"``): temporal consistency, motion
smoothness and imaging quality of one video.

A sequence metric judges a video on its own: ``compute(reference, distorted)`` scores
``distorted`` and ignores ``reference`` (pass None, or the same video). Higher is better for
all of them; ``per_frame`` is empty, as for every sequence metric (the per-frame terms are
available from :mod:`vqabench.metrics.functional.sequence`).

Published protocol (VBench, Huang et al., CVPR 2024), needs weights in the local cache:

==========================  =====================================================
``subject_consistency``     DINO ViT-B/16 CLS features, consistency to previous and first frame
``background_consistency``  CLIP ViT-B/32 image features, same protocol
``motion_smoothness``       AMT-S frame interpolation of odd frames from even ones
``imaging_quality``         MUSIQ (SPAQ) per frame, mean, divided by 100
==========================  =====================================================

``normalize=True`` maps a published score to [0, 1] with VBench's min/max
(:data:`~vqabench.metrics.functional.sequence.VBENCH_MIN_MAX`). The network metrics take
``device`` (``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``, not part of the job key, see
:mod:`vqabench.metrics.device`) and ``batch_size`` (frames per forward pass). All of them
stream the video: memory holds one batch of frames and the per-frame features.

Weight-free stand-ins, named apart so that their numbers are never taken for VBench's:

==========================  =====================================================
``motion_smoothness_flow``  same protocol, OpenCV Farneback flow interpolation instead of AMT
``consistency_pixel``       same consistency protocol on 32x32 area-averaged RGB, centred at 0.5
==========================  =====================================================

Example:
    >>> metrics.create("motion_smoothness_flow").compute(distorted=video).value
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vqabench.errors import MetricError
from vqabench.io.video import Video
from vqabench.metrics.base import METRICS, Kind, Metric, MetricResult
from vqabench.metrics.device import (
    OnDevice,
    check_bool,
    check_network_options,
    resolve_device,
    seed_option,
)
from vqabench.metrics.functional.flow import interpolate_midframe
from vqabench.metrics.functional.frames import frame_rgb, frames_per_batch, rgb_batches
from vqabench.metrics.functional.sequence import (
    consistency_scores,
    motion_smoothness_scores,
    vbench_normalize,
)
from vqabench.metrics.weights import offline_guard, require, require_all

if TYPE_CHECKING:
    import torch

__all__ = [
    "SubjectConsistency",
    "BackgroundConsistency",
    "ConsistencyPixel",
    "MotionSmoothness",
    "MotionSmoothnessFlow",
    "ImagingQuality",
    "pixel_features",
]

_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


class _SequenceMetric(Metric):
    """Shared attributes and the ``reference``-is-ignored contract."""

    kind: ClassVar[Kind] = "sequence"
    higher_is_better: ClassVar[bool] = True

    def compute(self, reference: Video | None, distorted: Video) -> MetricResult:
        """Score ``distorted`` on its own; ``reference`` is ignored (may be None)."""
        return MetricResult(self._score(distorted))

    def _score(self, video: Video) -> float:
        raise NotImplementedError


class _NetworkSequenceMetric(OnDevice, _SequenceMetric):
    """A published sequence metric with a pretrained network (or a random one for tests);
    its registry name is VBench's name of the dimension (for ``normalize``)."""

    weight_file: ClassVar[str]

    def __init__(
        self,
        *,
        normalize: bool = False,
        pretrained_backbone: bool = True,
        seed: int = 0,
        batch_size: int | None = None,
        device: str = "auto",
    ):
        check_network_options(batch_size, seed)
        self.normalize = check_bool("normalize", normalize)
        self.pretrained_backbone = check_bool("pretrained_backbone", pretrained_backbone)
        self.seed, self.batch_size = seed, batch_size
        if self.pretrained_backbone:
            # fail now, before any frame is read or torch imported
            require_all([self.weight_file], fetch_name=self.name)
        self.device = resolve_device(device)
        self._model: Any = None

    @property
    def options(self) -> dict:
        return {
            "normalize": self.normalize,
            "pretrained_backbone": self.pretrained_backbone,
            **seed_option(self.pretrained_backbone, self.seed),
        }

    @property
    def model(self) -> Any:
        """The network, built on first use (on the CPU, under ``seed``), on :attr:`device`."""
        if self._model is None:
            from vqabench.metrics.functional.perceptual import seeded

            with seeded(self.seed), offline_guard():
                self._model = self._build().to(self.device)
        return self._model

    def _build(self) -> Any:
        raise NotImplementedError

    def _finish(self, value: float) -> float:
        return vbench_normalize(value, self.name) if self.normalize else value


def _resize_short_side(x: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    scale = size / min(h, w)
    out = (max(size, round(h * scale)), max(size, round(w * scale)))
    return F.interpolate(x, size=out, mode=mode, align_corners=False)


def _normalize(x: torch.Tensor, stats: tuple[tuple[float, ...], tuple[float, ...]]) -> torch.Tensor:
    import torch

    mean = torch.tensor(stats[0], device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(stats[1], device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


class _FeatureConsistency(_NetworkSequenceMetric):
    def _features(self, batch: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def _score(self, video: Video) -> float:
        import torch

        from vqabench.metrics.functional.perceptual import to_tensor

        feats = []
        with torch.inference_mode():
            for batch in rgb_batches(video, frames_per_batch(self.batch_size, video)):
                feats.append(self._features(to_tensor(batch, self.device)).double().cpu().numpy())
        value, _ = consistency_scores(np.concatenate(feats))
        return self._finish(value)


@METRICS.register("subject_consistency")
class SubjectConsistency(_FeatureConsistency):
    """VBench subject consistency: DINO ViT-B/16 CLS features (shorter side resized to 224,
    ImageNet normalisation), mean over frames of the average cosine similarity to the previous
    and to the first frame, each clipped at 0.

    Args:
        normalize: map to [0, 1] with VBench's min/max (0.1462, 1.0).
        pretrained_backbone: ``dino_vitbase16_pretrain.pth`` from the local cache (default);
            False: random ViT-B/16 under ``seed`` (tests only).
        seed: seed of the random network.
        batch_size: frames per forward pass (default: 8, fewer for large frames,
            :func:`~vqabench.metrics.functional.frames.frames_per_batch`).
        device: ``auto`` (CUDA when available) | ``cpu`` | ``cuda`` | ``cuda:N``.

    Raises:
        WeightsUnavailableError: the DINO file is not in the local cache.
    """

    name = "subject_consistency"
    licence = "Apache-2.0 (DINO ViT-B/16 weights, facebookresearch/dino; timm code)"
    weight_file = "dino_vitbase16_pretrain.pth"

    def _build(self) -> Any:
        import timm

        model = timm.create_model(
            "vit_base_patch16_224", pretrained=False, num_classes=0, dynamic_img_size=True
        )
        if self.pretrained_backbone:
            from vqabench.metrics.functional.perceptual import load_torch_file

            state = load_torch_file(require(self.weight_file))
            state = {
                k.removeprefix("module.").removeprefix("backbone."): v
                for k, v in state.items()
                if not k.startswith("head")
            }
            missing = model.load_state_dict(state, strict=False).missing_keys
            if missing:
                raise MetricError(f"{self.weight_file} lacks DINO ViT-B/16 keys {missing[:3]}")
        return model.eval()

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        x = _normalize(_resize_short_side(batch, 224, "bilinear"), _IMAGENET)
        # DINO embeds 16x16 patches with a stride-16 convolution, which leaves out the last
        # h % 16 rows and w % 16 columns (a 16:9 frame resized to 224x398 is seen as 224x384);
        # timm's dynamic-size ViT refuses such sizes, so they are cropped to the same effect.
        h, w = x.shape[-2:]
        return self.model(x[..., : h // 16 * 16, : w // 16 * 16])


@METRICS.register("background_consistency")
class BackgroundConsistency(_FeatureConsistency):
    """VBench background consistency: CLIP ViT-B/32 image features (shorter side resized to
    224 bicubic, centre crop 224, CLIP normalisation), same protocol as subject consistency.

    Args:
        normalize: map to [0, 1] with VBench's min/max (0.2615, 1.0).
        pretrained_backbone: ``ViT-B-32.pt`` from the local cache (default); False: random
            CLIP ViT-B/32 image tower under ``seed`` (tests only).
        seed, batch_size, device: as for :class:`SubjectConsistency`; a missing CLIP file
            raises WeightsUnavailableError.
    """

    name = "background_consistency"
    licence = "MIT (OpenAI CLIP code and ViT-B/32 weights)"
    weight_file = "ViT-B-32.pt"

    def _build(self) -> Any:
        import clip

        if self.pretrained_backbone:
            model, _ = clip.load(str(require(self.weight_file)), device="cpu", jit=False)
            return model.visual.float().eval()
        return clip.model.VisionTransformer(
            input_resolution=224, patch_size=32, width=768, layers=12, heads=12, output_dim=512
        ).eval()

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        x = _resize_short_side(batch, 224, "bicubic")
        h, w = x.shape[-2:]
        top, left = (h - 224) // 2, (w - 224) // 2
        x = x[..., top : top + 224, left : left + 224]
        return self.model(_normalize(x, _CLIP))


def pixel_features(rgb: np.ndarray, size: int = 32) -> np.ndarray:
    """Weight-free frame features: RGB area-averaged to ``size`` x ``size``, minus 0.5, flat.

    Centring at mid-grey (not at the frame mean) keeps brightness changes visible to the cosine
    similarity. Sizes that ``size`` does not divide are cropped to a multiple first.
    """
    h, w = rgb.shape[:2]
    if h < size or w < size:
        raise MetricError(f"consistency_pixel needs frames of at least {size}x{size}, got {w}x{h}")
    bh, bw = h // size, w // size
    crop = rgb[: bh * size, : bw * size].astype(np.float64)
    small = crop.reshape(size, bh, size, bw, 3).mean(axis=(1, 3))
    return (small - 0.5).reshape(-1)


@METRICS.register("consistency_pixel")
class ConsistencyPixel(_SequenceMetric):
    """Weight-free stand-in for VBench's consistency: the same protocol on
    :func:`pixel_features` instead of DINO/CLIP features. Not comparable with VBench numbers.
    """

    name = "consistency_pixel"
    licence = "MIT (vqabench's own code)"

    def _score(self, video: Video) -> float:
        from vqabench.io.video import read_frames

        # one frame at a time: memory holds one RGB frame and the 32x32x3 features per frame
        feats = [
            pixel_features(
                frame_rgb(
                    f, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
                )
            )
            for f in read_frames(video)
        ]
        return consistency_scores(np.stack(feats))[0]


def _rgb255(video: Video) -> Any:
    from vqabench.io.video import read_frames

    for frame in read_frames(video):
        yield (
            frame_rgb(
                frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
            ).astype(np.float64)
            * 255.0
        )


@METRICS.register("motion_smoothness")
class MotionSmoothness(_SequenceMetric):
    """VBench motion smoothness with AMT-S interpolation (the published protocol).

    The AMT-S checkpoint (``amt-s.pth``) is looked up first; vqabench does not bundle the AMT
    network itself, so with the file present this still raises MetricError pointing to
    ``motion_smoothness_flow``.

    Args:
        normalize: map to [0, 1] with VBench's min/max (0.706, 0.9975).

    Raises:
        WeightsUnavailableError: ``amt-s.pth`` is not in the local cache.
    """

    name = "motion_smoothness"
    licence = "unverified (AMT-S checkpoint amt-s.pth: check its publisher's terms)"
    weight_file: ClassVar[str] = "amt-s.pth"

    def __init__(self, *, normalize: bool = False):
        self.normalize = check_bool("normalize", normalize)
        require_all([self.weight_file], fetch_name=self.name)

    @property
    def options(self) -> dict:
        return {"normalize": self.normalize}

    def _score(self, video: Video) -> float:
        raise MetricError(
            "motion_smoothness needs the AMT-S interpolation network, which vqabench does not "
            "bundle; use motion_smoothness_flow (Farneback interpolation) instead"
        )


@METRICS.register("motion_smoothness_flow")
class MotionSmoothnessFlow(_SequenceMetric):
    """VBench's motion-smoothness protocol with OpenCV Farneback flow interpolation instead of
    AMT (weight-free; not comparable with VBench numbers): each odd frame is interpolated from
    its even neighbours and scored ``(255 - mean |interpolated - actual|) / 255`` on 8-bit RGB.
    1.0 for a static video; repeated or jittered frames lower it.
    """

    name = "motion_smoothness_flow"
    licence = "MIT (vqabench's own code); Apache-2.0 (OpenCV Farneback flow)"

    def _score(self, video: Video) -> float:
        return motion_smoothness_scores(_rgb255(video), interpolate_midframe)[0]


@METRICS.register("imaging_quality")
class ImagingQuality(_NetworkSequenceMetric):
    """VBench imaging quality: MUSIQ trained on SPAQ (pyiqa ``musiq-spaq``) per frame, frames
    whose longer side exceeds 512 resized to 512 (VBench's ``longer`` mode), mean over frames
    divided by 100.

    Args:
        normalize: VBench's min/max for this dimension is (0, 1): no change, kept for symmetry.
        pretrained_backbone: ``musiq_spaq_ckpt-358bb6af.pth`` from the local cache (default);
            False: random MUSIQ under ``seed`` (tests only).
        seed, batch_size, device: as for :class:`SubjectConsistency`.

    Raises:
        WeightsUnavailableError: the MUSIQ file is not in the local cache.
    """

    name = "imaging_quality"
    licence = (
        "PolyForm-Noncommercial-1.0.0 (pyiqa's MUSIQ code and SPAQ weights; noncommercial use only)"
    )
    weight_file = "musiq_spaq_ckpt-358bb6af.pth"

    def _build(self) -> Any:
        import pyiqa

        opts = {} if self.pretrained_backbone else {"pretrained": False}
        return pyiqa.create_metric("musiq-spaq", device=self.device, **opts)

    def _score(self, video: Video) -> float:
        import torch
        import torch.nn.functional as F

        from vqabench.metrics.functional.perceptual import to_tensor

        model = self.model
        scores: list[float] = []
        with torch.inference_mode():
            for batch in rgb_batches(video, 1):  # MUSIQ is multi-scale: one frame at a time
                x = to_tensor(batch, self.device)
                h, w = x.shape[-2:]
                if max(h, w) > 512:
                    scale = 512 / max(h, w)
                    x = F.interpolate(
                        x,
                        size=(round(h * scale), round(w * scale)),
                        mode="bilinear",
                        align_corners=False,
                    ).clamp(0, 1)
                scores.append(float(model(x).reshape(-1)[0]))
        return self._finish(float(np.mean(scores)) / 100.0)
