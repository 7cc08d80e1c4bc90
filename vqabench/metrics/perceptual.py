"""Learned full-reference image metrics applied frame-wise to video: LPIPS, DISTS, and any
pyiqa image metric as ``pyiqa:<name>``.

Each frame pair is converted to RGB (each video's own matrix and range,
:func:`vqabench.io.video.yuv_to_rgb`; once per frame pair for all the network metrics of a job:
:meth:`vqabench.metrics.base.FramePair.rgb`), batched (``batch_size`` frames per forward
pass; by default 8, fewer for large frames, see
:func:`~vqabench.metrics.functional.frames.frames_per_batch`), scored by the library's own
network, and the per-frame values are pooled over time (:func:`vqabench.metrics.base.pool`).
All take ``(reference, distorted)`` in that order.

Weights are used from the local cache only (:mod:`vqabench.metrics.weights`); creating a metric
whose weights are absent raises :class:`~vqabench.errors.WeightsUnavailableError` at once. The
option ``pretrained_backbone=False`` swaps the backbone for a random one under ``seed``: the
numbers then mean nothing, but the plumbing can be tested offline.

``device`` (``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``; auto = CUDA when available) says where
the network runs and the frames of a batch go; it is not part of the job key (the values agree
to float rounding, :mod:`vqabench.metrics.device`) and is recorded in ``provenance``.

Example:
    >>> from vqabench import metrics
    >>> metrics.create("lpips", net="vgg").compute(reference=src, distorted=dec).value
    >>> metrics.create("pyiqa:ms_ssim").compute(reference=src, distorted=dec).value
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, get_args

import numpy as np

from vqabench.errors import ConfigError, MetricError, UnknownNameError, invalid
from vqabench.io.video import Video
from vqabench.metrics.base import (
    METRICS,
    POOLING,
    FramePair,
    Metric,
    MetricResult,
    Pooling,
    pool,
)
from vqabench.metrics.device import (
    OnDevice,
    check_bool,
    check_network_options,
    resolve_device,
    seed_option,
)
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.frames import BATCH_PIXELS, batch_for_size, rgb_batches
from vqabench.metrics.functional.perceptual import (
    DISTS_FILES,
    LPIPS_BACKBONE_FILES,
    LpipsNet,
    dists_network,
    dists_scores,
    lpips_network,
    lpips_scores,
    to_tensor,
)
from vqabench.metrics.weights import offline_guard, require_all

if TYPE_CHECKING:
    import torch

__all__ = ["Lpips", "Dists", "PyiqaMetric", "pyiqa_class", "PYIQA_PREFIX"]

PYIQA_PREFIX = "pyiqa:"


#: Networks built in this process, most recently used last (see :func:`_shared_network`).
_NETWORKS: OrderedDict[tuple, torch.nn.Module] = OrderedDict()
_NETWORKS_KEPT = 4


def _shared_network(key: tuple, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """The network of ``key`` (metric class, the options that define the network, device),
    built by ``build()`` on first use and kept for later metrics of this process, up to
    :data:`_NETWORKS_KEPT` networks (least recently used dropped first).

    ``vqabench run`` creates a metric per job; rebuilding the network each time cost 1.1 s
    per job for LPIPS-AlexNet (a random or loaded backbone with its classifier) and 0.14 s
    for DISTS (reports/performance.md, "Round 3"). The networks are used in eval mode under
    ``torch.inference_mode`` only, so sharing them does not change a value.
    """
    if key in _NETWORKS:
        _NETWORKS.move_to_end(key)
        return _NETWORKS[key]
    network = build()
    _NETWORKS[key] = network
    while len(_NETWORKS) > _NETWORKS_KEPT:
        _NETWORKS.popitem(last=False)
    return network


def _check_common(batch_size: object, pooling: object, seed: object) -> None:
    check_network_options(batch_size, seed)
    if pooling not in POOLING:
        raise invalid("pooling", pooling, " | ".join(POOLING))


class RgbBatchAccumulator:
    """Streams the RGB frames of each pair (:meth:`FramePair.rgb`, shared by every network
    metric of a job) into batches of ``batch_size`` frames; ``score(reference, distorted)``
    turns each batch, (B, H, W, 3) float32 arrays, into B per-frame values.

    Args:
        name: the metric's name, for errors.
        score: one batch -> per-frame values.
        batch_size: frames per call of ``score``.
        pooling: temporal pooling of the per-frame values.
    """

    def __init__(
        self,
        name: str,
        score: Callable[[np.ndarray, np.ndarray], Any],
        batch_size: int,
        pooling: str,
    ):
        self.name, self.score, self.batch_size, self.pooling = name, score, batch_size, pooling
        self.values: list[float] = []
        self._refs: list[np.ndarray] = []
        self._diss: list[np.ndarray] = []

    def _flush(self) -> None:
        if self._refs:
            out = self.score(np.stack(self._refs), np.stack(self._diss))
            self.values.extend(np.asarray(out, dtype=np.float64).reshape(-1).tolist())
            self._refs, self._diss = [], []

    def update(self, pair: FramePair) -> None:
        """Add one frame pair; a full batch is scored at once."""
        ref, dis = pair.rgb()
        self._refs.append(ref)
        self._diss.append(dis)
        if len(self._refs) == self.batch_size:
            self._flush()

    def compute(self) -> MetricResult:
        """The pooled value and the per-frame values of every frame seen.

        Raises:
            MetricError: no frames, or the network returned NaN.
        """
        self._flush()
        if any(np.isnan(v) for v in self.values):
            raise MetricError(f"{self.name} returned NaN for some frames")
        return MetricResult(pool(self.values, self.pooling), tuple(self.values))


class _FramewiseNetwork(OnDevice, Metric):
    """Shared shell: options, weight check, lazy network, batched frame-wise evaluation and
    pooling. A subclass names its weight files in :meth:`_weights`."""

    higher_is_better: ClassVar[bool] = False
    differentiable: ClassVar[bool] = True
    #: Pixels per video in a default batch (:func:`batch_for_size`): half the general rule's,
    #: one frame from 1280x720 up. Chosen by cost: the banded evaluation of one 720p frame
    #: costs less CPU time than each frame of a batch of two, whose bands hold twice the
    #: working set (DISTS about 16 %, LPIPS about 7 %: reports/performance.md, "Round 4").
    #: Values do not depend on the batch.
    batch_pixels: ClassVar[int] = BATCH_PIXELS // 2

    def __init__(
        self,
        *,
        pretrained_backbone: bool = True,
        seed: int = 0,
        batch_size: int | None = None,
        pooling: Pooling = "mean",
        device: str = "auto",
    ):
        _check_common(batch_size, pooling, seed)
        self.pretrained_backbone = check_bool("pretrained_backbone", pretrained_backbone)
        if self.pretrained_backbone:  # fail now (before importing torch for the device)
            files, fetch_name = self._weights()
            require_all(files, fetch_name=fetch_name)  # names every missing file
        self.seed, self.batch_size, self.pooling = seed, batch_size, pooling
        self.device = resolve_device(device)
        self._model: torch.nn.Module | None = None

    def _weights(self) -> tuple[Sequence[str], str]:
        """(the weight files of the pretrained network, the name ``weights fetch`` takes)."""
        raise NotImplementedError

    @property
    def options(self) -> dict:
        # batch_size and device do not change the values, so they stay out of the job key.
        return {
            "pretrained_backbone": self.pretrained_backbone,
            "pooling": self.pooling,
            **seed_option(self.pretrained_backbone, self.seed),
        }

    def _build(self) -> torch.nn.Module:
        raise NotImplementedError

    def _scores(
        self, model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray
    ) -> np.ndarray:
        raise NotImplementedError

    @property
    def model(self) -> torch.nn.Module:
        """The library's network on :attr:`device`, built once per process for each set of
        options that define it (:func:`_shared_network`: each job creates its own metric)."""
        if self._model is None:
            key = (
                type(self),
                json.dumps(self.options, sort_keys=True, default=str),
                str(self.device),
            )
            self._model = _shared_network(key, lambda: self._build().to(self.device))
        return self._model

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> RgbBatchAccumulator:
        """Frame-wise scores in batches (:meth:`Metric.compute` streams the videos through
        it; the runner feeds it the frames it reads once for all the job's metrics)."""
        return RgbBatchAccumulator(
            self.name,
            lambda r, d: self._scores(self.model, r, d),
            batch_for_size(self.batch_size, width, height, pixels=self.batch_pixels),
            self.pooling,
        )


@METRICS.register("lpips")
class Lpips(_FramewiseNetwork):
    """LPIPS v0.1 (Zhang et al., CVPR 2018) through the ``lpips`` package; lower is better.

    Args:
        net: backbone, ``alex`` (default, the authors' recommendation) | ``vgg`` | ``squeeze``.
        pretrained_backbone: torchvision ImageNet backbone from the local cache (default);
            False: random backbone under ``seed`` (tests only).
        seed: seed of the random backbone.
        batch_size: frames per forward pass; by default half the pixels of
            :func:`~vqabench.metrics.functional.frames.frames_per_batch`'s batch (one frame
            at 1280x720 and above, 2 at 960x540, 8 at 256x144).
        pooling: temporal pooling of per-frame values (``mean``, ``harmonic_mean``, ``min``,
            ``median``).
        device: ``auto`` (CUDA when available) | ``cpu`` | ``cuda`` | ``cuda:N``.

    Raises:
        ConfigError: an option is not allowed.
        WeightsUnavailableError: the backbone file is not in the local cache.
    """

    name = "lpips"
    licence = (
        "BSD-2-Clause (lpips code and linear layers); BSD-3-Clause (torchvision backbone weights)"
    )

    def __init__(self, *, net: LpipsNet = "alex", **options: Any):
        if net not in get_args(LpipsNet):
            raise invalid("net", net, " | ".join(get_args(LpipsNet)))
        self.net = net
        super().__init__(**options)

    def _weights(self) -> tuple[Sequence[str], str]:
        return [LPIPS_BACKBONE_FILES[self.net]], f"{self.name}:net={self.net}"

    @property
    def options(self) -> dict:
        return {"net": self.net, **super().options}

    def _build(self) -> torch.nn.Module:
        return lpips_network(self.net, pretrained_backbone=self.pretrained_backbone, seed=self.seed)

    def _scores(
        self, model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray
    ) -> np.ndarray:
        return lpips_scores(model, reference, distorted)


@METRICS.register("dists")
class Dists(_FramewiseNetwork):
    """DISTS (Ding et al., TPAMI 2020) through pyiqa's port of the authors' code; lower is
    better. Frames are used at their coded size (no resizing).

    Args:
        pretrained_backbone: VGG16 and DISTS alpha/beta weights from the local cache (default);
            False: random VGG16 features and random alpha/beta under ``seed`` (tests only).
        seed, batch_size, pooling, device: as for :class:`Lpips`.

    Raises:
        ConfigError, WeightsUnavailableError: as for :class:`Lpips` (every missing weight
            file named).
    """

    name = "dists"
    licence = (
        "PolyForm-Noncommercial-1.0.0 (pyiqa's DISTS code and weights; noncommercial use only)"
    )

    def _weights(self) -> tuple[Sequence[str], str]:
        return DISTS_FILES, self.name

    def _build(self) -> torch.nn.Module:
        return dists_network(pretrained_backbone=self.pretrained_backbone, seed=self.seed)

    def _scores(
        self, model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray
    ) -> np.ndarray:
        return dists_scores(model, reference, distorted)


# --- any pyiqa image metric -------------------------------------------------------------------


class PyiqaMetric(OnDevice, Metric):
    """Generic frame-wise adapter for a pyiqa image metric (use :func:`pyiqa_class`).

    Direction and kind come from pyiqa's own metadata (``lower_better``, ``metric_mode``); no
    metric is special-cased. Full-reference metrics are called as ``net(distorted, reference)``
    (pyiqa's ``(target, ref)``); no-reference metrics score ``distorted`` alone and ignore
    ``reference`` (which may be None). Weights pyiqa wants are served from the local cache or
    refused with WeightsUnavailableError (:func:`vqabench.metrics.weights.offline_guard`).

    Args:
        batch_size: frames per forward pass (default:
            :func:`~vqabench.metrics.functional.frames.frames_per_batch`).
        pooling: temporal pooling of per-frame values.
        device: ``auto`` (CUDA when available) | ``cpu`` | ``cuda`` | ``cuda:N``.
        **pyiqa_options: passed to ``pyiqa.create_metric`` (e.g. ``test_y_channel=False``).
    """

    pyiqa_name: ClassVar[str]
    licence = "PolyForm-Noncommercial-1.0.0 (pyiqa code and weights; noncommercial use only)"

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        pooling: Pooling = "mean",
        device: str = "auto",
        **pyiqa_options: Any,
    ):
        _check_common(batch_size, pooling, 0)
        self.batch_size, self.pooling = batch_size, pooling
        self.device = resolve_device(device)
        self.pyiqa_options = dict(pyiqa_options)
        self._model: torch.nn.Module | None = None

    @property
    def options(self) -> dict:
        return {"pooling": self.pooling, **self.pyiqa_options}

    @property
    def model(self) -> torch.nn.Module:
        """pyiqa's InferenceModel, built on first use, on :attr:`device`."""
        if self._model is None:
            key = (
                type(self),
                json.dumps(self.pyiqa_options, sort_keys=True, default=str),
                str(self.device),
            )
            self._model = _shared_network(key, self._create)
        return self._model

    def _create(self) -> torch.nn.Module:
        import pyiqa

        with offline_guard():
            try:
                return pyiqa.create_metric(
                    self.pyiqa_name, device=self.device, **self.pyiqa_options
                )
            except TypeError as exc:
                if "unexpected keyword argument" not in str(exc):
                    raise
                raise ConfigError(f"{self.name}: option not accepted by pyiqa: {exc}") from exc

    def _score(self, reference: np.ndarray | None, distorted: np.ndarray) -> np.ndarray:
        """Per-frame values of one RGB batch (pyiqa's ``net(target, ref)`` order; no-reference
        metrics ignore ``reference``)."""
        import torch

        model, dev = self.model, self.device
        with torch.inference_mode():
            if self.kind == "no-reference":
                out = model(to_tensor(distorted, dev))
            else:
                out = model(to_tensor(distorted, dev), to_tensor(reference, dev))
        return np.asarray(out.detach().double().cpu()).reshape(-1)

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> RgbBatchAccumulator:
        """Frame-wise scores in batches of the shared RGB frames (see
        :class:`RgbBatchAccumulator`)."""
        return RgbBatchAccumulator(
            self.name, self._score, batch_for_size(self.batch_size, width, height), self.pooling
        )

    def compute(self, reference: Video | None, distorted: Video) -> MetricResult:
        """Score ``distorted`` (against ``reference`` for full-reference metrics).

        Order: ``(reference, distorted)``, the pristine or anchor video first (the
        opposite of pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by
        keyword).

        Raises:
            MetricError: mismatched videos, or a full-reference metric without a reference.
        """
        if self.kind != "no-reference":
            if reference is None:
                raise MetricError(f"{self.name} is full-reference: a reference video is required")
            return super().compute(reference, distorted)
        acc = self.accumulator(FrameFormat.of(distorted), distorted.width, distorted.height)
        for batch in rgb_batches(distorted, acc.batch_size):  # the distorted video alone
            acc.values.extend(self._score(None, batch).tolist())
        return acc.compute()


@functools.cache
def pyiqa_class(pyiqa_name: str) -> type[Metric]:
    """The vqabench metric class for pyiqa's metric ``pyiqa_name`` (registry name
    ``pyiqa:<pyiqa_name>``), with ``higher_is_better`` and ``kind`` from pyiqa's metadata.

    Raises:
        UnknownNameError: pyiqa has no such metric (close matches listed).
    """
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    if pyiqa_name not in DEFAULT_CONFIGS:
        raise UnknownNameError("pyiqa metric", pyiqa_name, DEFAULT_CONFIGS)
    cfg = DEFAULT_CONFIGS[pyiqa_name]
    attrs = {
        "name": PYIQA_PREFIX + pyiqa_name,
        "pyiqa_name": pyiqa_name,
        "higher_is_better": not bool(cfg.get("lower_better", False)),
        "kind": "full-reference" if cfg.get("metric_mode") == "FR" else "no-reference",
        "version": "1",
        "__doc__": f"pyiqa metric {pyiqa_name!r} applied frame-wise (see PyiqaMetric).",
    }
    safe = "".join(c if c.isalnum() else "_" for c in pyiqa_name)
    return type(f"Pyiqa_{safe}", (PyiqaMetric,), attrs)
