"""Tables: BD-rate layouts as DataFrames, rendered as Markdown, LaTeX (booktabs), HTML, CSV.

Layout builders are pure DataFrame transforms of the outputs of
:mod:`vqabench.evaluation.aggregate`; renderers turn any DataFrame into text. Numbers are
rounded for display only (``decimals``); CSV keeps full precision. NaN shows as ``n/a``.

Example:
    >>> table = codec_metric_table(summary, reference="source", anchor="source")
    >>> print(to_markdown(table, decimals=2))
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vqabench.evaluation.aggregate import OVERALL, group_sort_key
from vqabench.io.atomic import atomic_write_bytes

__all__ = [
    "NAN_TEXT",
    "METRIC_LABELS",
    "metric_label",
    "format_number",
    "BDTable",
    "bd_table",
    "signed_text",
    "average_counts",
    "numeric_columns",
    "codec_metric_table",
    "sequence_table",
    "yuv_table",
    "STYLES",
    "uncertainty_table",
    "ptloss_table",
    "mean_quality_table",
    "sweep_table",
    "glvc_table",
    "clic_table",
    "rate_control_table",
    "to_markdown",
    "to_latex",
    "to_html",
    "write_csv",
    "write_text",
]

NAN_TEXT = "n/a"
AVERAGE = "Average"
_YUV = (("psnr_y", "Y"), ("psnr_u", "U"), ("psnr_v", "V"), ("psnr_yuv", "YUV"))
#: Column headers of metric ids; any other id is shown as it is.
METRIC_LABELS = {"psnr_y": "PSNR-Y", "psnr_u": "PSNR-U", "psnr_v": "PSNR-V",
                 "psnr_yuv": "PSNR-YUV", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "vmaf": "VMAF",
                 "vmaf_neg": "VMAF-NEG", "lpips": "LPIPS", "dists": "DISTS",
                 "pt_loss": "PT-Loss", "rankdvqa_ugc": "RankDVQA-UGC", "flicker": "Flicker"}
#: Mark of a cell whose mean carries a note (small overlap, dropped points...).
NOTE_MARK = "*"


def metric_label(metric: str) -> str:
    """Display name of a metric id (``psnr_y`` -> ``PSNR-Y``)."""
    return METRIC_LABELS.get(metric, metric)


def format_number(value: object, *, decimals: int = 2, signed: bool = False) -> str:
    """``value`` with ``decimals`` digits (minus sign as ``-``; ``+`` too when ``signed``),
    ``n/a`` for NaN/None; integers as integers."""
    if value is None:
        return NAN_TEXT
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return NAN_TEXT
        text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
        if text.lstrip("+-").strip("0.") == "":
            return "0." + "0" * decimals
        return text
    return str(value)


@dataclass(frozen=True)
class BDTable:
    """One BD-rate table, the same for the console and every report format.

    Attributes:
        values: rows (Group, Codec), one numeric column per metric (display names): the
            mean BD-rate in percent, NaN when undefined; what table styles start from.
        cells: the same shape as text: signed values, ``n/a``, `` (n/N)`` when only n of N
            sequences are in the mean, :data:`NOTE_MARK` when the mean carries notes.
        caption: what the numbers are (anchor codec, method, quality against what).
        notes: the footnotes the cells refer to, one line each.
    """

    values: pd.DataFrame
    cells: pd.DataFrame
    caption: str
    notes: tuple[str, ...] = ()


def signed_text(df: pd.DataFrame, columns: Sequence[str], *, decimals: int = 2) -> pd.DataFrame:
    """A copy of ``df`` with ``columns`` (BD-rates) as signed text, ``+3.43`` / ``-1.20``."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = [format_number(float(v), decimals=decimals, signed=True)
                      if isinstance(v, int | float | np.number) else format_number(v)
                      for v in out[c]]
    return out


