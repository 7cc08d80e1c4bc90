"""Tables: BD-rate layouts as DataFrames, rendered as Markdown, LaTeX (booktabs), HTML, CSV.

Layout builders are pure DataFrame transforms of the outputs of
:mod:`vqabench.evaluation.aggregate`; renderers turn any DataFrame into text. Numbers are
rounded for display only (``decimals``); CSV keeps full precision. NaN shows as ``n/a``.

Notes sit on the cells they qualify: a :class:`NotedTable` carries, besides its cells, the
marks of each cell (letters ``a``, ``b``... in the order the notes are listed) and the
:class:`Note` each mark refers to; every renderer puts the marks on exactly those cells and
the notes right under the same table (Markdown: ``<sup>a</sup>`` and a list; HTML:
``<sup>`` and ``<tfoot>``; LaTeX: ``threeparttable`` ``\tnote`` and ``tablenotes``; console:
``[a]``). Notes are short and aggregated over sequences ("small quality overlap on 8 of 8
sequences: 13-55 % of the union (below 75 %)"); the per-sequence list is
:attr:`BDTable.details` and, machine-readable, the ``notes`` columns of the CSV files.

Example:
    >>> table = codec_metric_table(summary, reference="source", anchor="source")
    >>> print(to_markdown(table, decimals=2))
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vqabench.evaluation.aggregate import (
    NOTE_KINDS,
    OVERALL,
    group_sort_key,
    parse_note_codes,
    sequence_note_codes,
)
from vqabench.evaluation.bdrate import SMALL_OVERLAP
from vqabench.io.atomic import atomic_write_bytes

__all__ = [
    "NAN_TEXT",
    "METRIC_LABELS",
    "metric_label",
    "format_number",
    "Note",
    "NotedTable",
    "note_mark",
    "cell_notes",
    "BDTable",
    "bd_table",
    "signed_text",
    "average_counts",
    "numeric_columns",
    "codec_metric_table",
    "sequence_table",
    "sequence_notes",
    "yuv_table",
    "STYLES",
    "uncertainty_table",
    "layout_notes",
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
METRIC_LABELS = {
    "psnr_y": "PSNR-Y",
    "psnr_u": "PSNR-U",
    "psnr_v": "PSNR-V",
    "psnr_yuv": "PSNR-YUV",
    "ssim": "SSIM",
    "ms_ssim": "MS-SSIM",
    "vmaf": "VMAF",
    "vmaf_neg": "VMAF-NEG",
    "lpips": "LPIPS",
    "dists": "DISTS",
    "pt_loss": "PT-Loss",
    "rankdvqa_ugc": "RankDVQA-UGC",
    "flicker": "Flicker",
    "subject_consistency": "Subject consistency",
    "background_consistency": "Background consistency",
    "motion_smoothness": "Motion smoothness",
    "imaging_quality": "Imaging quality",
    "motion_smoothness_flow": "Motion smoothness (flow)",
    "consistency_pixel": "Consistency (pixel)",
}


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
class Note:
    """One footnote of a table.

    Attributes:
        mark: what the cells it qualifies carry (``a``, ``b``...); "" for a note on the
            whole table (no cell carries it).
        text: the note, short: aggregated over sequences.
        codes: the same, machine-readable (note codes of
            :mod:`vqabench.evaluation.aggregate`); "" when it has none.
    """

    mark: str
    text: str
    codes: str = ""


@dataclass(frozen=True)
class NotedTable:
    """A table with its notes, what every renderer takes.

    Attributes:
        cells: the table (numbers or text, as for :func:`to_markdown`).
        marks: (row position, column position) -> the marks of that cell, in note order.
        notes: the notes under the table: marked ones (each mark on at least one cell) and
            notes on the whole table (mark "").
    """

    cells: pd.DataFrame
    marks: Mapping[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()


def note_mark(index: int) -> str:
    """The mark of the ``index``-th note (from 0): ``a``...``z``, ``aa``, ``ab``..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[index] if index < 26 else note_mark(index // 26 - 1) + letters[index % 26]


def _percent_range(low: float, high: float) -> str:
    lo, hi = round(100 * low), round(100 * high)
    return f"{lo} %" if lo == hi else f"{lo}-{hi} %"


def _kind_text(kind: str, code: Mapping[str, str]) -> str:
    """Short text of one note code of a mean (``n`` = k/N sequences) or of a set of
    sequences (no ``n``)."""
    on = ""
    if "n" in code:
        k, n = code["n"].split("/")
        on = f" on {k} of {n} sequence{'s' * (n != '1')}"
    if kind == "overlap":
        return (
            f"small quality overlap{on}: "
            f"{_percent_range(float(code['min']), float(code['max']))} of the union "
            f"(below {round(100 * SMALL_OVERLAP)} %)"
        )
    if kind == "other":
        return f"{code.get('notes', 'some')} other note(s){on} (see the per-sequence list)"
    what = {
        "saturated": "saturated VMAF point(s) dropped",
        "nonmonotonic": "dominated point(s) dropped (non-monotonic curve, pareto)",
        "duplicates": "duplicate rate point(s) merged",
    }.get(kind, kind)
    return f"{code.get('points', '')} {what}{on}".strip()


def cell_notes(codes: str) -> list[tuple[str, str]]:
    """(short text, codes) of each kind of note in the note codes of a mean, in
    :data:`~vqabench.evaluation.aggregate.NOTE_KINDS` order; exclusions are left out (cells
    show them as `` (n/N)``)."""
    parsed = parse_note_codes(codes)
    return [
        (_kind_text(kind, code), f"{kind}({','.join(f'{k}={v}' for k, v in code.items())})")
        for kind, code in parsed.items()
        if kind != "excluded"
    ]


def _row_codes(row: Mapping[str, object]) -> str:
    """Note codes of a summary row; a row from before note codes whose ``flags`` (the
    per-sequence notes as text) are not empty counts as one note of kind ``other``, so
    that no note is lost."""
    codes = row.get("note_codes")
    if codes is None or (isinstance(codes, float) and math.isnan(codes)):
        return "other(notes=1)" if str(row.get("flags", "") or "") else ""
    return str(codes)


class _Lettering:
    """Gives each distinct note text the next mark and collects the cell marks."""

    def __init__(self) -> None:
        self.notes: dict[str, Note] = {}
        self.marks: dict[tuple[int, int], tuple[str, ...]] = {}

    def add(self, cell: tuple[int, int], text: str, codes: str = "") -> str:
        if text not in self.notes:
            self.notes[text] = Note(note_mark(len(self.notes)), text, codes)
        mark = self.notes[text].mark
        if mark not in self.marks.get(cell, ()):
            self.marks[cell] = (*self.marks.get(cell, ()), mark)
        return mark


@dataclass(frozen=True)
class BDTable:
    """One BD-rate table, the same for the console and every report format.

    Attributes:
        values: rows (Group, Codec), one numeric column per metric (display names): the
            mean BD-rate in percent, NaN when undefined; what table styles start from.
        cells: the same shape as text: signed values, ``n/a``, `` (n/N)`` when only n of N
            sequences are in the mean (marks are kept apart, in ``marks``).
        caption: what the numbers are (anchor codec, method, quality against what).
        notes: the notes the marks refer to, one per distinct text.
        marks: (row position, column position) of ``cells`` -> marks of that cell.
        details: per-sequence lines behind the notes (``[a] group, codec, metric,
            sequence: note``) when :func:`bd_table` had the per-sequence table.
    """

    values: pd.DataFrame
    cells: pd.DataFrame
    caption: str
    notes: tuple[Note, ...] = ()
    marks: Mapping[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    details: tuple[str, ...] = ()

    @property
    def table(self) -> NotedTable:
        """The text cells with their marks and notes, for the renderers."""
        return NotedTable(self.cells, self.marks, self.notes)


def signed_text(df: pd.DataFrame, columns: Sequence[str], *, decimals: int = 2) -> pd.DataFrame:
    """A copy of ``df`` with ``columns`` (BD-rates) as signed text, ``+3.43`` / ``-1.20``."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = [
                format_number(float(v), decimals=decimals, signed=True)
                if isinstance(v, int | float | np.number)
                else format_number(v)
                for v in out[c]
            ]
    return out


def average_counts(
    cells: pd.DataFrame, values: pd.DataFrame, columns: Sequence[str], *, row: str = AVERAGE
) -> pd.DataFrame:
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


def bd_table(
    summary: pd.DataFrame,
    *,
    reference: str,
    anchor: str,
    anchor_codec: str,
    codecs: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    method: str = "pchip",
    decimals: int = 2,
    groups: bool = True,
    per_sequence: pd.DataFrame | None = None,
) -> BDTable:
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
        per_sequence: the :func:`~vqabench.evaluation.aggregate.per_sequence_bd_rate`
            output behind ``summary``, for :attr:`BDTable.details`.

    Each cell (group x codec x metric) gets the marks of its own notes (``note_codes`` of
    its row of ``summary``); an undefined mean carries none.
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    codecs = [
        c
        for c in (codecs if codecs is not None else dict.fromkeys(part["codec"]))
        if c != anchor_codec and c in set(part["codec"])
    ]
    metrics = [
        m
        for m in (metrics if metrics is not None else dict.fromkeys(part["metric"]))
        if m in set(part["metric"])
    ]
    labels = sorted(set(part["group"]) - {OVERALL}, key=group_sort_key) if groups else []
    values, cells, lettering, details = [], [], _Lettering(), []
    for group in [*labels, OVERALL]:
        for codec in codecs:
            sel = part[(part["group"] == group) & (part["codec"] == codec)]
            if sel.empty:
                continue
            vrow = {"Group": group, "Codec": codec}
            crow = dict(vrow)
            for j, metric in enumerate(metrics):
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
                if not math.isnan(value):
                    cell = (len(cells), j + 1 + bool(labels))
                    marks = [
                        lettering.add(cell, note, code) for note, code in cell_notes(_row_codes(r))
                    ]
                    if marks and per_sequence is not None:
                        details += _details(
                            per_sequence,
                            marks,
                            group=group,
                            codec=codec,
                            metric=metric,
                            reference=reference,
                            anchor=anchor,
                        )
                vrow[label], crow[label] = value, text
            values.append(vrow)
            cells.append(crow)
    columns = ["Group", "Codec", *[metric_label(m) for m in metrics]]
    values_df = pd.DataFrame(values, columns=columns)
    cells_df = pd.DataFrame(cells, columns=columns)
    if not labels:
        values_df, cells_df = values_df.drop(columns="Group"), cells_df.drop(columns="Group")
    against = {"source": "the source S", "reference": "the reference R"}.get(anchor, anchor)
    caption = (
        f"BD-rate (%) vs {anchor_codec}, {method} on kbps, quality against {against}; "
        "mean over sequences"
        + (" per reference group" if labels else "")
        + "; negative = fewer bits; (n/N) = n of N sequences defined"
    )
    return BDTable(
        values_df,
        cells_df,
        caption,
        tuple(lettering.notes.values()),
        lettering.marks,
        tuple(details),
    )


def _details(
    per: pd.DataFrame,
    marks: Sequence[str],
    *,
    group: str,
    codec: str,
    metric: str,
    reference: str,
    anchor: str,
) -> list[str]:
    """Per-sequence lines behind a marked mean: ``[a,b] group, codec, metric, sequence:
    notes`` for each defined per-sequence value with notes."""
    rows = _cell(per, reference=reference, anchor=anchor, codec=codec, metric=metric)
    if group != OVERALL:
        rows = rows[rows["group"] == group]
    rows = rows[(rows["reason"] == "") & (rows["notes"].fillna("") != "")]
    return [
        f"[{','.join(marks)}] {group}, {codec}, {metric_label(metric)}, {r.sequence}: {r.notes}"
        for r in rows.itertuples()
    ]


def _cell(summary: pd.DataFrame, **where: str) -> pd.DataFrame:
    mask = pd.Series(True, index=summary.index)
    for k, v in where.items():
        mask &= summary[k] == v
    return summary[mask]


def _ordered_groups(part: pd.DataFrame) -> list[str]:
    """The groups of ``part``: Low, Medium, High (UGC reference groups) or by name, then
    :data:`~vqabench.evaluation.aggregate.OVERALL`."""
    return sorted((g for g in part["group"].unique() if g != OVERALL), key=group_sort_key) + [
        OVERALL
    ]


def _group_codec_cells(part: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """``(group, codec, rows)`` of each non-empty (group, codec) cell of ``part``, groups in
    :func:`_ordered_groups` order, codecs by name."""
    for group in _ordered_groups(part):
        for codec in sorted(part["codec"].unique()):
            sel = part[(part["group"] == group) & (part["codec"] == codec)]
            if not sel.empty:
                yield group, codec, sel


def codec_metric_table(
    summary: pd.DataFrame, *, reference: str, anchor: str, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows (group, codec), columns metrics: mean BD-rate (%) against the anchor codec.

    Groups Low, Medium, High (UGC reference groups) or sorted by name, then
    :data:`~vqabench.evaluation.aggregate.OVERALL`.
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    metrics = list(metrics) if metrics is not None else sorted(part["metric"].unique())
    rows = []
    for group, codec, sel in _group_codec_cells(part):
        values = sel.set_index("metric")["bd_rate"]
        rows.append(
            {"Group": group, "Codec": codec, **{m: float(values.get(m, math.nan)) for m in metrics}}
        )
    return pd.DataFrame(rows, columns=["Group", "Codec", *metrics])


def sequence_table(
    per_sequence: pd.DataFrame, *, metric: str, reference: str, anchor: str
) -> pd.DataFrame:
    """Rows sequences (+ ``Average``), columns codecs: per-sequence BD-rate (%) for one metric.

    The ``Average`` row is the mean of the defined values in each column, i.e. the
    ``Overall`` value of :func:`~vqabench.evaluation.aggregate.summarize_bd_rate`.
    """
    part = _cell(per_sequence, metric=metric, reference=reference, anchor=anchor)
    wide = part.pivot_table(
        index="sequence", columns="codec", values="bd_rate", aggfunc="first", dropna=False
    )
    wide = wide.reindex(sorted(part["sequence"].unique()))
    avg = wide.mean(axis=0, skipna=True)
    wide.loc[AVERAGE] = avg
    wide.columns.name = None
    return wide.reset_index().rename(columns={"index": "Sequence", "sequence": "Sequence"})


def yuv_table(
    summary: pd.DataFrame, times: pd.DataFrame | None, *, reference: str, anchor: str
) -> pd.DataFrame:
    """JVET-style table: per codec, Overall BD-rate for Y, U, V, weighted YUV, EncT%, DecT%."""
    part = _cell(summary, reference=reference, anchor=anchor, group=OVERALL)
    rows = []
    for codec in sorted(part["codec"].unique()):
        values = part[part["codec"] == codec].set_index("metric")["bd_rate"]
        row = {"Codec": codec, **{label: float(values.get(m, math.nan)) for m, label in _YUV}}
        if times is not None and not times.empty:
            t = times[
                (times["codec"] == codec)
                & (times["reference"] == reference)
                & (times["group"] == OVERALL)
            ]
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
    if (
        pd.api.types.is_float_dtype(col)
        and floats
        and all(v.is_integer() for v in floats)
        and str(col.name).lower() in _COUNT_COLUMNS
    ):
        return [int(v) if isinstance(v, float) and not math.isnan(v) else v for v in values]
    return values


#: Column names that hold counts (shown as integers even when stored as floats).
_COUNT_COLUMNS = frozenset(
    {
        "n",
        "count",
        "pairs",
        "items",
        "n_items",
        "n_sequences",
        "n_excluded",
        "n_points",
        "sequences",
        "points",
    }
)


def rate_control_table(
    per_sequence: pd.DataFrame, *, metric: str, reference: str, anchor: str
) -> pd.DataFrame:
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


def sequence_notes(
    per_sequence: pd.DataFrame, cells: pd.DataFrame, *, metric: str, reference: str, anchor: str
) -> NotedTable:
    """``cells`` (a :func:`sequence_table` layout: ``Sequence`` then one column per codec)
    with the marks of the per-sequence values that carry notes, one note per kind with its
    range over the table ("small quality overlap: 24-37 % of the union (below 75 %)")."""
    part = _cell(per_sequence, metric=metric, reference=reference, anchor=anchor)
    rows = {str(v): i for i, v in enumerate(cells["Sequence"]) if v != AVERAGE}
    columns = {str(c): j for j, c in enumerate(cells.columns) if j}
    found: dict[str, list[tuple[tuple[int, int], dict[str, str]]]] = {}
    for r in part.itertuples():
        codes = (
            str(r.note_codes)
            if "note_codes" in part.columns
            else sequence_note_codes(str(r.notes), float(r.overlap))
        )
        at = (rows.get(str(r.sequence)), columns.get(str(r.codec)))
        if r.reason or not codes or None in at:
            continue
        for kind, code in parse_note_codes(codes).items():
            found.setdefault(kind, []).append((at, code))  # type: ignore[arg-type]
    lettering = _Lettering()
    for kind in NOTE_KINDS:
        if kind not in found:
            continue
        if kind == "overlap":
            ious = [float(code["iou"]) for _, code in found[kind]]
            summary = {"min": str(min(ious)), "max": str(max(ious))}
        else:
            key = "notes" if kind == "other" else "points"
            counts = [int(code[key]) for _, code in found[kind]]
            summary = {
                key: f"{min(counts)}" + (f"-{max(counts)}" if max(counts) > min(counts) else "")
            }
        text = _kind_text(kind, summary)
        for at, _ in found[kind]:
            lettering.add(at, text, kind)
    return NotedTable(cells, lettering.marks, tuple(lettering.notes.values()))


def _text_rows(df: pd.DataFrame, decimals: int) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in df.columns]
    columns = [_column_values(df[c]) for c in df.columns]
    body = [
        [format_number(v, decimals=decimals) for v in row] for row in zip(*columns, strict=True)
    ]
    return header, body


def _noted(
    table: pd.DataFrame | NotedTable, notes: Sequence[str]
) -> tuple[pd.DataFrame, Mapping[tuple[int, int], tuple[str, ...]], list[Note]]:
    """(cells, marks, notes) of a table: ``notes`` (on the whole table) first, then the
    table's own."""
    if isinstance(table, pd.DataFrame):
        table = NotedTable(table)
    return table.cells, table.marks, [*(Note("", n) for n in notes), *table.notes]


def to_markdown(
    table: pd.DataFrame | NotedTable,
    *,
    decimals: int = 2,
    caption: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """GitHub-flavoured Markdown table; numeric columns right-aligned; cell marks as
    ``<sup>a</sup>``, the notes in lines right under the table (``notes``: lines on the whole
    table, before the marked ones)."""
    df, marks, foot = _noted(table, notes)
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    def cell(i: int, j: int, text: str) -> str:
        mark = ",".join(marks.get((i, j), ()))
        return esc(text) + (f"<sup>{mark}</sup>" if mark else "")

    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(esc(h) for h in header) + " |")
    lines.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
    lines += [
        "| " + " | ".join(cell(i, j, c) for j, c in enumerate(row)) + " |"
        for i, row in enumerate(body)
    ]
    if foot:
        lines.append("")
        lines += [(f"<sup>{n.mark}</sup> " if n.mark else "") + esc(n.text) + "  " for n in foot]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "\u00a0": "~",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(
    table: pd.DataFrame | NotedTable,
    *,
    decimals: int = 2,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A ``table`` with a booktabs ``tabular`` (``\\toprule``/``\\midrule``/``\\bottomrule``).

    Needs ``\\usepackage{booktabs}``; a table with notes is a ``threeparttable`` (needs
    ``\\usepackage{threeparttable}``): cell marks as ``\\tnote{a}``, the notes in
    ``tablenotes`` under the tabular (``notes``, on the whole table, first). Text is
    escaped; negative numbers use math minus.
    """
    df, marks, foot = _noted(table, notes)
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)
    spec = "".join("r" if n else "l" for n in numeric)

    def cell(i: int, j: int, text: str) -> str:
        out = "$-$" + text[1:] if numeric[j] and text.startswith("-") else _latex_escape(text)
        mark = ",".join(marks.get((i, j), ()))
        return out + (rf"\tnote{{{mark}}}" if mark else "")

    lines = [r"\begin{table}[t]", r"\centering"]
    if foot:
        lines.append(r"\begin{threeparttable}")
    if caption:
        lines.append(rf"\caption{{{_latex_escape(caption)}}}")
    label = label or (
        "tab:" + re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()).strip("-")[:60]
    )
    lines.append(rf"\label{{{label}}}")
    lines += [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    previous = None
    for i, row in enumerate(body):
        # one rule above the summary rows (Average, or the first Overall after groups)
        if i and row and row[0] in (AVERAGE, OVERALL) and previous not in (AVERAGE, OVERALL):
            lines.append(r"\midrule")
        previous = row[0] if row else None
        lines.append(" & ".join(cell(i, j, c) for j, c in enumerate(row)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if foot:
        lines.append(r"\begin{tablenotes}[flushleft]\footnotesize")
        # "13-55 %": no line break before the unit
        lines += [
            rf"\item[{n.mark}] {_latex_escape(n.text.replace(' %', chr(0xA0) + '%'))}" for n in foot
        ]
        lines += [r"\end{tablenotes}", r"\end{threeparttable}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_html(
    table: pd.DataFrame | NotedTable,
    *,
    decimals: int = 2,
    caption: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """An HTML ``<table>`` (escaped), numeric cells with class ``num``; cell marks as
    ``<sup>``, the notes in the table's ``<tfoot>`` (``notes``, on the whole table, first).
    """
    df, marks, foot = _noted(table, notes)
    header, body = _text_rows(df, decimals)
    numeric = numeric_columns(df)
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append(
        "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>"
    )
    out.append("<tbody>")
    for i, row in enumerate(body):
        cells = []
        for j, c in enumerate(row):
            mark = ",".join(marks.get((i, j), ()))
            text = html.escape(c) + (f"<sup>{html.escape(mark)}</sup>" if mark else "")
            cells.append(f'<td class="num">{text}</td>' if numeric[j] else f"<td>{text}</td>")
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody>")
    if foot:
        out.append("<tfoot>")
        out += [
            f'<tr><td class="note" colspan="{len(header)}">'
            + (f"<sup>{html.escape(n.mark)}</sup> " if n.mark else "")
            + f"{html.escape(n.text)}</td></tr>"
            for n in foot
        ]
        out.append("</tfoot>")
    out.append("</table>")
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

_LABELS = {
    "psnr_y": "PSNR",
    "vmaf": "VMAF",
    "vmaf_neg": "VMAF NEG",
    "dists": "DISTS",
    "lpips": "LPIPS",
}


def _metric_or_none(summary: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    present = set(summary["metric"])
    return [m for m in candidates if m in present]


def layout_notes(
    table: pd.DataFrame, summary: pd.DataFrame, *, reference: str, anchor: str, dataset: str = ""
) -> NotedTable:
    """``table`` (:func:`uncertainty_table` or a seed-paper layout: :func:`ptloss_table`,
    :func:`glvc_table` of ``dataset``, :func:`clic_table`) with the marks of the notes of
    the means its BD-rate cells show, one note per distinct text as in :func:`bd_table`.

    A cell is found by its column (``GROUP LABEL``, ``DATASET LABEL``, ``Y``/``U``/``V``/
    ``YUV``, or ``BD-rate`` with the row's ``Metric``) and its row (``Codec``, and ``Group``
    or ``Class`` when the column names no group); other cells carry no mark.
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    codes = {(r["group"], r["codec"], r["metric"]): _row_codes(r) for r in part.to_dict("records")}
    columns: dict[str, tuple[str | None, str]] = {}
    for metric in dict.fromkeys(part["metric"]):
        short = _LABELS.get(metric, metric)
        columns.update({f"{g} {short}": (g, metric) for g in dict.fromkeys(part["group"])})
        if dataset:
            columns[f"{dataset} {short}"] = (OVERALL, metric)
    columns.update({label: (None, m) for m, label in _YUV})
    by_label = {metric_label(m): m for m in part["metric"]}
    lettering = _Lettering()
    for i, row in enumerate(table.to_dict("records")):
        for j, column in enumerate(table.columns):
            group, metric = columns.get(str(column), (None, ""))
            if column == "BD-rate":
                metric = by_label.get(str(row.get("Metric")), "")
            value = row[column]
            if not metric or not isinstance(value, float) or math.isnan(value):
                continue
            group = group or str(row.get("Group", row.get("Class", OVERALL)))
            for note, code in cell_notes(codes.get((group, str(row.get("Codec")), metric), "")):
                lettering.add((i, j), note, code)
    return NotedTable(table, lettering.marks, tuple(lettering.notes.values()))


def uncertainty_table(summary: pd.DataFrame, *, reference: str, anchor: str) -> pd.DataFrame:
    """Rows (group, codec, metric): mean BD-rate (%), its bootstrap interval, the Wilcoxon
    signed-rank p-value and the number of sequences behind the three.

    ``summary`` must carry ``ci_low``, ``ci_high`` and ``wilcoxon_p``
    (:func:`~vqabench.evaluation.uncertainty.add_uncertainty`).
    """
    part = _cell(summary, reference=reference, anchor=anchor)
    groups = _ordered_groups(part)
    rows = []
    for group in groups:
        for r in part[part["group"] == group].sort_values(["codec", "metric"]).itertuples():
            p = float(r.wilcoxon_p)  # p and counts as text: 4 digits, no decimals
            rows.append(
                {
                    "Group": group,
                    "Codec": r.codec,
                    "Metric": metric_label(r.metric),
                    "BD-rate": float(r.bd_rate),
                    "CI low": float(r.ci_low),
                    "CI high": float(r.ci_high),
                    "Wilcoxon p": NAN_TEXT if math.isnan(p) else f"{p:.4f}",
                    "Sequences": str(int(r.n_sequences)),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "Group",
            "Codec",
            "Metric",
            "BD-rate",
            "CI low",
            "CI high",
            "Wilcoxon p",
            "Sequences",
        ],
    )


def _time_cell(
    times: pd.DataFrame | None, *, codec: str, reference: str, group: str, column: str
) -> float:
    if times is None or times.empty:
        return math.nan
    t = times[
        (times["codec"] == codec) & (times["reference"] == reference) & (times["group"] == group)
    ]
    return float(t[column].iloc[0]) if len(t) else math.nan


def ptloss_table(
    summary: pd.DataFrame,
    times: pd.DataFrame | None,
    *,
    reference: str,
    anchor: str,
    metrics: Sequence[str] = ("psnr_y", "vmaf"),
    complexity: Mapping[str, tuple[int, int, int]] | None = None,
) -> pd.DataFrame:
    """PT-Loss paper, Table I: one row per codec; for each reference group (Low, Medium,
    High, then Overall) the BD-rate (%) of each metric (PSNR, VMAF), then the complexity
    columns: with ``complexity`` (codec -> loss network parameters, MACs per training
    window, frames of the window) ``Loss params (M)`` and ``Loss GMAC``, then EncT% and DecT%
    (anchor = 100 %, Overall)."""
    part = _cell(summary, reference=reference, anchor=anchor)
    metrics = _metric_or_none(part, metrics) or sorted(part["metric"].unique())[:2]
    groups = _ordered_groups(part)
    rows = []
    for codec in sorted(part["codec"].unique()):
        row: dict[str, object] = {"Codec": codec}
        for group in groups:
            for m in metrics:
                sel = part[
                    (part["codec"] == codec) & (part["group"] == group) & (part["metric"] == m)
                ]
                row[f"{group} {_LABELS.get(m, m)}"] = (
                    float(sel["bd_rate"].iloc[0]) if len(sel) else math.nan
                )
        if complexity:
            params, macs, _ = complexity.get(codec, (math.nan, math.nan, 0))
            row["Loss params (M)"] = params / 1e6
            row["Loss GMAC"] = macs / 1e9
        for column, label in (("enc_pct", "EncT%"), ("dec_pct", "DecT%")):
            row[label] = _time_cell(
                times, codec=codec, reference=reference, group=OVERALL, column=column
            )
        rows.append(row)
    return pd.DataFrame(rows)


def mean_quality_table(
    means: pd.DataFrame, *, reference: str, anchor: str, metrics: Sequence[str] = ("psnr_y", "vmaf")
) -> pd.DataFrame:
    """Rows (group, codec): the mean rate (bpp) and the mean of each metric over the points
    each codec encoded (``means`` from :func:`vqabench.evaluation.aggregate.mean_quality`),
    then how many points the means cover; groups Low, Medium, High, then Overall. Metrics
    the means lack are left out."""
    part = _cell(means, reference=reference, anchor=anchor)
    shown = [m for m in metrics if m in set(part["metric"])]
    rows = []
    for group, codec, sel in _group_codec_cells(part):
        row: dict[str, object] = {
            "Group": group,
            "Codec": codec,
            "bpp": float(sel["mean_bpp"].iloc[0]),
        }
        for m in shown:
            cell = sel[sel["metric"] == m]
            row[metric_label(m)] = float(cell["mean_value"].iloc[0]) if len(cell) else math.nan
        row["Points"] = int(sel["n_points"].max())
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["Group", "Codec", "bpp", *[metric_label(m) for m in shown], "Points"]
    )


def sweep_table(points: pd.DataFrame, *, option: str) -> pd.DataFrame:
    """One row per value of a swept option (``points`` from
    :func:`vqabench.reports.report.sweep_points`): its codec and, per metric, the Overall mean
    BD-rate (%) with its 95 % interval as text and the number of sequences."""
    rows = []
    for value, part in points.groupby("value", sort=True):
        row: dict[str, object] = {
            option: format_number(float(value), decimals=2),
            "Codec": str(part["codec"].iloc[0]),
        }
        for r in part.itertuples():
            label = metric_label(r.metric)
            row[label] = float(r.bd_rate)
            interval = (
                NAN_TEXT
                if math.isnan(r.ci_low)
                else f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
            )
            row[f"{label} 95 % CI"] = interval
            row[f"{label} n"] = str(int(r.n_sequences))
        rows.append(row)
    return pd.DataFrame(rows)


def glvc_table(
    summaries: dict[str, pd.DataFrame],
    *,
    reference: str,
    anchor: str,
    metrics: Sequence[str] = ("dists", "lpips"),
    codecs: Sequence[str] | None = None,
) -> pd.DataFrame:
    """GLVC paper, Table 4: one row per codec; for each dataset the Overall BD-rate (%) of
    each perceptual metric (DISTS, LPIPS).

    Args:
        summaries: dataset name -> BD-rate summary of a run on it (one run per dataset).
        metrics: the metrics, in column order; those no run measured are left out.
        codecs: the rows, in order (default: every codec of the summaries, by name).

    Raises:
        ConfigError: none of ``metrics`` is in any summary.
    """
    from vqabench.errors import invalid

    present = set().union(*(set(s["metric"]) for s in summaries.values())) if summaries else set()
    shown = [m for m in metrics if m in present]
    if not shown:
        raise invalid(
            "style",
            "glvc",
            f"results with {' or '.join(metrics)} (the GLVC "
            f"table's metrics); these results have {', '.join(sorted(present))}",
        )
    if codecs is None:
        codecs = sorted(set().union(*(set(s["codec"]) for s in summaries.values())))
    rows = []
    for codec in codecs:
        row: dict[str, object] = {"Codec": codec}
        for dataset, summary in summaries.items():
            part = _cell(summary, reference=reference, anchor=anchor, group=OVERALL)
            for m in shown:
                sel = part[(part["codec"] == codec) & (part["metric"] == m)]
                row[f"{dataset} {_LABELS.get(m, m)}"] = (
                    float(sel["bd_rate"].iloc[0]) if len(sel) else math.nan
                )
        rows.append(row)
    return pd.DataFrame(rows)


def clic_table(
    summary: pd.DataFrame, times: pd.DataFrame | None, *, reference: str, anchor: str
) -> pd.DataFrame:
    """CLIC paper, Tables I-III: per codec, one row per class/group and Overall with the
    BD-rate (%) of PSNR Y, U, V and weighted YUV (6:1:1) and EncT% (anchor = 100 %)."""
    part = _cell(summary, reference=reference, anchor=anchor)
    groups = _ordered_groups(part)
    rows = []
    for codec in sorted(part["codec"].unique()):
        for group in groups:
            sel = part[(part["codec"] == codec) & (part["group"] == group)]
            if sel.empty:
                continue
            values = sel.set_index("metric")["bd_rate"]
            rows.append(
                {
                    "Codec": codec,
                    "Class": group,
                    **{label: float(values.get(m, math.nan)) for m, label in _YUV},
                    "EncT%": _time_cell(
                        times, codec=codec, reference=reference, group=group, column="enc_pct"
                    ),
                }
            )
    return pd.DataFrame(rows, columns=["Codec", "Class", "Y", "U", "V", "YUV", "EncT%"])
