"""Torch threads under contention: CPU time per patch pair of ``vqabench models info`` with
1 thread and with one thread per core, on this machine as it is (load recorded).

Usage:
    python benchmarks/bench_threads.py [--patches 64x64x12,256x256x12] [--repeats 3]

Writes a Markdown table to stdout (reports/performance.md, "Threads"). Each cell is a fresh
process (``vqabench models info NAME --patch P --threads T --json``); the ratio is the
figure to quote, absolute times depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def _loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def cpu_s(model: str, patch: str, threads: int, repeats: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vqabench",
            "models",
            "info",
            model,
            "--patch",
            patch,
            "--threads",
            str(threads),
            "--repeats",
            str(repeats),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return float(json.loads(out)["cpu_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="pt_loss,rankdvqa_ugc")
    parser.add_argument("--patches", default="64x64x12,256x256x12")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"cores {cores}; load average before: {_loadavg()}")
    print(f"| model | patch | 1 thread (ms) | {cores} threads (ms) | ratio |")
    print("|---|---|---:|---:|---:|")
    for model in args.models.split(","):
        for patch in args.patches.split(","):
            one = cpu_s(model, patch, 1, args.repeats)
            many = cpu_s(model, patch, cores, args.repeats)
            print(
                f"| {model} | {patch} | {one * 1e3:.0f} | {many * 1e3:.0f} | {many / one:.1f}x |",
                flush=True,
            )
    print(f"load average after: {_loadavg()}")


if __name__ == "__main__":
    main()
