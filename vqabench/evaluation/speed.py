"""Speed tables (CLIC 2025 Table IV layout) from decode-speed measurements.

Input: one row per bitstream with ``group`` (dataset class), ``sequence``, ``codec``,
``rate_point``, ``point`` (position of the rate point in its codec's ladder, 1-based) and
``fps``. Output: rows (class, point), then ``All``; per codec the mean fps over the class's
sequences, and per non-anchor codec the ratio ``CODEC / ANCHOR`` of those means. Rate points
are compared by ladder position because codecs' ladders differ (x264 ``qp=22`` and VP9
``qp=28`` are each the first point); the ``Rate points`` column names each codec's point.

Example:
    >>> speed_table(measured, anchor="x264")
"""

from __future__ import annotations

import math

import pandas as pd

from vqabench.errors import invalid

__all__ = ["ALL", "speed_table", "complexity_table", "learned_codec_table"]

ALL = "All"


def _point_name(codec: str, labels: pd.Series) -> str:
    """``x264 qp=22``; a point whose value differs per sequence (targets) by its parameter."""
    unique = list(dict.fromkeys(labels.astype(str)))
    if len(unique) == 1:
        return f"{codec} {unique[0]}"
    return f"{codec} {unique[0].split('=', 1)[0]}=(per sequence)"


def speed_table(measured: pd.DataFrame, *, anchor: str) -> pd.DataFrame:
    """Decode fps per (class, ladder point) and codec, with ratio columns to ``anchor``.

    Raises:
        ConfigError: ``anchor`` is not a codec of ``measured``.
    """
    codecs = list(dict.fromkeys(measured["codec"]))
    if anchor not in codecs:
        raise invalid("anchor", anchor, f"a measured codec ({', '.join(codecs)})")
    codecs = [anchor, *(c for c in codecs if c != anchor)]
    df = measured.assign(group=measured["group"].fillna("").astype(str).replace("", "-"))
    rows = []
    keys = [
        (g, p)
        for g in sorted(df["group"].unique())
        for p in sorted(df[df["group"] == g]["point"].unique())
    ] + [(ALL, None)]
    for group, point in keys:
        part = df if group == ALL else df[(df["group"] == group) & (df["point"] == point)]
        fps = {
            c: float(part[part["codec"] == c]["fps"].mean())
            if (part["codec"] == c).any()
            else math.nan
            for c in codecs
        }
        names = ", ".join(
            _point_name(c, part[part["codec"] == c]["rate_point"])
            for c in codecs
            if (part["codec"] == c).any()
        )
        row = {
            "Class": group,
            "Point": "" if point is None else str(int(point)),
            "Rate points": "all" if point is None else names,
        }
        row.update({f"{c} fps": fps[c] for c in codecs})
        row.update({f"{c} / {anchor}": fps[c] / fps[anchor] for c in codecs[1:]})
        rows.append(row)
    return pd.DataFrame(rows)


def complexity_table(infos: list, *, anchor: str | None = None) -> pd.DataFrame:
    """PT-Loss Table I layout from :class:`~vqabench.models.complexity.Complexity` records:
    parameters (M), GMACs per patch pair, kMAC per pixel (MACs / (frames x height x width) /
    1000) and CPU time relative to ``anchor`` (default: the first record), in percent."""
    if not infos:
        return pd.DataFrame(columns=["Model", "Params (M)", "GMACs", "kMAC/pixel", "Time %"])
    names = [i.name for i in infos]
    anchor = anchor or names[0]
    if anchor not in names:
        raise invalid("anchor", anchor, f"a measured model ({', '.join(names)})")
    base = next(i for i in infos if i.name == anchor).cpu_s
    rows = []
    for i in infos:
        pixels = i.frames * i.height * i.width
        rel = (100.0 * i.cpu_s / base) if (i.cpu_s is not None and base) else math.nan
        rows.append(
            {
                "Model": i.name,
                "Params (M)": i.params / 1e6,
                "GMACs": i.macs / 1e9,
                "kMAC/pixel": i.macs / pixels / 1e3,
                "Time %": rel,
            }
        )
    return pd.DataFrame(rows)


def learned_codec_table(rows: pd.DataFrame, *, anchor_enc_s: float) -> pd.DataFrame:
    """Complexity of learned-codec rate points (PT-Loss Table I columns).

    Args:
        rows: one row per bitstream with ``codec, rate_point, params, macs`` (decoder MACs
            per decoded frame), ``pixels`` (width x height) and ``enc_s``; optionally
            ``enc_macs`` (encoder MACs per frame; NaN where the encoder is not a network
            pass, e.g. inr's training).
        anchor_enc_s: the anchor codec's mean encoding time per encode of the same run.

    Returns:
        Per (codec, rate point): ``Params (k)`` and ``GMAC/frame`` (means over sequences),
        ``kMAC/pixel`` and ``EncT %`` (mean ``enc_s`` over ``anchor_enc_s``, x100); with
        ``enc_macs`` given for some row, ``Enc GMAC/frame`` after ``GMAC/frame``.
    """
    with_enc = "enc_macs" in rows.columns and rows["enc_macs"].notna().any()
    out = []
    for (codec, rp), part in rows.groupby(["codec", "rate_point"], sort=False):
        row = {
            "Codec": codec,
            "Rate point": rp,
            "Params (k)": float(part["params"].mean()) / 1e3,
            "GMAC/frame": float(part["macs"].mean()) / 1e9,
        }
        if with_enc:
            row["Enc GMAC/frame"] = float(part["enc_macs"].mean()) / 1e9
        row.update(
            {
                "kMAC/pixel": float((part["macs"] / part["pixels"]).mean()) / 1e3,
                "EncT %": 100.0 * float(part["enc_s"].mean()) / anchor_enc_s
                if anchor_enc_s > 0
                else math.nan,
            }
        )
        out.append(row)
    columns = [
        "Codec",
        "Rate point",
        "Params (k)",
        "GMAC/frame",
        *(["Enc GMAC/frame"] if with_enc else []),
        "kMAC/pixel",
        "EncT %",
    ]
    return pd.DataFrame(out, columns=columns)
