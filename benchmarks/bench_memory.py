"""Peak resident memory of every built-in metric on one large video pair (issue 11.4).

The pair: ffmpeg's ``testsrc2`` at ``--size`` (default 1920x1080), ``--frames`` frames
(default 300), 25 fps, 4:2:0 8-bit Y4M as reference; the same coded with x264 ``-qp 32`` and
decoded back to Y4M as distorted (all through the bundled ffmpeg). Each metric is measured in a
fresh Python subprocess that imports vqabench, creates the metric, computes it once and
reports its own peak resident set (``VmHWM`` from ``/proc/self/status``; the same as
``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and that of its largest child process
(``RUSAGE_CHILDREN``: ffmpeg for VMAF). A first subprocess that only imports vqabench, torch
and the metric modules gives the baseline every metric starts from.

Metrics whose pretrained weights are not in the local cache are listed as skipped; with
``--random-backbones`` they are measured with ``pretrained_backbone=False`` instead (a random
network of the same architecture: the memory, not the value, is what is measured).

Usage:
    python benchmarks/bench_memory.py [--frames 300] [--size 1920x1080] [--metrics a,b]
        [--random-backbones] [--workdir DIR] [--json out.json]
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

__all__ = ["main", "make_pair", "measure"]

GIB = 1 << 30


def make_pair(folder: Path, frames: int, width: int, height: int) -> tuple[Path, Path]:
    """Write ``ref.y4m`` (testsrc2) and ``dis.y4m`` (x264 qp 32, decoded) into ``folder``."""
    from vqabench.io.ffmpeg import run_ffmpeg

    ref, coded, dis = folder / "ref.y4m", folder / "dis.mp4", folder / "dis.y4m"
    if not ref.is_file():
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={width}x{height}:rate=25",
                "-frames:v",
                str(frames),
                "-pix_fmt",
                "yuv420p",
                str(ref),
            ]
        )
    if not dis.is_file():
        run_ffmpeg(
            [
                "-i",
                str(ref),
                "-c:v",
                "libx264",
                "-qp",
                "32",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                str(coded),
            ]
        )
        run_ffmpeg(["-i", str(coded), "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(dis)])
    return ref, dis


def _peak_self_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker(name: str, options: dict, reference: str, distorted: str) -> dict:
    """Runs in the subprocess: create and compute one metric; the peaks it reached."""
    import vqabench.metrics as metrics
    from vqabench.io.video import open_video

    metrics.available()  # import every metric module, as a run with many metrics does
    import torch  # noqa: F401  (part of the baseline: every torch metric imports it)

    row: dict = {"metric": name, "options": options}
    if name != "(baseline: imports only)":
        ref, dis = open_video(reference), open_video(distorted)
        start = time.perf_counter()
        row["value"] = metrics.create(name, **options).compute(ref, dis).value
        row["compute_s"] = time.perf_counter() - start
    row["peak_rss_bytes"] = _peak_self_bytes()
    row["peak_child_rss_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return row


def measure(name: str, options: dict, reference: Path, distorted: Path) -> dict:
    """One metric in a fresh interpreter; ``{"skipped": reason}`` when its weights are absent."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--options",
        json.dumps(options),
        "--reference",
        str(reference),
        "--distorted",
        str(distorted),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        return {"metric": name, "options": options, "skipped": last}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _accepts(name: str, option: str) -> bool:
    import inspect

    from vqabench import metrics

    cls = metrics.get_class(name)
    return any(
        option in inspect.signature(c.__init__).parameters
        for c in cls.__mro__
        if "__init__" in vars(c)
    )


def _split_spec(text: str) -> tuple[str, dict]:
    """``lpips:net=vgg`` -> ("lpips", {"net": "vgg"}); ``pyiqa:ms_ssim`` keeps its colon."""
    from vqabench.config import parse_scalar

    parts = text.split(":")
    name = ":".join(p for p in parts if "=" not in p)
    return name, {k: parse_scalar(v) for k, v in (p.split("=", 1) for p in parts if "=" in p)}


def _plan(names: list[str], random_backbones: bool) -> list[tuple[str, dict]]:
    """(name, options) per metric spec (``NAME[:OPTION=VALUE...]``): weights present, random
    backbones, or skipped later."""
    from vqabench import metrics
    from vqabench.errors import WeightsUnavailableError

    plan = []
    for spec in names:
        name, options = _split_spec(spec)
        try:
            metrics.create(name, **options)
            plan.append((name, options))
        except WeightsUnavailableError:
            random = random_backbones and _accepts(name, "pretrained_backbone")
            plan.append((name, {**options, "pretrained_backbone": False} if random else options))
        except Exception:  # noqa: BLE001  (options needed: measured and reported as skipped)
            plan.append((name, options))
    return plan


def _table(rows: list[dict]) -> str:
    lines = [
        "| metric | options | peak RSS (GiB) | peak child RSS (GiB) | compute (s) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        opts = " ".join(f"{k}={v}" for k, v in r["options"].items())
        if "skipped" in r:
            lines.append(f"| {r['metric']} | {opts} | skipped: {r['skipped']} | | |")
            continue
        comp = f"{r['compute_s']:.1f}" if "compute_s" in r else ""
        lines.append(
            f"| {r['metric']} | {opts} | {r['peak_rss_bytes'] / GIB:.2f} | "
            f"{r['peak_child_rss_bytes'] / GIB:.2f} | {comp} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark, print a Markdown table, optionally write JSON; return the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument(
        "--metrics", default="", help="comma-separated NAME[:OPTION=VALUE...] (default: all)"
    )
    parser.add_argument("--random-backbones", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep the generated pair here")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--distorted", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(
            json.dumps(
                _worker(args.worker, json.loads(args.options), args.reference, args.distorted)
            )
        )
        return []

    from vqabench import metrics

    width, height = (int(v) for v in args.size.split("x"))
    names = [n for n in args.metrics.split(",") if n] or metrics.available()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ref, dis = make_pair(folder, args.frames, width, height)
        load_before = Path("/proc/loadavg").read_text().strip()
        rows = [measure("(baseline: imports only)", {}, ref, dis)]
        for name, options in _plan(names, args.random_backbones):
            rows.append(measure(name, options, ref, dis))
            print(_table(rows[-1:]).splitlines()[-1], flush=True)
        load_after = Path("/proc/loadavg").read_text().strip()
    header = (
        f"{args.size}, {args.frames} frames, testsrc2 vs x264 qp 32; cores {os.cpu_count()}; "
        f"load before {load_before}; after {load_after}"
    )
    print(header)
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"setup": header, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
