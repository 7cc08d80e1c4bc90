"""Checkpoints for demonstrating ``compressai`` rate control without pretrained weights.

Writes ``OUT/bmshj2018-hyperprior-{quality}.pth`` for quality 1..8: the zoo architecture,
seeded random initialisation (``torch.manual_seed(0)``), its analysis transform's last layer
scaled by ``20 x quality`` so that untrained latents do not all round to zero and rates grow
with the level. The networks are not trained: their rates and qualities demonstrate the
rate-control mechanism only (docs/learned_codecs.md, "Rate control of learned codecs")::

    python scripts/rq_demo_checkpoints.py --out runs/rq-demo-ckpt
    vqabench run --codec "compressai:quality=1,2,3,4,5,6,7,8:checkpoint=CKPT" ...

with ``CKPT = runs/rq-demo-ckpt/bmshj2018-hyperprior-{quality}.pth``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vqabench.codecs.compressai_codec import _import_compressai


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    zoo = _import_compressai()
    args.out.mkdir(parents=True, exist_ok=True)
    for quality in range(1, 9):
        torch.manual_seed(0)
        net = zoo.models["bmshj2018-hyperprior"](quality=quality, pretrained=False).eval()
        with torch.no_grad():
            net.g_a[-1].weight.mul_(20.0 * quality)
        torch.save(net.state_dict(), args.out / f"bmshj2018-hyperprior-{quality}.pth")


if __name__ == "__main__":
    main()
