"""Scores that shipped PT-Loss releases give to distortions no codec makes.

Reads held-out (R, D) patch pairs of a ``vqabench make-pairs`` directory and prints, per
release, the mean and SD of score(R, X) for X = R itself, the pair's transcode D, R plus
white Gaussian noise and a flat grey patch (experiments/ptloss/report.md, "Re-run with
PT-Loss release 2"). ``--releases`` takes release names (``v1``) or checkpoint paths::

    python experiments/ptloss/scripts/score_off_codec.py pairs_natural4 \
        --sources Bikes,Camera,Coins,GraceHopper,IHC,Page
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vqabench.errors import DatasetError
from vqabench.models import checkpoint_path, load_checkpoint
from vqabench.models.ranking import PairsDataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", type=Path, help="make-pairs directory (manifest.csv)")
    parser.add_argument("--sources", required=True, help="comma-separated held-out sources")
    parser.add_argument("--reference", default="x264:qp=37", help="R of the pairs used")
    parser.add_argument("--every", type=int, default=4, help="take every N-th matching pair")
    parser.add_argument("--sigma", type=float, default=0.15, help="noise SD, [0, 1] scale")
    parser.add_argument(
        "--releases", default="v1,v2", help="PT-Loss releases (v1, v2) or checkpoint paths to score"
    )
    parser.add_argument(
        "--codecs",
        default="x264,aom-av1,vp9",
        help="D of these codecs only (not the off-codec defects)",
    )
    args = parser.parse_args()
    try:
        data = PairsDataset(
            args.pairs, sources=args.sources.split(","), codecs=args.codecs.split(",")
        )
    except DatasetError as exc:
        parser.error(str(exc))
    picked = sorted(
        (r["file"], i)
        for i, r in enumerate(data.rows)
        if r["reference"] == args.reference and r["file"].endswith("_p0.npz")
    )
    indices = [i for _, i in picked][:: args.every]
    if not indices:
        parser.error(f"no pairs with reference={args.reference!r} in {args.pairs}")
    ref, dis = data.batch(indices)
    noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(0))
    inputs = {
        "R": ref,
        "D": dis,
        f"R + noise {args.sigma}": (ref + args.sigma * noise).clamp(0, 1),
        "grey": torch.full_like(ref, 0.5),
    }
    print(f"{len(indices)} patch pairs ({args.reference}, every {args.every}th)")
    for release in args.releases.split(","):
        path = Path(release) if Path(release).is_file() else checkpoint_path("pt_loss", release)
        model = load_checkpoint(path).eval()
        with torch.no_grad():
            scores = {k: model(ref, x).float() for k, x in inputs.items()}
        print(
            release,
            "  ".join(f"score(R, {k}) {v.mean():.2f} +- {v.std():.2f}" for k, v in scores.items()),
        )


if __name__ == "__main__":
    main()
