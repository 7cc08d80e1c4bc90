"""PT-Loss and RankDVQA-UGC in the metric phase: two checkouts, and the network called
directly in a process of its own.

``bench_learned.py`` times vqabench's metric phase (v) and the network's own forward (d) in
one process, so anything that changes the process (the allocator's settings, its heap)
changes both sides. This benchmark runs each side in a fresh child process instead, the way
a user runs either: (v-old) the metric phase with the package of ``--old`` (an exported tree
of an earlier commit), (v-new) with this package, and (d) the same network's forward on
tensors made beforehand (``bench_learned._Direct``, this package's model and weights) in a
process where nothing of vqabench's metric phase ran, so with glibc's default allocator.
Each child first runs its side once on the first ``--warmup-frames`` frames (imports, model,
tables), then once on the whole clip, timed: CPU seconds (``time.process_time``; for (d) the
forward calls only), minor page faults (``getrusage``) and the child's peak resident memory
(``VmHWM``). Interleaved (v-old, v-new, d, v-old, ...), ``--repeats`` times; medians, and
the best (least) CPU time of each side, the least disturbed by other work on a shared VM. Same
clips as ``bench_learned.py`` (BigBuckBunny, x264 QP 32), one thread. The two packages
must give the same value (checked). ``os.getloadavg()`` is recorded before and after.

Usage:
    git -C . archive COMMIT vqabench | tar -x -C /tmp/old
    python benchmarks/bench_learned_ab.py --old /tmp/old [--size 1920x1080] [--frames 32]
        [--warmup-frames 12] [--repeats 3] [--metrics pt_loss,rankdvqa_ugc] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
import bench_learned as b
from vqabench import metrics
from vqabench.io.video import open_video
side, name = sys.argv[2], sys.argv[3]
warm = (open_video(sys.argv[4]), open_video(sys.argv[5]))
src, dec = open_video(sys.argv[6]), open_video(sys.argv[7])
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
if side == "v":
    b._vqabench(name, *warm)
    before = faults()
    (wall, cpu), value, _ = b._vqabench(name, src, dec)
else:
    b._Direct(name, *warm).run()
    direct = b._Direct(name, src, dec)  # tensors made here, untimed
    before = faults()
    (wall, cpu), value, _ = direct.run()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"wall": wall, "cpu": cpu, "faults": faults() - before, "value": value,
                  "peak_mib": hwm / 1024, "package": metrics.__file__}))
"""


def _child(root: Path, side: str, name: str, videos: list[Path]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT / "benchmarks"), side, name, *map(str, videos)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,  # python -c puts the working directory first on sys.path
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-800:])
    result = json.loads(proc.stdout.splitlines()[-1])
    if not result["package"].startswith(str(root)):
        raise RuntimeError(f"imported {result['package']}, not the package under {root}")
    return result


def bench(name: str, old: Path, videos: list[Path], repeats: int) -> dict:
    """The three sides of one metric, interleaved; medians."""
    sides = {"v_old": (old, "v"), "v_new": (ROOT, "v"), "d": (ROOT, "d")}
    runs: dict[str, list[dict]] = {k: [] for k in sides}
    for _ in range(repeats):
        for key, (root, side) in sides.items():
            runs[key].append(_child(root, side, name, videos))
    if runs["v_old"][-1]["value"] != runs["v_new"][-1]["value"]:
        raise RuntimeError(f"{name}: the two packages give different values")
    median = {
        k: {m: statistics.median(r[m] for r in rs) for m in ("wall", "cpu", "faults", "peak_mib")}
        for k, rs in runs.items()
    }
    best = {k: min(r["cpu"] for r in rs) for k, rs in runs.items()}  # the least disturbed
    return {
        "metric": name,
        "runs": runs,
        "median": median,
        "best_cpu": best,
        "best_new_over_old_cpu": best["v_new"] / best["v_old"],
        "best_new_over_direct_cpu": best["v_new"] / best["d"],
        "new_over_old_cpu": median["v_new"]["cpu"] / median["v_old"]["cpu"],
        "old_over_direct_cpu": median["v_old"]["cpu"] / median["d"]["cpu"],
        "new_over_direct_cpu": median["v_new"]["cpu"] / median["d"]["cpu"],
        "value_diff_vs_direct": abs(runs["v_new"][-1]["value"] - runs["d"][-1]["value"]),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--warmup-frames", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metrics", default="pt_loss,rankdvqa_ugc")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_learned

    size = tuple(int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-learned-ab-") as tmp:
        warm = bench_learned._videos(Path(tmp) / "warm", args.warmup_frames, size)
        clip = bench_learned._videos(Path(tmp) / "clip", args.frames, size)
        videos = [v.path for v in (*warm, *clip)]
        rows = [
            bench(name, args.old.resolve(), videos, args.repeats)
            for name in args.metrics.split(",")
        ]
    result = {
        "rows": rows,
        "size": args.size,
        "frames": args.frames,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "command": "python benchmarks/bench_learned_ab.py " + " ".join(argv or sys.argv[1:]),
    }
    print(
        "| metric | CPU s v-old | v-new | d | v-new / v-old | v-old / d | v-new / d | "
        "page faults v-old | v-new | d | peak MiB v-old | v-new | d |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    print("(medians; best of the repeats, CPU: v-new / v-old, v-new / d below)")
    for r in rows:
        o, n, d = (r["median"][k] for k in ("v_old", "v_new", "d"))
        print(
            f"| {r['metric']} | {o['cpu']:.2f} | {n['cpu']:.2f} | {d['cpu']:.2f} | "
            f"{r['new_over_old_cpu']:.3f} | {r['old_over_direct_cpu']:.3f} | "
            f"{r['new_over_direct_cpu']:.3f} | {o['faults']:.0f} | {n['faults']:.0f} | "
            f"{d['faults']:.0f} | {o['peak_mib']:.0f} | {n['peak_mib']:.0f} | "
            f"{d['peak_mib']:.0f} |"
        )
    for r in rows:
        print(
            f"{r['metric']}: best CPU s v-old {r['best_cpu']['v_old']:.2f}, v-new "
            f"{r['best_cpu']['v_new']:.2f}, d {r['best_cpu']['d']:.2f}; v-new / v-old "
            f"{r['best_new_over_old_cpu']:.3f}, v-new / d {r['best_new_over_direct_cpu']:.3f}"
        )
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
