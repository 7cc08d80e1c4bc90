"""From a tidy results table to per-sequence BD-rates and their means per group and overall.

The results table is the ``results.csv`` that ``vqabench run`` writes (see docs/design.md):
``sequence, reference, codec, rate_point, bits, bpp, kbps, enc_s, dec_s, metric, value,
anchor, bitstream`` and optionally ``group``. BD-rate is computed per
(sequence, reference, anchor, metric) for every codec against the anchor codec, using
``kbps`` as the rate. The mean of a cell is the arithmetic mean of its per-sequence BD-rates
(JVET/AOM practice). A sequence whose BD-rate is NaN is kept in the per-sequence table with
its reason and left out of the mean; the summary row counts it and names it in ``note``, so
nothing is dropped silently.

Flagged values. Three rules, each recorded where it applies (``notes`` per sequence,
``flags`` per mean), so that every table can show them:

- **Saturation** (VMAF-family metrics, ids starting with ``vmaf``): points at or above
  :data:`VMAF_SATURATED` (99.5) that do not raise the quality of the curve (they break strict
  monotonicity) are dropped, as AOM CTC practice does for VMAF; a curve whose every point is
  at or above :data:`VMAF_SATURATED_CURVE` (99.0) is *saturated*: its BD-rate is NaN with that
  reason (the whole ladder lies inside one VMAF point, below the metric's own noise).
- **Small overlap**: the quality intervals of the two curves overlap by less than
  :data:`~vqabench.evaluation.bdrate.SMALL_OVERLAP` (75 %) of their union; the value is kept
  with a note (see :mod:`vqabench.evaluation.bdrate`).
- **Counts**: a mean over n of N sequences (the others undefined) carries n and N.

Each of these is also written as machine-readable *note codes* (``note_codes`` per sequence
and per mean; ``notes`` in ``bdrate.csv`` and the leaderboards): space-separated
``kind(key=value,...)`` items, kinds in :data:`NOTE_KINDS` order. Per sequence:
``overlap(iou=0.3012)``, ``saturated(points=2)``, ``nonmonotonic(points=1)`` (dominated
points dropped by ``pareto``), ``duplicates(points=1)`` (merged), ``other(notes=1)``; per mean
the same kinds over the sequences used, ``overlap(n=8/8,min=0.2400,max=0.3700)``,
``saturated(n=2/8,points=3)``, and ``excluded(n=1/9)``. :func:`parse_note_codes` reads them.

``nonmonotonic="pareto"`` keeps only the Pareto-efficient points of a curve instead of
rejecting it (``vqabench report --nonmonotonic pareto``).

Encoding/decoding time (EncT/DecT, anchor = 100 %): per sequence, the ratio of the test
codec's summed times over its rate points to the anchor's; across sequences, the geometric
mean of those ratios (as the JVET CTC sheets do).

Example:
    >>> results = load_results("runs/2024-06-01")
    >>> per_seq = per_sequence_bd_rate(results, anchor_codec="x264")
    >>> summary = summarize_bd_rate(per_seq)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from vqabench.errors import ConfigError, DatasetError, MetricError, UnknownNameError, invalid
from vqabench.evaluation.bdrate import (
    METHODS,
    SMALL_OVERLAP,
    Method,
    Nonmonotonic,
    bd_rate_result,
)
from vqabench.io.names import file_in

__all__ = [
    "REQUIRED_COLUMNS",
    "REFERENCE_GROUPS",
    "OVERALL",
    "VMAF_SATURATED",
    "VMAF_SATURATED_CURVE",
    "load_results",
    "metric_higher_is_better",
    "add_weighted_yuv",
    "fold_references",
    "group_sort_key",
    "NOTE_KINDS",
    "sequence_note_codes",
    "parse_note_codes",
    "per_sequence_bd_rate",
    "summarize_bd_rate",
    "time_ratios",
    "mean_quality",
]

REQUIRED_COLUMNS: tuple[str, ...] = (
    "sequence",
    "reference",
    "codec",
    "rate_point",
    "kbps",
    "metric",
    "value",
    "anchor",
)
#: Label of the row/column that averages over every sequence.
OVERALL = "Overall"
_KEYS = ["sequence", "reference", "anchor", "metric"]
#: VMAF at or above which a point that does not raise the curve is dropped (AOM CTC practice).
VMAF_SATURATED = 99.5
#: VMAF at or above which a whole curve is saturated (BD-rate NaN).
VMAF_SATURATED_CURVE = 99.0


def _desaturate(
    curve: pd.DataFrame, metric: str, rate_column: str, name: str
) -> tuple[pd.DataFrame, str, str]:
    """The saturation rule (module docstring): (kept points, reason if NaN, note)."""
    if not metric.lower().startswith("vmaf") or curve.empty:
        return curve, "", ""
    values = curve["value"].astype(float)
    if bool((values >= VMAF_SATURATED_CURVE).all()):
        return (
            curve,
            (
                f"{name} curve is saturated (VMAF {values.min():.2f}..{values.max():.2f},"
                f" every point >= {VMAF_SATURATED_CURVE:g})"
            ),
            "",
        )
    ordered = curve.sort_values(rate_column)
    best, keep = -math.inf, []
    for v in ordered["value"].astype(float):
        keep.append(not (v >= VMAF_SATURATED and v <= best))
        best = max(best, v)
    dropped = len(keep) - sum(keep)
    if not dropped:
        return curve, "", ""
    return (
        ordered[keep],
        "",
        f"{name}: dropped {dropped} saturated point(s) "
        f"(VMAF >= {VMAF_SATURATED:g} not above a cheaper point)",
    )


#: Kinds of note a BD-rate can carry, in the order note codes and tables list them.
NOTE_KINDS = ("overlap", "saturated", "nonmonotonic", "duplicates", "other", "excluded")
#: Per-sequence note texts that drop or merge points, and the kind each counts as.
_POINT_NOTES = (
    ("saturated", re.compile(r"dropped (\d+) saturated point")),
    ("nonmonotonic", re.compile(r"dropped (\d+) dominated point")),
    ("duplicates", re.compile(r"merged (\d+) duplicate point")),
)
_OVERLAP_NOTE = re.compile(
    r"small [\w-]+ overlap \([^)]*\); the value rests on a narrow "
    r"interval"
)
_CODE = re.compile(r"(\w+)\(([^)]*)\)")


def _note_kinds(notes: str, overlap: float) -> dict[str, float]:
    """Kinds of one per-sequence BD-rate's notes: ``overlap`` -> intersection over union
    (when below :data:`~vqabench.evaluation.bdrate.SMALL_OVERLAP`), the point kinds -> points
    dropped or merged, ``other`` -> notes of no known kind (counted, never lost)."""
    kinds: dict[str, float] = {}
    if not math.isnan(overlap) and overlap < SMALL_OVERLAP:
        kinds["overlap"] = float(overlap)
    for part in (p for p in _OVERLAP_NOTE.sub("", notes).split("; ") if p.strip()):
        for kind, pattern in _POINT_NOTES:
            found = pattern.search(part)
            if found:
                kinds[kind] = kinds.get(kind, 0) + int(found.group(1))
                break
        else:
            kinds["other"] = kinds.get("other", 0) + 1
    return kinds


def _format_codes(codes: Mapping[str, Mapping[str, object]]) -> str:
    return " ".join(
        f"{kind}({','.join(f'{k}={v}' for k, v in codes[kind].items())})"
        for kind in NOTE_KINDS
        if kind in codes
    )


def sequence_note_codes(notes: str, overlap: float) -> str:
    """Note codes (module docstring) of one per-sequence BD-rate from its ``notes`` and
    ``overlap``; "" when it has none.

    Example:
        >>> sequence_note_codes("test: dropped 2 saturated point(s) (VMAF ...)", 0.5)
        'overlap(iou=0.5000) saturated(points=2)'
    """
    kinds = _note_kinds(notes, overlap)
    return _format_codes(
        {
            kind: (
                {"iou": f"{value:.4f}"}
                if kind == "overlap"
                else {"notes" if kind == "other" else "points": int(value)}
            )
            for kind, value in kinds.items()
        }
    )


def _cell_note_codes(ok: pd.DataFrame, n_excluded: int) -> str:
    """Note codes of a mean over the sequences ``ok`` (defined values), ``n_excluded`` left
    out."""
    used = len(ok)
    per = (
        [_note_kinds(str(n), float(o)) for n, o in zip(ok["notes"], ok["overlap"], strict=True)]
        if {"notes", "overlap"} <= set(ok.columns)
        else []
    )
    codes: dict[str, dict[str, object]] = {}
    for kind in NOTE_KINDS:
        values = [k[kind] for k in per if kind in k]
        if not values:
            continue
        code: dict[str, object] = {"n": f"{len(values)}/{used}"}
        if kind == "overlap":
            code.update(min=f"{min(values):.4f}", max=f"{max(values):.4f}")
        else:
            code["notes" if kind == "other" else "points"] = int(sum(values))
        codes[kind] = code
    if n_excluded:
        codes["excluded"] = {"n": f"{n_excluded}/{used + n_excluded}"}
    return _format_codes(codes)


def parse_note_codes(text: str) -> dict[str, dict[str, str]]:
    """``kind -> {key: value}`` of a note-codes string (module docstring); {} for "".

    Example:
        >>> parse_note_codes("overlap(n=2/8,min=0.2400,max=0.3700) excluded(n=1/9)")
        {'overlap': {'n': '2/8', 'min': '0.2400', 'max': '0.3700'}, 'excluded': {'n': '1/9'}}
    """
    return {
        kind: dict(item.split("=", 1) for item in body.split(",") if item)
        for kind, body in _CODE.findall(text or "")
    }


def load_results(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``results.csv`` from a run directory (or a CSV path) and check its columns.

    Raises:
        DatasetError: the file is missing or lacks required columns.
    """
    path = file_in(
        run_dir,
        "results.csv",
        what="results file ",
        hint="expected a run directory written by `vqabench run` (with results.csv)",
    )
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DatasetError(
            f"{str(path)!r} lacks column(s) {', '.join(missing)}; "
            f"required: {', '.join(REQUIRED_COLUMNS)}"
        )
    for col in ("sequence", "reference", "codec", "rate_point", "metric", "anchor"):
        df[col] = df[col].astype(str)
    if "group" in df.columns:  # an all-empty column is read as float NaN
        df["group"] = [("" if pd.isna(g) else str(g)) for g in df["group"]]
    return df


