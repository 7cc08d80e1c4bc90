"""Benchmark: patch pairs per second of ``make_pairs`` and what bounds it.

Runs the full default ladder (3 references x 18 transcodes per source) on sources of the
built-in ``mini`` dataset into a fresh folder and reports patch pairs per second (wall
clock) with the time spent in each part, summed over the workers: the reference stage,
transcoding (encode + decode), metrics (VMAF and PSNR, video and patch) and cropping I/O
(reading frames, cropping, RGB conversion, writing ``.npz``). Writes JSON and prints a
Markdown table.

Usage:
    python benchmarks/bench_make_pairs.py --out bench_make_pairs.json --jobs 2 \\
        --sources 2 --size 256x144 --frames 12 --patch 64x64x12 --patches-per-video 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

__all__ = ["run", "to_markdown", "main"]


def run(
    *,
    sources: int,
    size: tuple[int, int],
    frames: int,
    patch: str,
    patches_per_video: int,
    jobs: int,
) -> dict:
    """Make pairs once in a temporary folder and return the measurements."""
    from vqabench import datasets
    from vqabench.datasets.patches import PatchSize
    from vqabench.runner.pairs import make_pairs

    with tempfile.TemporaryDirectory(prefix="bench-pairs-") as tmp:
        seqs = datasets.load("mini", frames=frames, size=size, work_dir=Path(tmp))[:sources]
        load_before = os.getloadavg()[0]
        result = make_pairs(
            seqs,
            Path(tmp) / "pairs",
            patch=PatchSize.parse(patch),
            patches_per_video=patches_per_video,
            jobs=jobs,
        )
        load_after = os.getloadavg()[0]
    busy = sum(result.timings.values())
    return {
        "sources": [s.name for s in seqs],
        "size": f"{size[0]}x{size[1]}",
        "frames": frames,
        "patch": patch,
        "patches_per_video": patches_per_video,
        "jobs": jobs,
        "pairs": result.pairs,
        "units": result.units,
        "wall_s": result.wall_s,
        "pairs_per_s": result.pairs / result.wall_s,
        "timings_s": dict(result.timings),
        "shares": {k: v / busy for k, v in result.timings.items()},
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
    }


def to_markdown(r: dict) -> str:
    """One-row throughput table and the breakdown table."""
    lines = [
        "| sources | size | frames | patch | per video | jobs | pairs | wall s | pairs/s |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
        f"| {len(r['sources'])} | {r['size']} | {r['frames']} | {r['patch']} | "
        f"{r['patches_per_video']} | {r['jobs']} | {r['pairs']} | {r['wall_s']:.1f} | "
        f"{r['pairs_per_s']:.2f} |",
        "",
        "| part | seconds (summed over workers) | share |",
        "|---|---:|---:|",
    ]
    names = {
        "reference_s": "reference stage (S -> R)",
        "encode_s": "transcode (encode+decode)",
        "vmaf_s": "metrics (VMAF, PSNR)",
        "crop_s": "cropping I/O (read, crop, RGB, npz)",
    }
    for key, label in names.items():
        lines.append(f"| {label} | {r['timings_s'][key]:.1f} | {100 * r['shares'][key]:.0f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sources", type=int, default=2)
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--patch", default="64x64x12")
    ap.add_argument("--patches-per-video", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    result = run(
        sources=args.sources,
        size=(w, h),
        frames=args.frames,
        patch=args.patch,
        patches_per_video=args.patches_per_video,
        jobs=args.jobs,
    )
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(to_markdown(result))
    print(
        f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after "
        f"on {result['cores']} cores",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
