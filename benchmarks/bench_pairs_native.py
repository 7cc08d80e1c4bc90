"""``make_pairs`` against the native commands it runs, replayed directly.

Issue 34 item 3 (last sentence). One run of ``make_pairs`` in this process (``jobs=1``) logs
every command it starts (``subprocess.Popen``: the encoders and decoders, ffmpeg's libvmaf
and PSNR passes through ffmpeg-quality-metrics, its ffprobe calls, the version probes), then
the same argument lists run again, one after another, through ``subprocess.run`` with
nothing else in between: the native floor of the same work. Inputs that Python wrote (the
patch clips' Y4M files, in temporary folders that are gone by then) are kept by a hard link
when a logged command first reads them and put back before the replay; output folders are
made again. Nothing else of vqabench runs during the replay.

So (v) / (n) charges vqabench with everything that is not an external command: planning,
the store (SQLite), reading frames and cutting patches, RGB conversion, writing ``.npz``,
Python's part of the metric wrappers, process start-up is the same on both sides.
Interleaved (v, n, v, n...), ``--repeats`` times, each (v) in a fresh output folder; wall
and CPU time (this process and its children) of both; ``os.getloadavg()`` before and after.

Usage:
    python benchmarks/bench_pairs_native.py [--sources 1] [--size 256x144] [--frames 12]
        [--patch 64x64x12] [--patches-per-video 1] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _cpu_s() -> float:
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class _Recorder:
    """Logs each command started through ``subprocess.Popen`` and keeps (hard links) the
    input files it names that no earlier logged command wrote."""

    def __init__(self, stash: Path):
        self.stash, self.commands, self.kept = stash, [], {}
        self._outputs: set[str] = set()

    def __enter__(self) -> _Recorder:
        self._original = subprocess.Popen.__init__
        recorder = self

        def init(popen, args, *a, **k):  # noqa: ANN001, ANN202
            if isinstance(args, list | tuple):
                recorder.log([str(x) for x in args])
            return recorder._original(popen, args, *a, **k)

        subprocess.Popen.__init__ = init
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.Popen.__init__ = self._original

    def log(self, args: list[str]) -> None:
        if shutil.which(args[0]) is None or "ffmpeg" not in Path(args[0]).name:
            return  # not an ffmpeg command (ffprobe is not bundled: it fails to start and
            # the caller falls back; ldconfig from ctypes): nothing native to replay
        self.commands.append(args)
        for i, arg in enumerate(args[:-1]):
            path = args[i + 1]
            if (
                arg == "-i"
                and os.path.isfile(path)
                and path not in self._outputs
                and path not in self.kept
            ):
                keep = self.stash / f"{len(self.kept)}_{Path(path).name}"
                os.link(os.path.realpath(path), keep)  # vmaf.py's inputs are symlinks
                self.kept[path] = keep
        if len(args) > 1 and os.path.isabs(args[-1]):
            self._outputs.add(args[-1])


def _replay(commands: list[list[str]], kept: dict[str, Path]) -> tuple[float, float]:
    """Run every command again; (wall s, CPU s of the commands), summed over the commands.
    Before each (not timed), the inputs Python wrote are put back and the output's folder
    made: other sessions' clean-ups may empty ``/tmp`` folders between commands."""
    wall = cpu = 0.0
    for args in commands:
        for path in (b for a, b in zip(args, args[1:], strict=False) if a == "-i" and b in kept):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if not os.path.exists(path):
                if os.path.lexists(path):  # a dangling link
                    os.unlink(path)
                os.link(kept[path], path)
        if len(args) > 1 and os.path.isabs(args[-1]):
            Path(args[-1]).parent.mkdir(parents=True, exist_ok=True)
        start, used = time.perf_counter(), _cpu_s()
        proc = subprocess.run(args, capture_output=True)
        wall += time.perf_counter() - start
        cpu += _cpu_s() - used
        if proc.returncode and "-version" not in args:
            raise RuntimeError(f"replay failed: {args}\n{proc.stderr[-400:]}")
    return wall, cpu


