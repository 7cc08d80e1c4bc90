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
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vqabench.evaluation.aggregate import OVERALL, group_sort_key
from vqabench.io.atomic import atomic_write_bytes

__all__ = [
    "NAN_TEXT",
    "format_number",
    "codec_metric_table",
    "sequence_table",
    "yuv_table",
    "STYLES",
    "uncertainty_table",
    "ptloss_table",
    "glvc_table",
    "clic_table",
    "to_markdown",
    "to_latex",
    "to_html",
    "write_csv",
    "write_text",
]

NAN_TEXT = "n/a"
AVERAGE = "Average"
_YUV = (("psnr_y", "Y"), ("psnr_u", "U"), ("psnr_v", "V"), ("psnr_yuv", "YUV"))


def format_number(value: object, *, decimals: int = 2) -> str:
    """``value`` with ``decimals`` digits (minus sign as ``-``), ``n/a`` for NaN/None."""
    if value is None:
        return NAN_TEXT
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return NAN_TEXT
        text = f"{value:.{decimals}f}"
        return "0." + "0" * decimals if text.lstrip("-").strip("0.") == "" else text
    return str(value)


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


def _text_rows(df: pd.DataFrame, decimals: int) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in df.columns]
    body = [[format_number(v, decimals=decimals) for v in row]
            for row in df.itertuples(index=False, name=None)]
    return header, body


def to_markdown(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None) -> str:
    """GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header, body = _text_rows(df, decimals)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]

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
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    spec = "".join("r" if n else "l" for n in numeric)

    def cell(text: str, is_num: bool) -> str:
        if is_num and text.startswith("-"):
            return "$-$" + text[1:]
        return _latex_escape(text)

    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(_latex_escape(h) for h in header) + r" \\", r"\midrule"]
    for row in body:
        if row and row[0] in (AVERAGE, OVERALL):
            lines.append(r"\midrule")
        lines.append(" & ".join(cell(c, n) for c, n in zip(row, numeric, strict=True)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_html(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None) -> str:
    """An HTML ``<table>`` (escaped), numeric cells with class ``num``."""
    header, body = _text_rows(df, decimals)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
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
            rows.append({"Group": group, "Codec": r.codec, "Metric": r.metric,
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
                 anchor: str, metrics: Sequence[str] = ("psnr_y", "vmaf")) -> pd.DataFrame:
    """PT-Loss paper, Table I: one row per codec; for each reference group (Low, Medium,
    High, then Overall) the BD-rate (%) of each metric (PSNR, VMAF), then the complexity
    columns EncT% and DecT% (anchor = 100 %, Overall)."""
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
        for column, label in (("enc_pct", "EncT%"), ("dec_pct", "DecT%")):
            row[label] = _time_cell(times, codec=codec, reference=reference, group=OVERALL,
                                    column=column)
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
