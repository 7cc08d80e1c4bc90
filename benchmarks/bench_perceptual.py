"""Throughput of LPIPS and DISTS through vqabench versus the libraries called directly.

Both paths see the same frames from the same Y4M files: the direct path reads them with
``vqabench.io.video.read_frames``, converts with ``yuv_to_rgb`` and calls ``lpips.LPIPS`` /
pyiqa's ``DISTS`` on batches of the same size; the vqabench path is ``metric.compute``. Network
construction is outside the timing; each measurement is the best of ``--repeats``
runs, the two paths interleaved.
Backbones are random (``pretrained_backbone=False``) unless ``--pretrained``: weights do not
change the cost.

Usage:
    python benchmarks/bench_perceptual.py [--frames 16] [--size 256x144] [--batch 8]
        [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vqabench import metrics
from vqabench.io.video import Video, read_frames, rgb_to_yuv, write_y4m, yuv_to_rgb

__all__ = ["main"]


def _videos(folder: Path, frames: int, width: int, height: int) -> tuple[Video, Video]:
    rng = np.random.default_rng(0)
    base = rng.random((height // 8, width // 8, 3))
    ref, dis = [], []
    for i in range(frames):
        img = np.kron(np.roll(base, i, axis=1), np.ones((8, 8, 1)))[:height, :width]
        ref.append(rgb_to_yuv(img))
        dis.append(rgb_to_yuv(np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)))
    return (
        write_y4m(folder / "ref.y4m", ref, width=width, height=height, fps=25),
        write_y4m(folder / "dis.y4m", dis, width=width, height=height, fps=25),
    )


def _direct(
    net: torch.nn.Module, reference: Video, distorted: Video, batch: int, lpips_style: bool
) -> list[float]:
    def batches(video: Video):
        buf = []
        for frame in read_frames(video):
            buf.append(yuv_to_rgb(frame, bit_depth=video.bit_depth).astype(np.float32))
            if len(buf) == batch:
                yield torch.from_numpy(np.stack(buf)).permute(0, 3, 1, 2).contiguous()
                buf = []
        if buf:
            yield torch.from_numpy(np.stack(buf)).permute(0, 3, 1, 2).contiguous()

    out: list[float] = []
    with torch.inference_mode():
        for r, d in zip(batches(reference), batches(distorted), strict=True):
            val = net(d, r, normalize=True) if lpips_style else net(d, r)
            out.extend(val.reshape(-1).tolist())
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark, print a Markdown table, optionally write JSON; return the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="256x144")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pretrained", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ref, dis = _videos(Path(tmp), args.frames, width, height)
        for name, opts, lpips_style in (("lpips", {"net": "alex"}, True), ("dists", {}, False)):
            metric = metrics.create(
                name, pretrained_backbone=args.pretrained, batch_size=args.batch, **opts
            )
            net = metric.model  # the same network object for both paths
            metric.compute(ref, dis)  # warm-up
            t_direct = t_vqa = float("inf")
            for _ in range(args.repeats):  # interleaved, so load changes hit both paths alike
                direct_call = functools.partial(_direct, net, ref, dis, args.batch, lpips_style)
                t, direct = _timed(direct_call)
                t_direct = min(t_direct, t)
                t, result = _timed(functools.partial(metric.compute, ref, dis))
                t_vqa = min(t_vqa, t)
            diff = float(np.max(np.abs(np.array(direct) - np.array(result.per_frame))))
            rows.append(
                {
                    "metric": f"{name} {' '.join(f'{k}={v}' for k, v in opts.items())}".strip(),
                    "frames": args.frames,
                    "size": args.size,
                    "batch": args.batch,
                    "direct_fps": args.frames / t_direct,
                    "vqabench_fps": args.frames / t_vqa,
                    "overhead_pct": 100.0 * (t_vqa - t_direct) / t_direct,
                    "max_abs_diff": diff,
                }
            )
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"{'pretrained' if args.pretrained else 'random'} backbones"
    )
    print(
        "| metric | frames | size | batch | library direct (frames/s) | vqabench (frames/s) "
        "| overhead | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['metric']} | {r['frames']} | {r['size']} | {r['batch']} | "
            f"{r['direct_fps']:.2f} | {r['vqabench_fps']:.2f} | {r['overhead_pct']:+.1f}% | "
            f"{r['max_abs_diff']:.1e} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