def _make_pairs(seqs: list, out: Path, patch: str, count: int) -> tuple[float, float, int]:
    from vqabench.datasets.patches import PatchSize
    from vqabench.runner.pairs import make_pairs

    start, cpu = time.perf_counter(), _cpu_s()
    result = make_pairs(seqs, out, patch=PatchSize.parse(patch), patches_per_video=count, jobs=1)
    return time.perf_counter() - start, _cpu_s() - cpu, result.pairs


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=1)
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--patch", default="64x64x12")
    ap.add_argument("--patches-per-video", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from vqabench import datasets

    size = tuple(int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()
    v_wall, v_cpu, n_wall, n_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-pairs-native-") as tmp_name:
        tmp = Path(tmp_name)
        seqs = datasets.load("mini", frames=args.frames, size=size, work_dir=tmp / "src")[
            : args.sources
        ]
        for repeat in range(args.repeats):
            stash = tmp / f"stash{repeat}"
            stash.mkdir()
            with _Recorder(stash) as rec:
                wall, cpu, pairs = _make_pairs(
                    seqs, tmp / f"pairs{repeat}", args.patch, args.patches_per_video
                )
            v_wall.append(wall)
            v_cpu.append(cpu)
            wall, cpu = _replay(rec.commands, rec.kept)
            n_wall.append(wall)
            n_cpu.append(cpu)
            print(
                json.dumps(
                    {
                        "repeat": repeat,
                        "vqabench_s": v_wall[-1],
                        "native_s": wall,
                        "vqabench_cpu_s": v_cpu[-1],
                        "native_cpu_s": cpu,
                        "commands": len(rec.commands),
                    }
                ),
                flush=True,
            )
            shutil.rmtree(tmp / f"pairs{repeat}")
            shutil.rmtree(stash)
        counts: dict[str, int] = {}
        for c in rec.commands:
            tool = Path(c[0]).name
            kind = (
                "version probe"
                if "-version" in c or "-encoders" in c or "-filters" in c
                else (
                    "libvmaf"
                    if any("libvmaf" in x for x in c)
                    else ("psnr" if any("psnr" in x for x in c) else tool)
                )
            )
            counts[kind] = counts.get(kind, 0) + 1
    result = {
        "sources": args.sources,
        "size": args.size,
        "frames": args.frames,
        "patch": args.patch,
        "patches_per_video": args.patches_per_video,
        "pairs": pairs,
        "commands": len(rec.commands),
        "command_kinds": counts,
        "example_commands": rec.commands[:6],
        "vqabench_wall_s": v_wall,
        "native_wall_s": n_wall,
        "vqabench_cpu_s": v_cpu,
        "native_cpu_s": n_cpu,
        "wall_ratios": [v / n for v, n in zip(v_wall, n_wall, strict=True)],
        "cpu_ratios": [v / n for v, n in zip(v_cpu, n_cpu, strict=True)],
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "command": "python benchmarks/bench_pairs_native.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    result["wall_ratio_median"] = statistics.median(result["wall_ratios"])
    result["cpu_ratio_median"] = statistics.median(result["cpu_ratios"])
    print(
        "| sources | size | frames | patch | pairs | commands | (v) make_pairs s (CPU s) | "
        "(n) native replay s (CPU s) | wall (v)/(n) | CPU (v)/(n) |\n"
        "|---:|---|---:|---|---:|---:|---|---|---:|---:|"
    )
    print(
        f"| {args.sources} | {args.size} | {args.frames} | {args.patch} | {pairs} | "
        f"{len(rec.commands)} | "
        f"{', '.join(f'{w:.1f} ({c:.1f})' for w, c in zip(v_wall, v_cpu, strict=True))} | "
        f"{', '.join(f'{w:.1f} ({c:.1f})' for w, c in zip(n_wall, n_cpu, strict=True))} | "
        f"{result['wall_ratio_median']:.2f} | {result['cpu_ratio_median']:.2f} |"
    )
    print(f"commands by kind: {counts}")
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