def metric_higher_is_better(metric: str, overrides: Mapping[str, bool] | None = None) -> bool:
    """Direction of a metric: ``overrides``, else the metric registry (the only source).

    The ``metric`` column of results.csv holds registry names (``psnr_y``, ``vmaf``,
    ``pyiqa:musiq``; options such as ``vmaf:model=...`` do not change the label), so a label
    the registry does not know is an error, never a guess.

    Raises:
        MetricError: ``metric`` is not in the registry and not in ``overrides``.
    """
    if overrides and metric in overrides:
        return bool(overrides[metric])
    from vqabench.metrics import get_class

    try:
        return bool(get_class(metric).higher_is_better)
    except UnknownNameError as exc:
        raise MetricError(
            f"metric={metric!r} has no known direction: {exc}; give it with "
            "directions={name: higher_is_better}"
        ) from None


def add_weighted_yuv(
    results: pd.DataFrame,
    *,
    weights: tuple[float, float, float] = (6, 1, 1),
    name: str = "psnr_yuv",
) -> pd.DataFrame:
    """Add ``name`` rows, the weighted mean ``(wY*Y + wU*U + wV*V) / sum(w)`` of psnr_y/u/v.

    JVET CTC weights are 6:1:1. Rows already present under ``name`` are kept and not
    recomputed; points missing one of the three components are skipped.
    """
    if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
        raise invalid("weights", weights, "three non-negative numbers with a positive sum")
    parts = results[results["metric"].isin(["psnr_y", "psnr_u", "psnr_v"])]
    if parts.empty:
        return results
    # One coded point = these keys; its other columns (bits, kbps, times...) are facts of it.
    keys = [
        c
        for c in ("sequence", "reference", "codec", "rate_point", "anchor", "group")
        if c in results.columns
    ]
    facts = parts.drop(columns=["metric", "value"]).groupby(keys, sort=False).first()
    wide = parts.pivot_table(index=keys, columns="metric", values="value", aggfunc="first")
    if not {"psnr_y", "psnr_u", "psnr_v"} <= set(wide.columns):
        return results
    wide = wide.dropna(subset=["psnr_y", "psnr_u", "psnr_v"]).join(facts).reset_index()
    wy, wu, wv = weights
    wide["value"] = (wy * wide["psnr_y"] + wu * wide["psnr_u"] + wv * wide["psnr_v"]) / (
        wy + wu + wv
    )
    wide["metric"] = name
    new = wide.drop(columns=["psnr_y", "psnr_u", "psnr_v"])
    have = results[results["metric"] == name]
    if not have.empty:
        keys = ["sequence", "reference", "codec", "rate_point", "anchor"]
        done = set(map(tuple, have[keys].astype(str).to_numpy()))
        new = new[[tuple(r) not in done for r in new[keys].astype(str).to_numpy()]]
    return pd.concat(
        [results, new[[c for c in results.columns if c in new.columns]]], ignore_index=True
    )


