"""Tables of the VBench-style sequence metrics of a run (POVI paper, Table 1).

Sequence metrics (kind ``"sequence"`` in the metric registry, :mod:`vqabench.metrics.sequence`:
subject and background consistency, motion smoothness, imaging quality and their weight-free
stand-ins) judge each decoded video on its own, so a report shows their values, not BD-rates:

- :func:`summary_table`: one row per codec and rate point (the anchor first, then the run's
  order; points by rate), per metric the mean ± standard deviation over sequences and their
  range ``min–max`` (POVI Table 1: methods x metrics);
- :func:`per_sequence_table`: one codec at one rate point, one row per sequence, then the rows
  ``Mean ± std``, ``Min``, ``Max``; a report shows it for each codec at its middle rate point
  (:func:`middle_rate_point`, the rule of the Q–Q figures);
- :func:`stats_frame`: everything as numbers (``sequence_metrics.csv``): one row per value
  (``sequence`` set) and one per (codec, rate point, metric) summary (``sequence`` empty,
  ``mean``, ``std``, ``min``, ``max``, ``n_sequences``).

The standard deviation is the sample one (n - 1 in the denominator; n/a for one sequence).
Values are shown with 4 decimals (the metrics lie in [0, 1] and differ in the third). Rows
of one anchor only (``source`` when measured): these metrics ignore the reference, so the
rows of the other anchor repeat the same numbers.

Example:
    >>> names = sequence_metric_names(results)   # ["consistency_pixel", ...]
    >>> print(to_markdown(summary_table(results, metrics=names, codecs=["x264", "x265"])))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vqabench.reports.tables import NAN_TEXT, metric_label

__all__ = [
    "DECIMALS",
    "sequence_metric_names",
    "sequence_rows",
    "middle_rate_point",
    "stats_frame",
    "summary_table",
    "per_sequence_table",
]

#: Digits of the sequence-metric tables.
DECIMALS = 4
_STATS = ("mean", "std", "min", "max")


def sequence_metric_names(results: pd.DataFrame) -> list[str]:
    """The metrics of ``results`` whose registry kind is ``"sequence"``, in the run's order
    (a metric this installation does not know is left out)."""
    from vqabench import metrics
    from vqabench.errors import VqabenchError

    out = []
    for name in dict.fromkeys(results["metric"].astype(str)):
        try:
            if metrics.get_class(name).kind == "sequence":
                out.append(name)
        except (VqabenchError, ImportError):
            continue
    return out


def sequence_rows(results: pd.DataFrame, metric_names: Sequence[str]) -> pd.DataFrame:
    """The rows of ``metric_names`` for one anchor (``source`` when measured, see module
    docstring)."""
    rows = results[results["metric"].isin(list(metric_names))]
    if rows.empty:
        return rows
    anchors = list(dict.fromkeys(rows["anchor"].astype(str)))
    return rows[rows["anchor"] == ("source" if "source" in anchors else anchors[0])]


def middle_rate_point(rows: pd.DataFrame, codec: str) -> str:
    """The middle rate point of ``codec`` by mean bpp over sequences (the lower of the two
    middle ones for an even count); "" when the codec has no rows."""
    part = rows[rows["codec"].astype(str) == codec]
    if part.empty:
        return ""
    order = part.groupby("rate_point")["bpp"].mean().sort_values()
    return str(order.index[(len(order) - 1) // 2])


def _point_order(rows: pd.DataFrame, codecs: Sequence[str]) -> list[tuple[str, str]]:
    """(codec, rate point) in ``codecs`` order, then each codec's points by mean bpp."""
    out = []
    for codec in codecs:
        part = rows[rows["codec"].astype(str) == codec]
        out += [
            (codec, str(rp)) for rp in part.groupby("rate_point")["bpp"].mean().sort_values().index
        ]
    return out


