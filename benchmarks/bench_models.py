"""Benchmark: CPU time per patch pair of the learned quality models.

Measures PT-Loss and RankDVQA-UGC on one (reference, distorted) patch pair (batch 1,
inference, random weights: timing does not depend on them), and PT-Loss at several frame
counts to check that its cost grows linearly with the frames. Writes JSON and prints a
Markdown table.

Usage:
    python benchmarks/bench_models.py --out bench_models.json [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

from vqabench.models import create_model
from vqabench.models.complexity import count_macs, count_params, cpu_times_per_pair

__all__ = ["run", "to_markdown", "main"]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(
    *,
    size: int = 256,
    frames: tuple[int, ...] = (12, 24, 48),
    repeats: int = 5,
    threads: int | None = None,
) -> dict:
    """Measure both models at ``size x size x frames[0]`` and PT-Loss at every frame count.

    Returns:
        A JSON-ready dict: environment, ``models`` rows and ``ptloss_frames`` rows.
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    base = frames[0]
    env = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_before": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "repeats": repeats,
    }
    # Round-robin over models and frame counts, so that load from other processes on a
    # shared machine hits every measurement alike.
    patch = (base, size, size)
    nets = {
        name: create_model(name, **({"frames": base} if name == "rankdvqa_ugc" else {}))
        for name in ("pt_loss", "rankdvqa_ugc")
    }
    model_times: dict[str, list[float]] = {name: [] for name in nets}
    for net in nets.values():
        cpu_times_per_pair(net, patch, repeats=1)  # warm-up
    for _ in range(repeats):
        for name, net in nets.items():
            model_times[name] += cpu_times_per_pair(net, patch, repeats=1, warmup=0)
    models = []
    for name, net in nets.items():
        macs, scan = count_macs(net, patch)
        models.append(
            {
                "model": name,
                "patch": f"{size}x{size}x{base}",
                "params": count_params(net),
                "macs": macs,
                "scan_macs": scan,
                "cpu_s": statistics.median(model_times[name]),
                "cpu_s_min": min(model_times[name]),
            }
        )
    pt = nets["pt_loss"]
    times: dict[int, list[float]] = {t: [] for t in frames}
    for t in frames:
        cpu_times_per_pair(pt, (t, size, size), repeats=1)  # warm-up
    for _ in range(repeats):
        for t in frames:
            times[t] += cpu_times_per_pair(pt, (t, size, size), repeats=1, warmup=0)
    rows = [
        {
            "frames": t,
            "macs": count_macs(pt, (t, size, size))[0],
            "cpu_s": statistics.median(times[t]),
            "cpu_s_min": min(times[t]),
        }
        for t in frames
    ]
    for row in rows:
        row["time_ratio"] = row["cpu_s"] / rows[0]["cpu_s"]
        row["time_ratio_min"] = row["cpu_s_min"] / rows[0]["cpu_s_min"]
        row["frame_ratio"] = row["frames"] / rows[0]["frames"]
        row["mac_ratio"] = row["macs"] / rows[0]["macs"]
    env["loadavg_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"environment": env, "models": models, "ptloss_frames": rows}


def to_markdown(result: dict) -> str:
    """Two Markdown tables: per-model cost, and PT-Loss cost against the frame count."""
    lines = [
        "| model | patch (WxHxT) | params (M) | GMACs | CPU ms / pair (median) | "
        "CPU ms / pair (min) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in result["models"]:
        lines.append(
            f"| {m['model']} | {m['patch']} | {m['params'] / 1e6:.3f} | "
            f"{m['macs'] / 1e9:.3f} | {m['cpu_s'] * 1e3:.0f} | "
            f"{m['cpu_s_min'] * 1e3:.0f} |"
        )
    lines += [
        "",
        "| PT-Loss frames | GMACs | MAC ratio | CPU ms (median) | time ratio "
        "(median) | CPU ms (min) | time ratio (min) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["ptloss_frames"]:
        lines.append(
            f"| {r['frames']} | {r['macs'] / 1e9:.3f} | {r['mac_ratio']:.2f} | "
            f"{r['cpu_s'] * 1e3:.0f} | {r['time_ratio']:.2f} | "
            f"{r['cpu_s_min'] * 1e3:.0f} | {r['time_ratio_min']:.2f} |"
        )
    env = result["environment"]
    lines += [
        "",
        f"CPU: {env['cpu']}, {env['cores']} cores, torch {env['torch']}, "
        f"{env['threads']} threads, median and minimum of {env['repeats']} runs after "
        "1 warm-up; "
        f"load average before/after: {env['loadavg_before']} / {env['loadavg_after']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench_models.json"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, nargs="+", default=[12, 24, 48])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    result = run(
        size=args.size, frames=tuple(args.frames), repeats=args.repeats, threads=args.threads
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