#: Reference-quality groups of UGC transcoding, in the order published tables use.
REFERENCE_GROUPS = ("Low", "Medium", "High")


def group_sort_key(group: str) -> tuple[int, str]:
    """Sort key: Low, Medium, High first (UGC reference groups), then the rest by name."""
    return (REFERENCE_GROUPS.index(group) if group in REFERENCE_GROUPS else 3, group)


def fold_references(results: pd.DataFrame) -> pd.DataFrame:
    """Make each (sequence, reference) pair one unit when codecs encoded references.

    In UGC transcoding every reference R of a sequence is its own codec input, so a BD-rate
    is computed per (sequence, reference) and averaged per reference group and overall.
    Rows whose ``reference`` is not ``"source"`` get ``sequence = "SEQ @ REF"`` and
    ``reference = "transcoded"``; results without a reference stage are returned unchanged.
    Works on results.csv and per_frame.csv alike.
    """
    refs = results["reference"].astype(str)
    mask = refs != "source"
    if not mask.any():
        return results
    out = results.copy()
    out.loc[mask, "sequence"] = out.loc[mask, "sequence"].astype(str) + " @ " + refs[mask]
    out.loc[mask, "reference"] = "transcoded"
    return out


def _groups(results: pd.DataFrame, groups: Mapping[str, str] | None) -> pd.Series:
    if groups is not None:
        return results["sequence"].map(lambda s: groups.get(s, "")).astype(str)
    if "group" in results.columns:
        return results["group"].fillna("").astype(str)
    return pd.Series("", index=results.index)