def _stats(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return dict.fromkeys(_STATS, math.nan)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def stats_frame(
    rows: pd.DataFrame, *, metrics: Sequence[str], codecs: Sequence[str]
) -> pd.DataFrame:
    """Every value and every summary as numbers, full precision (module docstring)."""
    cols = [
        "codec",
        "rate_point",
        "metric",
        "sequence",
        "bpp",
        "value",
        "mean",
        "std",
        "min",
        "max",
        "n_sequences",
    ]
    out = []
    for codec, rp in _point_order(rows, codecs):
        point = rows[(rows["codec"].astype(str) == codec) & (rows["rate_point"] == rp)]
        for metric in metrics:
            part = point[point["metric"] == metric]
            if part.empty:
                continue
            for r in part.itertuples():
                out.append(
                    {
                        "codec": codec,
                        "rate_point": rp,
                        "metric": metric,
                        "sequence": r.sequence,
                        "bpp": float(r.bpp),
                        "value": float(r.value),
                    }
                )
            values = part["value"].to_numpy(float)
            out.append(
                {
                    "codec": codec,
                    "rate_point": rp,
                    "metric": metric,
                    "sequence": "",
                    "bpp": float(part["bpp"].mean()),
                    "value": math.nan,
                    **_stats(values),
                    "n_sequences": int(np.isfinite(values).sum()),
                }
            )
    return pd.DataFrame(out, columns=cols)


def _number(value: float) -> str:
    return NAN_TEXT if math.isnan(value) else f"{value:.{DECIMALS}f}"


def _mean_std(s: dict[str, float]) -> str:
    return f"{_number(s['mean'])} ± {_number(s['std'])}"


def summary_table(
    rows: pd.DataFrame, *, metrics: Sequence[str], codecs: Sequence[str]
) -> pd.DataFrame:
    """Rows codec x rate point (with the mean bpp), per metric ``mean ± std`` and
    ``min–max`` over sequences, and the number of sequences (module docstring)."""
    out = []
    for codec, rp in _point_order(rows, codecs):
        point = rows[(rows["codec"].astype(str) == codec) & (rows["rate_point"] == rp)]
        row: dict[str, object] = {
            "Codec": codec,
            "Rate point": rp,
            "bpp": f"{point['bpp'].mean():.4f}",
        }
        n = 0
        for metric in metrics:
            values = point[point["metric"] == metric]["value"].to_numpy(float)
            s = _stats(values)
            label = metric_label(metric)
            row[label] = _mean_std(s)
            row[f"{label} min–max"] = f"{_number(s['min'])}–{_number(s['max'])}"
            n = max(n, int(np.isfinite(values).sum()))
        row["Sequences"] = str(n)
        out.append(row)
    return pd.DataFrame(out)


def per_sequence_table(
    rows: pd.DataFrame, *, metrics: Sequence[str], codec: str, rate_point: str
) -> pd.DataFrame:
    """Rows sequences (run order), then ``Mean ± std``, ``Min``, ``Max``; one column per
    metric (module docstring)."""
    point = rows[(rows["codec"].astype(str) == codec) & (rows["rate_point"] == rate_point)]
    sequences = list(dict.fromkeys(point["sequence"].astype(str)))
    labels = [metric_label(m) for m in metrics]
    wide = {m: point[point["metric"] == m].set_index("sequence")["value"] for m in metrics}
    out = [
        {
            "Sequence": s,
            **{
                label: _number(float(wide[m].get(s, math.nan)))
                for m, label in zip(metrics, labels, strict=True)
            },
        }
        for s in sequences
    ]
    stats = {m: _stats(wide[m].to_numpy(float)) for m in metrics}
    out.append(
        {
            "Sequence": "Mean ± std",
            **{label: _mean_std(stats[m]) for m, label in zip(metrics, labels, strict=True)},
        }
    )
    for name, key in (("Min", "min"), ("Max", "max")):
        out.append(
            {
                "Sequence": name,
                **{label: _number(stats[m][key]) for m, label in zip(metrics, labels, strict=True)},
            }
        )
    return pd.DataFrame(out, columns=["Sequence", *labels])