def average_counts(cells: pd.DataFrame, values: pd.DataFrame, columns: Sequence[str], *,
                   row: str = AVERAGE) -> pd.DataFrame:
    """``cells`` with `` (n/N)`` on the ``row`` (Average) cell of each of ``columns`` whose
    mean uses only n of the N rows above it (the others undefined)."""
    out = cells.copy()
    first = out.columns[0]
    body = values[values[first] != row]
    for c in columns:
        if c not in out.columns:
            continue
        defined, total = int(body[c].notna().sum()), len(body)
        if defined < total:
            at = out.index[out[first] == row]
            out.loc[at, c] = out.loc[at, c].astype(str) + f" ({defined}/{total})"
    return out


def _note_text(note: str) -> str:
    return "; ".join(dict.fromkeys(n for n in note.split("; ") if n))


def bd_table(summary: pd.DataFrame, *, reference: str, anchor: str, anchor_codec: str,
             codecs: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
             method: str = "pchip", decimals: int = 2, groups: bool = True) -> BDTable:
    """Codecs x metrics mean BD-rate table against ``anchor_codec`` (console and report).

    Args:
        summary: :func:`~vqabench.evaluation.aggregate.summarize_bd_rate` output.
        reference: the ``reference`` cell to show (``source`` or ``transcoded``).
        anchor: quality measured against ``source`` or ``reference``.
        anchor_codec: the codec the BD-rates are against (named in the caption).
        codecs, metrics: order to show them in (default: order of appearance, i.e. the
            run's order); the anchor codec has no row.
        method: BD interpolation, for the caption.
        decimals: digits of the text cells.
        groups: one row per group before Overall (when the summary has groups).
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    codecs = [c for c in (codecs if codecs is not None else dict.fromkeys(part["codec"]))
              if c != anchor_codec and c in set(part["codec"])]
    metrics = [m for m in (metrics if metrics is not None else dict.fromkeys(part["metric"]))
               if m in set(part["metric"])]
    labels = sorted(set(part["group"]) - {OVERALL}, key=group_sort_key) if groups else []
    values, cells, notes = [], [], {}
    for group in [*labels, OVERALL]:
        for codec in codecs:
            sel = part[(part["group"] == group) & (part["codec"] == codec)]
            if sel.empty:
                continue
            vrow = {"Group": group, "Codec": codec}
            crow = dict(vrow)
            for metric in metrics:
                hit = sel[sel["metric"] == metric]
                label = metric_label(metric)
                if hit.empty:
                    vrow[label], crow[label] = math.nan, NAN_TEXT
                    continue
                r = hit.iloc[0]
                value = float(r["bd_rate"])
                used = int(r["n_sequences"])
                total = used + int(r["n_excluded"])
                text = format_number(value, decimals=decimals, signed=True)
                if used < total:
                    text += f" ({used}/{total})"
                flagged = _note_text(str(r.get("flags", "") or ""))
                if flagged and not math.isnan(value):
                    text += NOTE_MARK
                    notes.setdefault(f"{codec}, {label}", flagged)
                vrow[label], crow[label] = value, text
            values.append(vrow)
            cells.append(crow)
    columns = ["Group", "Codec", *[metric_label(m) for m in metrics]]
    values_df = pd.DataFrame(values, columns=columns)
    cells_df = pd.DataFrame(cells, columns=columns)
    if not labels:
        values_df, cells_df = values_df.drop(columns="Group"), cells_df.drop(columns="Group")
    against = {"source": "the source S", "reference": "the reference R"}.get(anchor, anchor)
    caption = (f"BD-rate (%) vs {anchor_codec}, {method} on kbps, quality against {against}; "
               "mean over sequences" + (" per reference group" if labels else "")
               + "; negative = fewer bits; (n/N) = n of N sequences defined")
    foot = [f"{NOTE_MARK} {where}: {text}" for where, text in notes.items()]
    return BDTable(values_df, cells_df, caption, tuple(foot))


def _cell(summary: pd.DataFrame, **where: str) -> pd.DataFrame:
    mask = pd.Series(True, index=summary.index)
    for k, v in where.items():
        mask &= summary[k] == v
    return summary[mask]


def codec_metric_table(summary: pd.DataFrame, *, reference: str, anchor: str,
                       metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows (group, codec), columns metrics: mean BD-rate (%) against the anchor codec.

    Groups Low, Medium, High (UGC reference groups) or sorted by name, then
    :data:`~vqabench.evaluation.aggregate.OVERALL`.
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    metrics = list(metrics) if metrics is not None else sorted(part["metric"].unique())
    groups = sorted((g for g in part["group"].unique() if g != OVERALL),
                    key=group_sort_key) + [OVERALL]
    rows = []
    for group in groups:
        for codec in sorted(part["codec"].unique()):
            sel = part[(part["group"] == group) & (part["codec"] == codec)]
            if sel.empty:
                continue
            values = sel.set_index("metric")["bd_rate"]
            rows.append({"Group": group, "Codec": codec,
                         **{m: float(values.get(m, math.nan)) for m in metrics}})
    return pd.DataFrame(rows, columns=["Group", "Codec", *metrics])


def sequence_table(per_sequence: pd.DataFrame, *, metric: str, reference: str, anchor: str
                   ) -> pd.DataFrame:
    """Rows sequences (+ ``Average``), columns codecs: per-sequence BD-rate (%) for one metric.

    The ``Average`` row is the mean of the defined values in each column, i.e. the
    ``Overall`` value of :func:`~vqabench.evaluation.aggregate.summarize_bd_rate`.
    """
    part = _cell(per_sequence, metric=metric, reference=reference, anchor=anchor)
    wide = part.pivot_table(index="sequence", columns="codec", values="bd_rate",
                            aggfunc="first", dropna=False)
    wide = wide.reindex(sorted(part["sequence"].unique()))
    avg = wide.mean(axis=0, skipna=True)
    wide.loc[AVERAGE] = avg
    wide.columns.name = None
    return wide.reset_index().rename(columns={"index": "Sequence", "sequence": "Sequence"})


def yuv_table(summary: pd.DataFrame, times: pd.DataFrame | None, *, reference: str, anchor: str
              ) -> pd.DataFrame:
    """JVET-style table: per codec, Overall BD-rate for Y, U, V, weighted YUV, EncT%, DecT%."""
    part = _cell(summary, reference=reference, anchor=anchor, group=OVERALL)
    rows = []
    for codec in sorted(part["codec"].unique()):
        values = part[part["codec"] == codec].set_index("metric")["bd_rate"]
        row = {"Codec": codec, **{label: float(values.get(m, math.nan)) for m, label in _YUV}}
        if times is not None and not times.empty:
            t = times[(times["codec"] == codec) & (times["reference"] == reference)
                      & (times["group"] == OVERALL)]
            row["EncT%"] = float(t["enc_pct"].iloc[0]) if len(t) else math.nan
            row["DecT%"] = float(t["dec_pct"].iloc[0]) if len(t) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


_NUMBER_TEXT = re.compile(r"^[+-]?(\d|n/a)")


def numeric_columns(df: pd.DataFrame) -> list[bool]:
    """Right-aligned columns: numbers, or text cells that all start like a number."""
    out = []
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out.append(True)
        else:
            texts = [str(v) for v in col]
            out.append(bool(texts) and all(_NUMBER_TEXT.match(t) for t in texts))
    return out


def _column_values(col: pd.Series) -> list[object]:
    """Cells of one column; a float column of whole numbers (counts) shows as integers."""
    values = list(col)
    floats = [v for v in values if isinstance(v, float) and not math.isnan(v)]
    if (pd.api.types.is_float_dtype(col) and floats and all(v.is_integer() for v in floats)
            and str(col.name).lower() in _COUNT_COLUMNS):
        return [int(v) if isinstance(v, float) and not math.isnan(v) else v for v in values]
    return values


#: Column names that hold counts (shown as integers even when stored as floats).
_COUNT_COLUMNS = frozenset({"n", "count", "pairs", "items", "n_items", "n_sequences",
                            "n_excluded", "n_points", "sequences", "points"})


def rate_control_table(per_sequence: pd.DataFrame, *, metric: str, reference: str,
                       anchor: str) -> pd.DataFrame:
    """RQ-LVC Table 3 layout: rows sequences (+ ``Average``), per rate-controlled codec the
    columns ``CODEC ΔR %`` (mean |R_target - R_actual| / R_target) and ``CODEC BD-rate %``
    (``metric``, against the configuration the targets came from); input is
    :func:`~vqabench.evaluation.ratecontrol.rate_control`."""
    part = _cell(per_sequence, metric=metric, reference=reference, anchor=anchor)
    sequences = sorted(part["sequence"].unique())
    out = pd.DataFrame({"Sequence": [*sequences, AVERAGE]})
    for codec in sorted(part["codec"].unique()):
        cell = part[part["codec"] == codec].set_index("sequence")
        for column, label in (("delta_r_pct", "ΔR %"), ("bd_rate", "BD-rate %")):
            values = [float(cell[column].get(s, math.nan)) for s in sequences]
            defined = [v for v in values if not math.isnan(v)]
            mean = sum(defined) / len(defined) if defined else math.nan
            out[f"{codec} {label}"] = [*values, mean]
    return out


def _text_rows(df: pd.DataFrame, decimals: int) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in df.columns]
    columns = [_column_values(df[c]) for c in df.columns]
    body = [[format_number(v, decimals=decimals) for v in row]
            for row in zip(*columns, strict=True)]
    return header, body


def to_markdown(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None) -> str:
    """GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(esc(h) for h in header) + " |")
    lines.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None,
             label: str | None = None) -> str:
    """A ``table`` with a booktabs ``tabular`` (``\\toprule``/``\\midrule``/``\\bottomrule``).

    Needs ``\\usepackage{booktabs}``. Text is escaped; negative numbers use math minus.
    """
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)
    spec = "".join("r" if n else "l" for n in numeric)

    def cell(text: str, is_num: bool) -> str:
        if is_num and text.startswith("-"):
            return "$-$" + text[1:]
        return _latex_escape(text)

    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_latex_escape(caption)}}}")
    label = label or ("tab:" + re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()
                                       ).strip("-")[:60])
    lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(_latex_escape(h) for h in header) + r" \\", r"\midrule"]
    previous = None
    for i, row in enumerate(body):
        # one rule above the summary rows (Average, or the first Overall after groups)
        if i and row and row[0] in (AVERAGE, OVERALL) and previous not in (AVERAGE, OVERALL):
            lines.append(r"\midrule")
        previous = row[0] if row else None
        lines.append(" & ".join(cell(c, n) for c, n in zip(row, numeric, strict=True)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_html(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None) -> str:
    """An HTML ``<table>`` (escaped), numeric cells with class ``num``."""
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
               + "</tr></thead>")
    out.append("<tbody>")
    for row in body:
        cells = "".join(f'<td class="num">{html.escape(c)}</td>' if n
                        else f"<td>{html.escape(c)}</td>"
                        for c, n in zip(row, numeric, strict=True))
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out) + "\n"


