"""VMAF through libvmaf, driven by ffmpeg-quality-metrics with vqabench's ffmpeg.

The model JSON files are the ones ffmpeg-quality-metrics ships (vmaf_v0.6.1,
vmaf_v0.6.1neg, vmaf_4k_v0.6.1, vmaf_v1.0.16_* ...); a path to any libvmaf JSON model also
works. ffmpeg's libvmaf filter takes the distorted stream first; ffmpeg-quality-metrics and
this wrapper take ``(reference, distorted)``.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from pathlib import Path

from vqabench.errors import MetricError, invalid
from vqabench.io.ffmpeg import ffmpeg_info, ffmpeg_path
from vqabench.io.video import Video
from vqabench.metrics.base import METRICS, POOLING, Metric, MetricResult, check_pair, pool

__all__ = ["Vmaf", "VmafNeg", "vmaf_models", "V1_MIN_SIZE", "model_note"]


def _model_dir() -> Path:
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    return Path(FfmpegQualityMetrics.DEFAULT_VMAF_MODEL_DIRECTORY)


@functools.lru_cache(maxsize=1)
def _fqm_class() -> type:
    """FfmpegQualityMetrics that takes the filter list from vqabench's cached ffmpeg probe
    instead of running ``ffmpeg -filters`` for every measurement (about 14 % of a small
    VMAF job's time)."""
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    class _CachedFilters(FfmpegQualityMetrics):
        def _check_available_filters(self) -> None:
            self.available_filters = sorted(ffmpeg_info().filters)

    return _CachedFilters


def vmaf_models() -> list[str]:
    """Names of the VMAF models shipped with ffmpeg-quality-metrics."""
    return sorted(p.stem for p in _model_dir().glob("*.json"))


@METRICS.register("vmaf")
class Vmaf(Metric):
    """VMAF (0-100, higher is better) per frame, pooled by the mean or harmonic mean.

    Args:
        model: a shipped model name (``vmaf_v0.6.1`` default, ``vmaf_v0.6.1neg`` for the
            no-enhancement-gain variant, see :func:`vmaf_models`) or a path to a JSON model.
        pooling: ``mean`` (default) or ``harmonic_mean`` (libvmaf's definition) or min/median.
        n_threads: libvmaf threads (results do not depend on it).
    """

    name = "vmaf"

    def __init__(self, *, model: str = "vmaf_v0.6.1", pooling: str = "mean", n_threads: int = 1):
        path = Path(model)
        if path.suffix == ".json" and path.is_file():
            self.model_path = path.resolve()
        else:
            names = vmaf_models()
            if model not in names:
                from vqabench.errors import UnknownNameError

                raise UnknownNameError("VMAF model", model, names)
            self.model_path = _model_dir() / f"{model}.json"
        self.model = model
        if pooling not in POOLING:
            raise invalid("pooling", pooling, " | ".join(POOLING))
        self.pooling = pooling
        if int(n_threads) < 0:
            raise invalid("n_threads", n_threads, "an integer >= 0 (0 = automatic)")
        self.n_threads = int(n_threads)

    @property
    def options(self) -> dict:
        return {"model": self.model, "pooling": self.pooling}

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        from ffmpeg_quality_metrics import FfmpegQualityMetricsError

        check_pair(reference, distorted)
        logging.getLogger("ffmpeg-quality-metrics").setLevel(logging.ERROR)
        fps = float(reference.fps)
        with tempfile.TemporaryDirectory(prefix="vqabench-vmaf-") as tmp:
            # ffmpeg-quality-metrics names its libvmaf log after the inputs and puts that
            # name into the filter string, where ':' or a quote would break it: hand it
            # links with plain names instead.
            ref_link, dis_link = Path(tmp) / "reference.y4m", Path(tmp) / "distorted.y4m"
            ref_link.symlink_to(reference.path.resolve())
            dis_link.symlink_to(distorted.path.resolve())
            try:
                fqm = _fqm_class()(str(ref_link), str(dis_link), framerate=fps, tmp_dir=tmp,
                                   ffmpeg_path=ffmpeg_path())
                data = fqm.calculate(["vmaf"], vmaf_options={
                    "model_path": str(self.model_path), "n_threads": self.n_threads,
                })
            except (FfmpegQualityMetricsError, RuntimeError) as exc:
                raise MetricError(f"vmaf failed on {distorted.path.name}: {exc}") from exc
        values = [float(frame["vmaf"]) for frame in data.get("vmaf", [])]
        if len(values) != reference.frames:
            raise MetricError(
                f"vmaf returned {len(values)} frames for a {reference.frames}-frame video"
            )
        return MetricResult(pool(values, self.pooling), tuple(values))


@METRICS.register("vmaf_neg")
class VmafNeg(Vmaf):
    """VMAF NEG (no enhancement gain, model ``vmaf_v0.6.1neg``) under its own metric name, so
    a run can report it next to ``vmaf`` (results key rows by metric name).

    Args:
        pooling: as for :class:`Vmaf`.
        n_threads: as for :class:`Vmaf`.
    """

    name = "vmaf_neg"

    def __init__(self, *, pooling: str = "mean", n_threads: int = 1):
        super().__init__(model="vmaf_v0.6.1neg", pooling=pooling, n_threads=n_threads)

    @property
    def options(self) -> dict:
        return {"pooling": self.pooling}


#: Smallest frame size seen to work with the ``vmaf_v1.0.16_*`` models in the bundled libvmaf
#: (ffmpeg n9.0.2 of imageio-ffmpeg, testsrc2 frames): 256x160, 256x256, 320x180 and larger
#: run; 256x144, 512x144, 176x176 and 160x160 fail in SpEED. Not a proven bound.
V1_MIN_SIZE = (256, 160)


def model_note(model: str) -> str:
    """What is known about running ``model`` with the bundled libvmaf ("" when nothing).

    The ``vmaf_v1.0.16_*`` models (libvmaf v3: CAMBI, SpEED chroma, ADM3, motion3) load and
    run, but libvmaf's SpEED extractor fails on small frames ("SpEED: image too small,
    operating width or height is 0"; 256x144, 176x176 and 512x144 fail, 256x160 and
    320x180 run), so they cannot score the default 256x144 ``mini`` benchmark.
    """
    if model.startswith("vmaf_v1."):
        return (f"loads in the bundled libvmaf; needs frames of at least about "
                f"{V1_MIN_SIZE[0]}x{V1_MIN_SIZE[1]} (libvmaf SpEED: 'image too small' at "
                "256x144, the default mini size)")
    return ""
