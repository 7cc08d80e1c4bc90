"""The four pixel metrics of one job: two checkouts of vqabench against one libvmaf pass.

The pixel set of bench_metrics.py (a-pixel: psnr_y, psnr_yuv, ssim, ms_ssim on the decoded
video, every frame read once) measured with the package of ``--old`` (a checkout or an
exported tree of an earlier commit) and with this one, each in a fresh child process
(``measure`` once to warm up, then timed), and (b) the libvmaf-only pass of
bench_metrics.py, interleaved (old, new, b, old, ...), best of ``--repeats``: wall seconds
and CPU seconds (the children's user + system time for libvmaf). The two packages must give
the same per-frame values (checked). Same clips as bench_metrics.py. ``os.getloadavg()``
is recorded before and after.

Usage:
    git -C . archive COMMIT vqabench | tar -x -C /tmp/old
    python benchmarks/bench_pixel_ab.py --old /tmp/old [--frames 32] [--repeats 5]
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
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_metrics  # noqa: E402

from vqabench import codecs  # noqa: E402

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
import cv2
cv2.setNumThreads(1)
from vqabench import metrics
from vqabench.io.video import open_video
from vqabench.runner.jobs import MetricTask, measure
src, dec = open_video(sys.argv[1]), open_video(sys.argv[2])
tasks = tuple(MetricTask(f"k{i}", n, (), metrics.create(n).spec, "source")
              for i, n in enumerate(("psnr_y", "psnr_yuv", "ssim", "ms_ssim")))
measure(tasks, {"source": src}, dec)
wall, cpu = time.perf_counter(), time.process_time()
values, _ = measure(tasks, {"source": src}, dec)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "per_frame": [v[2] for v in values], "package": metrics.__file__}))
"""


def _pixel(root: Path, source: Path, decoded: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "VQABENCH_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), str(decoded)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=root,
    ).stdout
    result = json.loads(out)
    if not result["package"].startswith(str(root)):
        raise RuntimeError(f"imported {result['package']}, not the package under {root}")
    return result


def bench_size(work: Path, old: Path, frames: int, size: tuple[int, int], repeats: int) -> dict:
    """Old, new and (b), interleaved on one frame size; best of ``repeats``."""
    source = bench_metrics._source(work, frames, size)
    bitstream = work / f"ab_{size[0]}x{size[1]}_qp32.264"
    decoded = codecs.run_codec(
        codecs.create("x264"), source, codecs.RatePoint("qp", 32), bitstream, decode_dir=work
    ).decoded
    runs: dict[str, dict[str, list[float]]] = {
        k: {"wall": [], "cpu": []} for k in ("old", "new", "b")
    }
    per_frame = {}
    for _ in range(repeats):
        for label, root in (("old", old), ("new", ROOT)):
            r = _pixel(root, source.path, decoded.path)
            runs[label]["wall"].append(r["wall"])
            runs[label]["cpu"].append(r["cpu"])
            per_frame[label] = r["per_frame"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, _ = bench_metrics._libvmaf(source, bitstream, work, features=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs["b"]["wall"].append(wall)
        runs["b"]["cpu"].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    decoded.path.unlink(missing_ok=True)
    if per_frame["old"] != per_frame["new"]:
        raise RuntimeError(f"{size}: the two packages give different per-frame values")
    best = {k: {m: min(v) for m, v in r.items()} for k, r in runs.items()}
    return {"size": f"{size[0]}x{size[1]}", "frames": frames, "best": best, "all": runs}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-ab-") as tmp:
        rows = [
            bench_size(Path(tmp), args.old.resolve(), args.frames, size, args.repeats)
            for size in sizes
        ]
    result = {
        "rows": rows,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "command": "python benchmarks/bench_pixel_ab.py " + " ".join(argv or sys.argv[1:]),
    }
    print(
        "| size | frames | old pixel s (CPU s) | new pixel s (CPU s) | (b) s (CPU s) | "
        "old / (b) | new / (b) | new / old | CPU: old / (b) | new / (b) | new / old |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        o, n, b = (r["best"][k] for k in ("old", "new", "b"))
        print(
            f"| {r['size']} | {r['frames']} | {o['wall']:.3f} ({o['cpu']:.3f}) | "
            f"{n['wall']:.3f} ({n['cpu']:.3f}) | {b['wall']:.3f} ({b['cpu']:.3f}) | "
            f"{o['wall'] / b['wall']:.2f} | {n['wall'] / b['wall']:.2f} | "
            f"{n['wall'] / o['wall']:.2f} | {o['cpu'] / b['cpu']:.2f} | "
            f"{n['cpu'] / b['cpu']:.2f} | {n['cpu'] / o['cpu']:.2f} |"
        )
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
