"""RD table of a ``vqabench run`` for the shipped learned codec's model card.

Prints, per codec and rate point, the mean bpp and mean metric over the run's sequences;
whether each codec's curve is monotone on every sequence; and the BD-rate (JVET pchip, as the
runner computes it) of a test codec against each anchor, per sequence and averaged.

    python experiments/learned_codec/rd_table.py RUN_DIR --test compressai \
        --anchors x264-intra,inr --metric psnr_y
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

from vqabench.evaluation.bdrate import bd_rate_result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--test", default="compressai")
    ap.add_argument("--anchors", default="x264-intra,inr")
    ap.add_argument("--metric", default="psnr_y")
    args = ap.parse_args()
    with open(args.run / "results.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == args.metric]
    curves: dict[str, dict[str, list[tuple[float, float, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in rows:
        curves[r["codec"]][r["sequence"]].append(
            (float(r["bpp"]), float(r["value"]), r["rate_point"])
        )
    print(f"| codec | rate point | mean bpp | mean {args.metric} | sequences |")
    print("|---|---|---:|---:|---:|")
    for codec, per_seq in curves.items():
        points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for pts in per_seq.values():
            for bpp, q, label in pts:
                points[label].append((bpp, q))
        for label, vals in sorted(points.items(), key=lambda kv: sum(v[0] for v in kv[1])):
            print(
                f"| {codec} | {label} | {sum(v[0] for v in vals) / len(vals):.4f} | "
                f"{sum(v[1] for v in vals) / len(vals):.2f} | {len(vals)} |"
            )
    print()
    for codec, per_seq in curves.items():
        bad = [
            s
            for s, pts in per_seq.items()
            if [q for _, q, _ in sorted(pts)] != sorted(q for _, q, _ in pts)
        ]
        print(
            f"{codec}: {args.metric} rises with bpp on {len(per_seq) - len(bad)} of "
            f"{len(per_seq)} sequences{' (not on ' + ', '.join(bad) + ')' if bad else ''}"
        )
    print()
    test = curves[args.test]
    for anchor in args.anchors.split(","):
        values = []
        for seq in sorted(test):
            if seq not in curves[anchor]:
                continue
            a, t = sorted(curves[anchor][seq]), sorted(test[seq])
            res = bd_rate_result(
                [p[0] for p in a], [p[1] for p in a], [p[0] for p in t], [p[1] for p in t]
            )
            values.append(res.value)
            print(
                f"BD-rate {args.test} vs {anchor} on {seq}: {res.value:+.1f} % "
                f"{res.reason if hasattr(res, 'reason') else ''}"
            )
        ok = [v for v in values if not math.isnan(v)]
        mean = sum(ok) / len(ok) if ok else float("nan")
        print(
            f"BD-rate {args.test} vs {anchor} ({args.metric}): mean {mean:+.1f} % over "
            f"{len(ok)} of {len(values)} sequences"
        )


if __name__ == "__main__":
    main()
