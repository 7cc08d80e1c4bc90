"""Work-weighted progress: an ETA that holds on mixed jobs.

Jobs differ by orders of magnitude (a 1080p VVenC encode with VMAF and LPIPS against a
64x64 x264 encode with PSNR), so counting jobs gives ETAs wrong by about 10x on mixed runs.
Each job is weighted by its work instead::

    work = frames x width x height x (encode cost of the codec, unless the bitstream is
           reused, + decode cost + sum of the metric costs x anchors)

The costs are relative per-pixel CPU times, rough ratios of the single-threaded encoders'
and metrics' speeds at their default settings (x264 medium = 1); only their ratios matter,
since the ETA divides the remaining work by the rate observed so far. Unknown codecs and
metrics count as :data:`DEFAULT_COST`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = [
    "CODEC_COST",
    "METRIC_COST",
    "DEFAULT_COST",
    "DECODE_COST",
    "job_work",
    "point_work",
    "schedule_key",
    "RunProgress",
]

#: Relative per-pixel encode cost at the default preset (x264 medium = 1).
CODEC_COST: dict[str, float] = {
    "x264": 1.0,
    "x265": 3.0,
    "vp9": 2.0,
    "aom-av1": 8.0,
    "svt-av1": 1.5,
    "vvenc": 8.0,
    "inr": 200.0,
    "external": 5.0,
}
#: Relative per-pixel cost of a metric against one anchor.
METRIC_COST: dict[str, float] = {
    "psnr_y": 0.05,
    "psnr_yuv": 0.05,
    "ssim": 0.3,
    "ms_ssim": 0.5,
    "vmaf": 1.0,
    "lpips": 4.0,
    "dists": 4.0,
    "pt_loss": 6.0,
    "rankdvqa_ugc": 6.0,
}
#: Per-pixel cost of decoding (any codec).
DECODE_COST = 0.1
#: Cost of a codec or metric missing from the tables.
DEFAULT_COST = 1.0


def point_work(
    pixels: int, codec: str, metric_names: Iterable[str], *, reuse_bitstream: bool = False
) -> float:
    """Work units of one encode + decode + measurements of ``pixels`` (frames x w x h)."""
    per_pixel = DECODE_COST + sum(METRIC_COST.get(m, DEFAULT_COST) for m in metric_names)
    if not reuse_bitstream:
        per_pixel += CODEC_COST.get(codec, DEFAULT_COST)
    return float(pixels) * per_pixel


#: Rate parameters whose smaller values mean more bits (and more encoding time).
QUANTISERS = ("qp", "crf")


def schedule_key(job) -> tuple[float, float]:  # job: vqabench.runner.jobs.Job
    """Sort key, largest first, for longest-job-first scheduling: the job's work, then within
    equal work the costlier rate point (a lower quantiser, a higher ``kbps``: encoders spend
    more time on more bits, several times more at QP 22 than at QP 37)."""
    value = job.rate_value
    if not isinstance(value, int | float) or isinstance(value, bool):
        return job_work(job), 0.0
    return job_work(job), -float(value) if job.rate_param in QUANTISERS else float(value)


def job_work(job) -> float:  # job: vqabench.runner.jobs.Job
    """Work units of a planned job (see module docstring)."""
    video = job.input
    pixels = int(video.frames) * int(video.width) * int(video.height)
    return point_work(
        pixels, job.codec_name, [t.name for t in job.metrics], reuse_bitstream=job.reuse_bitstream
    )


class RunProgress:
    """Jobs and work units of a run, done and planned, reported to two callbacks.

    Args:
        items: called as ``items(done, total)`` in jobs (reused ones count as done).
        work: called as ``work(done, total)`` in work units of the jobs still to run
            (reused jobs count for nothing), for an ETA that holds on mixed jobs.
        estimate: work units planned before the jobs can be (a stage that needs the
            references); :meth:`planned` replaces it by the real work.
    """

    def __init__(
        self,
        items: Callable[[int, int], None] | None = None,
        work: Callable[[float, float], None] | None = None,
        estimate: float = 0.0,
    ):
        self.items, self.work = items, work
        self.done, self.total = 0, 0
        self.work_done, self.work_total = 0.0, estimate

    def report(self) -> None:
        """Call both callbacks with the current counts."""
        if self.items:
            self.items(self.done, self.total)
        if self.work:
            self.work(self.work_done, self.work_total)

    def planned(self, reused: int, todo: Iterable, estimate: float = 0.0) -> None:
        """A stage starts: ``reused`` jobs are already done, ``todo`` are to run and replace
        ``estimate`` work units counted before they could be planned."""
        self.done += reused
        self.work_total += sum(job_work(j) for j in todo) - estimate
        self.report()

    def finished(self, job) -> None:  # job: vqabench.runner.jobs.Job
        """One job finished (successfully or not)."""
        self.done += 1
        self.work_done += job_work(job)
        self.report()
