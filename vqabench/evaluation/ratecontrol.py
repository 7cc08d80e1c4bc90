"""Rate-control accuracy of target-bitrate (``kbps=``) encodes: RQ-LVC's Table 3.

Per sequence (and reference) and rate-controlled codec:

- ``delta_r_pct``: the mean over its rate points of ``|R_target - R_actual| / R_target``
  (:func:`~vqabench.evaluation.rq.rate_deviation`), in percent, with ``R_target`` the
  ``target_kbps`` column of results.csv and ``R_actual`` its ``kbps``;
- ``bd_rate``: for every metric, the BD-rate (%) of the rate-controlled encode against the
  constant-parameter configuration its targets came from (``targets_from``; pchip by
  default), NaN with a reason when there is none or the curves do not allow one.

Dataset averages are arithmetic means over sequences of the defined values.

Example:
    >>> per_seq = rate_control(load_results("runs/rc"), targets_from="x264")
"""

from __future__ import annotations

import math

import pandas as pd

from vqabench.errors import ConfigError, invalid
from vqabench.evaluation.aggregate import per_sequence_bd_rate
from vqabench.evaluation.bdrate import METHODS, Method
from vqabench.evaluation.rq import rate_deviation

__all__ = ["RC_COLUMNS", "rate_controlled", "rate_control", "rate_control_means"]

RC_COLUMNS = (
    "sequence",
    "reference",
    "anchor",
    "metric",
    "codec",
    "targets_from",
    "n_points",
    "delta_r_pct",
    "bd_rate",
    "reason",
)


def rate_controlled(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of rate-controlled points (a ``target_kbps`` value); empty when none."""
    if "target_kbps" not in results.columns:
        return results.iloc[0:0]
    target = pd.to_numeric(results["target_kbps"], errors="coerce")
    return results[target.notna()].assign(target_kbps=target[target.notna()])


def rate_control(
    results: pd.DataFrame, *, targets_from: str | None = None, method: Method = "pchip"
) -> pd.DataFrame:
    """Per (sequence, reference, anchor, metric, rate-controlled codec): ΔR % and BD-rate.

    Args:
        results: tidy results with ``target_kbps`` (empty for fixed-parameter points).
        targets_from: label of the constant-parameter codec the targets came from (a run's
            ``[run] targets_from``, its label part); None: no BD-rate (NaN, with a reason).
        method: BD interpolation.

    Returns:
        Columns :data:`RC_COLUMNS`; no rows when the results have no rate-controlled points.

    Raises:
        ConfigError: unknown method, or ``targets_from`` not a codec of the results.
    """
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    rc = rate_controlled(results)
    if rc.empty:
        return pd.DataFrame(columns=list(RC_COLUMNS))
    source = None if targets_from is None else targets_from.split(":", 1)[0]
    if source is not None and source not in set(results["codec"]):
        raise invalid(
            "targets_from",
            targets_from,
            f"a codec of the results ({', '.join(sorted(set(results['codec'])))})",
        )
    keys = ["sequence", "reference", "anchor", "metric", "codec"]
    bd = {}
    if source is not None:
        for codec in sorted(set(rc["codec"])):
            pair = results[results["codec"].isin([source, codec])]
            per = per_sequence_bd_rate(pair, anchor_codec=source, method=method)
            for r in per[per["codec"] == codec].itertuples():
                bd[(r.sequence, r.reference, r.anchor, r.metric, codec)] = (r.bd_rate, r.reason)
    rows = []
    for key, cell in rc.groupby(keys, sort=True):
        try:
            dev = rate_deviation(cell["target_kbps"].to_numpy(float), cell["kbps"].to_numpy(float))
        except ConfigError as exc:
            dev, why = None, str(exc)
        value, reason = bd.get(
            key,
            (
                math.nan,
                "no targets_from configuration to compare with"
                if source is None
                else "no constant-parameter curve for this sequence",
            ),
        )
        if dev is None:
            value, reason = math.nan, why
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "targets_from": source or "",
                "n_points": len(cell),
                "delta_r_pct": math.nan if dev is None else 100.0 * float(dev.mean()),
                "bd_rate": float(value),
                "reason": reason or "",
            }
        )
    return pd.DataFrame(rows, columns=list(RC_COLUMNS))


def rate_control_means(per_sequence: pd.DataFrame) -> pd.DataFrame:
    """Dataset averages of :func:`rate_control` per (reference, anchor, metric, codec): the
    mean of the defined ΔR % and BD-rate values and how many sequences each covers."""
    keys = ["reference", "anchor", "metric", "codec"]
    rows = []
    for key, cell in per_sequence.groupby(keys, sort=True):
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "delta_r_pct": float(cell["delta_r_pct"].mean(skipna=True)),
                "bd_rate": float(cell["bd_rate"].mean(skipna=True)),
                "n_sequences": int(cell["bd_rate"].notna().sum()),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "delta_r_pct", "bd_rate", "n_sequences"])