def write_text(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write atomically (temporary file in the same folder, then ``os.replace``)."""
    return atomic_write_bytes(path, text.encode("utf-8") if isinstance(text, str) else text)


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """CSV with full precision (``repr`` of floats), written atomically."""
    return write_text(path, df.to_csv(index=False, float_format=None, lineterminator="\n"))


# --- uncertainty and the layouts of the seed papers (``vqabench report --style``) ----------

#: Table styles of ``vqabench report --style``: ``default`` (the layouts above), ``ptloss``
#: (PT-Loss paper, Table I), ``glvc`` (GLVC paper, Table 4), ``clic`` (CLIC paper, Tables I-III).
STYLES = ("default", "ptloss", "glvc", "clic")

_LABELS = {"psnr_y": "PSNR", "vmaf": "VMAF", "vmaf_neg": "VMAF NEG", "dists": "DISTS",
           "lpips": "LPIPS"}


def _metric_or_none(summary: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    present = set(summary["metric"])
    return [m for m in candidates if m in present]


def uncertainty_table(summary: pd.DataFrame, *, reference: str, anchor: str) -> pd.DataFrame:
    """Rows (group, codec, metric): mean BD-rate (%), its bootstrap interval, the Wilcoxon
    signed-rank p-value and the number of sequences behind the three.

    ``summary`` must carry ``ci_low``, ``ci_high`` and ``wilcoxon_p``
    (:func:`~vqabench.evaluation.uncertainty.add_uncertainty`).
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    groups = sorted((g for g in part["group"].unique() if g != OVERALL),
                    key=group_sort_key) + [OVERALL]
    rows = []
    for group in groups:
        for r in part[part["group"] == group].sort_values(["codec", "metric"]).itertuples():
            p = float(r.wilcoxon_p)  # p and counts as text: 4 digits, no decimals
            rows.append({"Group": group, "Codec": r.codec, "Metric": metric_label(r.metric),
                         "BD-rate": float(r.bd_rate), "CI low": float(r.ci_low),
                         "CI high": float(r.ci_high),
                         "Wilcoxon p": NAN_TEXT if math.isnan(p) else f"{p:.4f}",
                         "Sequences": str(int(r.n_sequences))})
    return pd.DataFrame(rows, columns=["Group", "Codec", "Metric", "BD-rate", "CI low",
                                       "CI high", "Wilcoxon p", "Sequences"])


def _time_cell(times: pd.DataFrame | None, *, codec: str, reference: str, group: str,
               column: str) -> float:
    if times is None or times.empty:
        return math.nan
    t = times[(times["codec"] == codec) & (times["reference"] == reference)
              & (times["group"] == group)]
    return float(t[column].iloc[0]) if len(t) else math.nan


def ptloss_table(summary: pd.DataFrame, times: pd.DataFrame | None, *, reference: str,
                 anchor: str, metrics: Sequence[str] = ("psnr_y", "vmaf"),
                 complexity: Mapping[str, tuple[int, int, int]] | None = None
                 ) -> pd.DataFrame:
    """PT-Loss paper, Table I: one row per codec; for each reference group (Low, Medium,
    High, then Overall) the BD-rate (%) of each metric (PSNR, VMAF), then the complexity
    columns: with ``complexity`` (codec -> loss network parameters, MACs per training
    window, frames of the window) ``Loss params (M)`` and ``Loss GMAC``, then EncT% and DecT%
    (anchor = 100 %, Overall)."""
    part = _cell(summary, reference=reference, anchor=anchor)
    metrics = _metric_or_none(part, metrics) or sorted(part["metric"].unique())[:2]
    groups = sorted((g for g in part["group"].unique() if g != OVERALL),
                    key=group_sort_key) + [OVERALL]
    rows = []
    for codec in sorted(part["codec"].unique()):
        row: dict[str, object] = {"Codec": codec}
        for group in groups:
            for m in metrics:
                sel = part[(part["codec"] == codec) & (part["group"] == group)
                           & (part["metric"] == m)]
                row[f"{group} {_LABELS.get(m, m)}"] = (float(sel["bd_rate"].iloc[0])
                                                       if len(sel) else math.nan)
        if complexity:
            params, macs, _ = complexity.get(codec, (math.nan, math.nan, 0))
            row["Loss params (M)"] = params / 1e6
            row["Loss GMAC"] = macs / 1e9
        for column, label in (("enc_pct", "EncT%"), ("dec_pct", "DecT%")):
            row[label] = _time_cell(times, codec=codec, reference=reference, group=OVERALL,
                                    column=column)
        rows.append(row)
    return pd.DataFrame(rows)


def mean_quality_table(means: pd.DataFrame, *, reference: str, anchor: str,
                       metrics: Sequence[str] = ("psnr_y", "vmaf")) -> pd.DataFrame:
    """Rows (group, codec): the mean rate (bpp) and the mean of each metric over the points
    each codec encoded (``means`` from :func:`vqabench.evaluation.aggregate.mean_quality`),
    then how many points the means cover; groups Low, Medium, High, then Overall. Metrics
    the means lack are left out."""
    part = _cell(means, reference=reference, anchor=anchor)
    shown = [m for m in metrics if m in set(part["metric"])]
    groups = sorted((g for g in part["group"].unique() if g != OVERALL),
                    key=group_sort_key) + [OVERALL]
    rows = []
    for group in groups:
        for codec in sorted(part["codec"].unique()):
            sel = part[(part["group"] == group) & (part["codec"] == codec)]
            if sel.empty:
                continue
            row: dict[str, object] = {"Group": group, "Codec": codec,
                                      "bpp": float(sel["mean_bpp"].iloc[0])}
            for m in shown:
                cell = sel[sel["metric"] == m]
                row[metric_label(m)] = float(cell["mean_value"].iloc[0]) if len(cell) else math.nan
            row["Points"] = int(sel["n_points"].max())
            rows.append(row)
    return pd.DataFrame(rows, columns=["Group", "Codec", "bpp",
                                       *[metric_label(m) for m in shown], "Points"])


def sweep_table(points: pd.DataFrame, *, option: str) -> pd.DataFrame:
    """One row per value of a swept option (``points`` from
    :func:`vqabench.reports.report.sweep_points`): its codec and, per metric, the Overall mean
    BD-rate (%) with its 95 % interval as text and the number of sequences."""
    rows = []
    for value, part in points.groupby("value", sort=True):
        row: dict[str, object] = {option: format_number(float(value), decimals=2),
                                  "Codec": str(part["codec"].iloc[0])}
        for r in part.itertuples():
            label = metric_label(r.metric)
            row[label] = float(r.bd_rate)
            interval = (NAN_TEXT if math.isnan(r.ci_low) else
                        f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]")
            row[f"{label} 95 % CI"] = interval
            row[f"{label} n"] = str(int(r.n_sequences))
        rows.append(row)
    return pd.DataFrame(rows)


def glvc_table(summaries: dict[str, pd.DataFrame], *, reference: str, anchor: str,
               metrics: Sequence[str] = ("dists", "lpips")) -> pd.DataFrame:
    """GLVC paper, Table 4: one row per codec; for each dataset the Overall BD-rate (%) of
    each perceptual metric (DISTS, LPIPS).

    Args:
        summaries: dataset name -> BD-rate summary of a run on it (one run per dataset).
        metrics: the metrics, in column order; those no run measured are left out.

    Raises:
        ConfigError: none of ``metrics`` is in any summary.
    """
    from vqabench.errors import invalid

    present = set().union(*(set(s["metric"]) for s in summaries.values())) if summaries else set()
    shown = [m for m in metrics if m in present]
    if not shown:
        raise invalid("style", "glvc", f"results with {' or '.join(metrics)} (the GLVC "
                      f"table's metrics); these results have {', '.join(sorted(present))}")
    codecs = sorted(set().union(*(set(s["codec"]) for s in summaries.values())))
    rows = []
    for codec in codecs:
        row: dict[str, object] = {"Codec": codec}
        for dataset, summary in summaries.items():
            part = _cell(summary, reference=reference, anchor=anchor, group=OVERALL)
            for m in shown:
                sel = part[(part["codec"] == codec) & (part["metric"] == m)]
                row[f"{dataset} {_LABELS.get(m, m)}"] = (float(sel["bd_rate"].iloc[0])
                                                         if len(sel) else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def clic_table(summary: pd.DataFrame, times: pd.DataFrame | None, *, reference: str,
               anchor: str) -> pd.DataFrame:
    """CLIC paper, Tables I-III: per codec, one row per class/group and Overall with the
    BD-rate (%) of PSNR Y, U, V and weighted YUV (6:1:1) and EncT% (anchor = 100 %)."""
    part = _cell(summary, reference=reference, anchor=anchor)
    groups = sorted((g for g in part["group"].unique() if g != OVERALL),
                    key=group_sort_key) + [OVERALL]
    rows = []
    for codec in sorted(part["codec"].unique()):
        for group in groups:
            sel = part[(part["codec"] == codec) & (part["group"] == group)]
            if sel.empty:
                continue
            values = sel.set_index("metric")["bd_rate"]
            rows.append({"Codec": codec, "Class": group,
                         **{label: float(values.get(m, math.nan)) for m, label in _YUV},
                         "EncT%": _time_cell(times, codec=codec, reference=reference,
                                             group=group, column="enc_pct")})
    return pd.DataFrame(rows, columns=["Codec", "Class", "Y", "U", "V", "YUV", "EncT%"])
