"""Train the shipped small learned image codec (``compressai:model=vqabench-small``).

A CompressAI ``bmshj2018-hyperprior`` architecture (``ScaleHyperprior``) with small N and M,
one set of weights per quality level (one rate-distortion trade-off lambda each), trained on
the CPU on frames of the built-in ``natural`` dataset (256x144), with the sources that the
shipped PT-Loss release 2 holds out for testing left out here too.

By default the top quality is trained from scratch and each lower quality is fine-tuned from
the one above (to save CPU time); the shipped levels went through three stages (the model
card lists every command). Loss: ``lambda * 255**2 * MSE(x, x_hat) + bpp`` (CompressAI's standard RD
loss, RGB in [0, 1]) and the entropy bottleneck's auxiliary loss on its own optimizer.

Run from the repository root (the exact command of the shipped release is in
``vqabench/models/weights/vqabench_small/MODEL_CARD.md``)::

    python experiments/learned_codec/train_small.py --out /tmp/vqabench_small \
        --iters-top 3000 --iters-fine 800 --crop 64 --lr 1e-3 --lr-fine 3e-4 --threads 1

``--init``, ``--levels`` and ``--lmbda`` fine-tune chosen levels from a saved state dict at a
chosen lambda (stages 2 and 3 of the shipped levels), and ``export_small.py`` writes the
package's files.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

#: quality -> lambda (CompressAI's MSE lambdas of its qualities 2, 4, 6 and 8) of stages 1-2;
#: the shipped levels' lambdas (0.001, 0.0035, 0.013, 0.0483) were set with ``--lmbda``.
LAMBDAS: dict[int, float] = {1: 0.0035, 2: 0.0130, 3: 0.0483, 4: 0.1800}
#: Sources of ``natural`` used for training (the other six are held out, as for PT-Loss r2).
TRAIN = (
    "Astronaut",
    "BigBuckBunny",
    "Brick",
    "Carphone",
    "Chelsea",
    "China",
    "Clock",
    "Coffee",
    "Flower",
    "Grass",
    "Gravel",
    "Hubble",
    "Moon",
    "Motorcycle",
    "Retina",
    "Rocket",
)
HELD_OUT = ("Bikes", "Camera", "Coins", "GraceHopper", "IHC", "Page")


def load_frames(frames: int, size: tuple[int, int]) -> np.ndarray:
    """RGB float32 (n, 3, H, W) in [0, 1] of every frame of the training sources."""
    from vqabench.codecs.compressai_codec import to_rgb
    from vqabench.datasets.builtin import load_natural
    from vqabench.io.video import read_frames

    out = []
    for seq in load_natural(frames=frames, size=size, names=list(TRAIN), seed=0):
        out.extend(to_rgb(f, seq.source) for f in read_frames(seq.source))
    return np.stack(out)


def batches(data: np.ndarray, batch: int, crop: int, rng: np.random.Generator):
    """Endless random crops (with random left-right flips) of ``data``."""
    n, _, h, w = data.shape
    while True:
        idx = rng.integers(0, n, batch)
        ys, xs = rng.integers(0, h - crop + 1, batch), rng.integers(0, w - crop + 1, batch)
        flips = rng.random(batch) < 0.5
        crops = []
        for i, y, x, f in zip(idx, ys, xs, flips, strict=True):
            c = data[i, :, y : y + crop, x : x + crop]
            crops.append(c[:, :, ::-1] if f else c)
        yield np.ascontiguousarray(np.stack(crops))


def train_level(
    net, lam: float, iters: int, lr: float, data: np.ndarray, args, rng: np.random.Generator, log
) -> dict:
    """Train ``net`` in place at ``lam`` for ``iters`` steps; the last 10 % at lr / 10."""
    import torch

    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main, lr=lr)
    aux_opt = torch.optim.Adam(aux, lr=1e-3)
    gen = batches(data, args.batch, args.crop, rng)
    net.train()
    hist: list[tuple[float, float, float]] = []
    start = time.perf_counter()
    for it in range(1, iters + 1):
        if it == int(iters * 0.9) + 1:
            for g in opt.param_groups:
                g["lr"] = lr / 10
        x = torch.from_numpy(next(gen))
        out = net(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(torch.log(lk).sum() for lk in out["likelihoods"].values()) / (
            -math.log(2) * pixels
        )
        mse = torch.mean((out["x_hat"] - x) ** 2)
        loss = lam * 255**2 * mse + bpp
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        opt.step()
        aux_loss = net.aux_loss()
        aux_opt.zero_grad()
        aux_loss.backward()
        aux_opt.step()
        hist.append((loss.item(), bpp.item(), mse.item()))
        if it % 100 == 0 or it == iters:
            h = np.mean(hist[-100:], axis=0)
            log(
                f"lambda={lam} it={it} loss={h[0]:.4f} bpp={h[1]:.4f} "
                f"psnr={10 * math.log10(1 / h[2]):.2f} aux={float(aux_loss):.2f} "
                f"t={time.perf_counter() - start:.0f}s"
            )
    h = np.mean(hist[-200:], axis=0)
    return {
        "lambda": lam,
        "iterations": iters,
        "lr": lr,
        "final_loss": round(float(h[0]), 4),
        "final_bpp": round(float(h[1]), 4),
        "final_psnr_rgb_db": round(10 * math.log10(1 / h[2]), 2),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def export(state: dict, path: Path) -> None:
    """Save ``state`` with float convolution weights as float16 (other tensors as they are)."""
    import torch

    small = {
        k: (v.half() if v.is_floating_point() and v.dim() == 4 else v) for k, v in state.items()
    }
    tmp = path.with_suffix(".tmp")
    torch.save(small, tmp)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--M", type=int, default=48)
    ap.add_argument("--iters-top", type=int, default=3000)
    ap.add_argument("--iters-fine", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--lr-fine", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--levels",
        default=None,
        help="comma-separated qualities to train, in this order (default: all, highest first)",
    )
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this state dict (a q{quality}_full.pt) instead of "
        "random initialisation; every level is then fine-tuned",
    )
    ap.add_argument(
        "--lmbda",
        type=float,
        default=None,
        help="lambda of the one level in --levels (default: LAMBDAS[quality])",
    )
    ap.add_argument(
        "--export-to",
        type=Path,
        default=None,
        help="also write float16 exports q{quality}.pt into this folder",
    )
    args = ap.parse_args()

    import torch
    from compressai.models import ScaleHyperprior

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    logf = open(args.out / "train.log", "a")  # noqa: SIM115

    def log(msg: str) -> None:
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    t0 = time.perf_counter()
    data = load_frames(args.frames, (256, 144))
    log(f"data: {data.shape[0]} frames of {len(TRAIN)} natural sources, {data.shape}")
    if args.init is not None:
        net = ScaleHyperprior.from_state_dict(torch.load(args.init, weights_only=True))
    else:
        net = ScaleHyperprior(args.N, args.M)
    order = (
        [int(q) for q in args.levels.split(",")] if args.levels else sorted(LAMBDAS, reverse=True)
    )
    if args.lmbda is not None and len(order) != 1:
        ap.error("--lmbda needs exactly one level in --levels")
    levels = {}
    for q in order:
        top = q == max(LAMBDAS) and args.init is None
        lam = LAMBDAS[q] if args.lmbda is None else args.lmbda
        levels[q] = train_level(
            net,
            lam,
            args.iters_top if top else args.iters_fine,
            args.lr if top else args.lr_fine,
            data,
            args,
            rng,
            log,
        )
        net.eval()
        net.update(force=True)
        torch.save(net.state_dict(), args.out / f"q{q}_full.pt")
        if args.export_to is not None:
            args.export_to.mkdir(parents=True, exist_ok=True)
            export(net.state_dict(), args.export_to / f"q{q}.pt")
    from importlib.metadata import version

    record = {
        "architecture": "bmshj2018-hyperprior (compressai.models.ScaleHyperprior)",
        "N": args.N,
        "M": args.M,
        "parameters": sum(p.numel() for p in net.parameters()),
        "levels": levels,
        "args": {k: str(v) for k, v in vars(args).items()},
        "train_sources": list(TRAIN),
        "held_out": list(HELD_OUT),
        "training_frames": int(data.shape[0]),
        "torch": version("torch"),
        "compressai": version("compressai"),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    (args.out / f"train_{'_'.join(map(str, order))}.json").write_text(json.dumps(record, indent=2))
    log(json.dumps(record))


if __name__ == "__main__":
    main()
