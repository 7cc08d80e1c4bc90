"""VMAF through libvmaf, driven by ffmpeg-quality-metrics with vqabench's ffmpeg.

The model JSON files are the ones ffmpeg-quality-metrics ships (vmaf_v0.6.1,
vmaf_v0.6.1neg, vmaf_4k_v0.6.1, vmaf_v1.0.16_* ...); a path to any libvmaf JSON model also
works. A model is keyed by the SHA-256 of its JSON (``model_sha256`` in the metric's
options), so a changed model file gives new measurements, never stale ones. ffmpeg's libvmaf
filter takes the distorted stream first; ffmpeg-quality-metrics and this wrapper take
``(reference, distorted)``.

All VMAF variants of one job (models, poolings) are one libvmaf pass
(:func:`compute_vmaf_group`): libvmaf evaluates several models on the same features in one
filter (``model=path=a.json\\:name=m0|path=b.json\\:name=m1``).
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vqabench.errors import MetricError, invalid
from vqabench.io.ffmpeg import ffmpeg_info, ffmpeg_path
from vqabench.io.hashing import file_sha256
from vqabench.io.video import Video
from vqabench.metrics.base import METRICS, Metric, MetricResult, check_pair
from vqabench.metrics.functional.pooling import POOLING, Pooling, pool

__all__ = [
    "Vmaf",
    "VmafNeg",
    "vmaf_models",
    "compute_vmaf_group",
    "model_sha256",
    "V1_SMALLEST_SIZE",
    "model_note",
    "probe_model",
    "libvmaf_version",
]


@functools.lru_cache(maxsize=1)
def _model_dir() -> Path:
    """ffmpeg-quality-metrics' ``vmaf_models`` folder, found without importing the package
    (it imports pandas: seconds a run that reuses every result does not need)."""
    import importlib.util

    spec = importlib.util.find_spec("ffmpeg_quality_metrics")
    if spec is None or not spec.submodule_search_locations:
        raise MetricError(
            "vmaf needs the package ffmpeg-quality-metrics: pip install ffmpeg-quality-metrics"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "vmaf_models"


@functools.lru_cache(maxsize=1)
def _fqm_class() -> type:
    """FfmpegQualityMetrics that takes the filter list from vqabench's cached ffmpeg probe
    instead of running ``ffmpeg -filters`` for every measurement (about 14 % of a small
    VMAF job's time)."""
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    class _CachedFilters(FfmpegQualityMetrics):
        model_paths: tuple[str, ...] = ()

        def _check_available_filters(self) -> None:
            self.available_filters = sorted(ffmpeg_info().filters)

        def _get_libvmaf_filter_opts(self) -> str:
            # several models in one pass, named m0, m1, ... in libvmaf's log
            opts = super()._get_libvmaf_filter_opts()
            rest = opts.split(":log_path=", 1)[1]
            models = "|".join(f"path={p}\\:name=m{i}" for i, p in enumerate(self.model_paths))
            return f"model={models}:log_path={rest}"

    return _CachedFilters


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def model_sha256(path: Path) -> str:
    """SHA-256 of a model file (cached per path, size and modification time)."""
    st = path.stat()
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


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
        n_threads: libvmaf threads (results do not depend on it); default: the job's share
            of the machine under ``vqabench run --jobs`` (docs/benchmarks.md, "Threads"), handed
            to :meth:`compute_shared` by the runner, else 1.
    """

    name = "vmaf"
    pass_group = "libvmaf"
    licence = (
        "BSD-2-Clause-Patent (libvmaf and its models, inside ffmpeg; "
        "wrapper ffmpeg-quality-metrics MIT)"
    )

    def __init__(
        self, *, model: str = "vmaf_v0.6.1", pooling: Pooling = "mean", n_threads: int | None = None
    ):
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
        if n_threads is not None and int(n_threads) < 0:
            raise invalid("n_threads", n_threads, "an integer >= 0 (0 = automatic)")
        self.n_threads = None if n_threads is None else int(n_threads)
        self.model_sha256 = model_sha256(self.model_path)

    @property
    def options(self) -> dict:
        # a model file is keyed by its content, not by where it lies
        label = self.model if self.model_path.parent == _model_dir() else self.model_path.name
        return {"model": label, "pooling": self.pooling, "model_sha256": self.model_sha256}

    def compute(self, reference: Video, distorted: Video) -> MetricResult:
        """VMAF of ``distorted`` against ``reference``; swapped, VMAF changes without an
        error.

        Order: ``(reference, distorted)``, the pristine or anchor video first (the
        opposite of pyiqa's and torchmetrics' ``(distorted, reference)``; pass them by
        keyword).
        """
        return compute_vmaf_group([self], reference, distorted)[0]

    @classmethod
    def compute_shared(
        cls, group: Sequence[Metric], reference: Video, distorted: Video, *, threads: int = 1
    ) -> list[MetricResult]:
        """Every VMAF metric of ``group`` from one libvmaf pass (:func:`compute_vmaf_group`)."""
        return compute_vmaf_group(
            group,
            reference,
            distorted,  # type: ignore[arg-type]
            threads=threads,
        )


def compute_vmaf_group(
    group: Sequence[Vmaf], reference: Video, distorted: Video, *, threads: int = 1
) -> list[MetricResult]:
    """Every VMAF metric of ``group`` (any models and poolings) from one libvmaf pass.

    Args:
        group: Vmaf metrics; each distinct model file is evaluated once.
        reference: the anchor (first, as everywhere in vqabench).
        distorted: the decoded video.
        threads: libvmaf threads unless a metric sets ``n_threads`` (the largest wins).

    Returns:
        One result per metric of ``group``, in its order.

    Raises:
        MetricError: libvmaf failed or returned a different number of frames.
    """
    from ffmpeg_quality_metrics import FfmpegQualityMetricsError

    check_pair(reference, distorted)
    paths = list(dict.fromkeys(str(m.model_path) for m in group))
    explicit = [m.n_threads for m in group if m.n_threads is not None]
    n_threads = max(explicit) if explicit else threads
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
            fqm = _fqm_class()(
                str(ref_link), str(dis_link), framerate=fps, tmp_dir=tmp, ffmpeg_path=ffmpeg_path()
            )
            fqm.model_paths = tuple(paths)
            data = fqm.calculate(
                ["vmaf"],
                vmaf_options={
                    "model_path": paths[0],
                    "n_threads": n_threads,
                },
            )
        except (FfmpegQualityMetricsError, RuntimeError) as exc:
            notes = [f"; model {m.model} {n}" for m in group if (n := model_note(m.model))]
            raise MetricError(
                f"vmaf failed on {distorted.path.name}: {exc}" + "".join(dict.fromkeys(notes))
            ) from exc
    frames = data.get("vmaf", [])
    if len(frames) != reference.frames:
        raise MetricError(
            f"vmaf returned {len(frames)} frames for a {reference.frames}-frame video"
        )
    results = []
    for m in group:
        name = f"m{paths.index(str(m.model_path))}"
        values = [float(frame[name]) for frame in frames]
        results.append(MetricResult(pool(values, m.pooling), tuple(values)))
    return results


@METRICS.register("vmaf_neg")
class VmafNeg(Vmaf):
    """VMAF NEG (no enhancement gain, model ``vmaf_v0.6.1neg``) under its own metric name, so
    a run can report it next to ``vmaf`` (results key rows by metric name).

    Args:
        pooling: as for :class:`Vmaf`.
        n_threads: as for :class:`Vmaf`.
    """

    name = "vmaf_neg"

    def __init__(self, *, pooling: Pooling = "mean", n_threads: int | None = None):
        super().__init__(model="vmaf_v0.6.1neg", pooling=pooling, n_threads=n_threads)

    @property
    def options(self) -> dict:
        return {"pooling": self.pooling, "model_sha256": self.model_sha256}


#: Smallest of 256x144, 256x160, 320x180, 480x270, 640x360, 960x540, 1280x720, 1920x1080 at
#: which the bundled libvmaf (ffmpeg n9.0.2 of imageio-ffmpeg) ran each ``vmaf_v1.0.16_*``
#: model on testsrc2 frames (:func:`probe_model`); every smaller one of these sizes failed
#: in libvmaf's SpEED extractor ("image too small"). The bound depends on the model's
#: viewing distance (1d5h/3d0h vs 5d0h) and display height (_2160). Measured 2026-12.
V1_SMALLEST_SIZE: dict[str, tuple[int, int]] = {
    "vmaf_v1.0.16_1d5h_2160": (256, 160),
    "vmaf_v1.0.16_3d0h": (256, 160),
    "vmaf_v1.0.16_3d0h_2160": (640, 360),
    "vmaf_v1.0.16_5d0h": (480, 270),
    "vmaf_v1.0.16_hfr_1d5h_2160": (256, 160),
    "vmaf_v1.0.16_hfr_3d0h": (256, 160),
    "vmaf_v1.0.16_hfr_3d0h_2160": (640, 360),
    "vmaf_v1.0.16_hfr_5d0h": (480, 270),
}


def model_note(model: str) -> str:
    """What is known about running ``model`` with the bundled libvmaf ("" when nothing).

    The ``vmaf_v1.0.16_*`` models (libvmaf v3 features: CAMBI, SpEED chroma, ADM3, motion3)
    load and run, but libvmaf's SpEED extractor fails on small frames, so none of them can
    score the default 256x144 ``mini`` benchmark (see :data:`V1_SMALLEST_SIZE`).
    """
    if model in V1_SMALLEST_SIZE:
        w, h = V1_SMALLEST_SIZE[model]
        return (
            f"loads in the bundled libvmaf; smallest tested size that runs: {w}x{h} "
            "(libvmaf SpEED: 'image too small' below it, so not at the default "
            "256x144)"
        )
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
    graph = f"[0:v]boxblur=2[d];[d][1:v]libvmaf=model='path={path}'"
    try:
        run_ffmpeg(
            [
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                src,
                "-f",
                "lavfi",
                "-i",
                src,
                "-frames:v",
                "2",
                "-lavfi",
                graph,
                "-f",
                "null",
                "-",
            ],
            timeout_s=60,
        )
    except FfmpegError as exc:
        lines = [ln for ln in exc.stderr_tail.splitlines() if "libvmaf" in ln] or [str(exc)]
        return _re.sub(r"\s+", " ", lines[-1]).strip()
    return None


@functools.cache
def libvmaf_version() -> str:
    """The version libvmaf inside the installed ffmpeg writes into its JSON log (a release
    or a commit, e.g. ``86da14d``), from one 64x64 frame; "" when it cannot be read."""
    import json

    from vqabench.errors import FfmpegError
    from vqabench.io.ffmpeg import run_ffmpeg

    src = "testsrc=size=64x64:rate=25"
    with tempfile.TemporaryDirectory(prefix="vqabench-vmaf-") as tmp:
        log = Path(tmp) / "vmaf.json"  # a plain name: the path goes into the filter graph
        try:
            run_ffmpeg(
                [
                    "-loglevel",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    src,
                    "-f",
                    "lavfi",
                    "-i",
                    src,
                    "-frames:v",
                    "1",
                    "-lavfi",
                    f"libvmaf=log_fmt=json:log_path={log}",
                    "-f",
                    "null",
                    "-",
                ],
                timeout_s=60,
            )
            return str(json.loads(log.read_text(encoding="utf-8")).get("version", ""))
        except (FfmpegError, OSError, ValueError):
            return ""
