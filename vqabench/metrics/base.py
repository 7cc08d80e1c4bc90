"""The metric contract every metric keeps (see docs/design.md).

A metric is a thin class holding validated options; the numbers come from pure functions in
:mod:`vqabench.metrics.functional` or from the wrapped library. Full-reference metrics take
``(reference, distorted)`` in that order, everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Never, Protocol

import numpy as np

from vqabench.errors import MetricError, invalid
from vqabench.io.video import Video, YuvFrame, read_frames
from vqabench.metrics.functional import frames
from vqabench.metrics.functional.frame_format import FrameFormat
from vqabench.metrics.functional.pooling import POOLING, Pooling, pool
from vqabench.metrics.inputs import accepting_inputs
from vqabench.registry import Registry

__all__ = [
    "Metric",
    "MetricResult",
    "METRICS",
    "Kind",
    "pool",
    "check_pair",
    "POOLING",
    "Pooling",
    "FramePair",
    "Accumulator",
    "frame_pairs",
    "FrameFormat",
]

Kind = Literal["full-reference", "no-reference", "sequence"]
METRICS: Registry[type[Metric]] = Registry("metric")


@dataclass(frozen=True)
class MetricResult:
    """The pooled value of a metric and its per-frame values (empty for sequence metrics)."""

    value: float
    per_frame: tuple[float, ...] = ()


def check_pair(reference: Video, distorted: Video) -> None:
    """Raise MetricError unless two videos have the same size, format and frame count."""
    ref_fmt = (reference.width, reference.height, reference.pix_fmt)
    dis_fmt = (distorted.width, distorted.height, distorted.pix_fmt)
    if ref_fmt != dis_fmt:
        raise MetricError(
            f"reference {ref_fmt} and distorted {dis_fmt} differ in size or pixel format"
        )
    if reference.frames != distorted.frames:
        raise MetricError(
            f"reference has {reference.frames} frames and distorted has {distorted.frames}"
        )


#: Colours of frames in memory that state none: BT.709, limited range (as ``Video`` defaults).
DEFAULT_COLOURS = (("bt709", "limited"), ("bt709", "limited"))


class FramePair:
    """One frame of the anchor and the same frame of the distorted video, read once and
    handed to every streaming metric of a job.

    Per-frame intermediate results that several metrics need (the planes' MSEs for the PSNR
    family, the luma plane in float32 and its full-resolution SSIM statistics for SSIM and
    MS-SSIM, the RGB frames of the networks: :meth:`rgb`) are computed by the first metric
    that asks (:meth:`shared`) and reused.

    Attributes:
        index: frame number (0-based).
        reference: the anchor's frame.
        distorted: the distorted video's frame.
        fmt: the frame format of both.
        colours: ``((matrix, range) of the reference, (matrix, range) of the distorted)``,
            each video's own (``Video.color_matrix``, ``Video.color_range``), for :meth:`rgb`.
    """

    __slots__ = ("index", "reference", "distorted", "fmt", "colours", "_shared")

    def __init__(
        self,
        index: int,
        reference: YuvFrame,
        distorted: YuvFrame,
        fmt: FrameFormat,
        colours: tuple[tuple[str, str], tuple[str, str]] = DEFAULT_COLOURS,
    ):
        self.index, self.reference, self.distorted, self.fmt = index, reference, distorted, fmt
        self.colours = colours
        self._shared: dict[Any, Any] = {}

    @classmethod
    def of_videos(
        cls, index: int, reference: YuvFrame, distorted: YuvFrame, anchor: Video, video: Video
    ) -> FramePair:
        """The pair of frame ``index`` of ``anchor`` and ``video`` (format and colours theirs)."""
        return cls(
            index,
            reference,
            distorted,
            FrameFormat.of(video),
            ((anchor.color_matrix, anchor.color_range), (video.color_matrix, video.color_range)),
        )

    def rgb(self) -> tuple[np.ndarray, np.ndarray]:
        """Both frames as RGB float32 in [0, 1], (H, W, 3), converted once per pair for every
        metric that needs RGB (:func:`vqabench.metrics.functional.frames.frame_rgb`, each
        frame with its own video's matrix and range)."""

        def convert() -> tuple[np.ndarray, np.ndarray]:
            (rm, rr), (dm, dr) = self.colours
            return (
                frames.frame_rgb(self.reference, self.fmt.bit_depth, matrix=rm, color_range=rr),
                frames.frame_rgb(self.distorted, self.fmt.bit_depth, matrix=dm, color_range=dr),
            )

        return self.shared("rgb", convert)

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per frame pair for each ``key``."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]


class Accumulator(Protocol):
    """The streaming side of a metric: fold frames one by one, then the result."""

    def update(self, pair: FramePair) -> None:
        """Fold one frame pair into the running state."""

    def compute(self) -> MetricResult:
        """The pooled value and per-frame values of every frame folded so far."""


def frame_pairs(reference: Video, distorted: Video) -> Iterator[FramePair]:
    """Frame pairs of two videos of the same size, format and frame count (each read once)."""
    check_pair(reference, distorted)
    for i, (ref, dis) in enumerate(
        zip(read_frames(reference), read_frames(distorted), strict=True)
    ):
        yield FramePair.of_videos(i, ref, dis, reference, distorted)


class Metric:
    """Base class: subclasses set the class attributes and implement :meth:`compute`, or
    :meth:`accumulator` for metrics that work frame by frame (then :meth:`compute` streams).

    Attributes:
        name: registry name.
        higher_is_better: direction of quality.
        kind: full-reference, no-reference or sequence.
        differentiable: whether a torch loss can be built from it.
        version: bump when the computation changes, so stored results are recomputed.
        licence: licence of the code and weights that make the number, as an SPDX id plus a
            short note (``"BSD-2-Clause-Patent (libvmaf and its models)"``); shown by
            ``vqabench metrics list`` and recorded in leaderboards. "" = not stated.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    kind: ClassVar[Kind] = "full-reference"
    differentiable: ClassVar[bool] = False
    version: ClassVar[str] = "1"
    licence: ClassVar[str] = ""
    #: Metrics with the same non-empty ``pass_group``, against the same anchor, are computed
    #: together by :meth:`compute_shared` (one pass over the videos for all of them, e.g.
    #: every VMAF model in one libvmaf run); "" = each on its own.
    pass_group: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Each subclass's ``compute`` also accepts paths, arrays and tensors
        (:mod:`vqabench.metrics.inputs`); Videos go straight through."""
        super().__init_subclass__(**kwargs)
        if "compute" in cls.__dict__:
            cls.compute = accepting_inputs(cls.__dict__["compute"])

    def __init__(self, **options: Never):
        """A metric without options (``Never``: :mod:`vqabench.options` declares none); a
        subclass declares its options as keyword parameters of its own ``__init__``."""
        if options:
            raise invalid(f"{self.name} options", sorted(options), "no options")

    @property
    def options(self) -> dict:
        """The options that determine the result (part of the job key)."""
        return {}

    @property
    def spec(self) -> str:
        """Stable text identifying name, version and options (hashed into job keys)."""
        return json.dumps(
            {"name": self.name, "version": self.version, "options": self.options},
            sort_keys=True,
            default=str,
        )

    @property
    def provenance(self) -> str:
        """Conventions behind the number, part of its definition (they join the metric's id
        in reports and leaderboards and a run's config.toml); "" if none."""
        return ""

    @classmethod
    def compute_shared(
        cls, group: Sequence[Metric], reference: Video, distorted: Video, *, threads: int = 1
    ) -> list[MetricResult]:
        """Every metric of ``group`` (one :attr:`pass_group`) on the same pair of videos.

        Args:
            group: metrics of this pass group, in the order of the results.
            reference: the anchor (first, as everywhere in vqabench).
            distorted: the decoded video.
            threads: threads the pass may use (the job's share of the machine).

        Returns:
            One result per metric of ``group``, in its order. The default computes each
            metric on its own.
        """
        return [m.compute(reference, distorted) for m in group]

    @property
    def execution(self) -> dict[str, object]:
        """How the values were computed beyond the key and the definition (device, batch
        size): recorded in a run's config.toml, never part of the metric's id. {} if none."""
        return {}

    def provenance_line(self) -> str:
        """:attr:`provenance` and :attr:`execution` in one line, as a run's config.toml
        records them ("" if neither)."""
        done = ", ".join(f"{k}={v}" for k, v in self.execution.items())
        return "; ".join(part for part in (self.provenance, done) if part)

    def accumulator(self, fmt: FrameFormat, width: int, height: int) -> Accumulator | None:
        """A fresh streaming accumulator for frames of this format and size, or None when
        the metric needs whole videos (it then implements :meth:`compute`).

        Raises:
            MetricError: frames of this size or format cannot be measured.
        """
        return None

    @accepting_inputs  # streaming metrics use it
    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """Compute quality of ``distorted`` against ``reference``.

        Order: ``(reference, distorted)``, the pristine or anchor video first (the
        opposite of pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by
        keyword).

        Callers may also pass paths, numpy arrays or torch tensors (with ``fmt=`` and
        friends, see :mod:`vqabench.metrics.inputs`); Videos go straight through.
        """
        check_pair(reference, distorted)
        acc = self.accumulator(FrameFormat.of(reference), reference.width, reference.height)
        if acc is None:
            raise NotImplementedError(
                f"{type(self).__name__} implements neither compute nor accumulator"
            )
        for pair in frame_pairs(reference, distorted):
            acc.update(pair)
        return acc.compute()

    def __call__(self, reference: Any = None, distorted: Any = None, **inputs: Any) -> MetricResult:
        """``metric(reference=..., distorted=...)`` is :meth:`compute`: reference first (the
        pristine or anchor video), the opposite of pyiqa's and torchmetrics'
        ``(distorted, reference)``, so pass them by keyword.

        Args:
            reference: the reference video, in any form :meth:`compute` takes; None for
                no-reference metrics.
            distorted: the distorted (decoded) video.
            **inputs: input options (``fmt``, ``pix_fmt``...; :mod:`vqabench.metrics.inputs`).
        """
        return self.compute(reference=reference, distorted=distorted, **inputs)

    def compute_frames(
        self, reference: Iterable[YuvFrame], distorted: Iterable[YuvFrame], fmt: FrameFormat
    ) -> MetricResult:
        """Compute a streaming metric on frames in memory (numpy planes), reference first.

        Raises:
            MetricError: the metric does not stream, or the two sequences differ in length.
        """
        reference, distorted = list(reference), list(distorted)
        if len(reference) != len(distorted) or not reference:
            raise MetricError(
                f"reference has {len(reference)} frames and distorted has "
                f"{len(distorted)}; need the same number, at least one"
            )
        acc = self.accumulator(fmt, reference[0][0].shape[1], reference[0][0].shape[0])
        if acc is None:
            raise MetricError(f"{self.name} needs videos, not frames in memory")
        for i, (ref, dis) in enumerate(zip(reference, distorted, strict=True)):
            acc.update(FramePair(i, YuvFrame(*ref), YuvFrame(*dis), fmt))
        return acc.compute()

    def as_loss(self, **options: object):  # -> torch.nn.Module
        """This metric as a differentiable torch loss ``loss(reference, distorted)`` to
        minimise (see :func:`vqabench.metrics.losses.as_loss`).

        Raises:
            MetricError: the metric gives no differentiable loss.
        """
        from vqabench.metrics.losses import as_loss

        return as_loss(self, **options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


def finite_or_error(value: float, what: str) -> float:
    """Return value, or raise MetricError if it is NaN."""
    if math.isnan(value):
        raise MetricError(f"{what} is NaN")
    return value