def per_sequence_bd_rate(
    results: pd.DataFrame,
    *,
    anchor_codec: str,
    method: Method = "pchip",
    rate_column: str = "kbps",
    metrics: Sequence[str] | None = None,
    groups: Mapping[str, str] | None = None,
    directions: Mapping[str, bool] | None = None,
    min_points: int = 4,
    nonmonotonic: Nonmonotonic = "reject",
) -> pd.DataFrame:
    """BD-rate of every codec against ``anchor_codec`` for every sequence.

    Args:
        results: tidy results (see :func:`load_results`).
        anchor_codec: the codec every other codec is compared with.
        method: BD interpolation, see :func:`~vqabench.evaluation.bd_rate`.
        rate_column: rate used for BD-rate (``kbps``; ``bpp`` or ``bits`` give the same
            BD-rate when every codec encodes the same frames).
        metrics: restrict to these metrics (default: all in ``results``).
        groups: sequence -> group label; default: the ``group`` column when present.
        directions: metric -> higher_is_better, overriding :func:`metric_higher_is_better`.
        min_points: points each curve needs (see :func:`~vqabench.evaluation.bd_rate`).
        nonmonotonic: ``"reject"`` or ``"pareto"``.

    Returns:
        One row per (sequence, reference, anchor, metric, codec) with columns ``group,
        sequence, reference, anchor, metric, codec, bd_rate`` (percent; NaN when undefined),
        ``reason`` (why NaN, else ""), ``notes``, ``overlap``, ``n_anchor``, ``n_test``,
        ``note_codes`` (of a defined value; module docstring).

    Raises:
        ConfigError: unknown anchor codec, metric or rate column.
    """
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    if rate_column not in results.columns:
        raise invalid(
            "rate_column",
            rate_column,
            f"a column of the results ({', '.join(map(str, results.columns))})",
        )
    codecs = sorted(results["codec"].astype(str).unique())
    if anchor_codec not in codecs:
        raise invalid("anchor_codec", anchor_codec, f"one of {', '.join(codecs) or 'none'}")
    df = results.copy()
    df["group"] = _groups(df, groups)
    if metrics is not None:
        unknown = sorted(set(metrics) - set(df["metric"]))
        if unknown:
            present = ", ".join(sorted(set(df["metric"])))
            raise invalid("metrics", list(metrics), f"metrics present in the results ({present})")
        df = df[df["metric"].isin(list(metrics))]
    rows: list[dict[str, object]] = []
    for (seq, ref, anc, metric), cell in df.groupby(_KEYS, sort=True):
        group = str(cell["group"].iloc[0])
        hib = metric_higher_is_better(str(metric), directions)
        curves = {str(c): g for c, g in cell.groupby("codec")}
        base = curves.get(anchor_codec)
        for codec in codecs:
            if codec == anchor_codec or codec not in curves:
                continue
            test = curves[codec]
            row: dict[str, object] = {
                "group": group,
                "sequence": seq,
                "reference": ref,
                "anchor": anc,
                "metric": metric,
                "codec": codec,
                "n_test": len(test),
                "n_anchor": 0 if base is None else len(base),
            }
            if base is None:
                row.update(
                    bd_rate=math.nan,
                    overlap=math.nan,
                    notes="",
                    reason=f"anchor codec {anchor_codec!r} has no points here",
                )
            else:
                anchor_pts, reason_a, note_a = _desaturate(base, str(metric), rate_column, "anchor")
                test_pts, reason_t, note_t = _desaturate(test, str(metric), rate_column, "test")
                saturated = [n for n in (note_a, note_t) if n]
                if reason_a or reason_t:
                    row.update(
                        bd_rate=math.nan,
                        overlap=math.nan,
                        notes="",
                        reason="; ".join(r for r in (reason_a, reason_t) if r),
                    )
                    rows.append(row)
                    continue
                try:
                    res = bd_rate_result(
                        anchor_pts[rate_column],
                        anchor_pts["value"],
                        test_pts[rate_column],
                        test_pts["value"],
                        method=method,
                        higher_is_better=hib,
                        min_points=min_points,
                        nonmonotonic=nonmonotonic,
                    )
                    row.update(
                        bd_rate=res.value,
                        reason=res.reason,
                        notes="; ".join([*saturated, *res.notes]),
                        overlap=res.overlap,
                    )
                except ConfigError as exc:  # malformed data (rate 0, inf PSNR): report it
                    row.update(bd_rate=math.nan, overlap=math.nan, notes="", reason=str(exc))
            rows.append(row)
    columns = [
        "group",
        "sequence",
        "reference",
        "anchor",
        "metric",
        "codec",
        "bd_rate",
        "reason",
        "notes",
        "overlap",
        "n_anchor",
        "n_test",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["note_codes"] = [
        sequence_note_codes(str(n), float(o)) if r == "" else ""
        for n, o, r in zip(out["notes"], out["overlap"], out["reason"], strict=True)
    ]
    return out


def summarize_bd_rate(per_sequence: pd.DataFrame, *, by_group: bool = True) -> pd.DataFrame:
    """Mean BD-rate per (reference, anchor, metric, codec), per group and overall.

    Args:
        per_sequence: output of :func:`per_sequence_bd_rate`.
        by_group: also give one row per group (when sequences carry group labels).

    Returns:
        Columns ``reference, anchor, metric, codec, group`` (:data:`OVERALL` for all
        sequences), ``bd_rate`` (arithmetic mean of the defined per-sequence values; NaN
        when none is defined), ``n_sequences`` (used), ``n_excluded``, ``note`` (which
        sequences were left out and why) and ``flags`` (the notes of the sequences used:
        small overlap, dropped saturated or dominated points) and ``note_codes`` (the same,
        machine-readable, with the exclusions; module docstring).
    """
    cell_keys = ["reference", "anchor", "metric", "codec"]
    rows: list[dict[str, object]] = []

    def add(keys: Iterable[object], group: str, part: pd.DataFrame) -> None:
        ok = part[part["reason"] == ""]
        bad = part[part["reason"] != ""]
        note = "; ".join(
            f"excluded {s}: {r}" for s, r in zip(bad["sequence"], bad["reason"], strict=True)
        )
        noted = ok[ok["notes"] != ""] if "notes" in ok.columns else ok.iloc[:0]
        flags = "; ".join(
            f"{s}: {n}" for s, n in zip(noted["sequence"], noted["notes"], strict=True)
        )
        rows.append(
            {
                **dict(zip(cell_keys, keys, strict=True)),
                "group": group,
                "bd_rate": float(ok["bd_rate"].mean()) if len(ok) else math.nan,
                "n_sequences": len(ok),
                "n_excluded": len(bad),
                "note": note,
                "flags": flags,
                "note_codes": _cell_note_codes(ok, len(bad)),
            }
        )

    for keys, cell in per_sequence.groupby(cell_keys, sort=True):
        labels = sorted((g for g in cell["group"].unique() if g), key=group_sort_key)
        if by_group and labels:
            for label in labels:
                add(keys, label, cell[cell["group"] == label])
        add(keys, OVERALL, cell)
    return pd.DataFrame(
        rows,
        columns=[
            *cell_keys,
            "group",
            "bd_rate",
            "n_sequences",
            "n_excluded",
            "note",
            "flags",
            "note_codes",
        ],
    )


def time_ratios(
    results: pd.DataFrame, *, anchor_codec: str, groups: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """EncT/DecT in percent of the anchor codec (anchor = 100 %), per group and overall.

    Per (sequence, reference): ratio of summed ``enc_s`` (``dec_s``) over the rate points the
    codec encoded to the anchor's sum; across sequences: geometric mean of the ratios.
    Sequences without times (missing or zero) are skipped and counted.

    Returns:
        Columns ``reference, codec, group, enc_pct, dec_pct, n_sequences``.
    """
    codecs = sorted(results["codec"].astype(str).unique())
    if anchor_codec not in codecs:
        raise invalid("anchor_codec", anchor_codec, f"one of {', '.join(codecs) or 'none'}")
    if not {"enc_s", "dec_s"} <= set(results.columns):
        return pd.DataFrame(
            columns=["reference", "codec", "group", "enc_pct", "dec_pct", "n_sequences"]
        )
    df = results.copy()
    df["group"] = _groups(df, groups)
    points = df.drop_duplicates(["sequence", "reference", "codec", "rate_point"])
    sums = (
        points.groupby(["group", "sequence", "reference", "codec"])[["enc_s", "dec_s"]]
        .sum(min_count=1)
        .reset_index()
    )
    base = sums[sums["codec"] == anchor_codec].set_index(["sequence", "reference"])
    rows: list[dict[str, object]] = []
    for (ref, codec), part in sums[sums["codec"] != anchor_codec].groupby(["reference", "codec"]):
        ratios = []
        for _, r in part.iterrows():
            key = (r["sequence"], r["reference"])
            if key not in base.index:
                continue
            b = base.loc[key]
            ratios.append((str(r["group"]), r["enc_s"] / b["enc_s"], r["dec_s"] / b["dec_s"]))
        labels = sorted({g for g, _, _ in ratios if g})
        for label in [*labels, OVERALL]:
            sel = [x for x in ratios if label == OVERALL or x[0] == label]
            rows.append(
                {
                    "reference": ref,
                    "codec": codec,
                    "group": label,
                    "enc_pct": _geomean_pct([e for _, e, _ in sel]),
                    "dec_pct": _geomean_pct([d for _, _, d in sel]),
                    "n_sequences": len(sel),
                }
            )
    return pd.DataFrame(
        rows, columns=["reference", "codec", "group", "enc_pct", "dec_pct", "n_sequences"]
    )


def _geomean_pct(ratios: Sequence[float]) -> float:
    arr = np.asarray(ratios, dtype=np.float64)
    arr = arr[np.isfinite(arr) & (arr > 0)]
    return float(np.exp(np.log(arr).mean()) * 100.0) if arr.size else math.nan


def mean_quality(results: pd.DataFrame, *, groups: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Mean rate and mean quality of each codec over the points it encoded, per group and
    overall: what a BD-rate turns into one number, shown as the values behind it.

    Per (reference, anchor, codec, metric): the arithmetic mean of ``value`` and of ``bpp``
    over every (sequence, rate point) row of the group (``Overall``: every row). Each codec
    is averaged over its own points, so two codecs compare at equal quality only where their
    mean rates are close too.

    Returns:
        Columns ``reference, anchor, codec, group, metric, mean_bpp, mean_value, n_points``
        (``mean_bpp`` NaN when the results carry no ``bpp``); empty without rows.
    """
    columns = [
        "reference",
        "anchor",
        "codec",
        "group",
        "metric",
        "mean_bpp",
        "mean_value",
        "n_points",
    ]
    if results.empty:
        return pd.DataFrame(columns=columns)
    df = results.copy()
    df["group"] = _groups(df, groups)
    if "bpp" not in df.columns:
        df["bpp"] = math.nan
    rows: list[dict[str, object]] = []
    keys = ["reference", "anchor", "codec", "metric"]
    for (ref, anc, codec, metric), part in df.groupby(keys, sort=False):
        labels = sorted({str(g) for g in part["group"] if g}, key=group_sort_key)
        for label in [*labels, OVERALL]:
            sel = part if label == OVERALL else part[part["group"] == label]
            rows.append(
                {
                    "reference": ref,
                    "anchor": anc,
                    "codec": codec,
                    "group": label,
                    "metric": metric,
                    "mean_bpp": float(pd.to_numeric(sel["bpp"]).mean()),
                    "mean_value": float(pd.to_numeric(sel["value"]).mean()),
                    "n_points": int(len(sel)),
                }
            )
    return pd.DataFrame(rows, columns=columns)
