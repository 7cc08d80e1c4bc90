"""Benchmark of the built-in INR codec.

Default (the ``INR baseline`` section of reports/performance.md): every ``mini`` sequence at
the experiment's CPU size and every model size; prints the RD points (bits, bpp, PSNR-Y
against the codec input, encode seconds, decoding frames per second, the final training
loss) and whether each sequence's curve is monotone (PSNR-Y strictly rising with bits), and
writes them as CSV. One torch thread; run it under ``taskset -c N`` for one core.

``--pt-loss-overhead`` (the ``Learned codecs`` section): encode time per rate point,
decoding speed, and the encoding-time overhead of training with PT-Loss instead of HiNeRV's
loss (published: +21 %). The PT-Loss network's compute does not depend on its weight
values, so when the trained checkpoint is not shipped the timing uses the same architecture
with random weights (``loss_weights="random"``; rates and quality of those encodes mean
nothing and are not reported).

Usage:
    taskset -c 1 python benchmarks/bench_inr.py --csv /tmp/bench_inr.csv   # RD sweep
    python benchmarks/bench_inr.py --pt-loss-overhead --models xxs,s --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

from vqabench import codecs, metrics
from vqabench.codecs.losses import loss_complexity
from vqabench.datasets import load as load_dataset
from vqabench.models import checkpoint_path

__all__ = ["main"]

SECTION = "## Learned codecs"
RD_SECTION = "## INR baseline"
#: The experiment's CPU size (experiments/ptloss/configs/ptloss_transcoding.toml):
#: width, height, frames.
RD_SIZE = (128, 72, 8)
RD_COLUMNS = (
    "sequence",
    "model",
    "params",
    "bits",
    "bpp",
    "psnr_y",
    "enc_s",
    "cpu_s",
    "train_s",
    "dec_fps",
    "final_loss",
    "monotone",
)


def _rd_point(video, model: str, out: Path, **options) -> dict:
    codec = codecs.create("inr", **options)
    cpu0 = time.process_time()
    result = codecs.run_codec(
        codec, video, codecs.RatePoint("model", model), out / f"{model}.inr", decode_dir=out
    )
    cpu_s = time.process_time() - cpu0  # this process's CPU time: encode + decode, one thread
    psnr = metrics.create("psnr_y").compute(video, result.decoded).value
    result.decoded.path.unlink(missing_ok=True)
    info = codec.last_encode
    return {
        "model": model,
        "params": info.params,
        "bits": result.bits,
        "bpp": result.bits / (video.frames * video.width * video.height),
        "psnr_y": psnr,
        "enc_s": result.enc_s,
        "cpu_s": cpu_s,
        "train_s": info.train_s,
        "dec_fps": codec.last_decode_fps,
        "final_loss": info.final_loss,
        "curve_psnr_y": info.curve[-1].psnr_y,
    }


def _monotone(rows: list[dict]) -> bool:
    """PSNR-Y strictly rises with bits (every point enters a BD-rate)."""
    pts = sorted((r["bits"], r["psnr_y"]) for r in rows)
    return all(b[0] > a[0] and b[1] > a[1] for a, b in zip(pts, pts[1:], strict=False))


def _write_csv(path: Path, rows: list[dict]) -> None:
    from vqabench.io.atomic import atomic_path

    with atomic_path(path) as tmp_csv, open(tmp_csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RD_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def rd_sweep(
    *,
    models: list[str],
    size: tuple[int, int, int],
    names: list[str] | None,
    options: dict,
    work: Path,
    csv_path: Path | None = None,
) -> list[dict]:
    """RD points of every (sequence, model); each row gets the sequence's ``monotone``.
    ``names`` sets which sequences run and their order; the CSV is rewritten after each
    sequence, so an interrupted sweep keeps what it finished."""
    width, height, frames = size
    rows = []
    seqs = {
        s.name: s for s in load_dataset("mini", frames=frames, size=(width, height), work_dir=work)
    }
    for name in names or list(seqs):
        seq = seqs[name]
        mine = []
        for model in models:
            r = {"sequence": seq.name, **_rd_point(seq.source, model, work, **options)}
            print(
                f"{seq.name:13s} {model:4s} {r['params']:7d} params {r['bpp']:.3f} bpp "
                f"{r['psnr_y']:6.2f} dB {r['enc_s']:6.1f} s enc {r['cpu_s']:6.1f} s CPU "
                f"{r['dec_fps']:6.0f} fps",
                flush=True,
            )
            mine.append(r)
        mono = _monotone(mine)
        rows += [{**r, "monotone": mono} for r in mine]
        if csv_path is not None:
            _write_csv(csv_path, rows)
    return rows


def _rd_markdown(rows: list[dict], setup: dict) -> str:
    w, h, t = setup["size"]
    lines = [
        RD_SECTION,
        "",
        f"Built-in `inr` codec, loss `l1_msssim`, on every `mini` sequence at {w}x{h}, "
        f"{t} frames (the PT-Loss experiment's CPU size), codec defaults "
        f"({setup['options']}), one torch thread under `taskset` (one core); "
        f"{setup['cpu']}, torch {setup['torch']}, {setup['date']}. PSNR-Y is against "
        "the codec input; encoding time is mostly training time.",
        "",
        f"Command: `{setup['command']}`",
        "",
        f"Load (`cat /proc/loadavg`) before: `{setup['load_before']}`, after: "
        f"`{setup['load_after']}` (2 cores shared with other work: times are upper "
        "bounds).",
        "",
        "| sequence | model | params | bits | bpp | PSNR-Y (dB) | enc s (wall) | CPU s | dec fps |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sequence']} | {r['model']} | {r['params']} | {r['bits']} | "
            f"{r['bpp']:.3f} | {r['psnr_y']:.2f} | {r['enc_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['dec_fps']:.0f} |"
        )
    seqs = list(dict.fromkeys(r["sequence"] for r in rows))
    mono = [s for s in seqs if all(r["monotone"] for r in rows if r["sequence"] == s)]
    top = {s: max((r["bits"], r["psnr_y"]) for r in rows if r["sequence"] == s)[1] for s in seqs}
    lines += [
        "",
        f"Monotone curves: {len(mono)} of {len(seqs)} sequences"
        + (
            ""
            if len(mono) == len(seqs)
            else f" (not: {', '.join(s for s in seqs if s not in mono)})"
        )
        + f"; PSNR-Y at the largest model: {min(top.values()):.2f} dB (lowest, "
        f"{min(top, key=top.get)}) to {max(top.values()):.2f} dB; longest encode "
        f"{max(r['enc_s'] for r in rows):.1f} s wall, "
        f"{max(r['cpu_s'] for r in rows):.1f} s CPU (encode + decode, this process).",
        "",
    ]
    return "\n".join(lines)


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").is_file() else "?"


def rd_main(args: argparse.Namespace, argv: list[str]) -> list[dict]:
    """The RD sweep: print, write the CSV and the report section."""
    from vqabench.codecs.inr_codec import InrCodec

    width, height = (int(v) for v in args.size.split("x")) if args.size else RD_SIZE[:2]
    size = (width, height, args.frames or RD_SIZE[2])
    options = {"threads": 1} if args.steps is None else {"threads": 1, "steps": args.steps}
    models = args.models.split(",") if args.models else list(InrCodec.rate_choices["model"])
    before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        rows = rd_sweep(
            models=models,
            size=size,
            names=args.names.split(",") if args.names else None,
            options=options,
            work=Path(tmp),
            csv_path=args.csv,
        )
    codec = codecs.create("inr", **options)
    setup = {
        "size": size,
        "options": ", ".join(
            f"{k}={v}"
            for k, v in codec.options.items()
            if k in ("steps", "qat_steps", "lr", "bits", "batch_frames")
        ),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "load_before": before,
        "load_after": _load(),
        "command": "taskset -c 1 python benchmarks/bench_inr.py " + " ".join(argv),
    }
    text = _rd_markdown(rows, setup)
    if args.report is not None:
        _write_section(args.report, text, RD_SECTION)
    print(text)
    return rows


def _encode(video, model: str, *, loss: str, weights: str, steps: int, out: Path) -> dict:
    codec = codecs.create("inr", steps=steps, loss=loss, loss_weights=weights)
    result = codecs.run_codec(
        codec, video, codecs.RatePoint("model", model), out / f"{loss}-{model}.inr", decode_dir=out
    )
    psnr = metrics.create("psnr_y").compute(video, result.decoded).value
    result.decoded.path.unlink(missing_ok=True)
    info = codec.last_encode
    return {
        "model": model,
        "loss": loss,
        "weights": weights,
        "params": info.params,
        "bits": result.bits,
        "bpp": result.bits / (video.frames * video.width * video.height),
        "psnr_y": psnr,
        "enc_s": result.enc_s,
        "train_s": info.train_s,
        "dec_s": result.dec_s,
        "dec_fps": codec.last_decode_fps,
    }


def _loss_complexity(frames: int, height: int, width: int) -> dict:
    """Parameters and MACs of the PT-Loss network on one (R, D) training window."""
    params, macs = loss_complexity("pt_loss", frames=frames, height=height, width=width)
    return {"pt_loss_params": params, "pt_loss_macs_per_window": macs}


def _markdown(res: dict) -> str:
    rows = [
        "| model | loss | params | bpp | PSNR-Y (dB) | enc s | dec fps |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["runs"]:
        if r["weights"] == "pretrained":
            cells = [r["loss"], f"{r['bpp']:.3f}", f"{r['psnr_y']:.2f}"]
        else:
            cells = [f"{r['loss']} (random weights: time only)", "-", "-"]
        rows.append(
            f"| {r['model']} | {cells[0]} | {r['params']} | {cells[1]} | {cells[2]} | "
            f"{r['enc_s']:.1f} | {r['dec_fps']:.0f} |"
        )
    c = res["setup"]
    lines = [
        SECTION,
        "",
        f"Built-in `inr` codec on `{c['sequence']}` {c['width']}x{c['height']}, {c['frames']} "
        f"frames; {c['steps']} training + {c['steps'] // 5} quantisation-aware iterations, "
        f"batch of 2 frames, one torch thread, CPU ({c['cpu']}; shared machine, so absolute "
        f"times are indicative). Encoding time is mostly training time; decoding renders "
        f"the frames from the bitstream.",
        "",
        f"Command: `{c['command']}`",
        "",
        *rows,
        "",
        f"PT-Loss training-loss overhead: mean encoding time with `loss=pt_loss` / with "
        f"`loss=l1_msssim` = **{res['pt_loss_overhead_pct']:+.1f} %** (published: +21 %). "
        f"PT-Loss network: {res['complexity']['pt_loss_params'] / 1e6:.2f} M parameters, "
        f"{res['complexity']['pt_loss_macs_per_window'] / 1e9:.3f} GMAC per training window "
        f"(2 x {c['height']} x {c['width']}).",
        "",
        (
            "PT-Loss weights: "
            + (
                "shipped."
                if res["pt_loss_weights"]
                else "not shipped yet (vqabench/models/weights/pt_loss.pt); the "
                "pt_loss rows use random weights and only their times mean "
                "something."
            )
        ),
        "",
    ]
    return "\n".join(lines) + "\n"  # a blank line before the next section


def _write_section(path: Path, text: str, section: str = SECTION) -> None:
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Performance\n\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = (
        pattern.sub(lambda _: text, old)
        if pattern.search(old)
        else (old.rstrip("\n") + "\n\n" + text)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict | list[dict]:
    """Run the benchmark; returns the results (RD rows, or the overhead results dict)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--pt-loss-overhead",
        action="store_true",
        help="the PT-Loss encoding-time overhead instead of the RD sweep",
    )
    ap.add_argument("--models", default=None, help="comma list (default: every model size)")
    ap.add_argument("--names", default=None, help="mini sequences (default: all eight)")
    ap.add_argument("--steps", type=int, default=None, help="default: the codec's")
    ap.add_argument("--size", default=None, help="WxH (RD default 128x72; overhead 256x144)")
    ap.add_argument("--frames", type=int, default=None, help="RD default 8; overhead 16")
    ap.add_argument("--csv", type=Path, default=None, help="RD rows as CSV")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--report",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "reports" / "performance.md",
    )
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not args.pt_loss_overhead:
        return rd_main(args, argv)
    args.models = args.models or "xxs,xs,s,m"
    args.steps = args.steps or 200
    args.size = args.size or "256x144"
    args.frames = args.frames or 16
    width, height = (int(v) for v in args.size.split("x"))
    have_pt = checkpoint_path("pt_loss").is_file()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        video = load_dataset("mini", frames=args.frames, size=(width, height), work_dir=out)[0]
        runs = []
        for model in args.models.split(","):
            runs.append(
                _encode(
                    video.source,
                    model,
                    loss="l1_msssim",
                    weights="pretrained",
                    steps=args.steps,
                    out=out,
                )
            )
            runs.append(
                _encode(
                    video.source,
                    model,
                    loss="pt_loss",
                    weights="pretrained" if have_pt else "random",
                    steps=args.steps,
                    out=out,
                )
            )
    base = [r["enc_s"] for r in runs if r["loss"] == "l1_msssim"]
    pt = [r["enc_s"] for r in runs if r["loss"] == "pt_loss"]
    res = {
        "setup": {
            "sequence": video.name,
            "width": width,
            "height": height,
            "frames": args.frames,
            "steps": args.steps,
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "command": "python benchmarks/bench_inr.py " + " ".join(argv),
            "date": time.strftime("%Y-%m-%d"),
        },
        "runs": runs,
        "pt_loss_overhead_pct": 100.0 * (sum(pt) / sum(base) - 1.0),
        "pt_loss_weights": have_pt,
        "complexity": _loss_complexity(2, height, width),
    }
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    _write_section(args.report, _markdown(res))
    print(_markdown(res))
    return res


if __name__ == "__main__":
    main()
