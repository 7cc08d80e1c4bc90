"""Benchmark of the built-in INR codec: encode time per rate point, decoding speed, and the
encoding-time overhead of training with PT-Loss instead of HiNeRV's loss (published: +21 %).

The PT-Loss network's compute does not depend on its weight values, so when the trained
checkpoint is not shipped the timing uses the same architecture with random weights
(``loss_weights="random"``; rates and quality of those encodes mean nothing and are not
reported). Writes JSON and replaces the "Learned codecs" section of reports/performance.md.

Usage:
    python benchmarks/bench_inr.py                       # 256x144, 16 frames, 200+40 iterations
    python benchmarks/bench_inr.py --models xxs,s --steps 100 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

from vqabench import codecs, metrics
from vqabench.codecs.losses import create_loss
from vqabench.datasets import load as load_dataset
from vqabench.models import checkpoint_path
from vqabench.models.complexity import count_macs, count_params

__all__ = ["main"]

SECTION = "## Learned codecs"


def _encode(video, model: str, *, loss: str, weights: str, steps: int, out: Path) -> dict:
    codec = codecs.create("inr", steps=steps, loss=loss, loss_weights=weights)
    result = codecs.run_codec(codec, video, codecs.RatePoint("model", model),
                              out / f"{loss}-{model}.inr", decode_dir=out)
    psnr = metrics.create("psnr_y").compute(video, result.decoded).value
    result.decoded.path.unlink(missing_ok=True)
    info = codec.last_encode
    return {"model": model, "loss": loss, "weights": weights, "params": info.params,
            "bits": result.bits, "bpp": result.bits / (video.frames * video.width * video.height),
            "psnr_y": psnr, "enc_s": result.enc_s, "train_s": info.train_s,
            "dec_s": result.dec_s, "dec_fps": codec.last_decode_fps}


def _loss_complexity(frames: int, height: int, width: int) -> dict:
    """Parameters and MACs of the PT-Loss network on one (R, D) training window."""
    net = create_loss("pt_loss", weights="random").perceptual.model
    macs, _ = count_macs(net, (frames, height, width))
    return {"pt_loss_params": count_params(net), "pt_loss_macs_per_window": macs}


def _markdown(res: dict) -> str:
    rows = ["| model | loss | params | bpp | PSNR-Y (dB) | enc s | dec fps |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for r in res["runs"]:
        if r["weights"] == "pretrained":
            cells = [r["loss"], f"{r['bpp']:.3f}", f"{r['psnr_y']:.2f}"]
        else:
            cells = [f"{r['loss']} (random weights: time only)", "-", "-"]
        rows.append(f"| {r['model']} | {cells[0]} | {r['params']} | {cells[1]} | {cells[2]} | "
                    f"{r['enc_s']:.1f} | {r['dec_fps']:.0f} |")
    c = res["setup"]
    lines = [
        SECTION, "",
        f"Built-in `inr` codec on `{c['sequence']}` {c['width']}x{c['height']}, {c['frames']} "
        f"frames; {c['steps']} training + {c['steps'] // 5} quantisation-aware iterations, "
        f"batch of 2 frames, one torch thread, CPU ({c['cpu']}; shared machine, so absolute "
        f"times are indicative). Encoding time is mostly training time; decoding renders "
        f"the frames from the bitstream.", "",
        f"Command: `{c['command']}`", "",
        *rows, "",
        f"PT-Loss training-loss overhead: mean encoding time with `loss=pt_loss` / with "
        f"`loss=l1_msssim` = **{res['pt_loss_overhead_pct']:+.1f} %** (published: +21 %). "
        f"PT-Loss network: {res['complexity']['pt_loss_params'] / 1e6:.2f} M parameters, "
        f"{res['complexity']['pt_loss_macs_per_window'] / 1e9:.3f} GMAC per training window "
        f"(2 x {c['height']} x {c['width']}).",
        "",
        ("PT-Loss weights: " + ("shipped." if res["pt_loss_weights"] else
                                "not shipped yet (vqabench/models/weights/pt_loss.pt); the "
                                "pt_loss rows use random weights and only their times mean "
                                "something.")),
        "",
    ]
    return "\n".join(lines)


def _write_section(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Performance\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else (
        old.rstrip("\n") + "\n\n" + text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark; returns the results dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="xxs,xs,s,m")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--report", type=Path,
                    default=Path(__file__).resolve().parents[1] / "reports" / "performance.md")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(1)
    have_pt = checkpoint_path("pt_loss").is_file()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        video = load_dataset("mini", frames=args.frames, size=(width, height), work_dir=out)[0]
        runs = []
        for model in args.models.split(","):
            runs.append(_encode(video.source, model, loss="l1_msssim", weights="pretrained",
                                steps=args.steps, out=out))
            runs.append(_encode(video.source, model, loss="pt_loss",
                                weights="pretrained" if have_pt else "random",
                                steps=args.steps, out=out))
    base = [r["enc_s"] for r in runs if r["loss"] == "l1_msssim"]
    pt = [r["enc_s"] for r in runs if r["loss"] == "pt_loss"]
    res = {
        "setup": {"sequence": video.name, "width": width, "height": height,
                  "frames": args.frames, "steps": args.steps, "cpu": platform.processor()
                  or platform.machine(), "torch": torch.__version__,
                  "command": "python benchmarks/bench_inr.py " + " ".join(
                      argv if argv is not None else sys.argv[1:]),
                  "date": time.strftime("%Y-%m-%d")},
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
