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

__all__ = ["Vmaf", "VmafNeg", "vmaf_models", "V1_SMALLEST_SIZE", "model_note", "probe_model"]


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
                note = model_note(self.model)
                raise MetricError(f"vmaf failed on {distorted.path.name}: {exc}"
                                  + (f"; model {self.model} {note}" if note else "")) from exc
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


#: Smallest of 256x144, 256x160, 320x180, 480x270, 640x360, 960x540, 1280x720, 1920x1080 at
#: which the bundled libvmaf (ffmpeg n9.0.2 of imageio-ffmpeg) ran each ``vmaf_v1.0.16_*``
#: model on testsrc2 frames (:func:`probe_model`); every smaller one of these sizes failed
#: in libvmaf's SpEED extractor ("image too small"). The bound depends on the model's
#: viewing distance (1d5h/3d0h vs 5d0h) and display height (_2160). Measured 2026-12.
V1_SMALLEST_SIZE: dict[str, tuple[int, int]] = {
    "vmaf_v1.0.16_1d5h_2160": (256, 160), "vmaf_v1.0.16_3d0h": (256, 160),
    "vmaf_v1.0.16_3d0h_2160": (640, 360), "vmaf_v1.0.16_5d0h": (480, 270),
    "vmaf_v1.0.16_hfr_1d5h_2160": (256, 160), "vmaf_v1.0.16_hfr_3d0h": (256, 160),
    "vmaf_v1.0.16_hfr_3d0h_2160": (640, 360), "vmaf_v1.0.16_hfr_5d0h": (480, 270),
}


def model_note(model: str) -> str:
    """What is known about running ``model`` with the bundled libvmaf ("" when nothing).

    The ``vmaf_v1.0.16_*`` models (libvmaf v3 features: CAMBI, SpEED chroma, ADM3, motion3)
    load and run, but libvmaf's SpEED extractor fails on small frames, so none of them can
    score the default 256x144 ``mini`` benchmark (see :data:`V1_SMALLEST_SIZE`).
    """
    if model in V1_SMALLEST_SIZE:
        w, h = V1_SMALLEST_SIZE[model]
        return (f"loads in the bundled libvmaf; smallest tested size that runs: {w}x{h} "
                "(libvmaf SpEED: 'image too small' below it, so not at the default "
                "256x144)")
    if model.startswith("vmaf_v1."):
        return "libvmaf v3 model; small frames may fail in SpEED (run vqabench doctor)"
    return ""


def probe_model(model: str, size: tuple[int, int]) -> str | None:
    """Run libvmaf with ``model`` on two synthetic frames (ffmpeg ``testsrc2``, the second
    blurred) of ``size``; None when it scores them, else why not (libvmaf's last message).

    Used by ``vqabench doctor`` to say whether the bundled libvmaf can run a model at the
    size the default benchmark uses, instead of trusting a table.
    """
    import re as _re

    from vqabench.errors import FfmpegError
    from vqabench.io.ffmpeg import run_ffmpeg

    path = Path(model) if model.endswith(".json") else _model_dir() / f"{model}.json"
    if not path.is_file():
        return f"model file {path} not found"
    width, height = size
    src = f"testsrc2=size={width}x{height}:rate=25"
    graph = (f"[0:v]boxblur=2[d];[d][1:v]libvmaf=model='path={path}'")
    try:
        run_ffmpeg(["-loglevel", "error", "-f", "lavfi", "-i", src, "-f", "lavfi", "-i", src,
                    "-frames:v", "2", "-lavfi", graph, "-f", "null", "-"], timeout_s=60)
    except FfmpegError as exc:
        lines = [ln for ln in exc.stderr_tail.splitlines() if "libvmaf" in ln] or [str(exc)]
        return _re.sub(r"\s+", " ", lines[-1]).strip()
    return None
