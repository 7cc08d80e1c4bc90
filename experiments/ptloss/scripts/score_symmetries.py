"""How a PT-Loss checkpoint ranks held-out pairs in each of the 8 flips and rotations.

Scores every (R, D) patch pair of a ``vqabench make-pairs`` directory (optionally only some
sources) in each symmetry of :func:`vqabench.models.ranking.dihedral` (R and D alike) and
prints the SROCC with VMAF(S, D) of each, of the mean of all eight scores (test-time
averaging) and of VMAF(R, D) (MODEL_CARD.md, "Averaging over the 8 symmetries")::

    python experiments/ptloss/scripts/score_symmetries.py pairs_natural4 \
        --sources Bikes,Camera,Coins,GraceHopper,IHC,Page
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from vqabench.errors import DatasetError
from vqabench.models import load_checkpoint
from vqabench.models.ranking import PairsDataset, dihedral

SYMMETRIES = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", type=Path, help="make-pairs directory (manifest.csv)")
    parser.add_argument("--sources", default="", help="comma-separated sources (default: all)")
    parser.add_argument(
        "--checkpoint", default="pt_loss", help="model name (the shipped file) or checkpoint path"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    try:
        data = PairsDataset(args.pairs, sources=args.sources.split(",") if args.sources else None)
    except DatasetError as exc:
        parser.error(str(exc))
    torch.set_num_threads(1)
    model = load_checkpoint(args.checkpoint).eval()
    scores = np.zeros((SYMMETRIES, len(data)))
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(0, len(data), args.batch_size):
            ref, dist = data.batch(list(range(k, min(k + args.batch_size, len(data)))))
            for code in range(SYMMETRIES):
                codes = [code] * ref.shape[0]
                scores[code, k : k + ref.shape[0]] = (
                    model(dihedral(ref, codes), dihedral(dist, codes)).float().numpy()
                )
    labels = data.vmaf_sd
    print(
        f"{len(data)} pairs, {SYMMETRIES} symmetries, {time.perf_counter() - start:.0f} s "
        "at one thread"
    )
    for code in range(SYMMETRIES):
        print(f"symmetry {code}: SROCC {spearmanr(scores[code], labels).statistic:.4f}")
    print(f"mean of all {SYMMETRIES}: SROCC {spearmanr(scores.mean(0), labels).statistic:.4f}")
    vmaf_rd = [float(r["vmaf_rd"]) for r in data.rows]
    print(f"VMAF(R, D): SROCC {spearmanr(vmaf_rd, labels).statistic:.4f}")


if __name__ == "__main__":
    main()
