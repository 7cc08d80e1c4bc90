"""What PT-Loss scores the INR's own encodes: is a stalled encode an adversarial example?

For one (sequence, reference R, model size) of a ``vqabench run`` directory with ``inr``
codecs, decodes each codec's bitstream D and prints, per PT-Loss release, the score the
loss term maximises (the mean over the clip's ``--frames``-frame windows, R and D as RGB the
way the INR sees them), beside score(R, R), PSNR-Y(R, D) and VMAF(S, D) from the run's
``results.csv`` (experiments/ptloss/report.md, "Release 3")::

    python experiments/ptloss/scripts/score_inr_encodes.py runs/ptloss-r2-camera-probe \\
        --sequence Camera --reference x264_qp_37 --model xs --releases v1,v2,v3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from vqabench import codecs
from vqabench.io.video import open_video, read_all, yuv_to_rgb_torch
from vqabench.models import checkpoint_path, load_checkpoint


def _rgb(y, u, v) -> torch.Tensor:  # noqa: ANN001
    """(T, H, W) planes of 8-bit code values -> (3, T, H, W) RGB in [0, 1]."""
    planes = [torch.from_numpy(p.astype("float32")) for p in (y, u, v)]
    return yuv_to_rgb_torch(*planes).permute(1, 0, 2, 3)


def _score(model: torch.nn.Module, ref: torch.Tensor, dis: torch.Tensor, frames: int) -> float:
    starts = range(0, ref.shape[1] - frames + 1, frames)
    with torch.no_grad():
        return float(
            torch.stack(
                [
                    model(ref[None, :, t : t + frames], dis[None, :, t : t + frames])
                    .float()
                    .squeeze()
                    for t in starts
                ]
            ).mean()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="run directory (results.csv, bitstreams/)")
    parser.add_argument("--sequence", required=True)
    parser.add_argument("--reference", required=True, help="e.g. x264_qp_37")
    parser.add_argument("--model", required=True, help="INR model size, e.g. xs")
    parser.add_argument("--releases", default="v1,v2", help="PT-Loss releases or .pt paths")
    parser.add_argument(
        "--frames", type=int, default=2, help="frames per loss window (the INR's batch_frames)"
    )
    args = parser.parse_args()
    qp = args.reference.rsplit("_", 1)[-1]
    r_path = args.run / "references" / args.sequence / f"x264_qp{qp}.y4m"
    if not r_path.is_file():
        parser.error(f"no reference {r_path}")
    r = read_all(open_video(r_path))
    ref = _rgb(r.y, r.u, r.v)
    inr = codecs.create("inr")
    folder = args.run / "bitstreams" / args.reference / args.sequence
    decoded = {"R itself": ref}
    for bits in sorted(folder.glob(f"*/model{args.model}.inr")):
        _, d = inr.decode_frames(bits)
        decoded[bits.parent.name] = _rgb(d.y, d.u, d.v)
    if len(decoded) == 1:
        parser.error(f"no model{args.model}.inr under {folder}")
    csv = args.run / "results.csv"
    if not csv.is_file():
        parser.error(f"no {csv}: the run has not finished")
    results = pd.read_csv(csv)
    rows = results[
        (results["sequence"] == args.sequence)
        & (results["rate_point"] == f"model={args.model}")
        & results["reference"].str.endswith(f"qp={qp}")
    ]
    table = {name: {} for name in decoded}
    for name in decoded:
        for metric, anchor in (("psnr_y", "reference"), ("vmaf", "source")):
            hit = rows[
                (rows["codec"] == name) & (rows["metric"] == metric) & (rows["anchor"] == anchor)
            ]
            table[name][f"{metric}_vs_{'R' if anchor == 'reference' else 'S'}"] = (
                float(hit["value"].iloc[0]) if len(hit) else float("nan")
            )
    for release in args.releases.split(","):
        path = Path(release) if release.endswith(".pt") else checkpoint_path("pt_loss", release)
        model = load_checkpoint(path).eval()
        for name, dis in decoded.items():
            table[name][f"score_{Path(release).stem}"] = _score(model, ref, dis, args.frames)
    print(pd.DataFrame(table).T.round(3).to_string())


if __name__ == "__main__":
    main()
