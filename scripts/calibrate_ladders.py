"""Calibrate the default ``qp`` ladders against x264 ``qp=22,27,32,37`` (docs/ladders.md).

Encodes every sequence of a dataset (default: the built-in mini benchmark of a bare
``vqabench run``) with each codec at every ``qp`` of a search window, measures the default
metrics against the source, then picks for each codec the four-point ladder whose quality
range overlaps the anchor's best. The overlap is the one the BD-rate notes use (intersection
over union of the quality intervals, per sequence and metric; a cell is starred when one
sequence is below 75 % or undefined), computed by the same code
(:func:`vqabench.evaluation.aggregate.per_sequence_bd_rate`).

A candidate ladder is its two ends, each a ``qp`` whose mean PSNR-Y over the sequences is
within 2 dB of the anchor's at ``qp=22`` (``lo``) or ``qp=37`` (``hi``), and the two ``qp``
between them whose mean PSNR-Y is closest to the anchor's at ``qp=27`` and ``qp=32``.
The choice minimises, in this order: the metrics with a flagged or undefined sequence (the
starred cells of the headline table), then the worst overlap (maximised), then the mean
overlap (maximised). The encodes run through the ordinary runner, so a second call reuses
them from the store::

    python scripts/calibrate_ladders.py --out runs/calibrate-ladders
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pandas as pd

from vqabench.config import DEFAULT_LADDERS, DEFAULT_METRICS
from vqabench.evaluation.aggregate import load_results, per_sequence_bd_rate
from vqabench.experiment import load_config
from vqabench.runner.run import run

ANCHOR = "x264"
#: qp searched per codec: wide enough that the anchor's quality range lies inside
WINDOWS = {
    "x265": range(16, 43),
    "vvenc": range(14, 43),
    "vp9": range(6, 49),
    "aom-av1": range(6, 57),
    "svt-av1": range(20, 64),
}
#: the metric and anchor points that place the two inner points of a ladder
INNER_METRIC, INNER_ANCHOR_QP = "psnr_y", (27, 32)
#: an end of a candidate ladder is within this many dB (mean PSNR-Y) of the anchor's end
END_DB = 2.0


def _spec(codec: str, values: list[int]) -> str:
    return f"{codec}:qp={','.join(map(str, values))}"


def measure(out: Path, dataset: str, jobs: int | None) -> pd.DataFrame:
    """Run the anchor and every codec over its window; the run's results against S."""
    _, anchor_qp = DEFAULT_LADDERS[ANCHOR]
    codecs = [_spec(ANCHOR, list(anchor_qp))]
    codecs += [_spec(c, list(w)) for c, w in WINDOWS.items()]
    cfg = load_config(None, dataset=dataset, codecs=codecs, out=str(out), jobs=jobs)
    run(cfg, out_dir=out)
    results = load_results(out)
    return results[results["anchor"] == "source"]


def _qp(rate_point: str) -> int:
    return int(rate_point.split("=", 1)[1])


def _inner(mean_q: pd.Series, lo: int, hi: int, targets: list[float]) -> list[int] | None:
    """The two qp strictly between lo and hi whose mean quality is nearest each target."""
    inside = mean_q[(mean_q.index > lo) & (mean_q.index < hi)]
    picks = [int((inside - t).abs().idxmin()) for t in targets] if len(inside) else []
    return picks if len(set(picks)) == 2 and picks[0] < picks[1] else None


def score(results: pd.DataFrame, codec: str, ladder: list[int]) -> dict[str, object]:
    """Flagged metrics and overlaps of one ladder of ``codec`` against the anchor."""
    part = results[
        (results["codec"] == ANCHOR) | ((results["codec"] == codec) & results["qp"].isin(ladder))
    ]
    per = per_sequence_bd_rate(part, anchor_codec=ANCHOR)
    bad = per["bd_rate"].isna() | (per["notes"].astype(str) != "")
    return {
        "codec": codec,
        "ladder": ladder,
        "starred": int(per[bad]["metric"].nunique()),
        "min_overlap": float(per["overlap"].fillna(0).min()),
        "mean_overlap": float(per["overlap"].fillna(0).mean()),
        "worst": per.loc[per["overlap"].fillna(0).idxmin(), ["sequence", "metric"]].tolist(),
    }


def calibrate(results: pd.DataFrame, codec: str) -> dict[str, object]:
    """The best ladder of ``codec`` (see the module docstring)."""
    inner = results[results["metric"] == INNER_METRIC]
    mean_q = inner[inner["codec"] == codec].groupby("qp")["value"].mean()
    anchor_q = inner[inner["codec"] == ANCHOR].groupby("qp")["value"].mean()
    targets = [float(anchor_q[q]) for q in INNER_ANCHOR_QP]
    # ends whose mean quality is within END_DB of the anchor's ends (prunes the search)
    top, bottom = float(anchor_q.max()), float(anchor_q.min())
    los = [q for q in mean_q.index if abs(mean_q[q] - top) <= END_DB]
    his = [q for q in mean_q.index if abs(mean_q[q] - bottom) <= END_DB]
    best = None
    for lo, hi in itertools.product(los, his):
        middle = _inner(mean_q, lo, hi, targets)
        if middle is None:
            continue
        s = score(results, codec, [lo, *middle, hi])
        key = (s["starred"], -s["min_overlap"], -s["mean_overlap"])
        if best is None or key < best[0]:
            best = (key, s)
    if best is None:
        raise SystemExit(f"{codec}: no ladder in the window {WINDOWS[codec]}")
    return best[1]


def ranges(results: pd.DataFrame, ladders: dict[str, list[int]]) -> pd.DataFrame:
    """Per codec and metric: the quality range (lowest..highest point of the ladder) on
    each sequence, as ``lo-hi`` text, and its mean ends."""
    rows = []
    for codec, ladder in ladders.items():
        part = results[(results["codec"] == codec) & results["qp"].isin(ladder)]
        for metric, m in part.groupby("metric", sort=False):
            ends = m.groupby("sequence")["value"].agg(["min", "max"])
            rows.append(
                {
                    "codec": codec,
                    "ladder": ",".join(map(str, ladder)),
                    "metric": metric,
                    "mean lo": ends["min"].mean(),
                    "mean hi": ends["max"].mean(),
                    "narrowest": (ends["max"] - ends["min"]).min(),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/calibrate-ladders"),
        help="run directory of the dense encodes (reused when present)",
    )
    parser.add_argument("--dataset", default="mini", help="dataset of the calibration")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes")
    args = parser.parse_args()
    results = measure(args.out, args.dataset, args.jobs)
    results = results.assign(qp=results["rate_point"].map(_qp))
    missing = set(DEFAULT_METRICS) - set(results["metric"])
    if missing:
        raise SystemExit(f"metrics missing from {args.out}: {sorted(missing)}")
    chosen = [calibrate(results, codec) for codec in WINDOWS]
    current = [
        score(results, c, list(DEFAULT_LADDERS[c][1]))
        for c in WINDOWS
        if set(DEFAULT_LADDERS[c][1]) <= set(WINDOWS[c])
    ]
    pd.set_option("display.width", 200)
    print("current default ladders:")
    print(pd.DataFrame(current).round(3).to_string(index=False))
    print("\nchosen ladders:")
    print(pd.DataFrame(chosen).round(3).to_string(index=False))
    ladders = {ANCHOR: list(DEFAULT_LADDERS[ANCHOR][1])}
    ladders.update({s["codec"]: s["ladder"] for s in chosen})
    print("\nquality ranges of the chosen ladders (mean over sequences of each end):")
    table = ranges(results, ladders)
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
