"""Build a report from a run directory: BD-rate tables, RD curves, per-frame plots.

Reads ``results.csv`` (required), ``per_frame.csv`` and ``config.toml`` (optional) and writes
into ``out_dir`` (default ``RUN_DIR/report``):

- ``bdrate.csv``: every per-sequence BD-rate (with the reason when NaN, ``note``) and every
  mean (``sequence`` empty; ``group`` is a group label or ``Overall``) with its 95 % bootstrap
  interval (``ci_low``, ``ci_high``), Wilcoxon signed-rank p-value (``wilcoxon_p``) and the
  number of sequences behind them (``n_sequences``), full precision; ``notes``: the
  machine-readable note codes of each value (small overlap, dropped points, exclusions; see
  :mod:`vqabench.evaluation.aggregate`), the flags behind the marks of the tables;
- ``report.md``: the tables in Markdown, figures linked as PNG files next to it;
- ``report.html``: the same, figures linked as the PNG files next to it; with
  ``embed_media`` self-contained instead (figures embedded as base64 PNG: about 130 kB per
  figure);
- ``tables.tex``: the tables as LaTeX booktabs; a table with notes is a ``threeparttable``
  (``\\tnote`` marks, notes under the table);
- ``ratecontrol.csv``: when the run has target-bitrate (``kbps``) points, ΔR % and BD-rate
  against the ``targets_from`` configuration per sequence and as averages
  (:mod:`vqabench.evaluation.ratecontrol`), also as tables in the report;
- ``sequence_metrics.csv``: when the run measured sequence metrics (VBench-style, kind
  ``sequence``), every value and its mean, std, min and max over sequences per codec and rate
  point (:mod:`vqabench.reports.seqmetrics`), shown in every style as POVI's Table 1 and one
  per-sequence table per codec at its middle rate point;
- ``*.png``, ``*.pdf`` (``*.svg`` when asked): the figure set ``figures`` names:
  ``summary`` (default): averaged RD curves per metric, per metric the RD curves per group
  with Overall when the sequences carry UGC reference groups (Low/Medium/High, the ``ptloss``
  table's groups, :mod:`vqabench.reports.groupplots`), and the sweep figure of a sweep;
  ``all``: also the RD curves per group of other groups (a dataset's classes), RD curves
  and R–Q fits (:mod:`vqabench.reports.rqplot`) per sequence and
  metric, a residual Q–Q figure per sequence (:mod:`vqabench.reports.qqreport`; the caller's
  ``residual_fits`` decodes one bitstream per sequence again; why one is missing is listed
  under the figures), per-frame quality and coded-size plots as small multiples
  (:mod:`vqabench.reports.plots`, :mod:`vqabench.reports.frameplots`), two figures per
  sequence and metric (the time of a report); ``none``: tables only (``layout`` and
  ``formats`` are checked all the same). With ``compare``, also the visual comparison of two
  codecs (:mod:`vqabench.reports.compare`). All in one style
  (:mod:`vqabench.reports.style`): units on the axes, one colour and marker per codec in
  every figure, the anchor first, then the run's order. Figures are drawn in ``jobs``
  worker processes, each a pure function of its rows (:func:`render_figures`).

Layouts (``style``), for each (reference, anchor) pair, each followed by the uncertainty
table (mean, interval, p-value, sequences):

- ``default``: codecs × metrics mean BD-rate per group and Overall; per-sequence BD-rate
  with an Average row for each metric; when PSNR components are present, the JVET layout
  Y/U/V/YUV (6:1:1) with EncT%/DecT% (geometric mean over sequences of summed-time ratios,
  anchor = 100 %);
- ``ptloss``: codecs × (group × PSNR, VMAF) with EncT%/DecT% (PT-Loss paper, Table I),
  then the mean rate and quality behind it per group and codec;
- ``glvc``: codecs × (dataset × DISTS, LPIPS) (GLVC paper, Table 4); several runs in one
  table: :mod:`vqabench.reports.glvc`;
- ``clic``: codecs × class rows × Y/U/V/YUV with EncT% (CLIC paper, Tables I-III).

The anchor codec is ``anchor_codec`` if given, else ``[run] anchor`` in ``config.toml``, else
the first codec in ``results.csv``.

Example:
    >>> build_report("runs/mini", anchor_codec="x264").html
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from vqabench.errors import ConfigError, invalid
from vqabench.evaluation.aggregate import (
    OVERALL,
    REFERENCE_GROUPS,
    add_weighted_yuv,
    fold_references,
    load_results,
    mean_quality,
    per_sequence_bd_rate,
    summarize_bd_rate,
    time_ratios,
)
from vqabench.evaluation.bdrate import METHODS, Method, Nonmonotonic
from vqabench.evaluation.uncertainty import DEFAULT_SEED, add_uncertainty
from vqabench.reports import seqmetrics, tables
from vqabench.reports.figspec import Layout, check_figure_options

if TYPE_CHECKING:
    from vqabench.reports.compare import ComparedFrames, CompareRequest

__all__ = [
    "Report",
    "build_report",
    "bdrate_frame",
    "write_pages",
    "Section",
    "read_config",
    "choose_anchor",
    "provenance_lines",
    "loss_complexity",
    "codec_sweep",
    "sweep_points",
    "FIGURE_SETS",
    "FigureSet",
    "DEFAULT_FORMATS",
    "FigureJob",
    "render_figures",
    "slug",
]

FigureSet = Literal["none", "summary", "all"]
#: Figure sets of a report (see module docstring).
FIGURE_SETS: tuple[str, ...] = ("none", "summary", "all")
#: Figure formats a report writes by default: PNG (the pages show it) and PDF (what LaTeX
#: includes). SVG only when asked: about a sixth of a figure's time (reports/performance.md).
DEFAULT_FORMATS: tuple[str, ...] = ("png", "pdf")


@dataclass(frozen=True)
class Report:
    """Paths of what :func:`build_report` wrote."""

    out_dir: Path
    markdown: Path
    html: Path
    latex: Path
    bdrate_csv: Path
    figures: tuple[Path, ...]  # the PNG files, one per figure
    figure_files: tuple[Path, ...] = ()  # every file of every figure (PNG, PDF, SVG)
    ratecontrol_csv: Path | None = None  # ΔR % / BD-rate of rate-controlled points
    sequence_metrics_csv: Path | None = None  # values of the sequence metrics (POVI)


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, object]:
    """``config.toml`` of a run directory as a dict ({} when absent).

    Raises:
        ConfigError: the file exists but is not valid TOML.
    """
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{str(path)!r} is not valid TOML: {exc}") from None


def choose_anchor(
    results: pd.DataFrame, config: dict[str, object], anchor_codec: str | None
) -> str:
    """The anchor codec (see module docstring); ConfigError when it has no results."""
    codecs = list(dict.fromkeys(results["codec"].astype(str)))
    run = config.get("run", {})
    choice = anchor_codec or (run.get("anchor") if isinstance(run, dict) else None) or codecs[0]
    if choice not in codecs:
        raise invalid("anchor", choice, f"a codec in the results ({', '.join(codecs)})")
    return str(choice)


def slug(*parts: str) -> str:
    """``parts`` joined by ``_`` as a file-name stem (runs of other characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(parts)).strip("_")


def bdrate_frame(per: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``bdrate.csv`` (module docstring): every per-sequence BD-rate, then every
    mean with its interval, p-value, counts and note codes."""
    seq = per.assign(
        n_sequences=(per["reason"] == "").astype(int),
        n_excluded=(per["reason"] != "").astype(int),
        note=per["reason"],
        notes=per["note_codes"],
    )
    agg = summary.assign(sequence="", notes=summary["note_codes"])
    cols = [
        "reference",
        "anchor",
        "metric",
        "codec",
        "group",
        "sequence",
        "bd_rate",
        "ci_low",
        "ci_high",
        "wilcoxon_p",
        "n_sequences",
        "n_excluded",
        "note",
        "notes",
    ]
    seq = seq.assign(ci_low=math.nan, ci_high=math.nan, wilcoxon_p=math.nan)
    return pd.concat([seq[cols], agg[cols]], ignore_index=True)


def provenance_lines(
    config: dict[str, object], results: pd.DataFrame, config_text: str = ""
) -> list[str]:
    """What the numbers come from: resolution, frames, rate points, presets, versions.

    Read from the run's ``config.toml`` (resolved by ``vqabench run``; ``config_text`` is its
    text, whose header comment names the versions) and ``results.csv``; codec presets left at
    their default are named as such.
    """
    lines = []
    ds = config.get("dataset", {}) if isinstance(config.get("dataset"), dict) else {}
    seqs = list(dict.fromkeys(results["sequence"].astype(str)))
    lines.append(
        f"Dataset: {ds.get('name', 'unknown')}; {len(seqs)} sequence(s); resolution "
        f"{ds.get('size', 'as the sources')}; frames per sequence "
        f"{ds.get('frames', 'all')}."
    )
    entries = config.get("codecs", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        name = str(entry["name"])
        ladder = ", ".join(
            f"{k}={v}" for k, v in entry.items() if isinstance(v, list) and k != "extra"
        )
        opts = {
            k: v
            for k, v in entry.items()
            if k not in ("name", "label") and not (isinstance(v, list) and k != "extra")
        }
        if "preset" not in opts:
            opts["preset"] = f"{_default_preset(name)} (default)"
        label = f" as {entry['label']}" if entry.get("label") else ""
        lines.append(
            f"Codec {name}{label}: {ladder}; "
            + ", ".join(f"{k}={v}" for k, v in opts.items())
            + "."
        )
    ref = config.get("reference")
    if isinstance(ref, dict):
        lines.append("Reference stage: " + ", ".join(f"{k}={v}" for k, v in ref.items()) + ".")
    versions = _resolved_by(config_text)
    if versions:
        lines.append(f"Versions: {versions}.")
    return lines


def _default_preset(codec: str) -> str:
    try:
        from vqabench import codecs

        return str(getattr(codecs.get_class(codec), "default_preset", "n/a"))
    except Exception:  # a codec this installation lacks
        return "unknown"


def _resolved_by(text: str) -> str:
    m = re.search(r"resolved by (vqabench \S+ with ffmpeg \S+)", text)
    return m.group(1) if m else ""


def _codec_entries(config: dict[str, object]) -> list[dict]:
    entries = config.get("codecs", [])
    return (
        [e for e in entries if isinstance(e, dict) and "name" in e]
        if isinstance(entries, list)
        else []
    )


def _option_default(codec: str, option: str) -> object:
    """The default of a codec's constructor option; None when the codec or option is not
    there (a run made with a codec this installation lacks still gets its report)."""
    import inspect

    from vqabench import codecs
    from vqabench.errors import UnknownNameError

    try:
        cls = codecs.get_class(codec)
    except UnknownNameError:
        return None
    param = inspect.signature(cls).parameters.get(option)
    return None if param is None else param.default


def loss_complexity(config: dict[str, object]) -> dict[str, tuple[int, int, int]]:
    """Training-loss complexity of each learned codec of a run's ``config.toml``.

    For every codec entry with a ``loss`` option (the ``inr`` codec: its default loss when the
    entry names none), keyed by the name in the results (label, else codec name):
    ``(parameters, MACs, frames)`` of the loss network on one training window of ``frames``
    frames (``batch_frames``, at most the clip; 0 = the whole clip) at the dataset's ``size``
    (:func:`vqabench.codecs.losses.loss_complexity`). Empty when the config has no
    ``[dataset] size`` or no such codec.
    """
    from vqabench.codecs.losses import loss_complexity as network_complexity

    ds = config.get("dataset", {})
    size = ds.get("size") if isinstance(ds, dict) else None
    m = re.fullmatch(r"(\d+)x(\d+)", str(size)) if size else None
    if m is None:
        return {}
    width, height = int(m.group(1)), int(m.group(2))
    clip = int(ds["frames"]) if isinstance(ds, dict) and ds.get("frames") else 0
    out = {}
    for entry in _codec_entries(config):
        name = str(entry["name"])
        loss = entry.get("loss", _option_default(name, "loss"))
        if not isinstance(loss, str):
            continue
        batch = int(entry.get("batch_frames", _option_default(name, "batch_frames") or 0))
        frames = min(batch, clip) if batch and clip else (batch or clip)
        if not frames:
            continue
        try:
            params, macs = network_complexity(loss, frames=frames, height=height, width=width)
        except ConfigError:  # a loss the counter does not run (lpips...): left out
            continue
        out[str(entry.get("label") or name)] = (params, macs, frames)
    return out


def codec_sweep(config: dict[str, object]) -> tuple[str, dict[str, float]] | None:
    """The option a run sweeps: ``(option, {codec in the results: value})`` when three or
    more codec entries of one codec and ladder differ in exactly one numeric option (e.g. the
    PT-Loss weight ``alpha``), else None."""
    entries = _codec_entries(config)
    best: tuple[str, dict[str, float]] | None = None
    for option in sorted({k for e in entries for k in e} - {"name", "label"}):
        groups: dict[str, dict[str, float]] = {}
        for e in entries:
            value = e.get(option)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            rest = {k: v for k, v in e.items() if k not in (option, "label")}
            key = repr(sorted(rest.items()))
            groups.setdefault(key, {})[str(e.get("label") or e["name"])] = float(value)
        for values in groups.values():
            if len(set(values.values())) >= 3 and (best is None or len(values) > len(best[1])):
                best = (option, values)
    return best


def sweep_points(
    summary: pd.DataFrame, sweep: tuple[str, dict[str, float]], *, reference: str, anchor: str
) -> pd.DataFrame:
    """Overall mean BD-rates of a sweep's codecs (:func:`codec_sweep`), one row per (metric,
    value of the swept option), in the columns :func:`vqabench.reports.plots.sweep_figure`
    and :func:`vqabench.reports.tables.sweep_table` read."""
    values = sweep[1]
    part = summary[
        (summary["reference"] == reference)
        & (summary["anchor"] == anchor)
        & (summary["group"] == OVERALL)
        & summary["codec"].isin(list(values))
    ]
    rows = [
        {
            "metric": r.metric,
            "value": values[str(r.codec)],
            "codec": r.codec,
            "bd_rate": float(r.bd_rate),
            "ci_low": float(r.ci_low),
            "ci_high": float(r.ci_high),
            "n_sequences": int(r.n_sequences),
        }
        for r in part.itertuples()
    ]
    cols = ["metric", "value", "codec", "bd_rate", "ci_low", "ci_high", "n_sequences"]
    return pd.DataFrame(rows, columns=cols).sort_values(["metric", "value"], ignore_index=True)


_YUV_LABELS = {"psnr_y": "Y", "psnr_u": "U", "psnr_v": "V", "psnr_yuv": "YUV"}


def _yuv_section(
    summary: pd.DataFrame,
    times: pd.DataFrame,
    ref: str,
    anc: str,
    anchor: str,
    codec_order: list[str],
    method: str,
    decimals: int,
) -> tuple[tables.NotedTable, tuple[str, ...]]:
    """JVET layout as text: Y/U/V/YUV cells from :func:`tables.bd_table` (counts, marks and
    notes included; components never measured left out), then EncT%/DecT%."""
    present = [m for m in _YUV_LABELS if m in set(summary["metric"])]
    main = tables.bd_table(
        summary,
        reference=ref,
        anchor=anc,
        anchor_codec=anchor,
        codecs=codec_order,
        metrics=present,
        method=method,
        decimals=decimals,
        groups=False,
    )
    cells = main.cells.rename(columns={tables.metric_label(m): _YUV_LABELS[m] for m in present})
    numeric = tables.yuv_table(summary, times, reference=ref, anchor=anc)
    for col in ("EncT%", "DecT%"):
        if col in numeric.columns:
            by_codec = dict(zip(numeric["Codec"], numeric[col], strict=True))
            cells[col] = [
                tables.format_number(float(by_codec.get(c, float("nan"))), decimals=decimals)
                for c in cells["Codec"]
            ]
    return tables.NotedTable(cells, main.marks, main.notes), ()


#: A report section: heading, table, notes on the whole table.
Section = tuple[str, "pd.DataFrame | tables.NotedTable", tuple[str, ...]]


def _sections(
    style: str,
    per: pd.DataFrame,
    summary: pd.DataFrame,
    times: pd.DataFrame,
    *,
    anchor: str,
    method: str,
    dataset: str,
    pairs: list[tuple[str, str]],
    codec_order: list[str],
    metric_order: list[str],
    decimals: int,
    complexity: dict[str, tuple[int, int, int]] | None = None,
    sweep: tuple[str, dict[str, float]] | None = None,
    means: pd.DataFrame | None = None,
) -> list[Section]:
    """(heading, table, footnotes) sections of a report in ``style`` (see
    :data:`tables.STYLES`), for each (reference, anchor) pair in ``pairs``' order; then the
    sweep table when the run sweeps an option (:func:`codec_sweep`); every style ends with
    the uncertainty table of its pair. ``ptloss`` also shows ``means`` (mean rate and
    quality, :func:`~vqabench.evaluation.aggregate.mean_quality`) after Table I."""
    sections: list[Section] = []
    for ref, anc in pairs:
        where = f"reference={ref}, quality measured against {anc}"
        if style == "ptloss":
            foot = ()
            if complexity:
                frames = sorted({f for _, _, f in complexity.values()})
                foot = (
                    f"Loss params and GMAC: the training loss's network, one forward "
                    f"pass on a training window of {'/'.join(map(str, frames))} frames "
                    "(R and D) at the run's size; its backward costs about twice that. "
                    "EncT%/DecT%: geometric mean over sequences of summed encoding "
                    "(training) / decoding time, anchor = 100 %, measured in this run.",
                )
            table = tables.ptloss_table(
                summary, times, reference=ref, anchor=anc, complexity=complexity
            )
            sections.append(
                (
                    f"BD-rate (%) vs {anchor} per reference group, with complexity ({where})",
                    tables.layout_notes(table, summary, reference=ref, anchor=anc),
                    foot,
                )
            )
            if means is not None and not means.empty:
                sections.append(
                    (
                        f"Mean rate and quality per reference group, each codec over "
                        f"its own rate points ({where})",
                        tables.mean_quality_table(means, reference=ref, anchor=anc),
                        (
                            "Arithmetic means over each codec's (sequence, rate point) "
                            "rows; quality compares at equal rate only where the bpp "
                            "column is close.",
                        ),
                    )
                )
        elif style == "glvc":
            table = tables.glvc_table({dataset: summary}, reference=ref, anchor=anc)
            sections.append(
                (
                    f"Perceptual BD-rate (%) vs {anchor} per dataset ({where})",
                    tables.layout_notes(table, summary, reference=ref, anchor=anc, dataset=dataset),
                    (),
                )
            )
        elif style == "clic":
            table = tables.clic_table(summary, times, reference=ref, anchor=anc)
            sections.append(
                (
                    f"PSNR BD-rate (%) per class and EncT% vs {anchor} ({where})",
                    tables.layout_notes(table, summary, reference=ref, anchor=anc),
                    (),
                )
            )
        else:
            sections += _default_sections(
                per,
                summary,
                times,
                anchor=anchor,
                method=method,
                ref=ref,
                anc=anc,
                where=where,
                codec_order=codec_order,
                metric_order=metric_order,
                decimals=decimals,
            )
        if sweep is not None:
            points = sweep_points(summary, sweep, reference=ref, anchor=anc)
            if not points.empty:
                sections.append(
                    (
                        f"BD-rate (%) vs {anchor} against {sweep[0]}, Overall mean "
                        f"with 95 % interval ({where})",
                        tables.sweep_table(points, option=sweep[0]),
                        (),
                    )
                )
        sections.append(
            (
                f"Uncertainty of the mean BD-rate (%) vs {anchor}: 95 % bootstrap "
                f"interval over sequences, Wilcoxon signed-rank p ({where})",
                tables.layout_notes(
                    tables.uncertainty_table(summary, reference=ref, anchor=anc),
                    summary,
                    reference=ref,
                    anchor=anc,
                ),
                (),
            )
        )
    return sections


def _default_sections(
    per: pd.DataFrame,
    summary: pd.DataFrame,
    times: pd.DataFrame,
    *,
    anchor: str,
    method: str,
    ref: str,
    anc: str,
    where: str,
    codec_order: list[str],
    metric_order: list[str],
    decimals: int,
) -> list[Section]:
    """The default layout: codecs x metrics (one builder with the console summary), the JVET
    Y/U/V/YUV table with complexity, and per-sequence tables, in the run's order."""
    main = tables.bd_table(
        summary,
        reference=ref,
        anchor=anc,
        anchor_codec=anchor,
        codecs=codec_order,
        metrics=metric_order,
        method=method,
        decimals=decimals,
    )
    sections: list[Section] = [
        (f"BD-rate (%) vs {anchor}, {method} ({where})", main.table, (main.caption,))
    ]
    if "psnr_y" in set(summary["metric"]):
        sections.append(
            (
                f"PSNR BD-rate (%) and complexity vs {anchor} ({where})",
                *_yuv_section(summary, times, ref, anc, anchor, codec_order, method, decimals),
            )
        )
    present = set(summary[(summary["reference"] == ref) & (summary["anchor"] == anc)]["metric"])
    for metric in (m for m in metric_order + sorted(present - set(metric_order)) if m in present):
        seq = tables.sequence_table(per, metric=metric, reference=ref, anchor=anc)
        codecs_here = [c for c in codec_order if c in seq.columns]
        seq = seq[["Sequence", *codecs_here]]
        seq = tables.average_counts(
            tables.signed_text(seq, codecs_here, decimals=decimals), seq, codecs_here
        )
        sections.append(
            (
                f"Per-sequence BD-rate (%) vs {anchor}: {tables.metric_label(metric)} ({where})",
                tables.sequence_notes(per, seq, metric=metric, reference=ref, anchor=anc),
                (),
            )
        )
    return sections


def _rate_control_sections(
    results: pd.DataFrame,
    config: dict[str, object],
    method: Method,
    out: Path,
    sections: list[Section],
) -> Path | None:
    """ΔR % / BD-rate tables (and ``ratecontrol.csv``) when the run has rate-controlled
    points; None otherwise."""
    from vqabench.evaluation.ratecontrol import rate_control, rate_control_means, rate_controlled

    if rate_controlled(results).empty:
        return None
    run = config.get("run", {})
    source = run.get("targets_from") if isinstance(run, dict) else None
    per = rate_control(results, targets_from=str(source) if source else None, method=method)
    means = rate_control_means(per).assign(sequence="", reason="")
    both = pd.concat([per, means], ignore_index=True).astype(
        {"n_points": "Int64", "n_sequences": "Int64"}
    )
    path = tables.write_csv(both, out / "ratecontrol.csv")
    versus = f"BD-rate vs {str(source).split(':', 1)[0]}, {method}" if source else "no BD-rate"
    for (ref, anc, metric), _ in per.groupby(["reference", "anchor", "metric"], sort=True):
        sections.append(
            (
                f"Rate control: ΔR % / BD-rate (%), {metric} ({versus}; "
                f"reference={ref}, quality against {anc})",
                tables.rate_control_table(per, metric=metric, reference=ref, anchor=anc),
                (),
            )
        )
    return path


@dataclass(frozen=True)
class FigureJob:
    """One figure of a report: ``make(data, **options)`` drawn and saved as ``stem.FMT``.

    ``make`` is a module-level figure function (picklable), ``data`` only the rows it needs,
    so that a worker process draws it from what it is sent.
    """

    caption: str
    stem: Path
    make: Callable[..., object]
    data: pd.DataFrame
    options: dict[str, object] = field(default_factory=dict)


def _draw(job: FigureJob, formats: tuple[str, ...]) -> tuple[Path, ...]:
    from vqabench.reports import plots

    return plots.save_figure(job.make(job.data, **job.options), job.stem, formats)


def render_figures(
    jobs: Sequence[FigureJob],
    formats: Sequence[str],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[Path, ...]]:
    """Draw and save every figure, in ``workers`` processes when more than one (and more
    than one figure); return each figure's paths in ``jobs``' order.

    Args:
        progress: called with (figures done, figures in all) after each figure.
    """
    formats = tuple(formats)
    total, paths = len(jobs), [()] * len(jobs)
    if workers <= 1 or total <= 1:
        for i, job in enumerate(jobs):
            paths[i] = _draw(job, formats)
            if progress is not None:
                progress(i + 1, total)
        return paths
    with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
        futures = {pool.submit(_draw, job, formats): i for i, job in enumerate(jobs)}
        for done, future in enumerate(as_completed(futures), start=1):
            paths[futures[future]] = future.result()
            if progress is not None:
                progress(done, total)
    return paths


#: ``residual_fits(run_dir, results, codec=...)`` -> (Q–Q fits, reasons of skipped sequences)
ResidualFits = Callable[..., tuple[list, list[str]]]
#: ``compared_frames(run_dir, results, request)`` -> the frames of a visual comparison
CompareFrames = Callable[[Path, pd.DataFrame, "CompareRequest"], "ComparedFrames"]


def _anchor_first(codecs: Sequence[str], anchor: str) -> list[str]:
    """``codecs`` with ``anchor`` first, then the others in their order (the order of every
    figure's legend, :func:`vqabench.reports.style.codec_styles`)."""
    return [anchor, *[c for c in codecs if c != anchor]] if anchor in codecs else list(codecs)


def _compare_job(item: ComparedFrames, out: Path) -> FigureJob:
    """The figure job of a visual comparison (:mod:`vqabench.reports.compare`)."""
    from vqabench.reports import compare

    a, b = item.pick.points
    return FigureJob(
        compare.caption(item),
        out / f"compare_{slug(item.pick.sequence, a.codec, 'vs', b.codec)}",
        compare.compare_figure,
        pd.DataFrame(),
        {"item": item},
    )


def _sequence_metric_sections(
    results: pd.DataFrame, out: Path, sections: list[Section], *, codec_order: list[str]
) -> Path | None:
    """POVI Table 1 and the per-sequence tables of the run's sequence metrics
    (:mod:`vqabench.reports.seqmetrics`) appended to ``sections``, and
    ``sequence_metrics.csv``; None (nothing added) when the run has no sequence metric."""
    names = seqmetrics.sequence_metric_names(results)
    rows = seqmetrics.sequence_rows(results, names)
    if rows.empty:
        return None
    codecs = [c for c in codec_order if c in set(rows["codec"].astype(str))]
    n = rows["sequence"].nunique()
    against = str(rows["anchor"].iloc[0])
    sections.append(
        (
            f"Sequence metrics (VBench-style) per codec and rate point: mean ± std "
            f"and min–max over {n} sequences",
            seqmetrics.summary_table(rows, metrics=names, codecs=codecs),
            (
                "Each metric judges the decoded video alone (higher is better); std: "
                "sample standard deviation (n - 1); all values in "
                "sequence_metrics.csv.",
            ),
        )
    )
    for codec in codecs:
        point = seqmetrics.middle_rate_point(rows, codec)
        sections.append(
            (
                f"Sequence metrics per sequence: {codec} at {point} (its middle rate point by bpp)",
                seqmetrics.per_sequence_table(rows, metrics=names, codec=codec, rate_point=point),
                (),
            )
        )
    frame = seqmetrics.stats_frame(rows, metrics=names, codecs=codecs)
    return tables.write_csv(frame.assign(anchor=against), out / "sequence_metrics.csv")


def _figure_jobs(
    results: pd.DataFrame,
    run_dir: Path,
    out: Path,
    *,
    figures: str,
    anchor: str,
    codec_order: list[str],
    summary: pd.DataFrame,
    pairs: list[tuple[str, str]],
    sweep: tuple[str, dict[str, float]] | None,
    layout: str,
    residual_fits: ResidualFits | None = None,
) -> tuple[list[FigureJob], list[str]]:
    """The figures of ``figures`` (``summary`` or ``all``, module docstring), in the order
    the report shows them: averaged RD curves, RD curves per reference group (runs with
    groups), sweep, then (``all``) RD curves and R–Q fits per sequence, residual Q–Q,
    per-frame quality and coded size per frame; and the notes on figures left out (why a
    Q–Q figure is missing)."""
    from vqabench.reports import frameplots, groupplots, plots, qqreport, rqplot

    # one colour and marker per codec in every figure: the anchor first, then run order
    colors = plots.codec_styles(codec_order, anchor=anchor)
    # one anchor per figure (quality against S when it was measured), never mixed
    anchors = list(results["anchor"].unique())
    shown = "source" if "source" in anchors else anchors[0]
    shown_rows = results[results["anchor"] == shown]
    jobs = [
        FigureJob(
            f"Average RD curve: {metric} (against {shown})",
            out / f"rd_average_{slug(metric)}",
            plots.average_rd_figure,
            shown_rows[shown_rows["metric"] == metric],
            {"metric": metric, "colors": colors, "layout": layout},
        )
        for metric in sorted(shown_rows["metric"].unique())
    ]
    groups = groupplots.groups_of(shown_rows)  # the ptloss style's groups
    # in the summary set for UGC reference groups (their headline figure); other groups
    # (a dataset's classes) under "all" only, to keep the default report fast
    if groups and (figures == "all" or set(groups) <= set(REFERENCE_GROUPS)):
        jobs += [
            FigureJob(
                f"RD curves per group (the ptloss table's groups) and Overall: "
                f"{metric} (against {shown}; mean over each group's sequences)",
                out / f"rd_groups_{slug(metric)}",
                groupplots.group_rd_figure,
                shown_rows[shown_rows["metric"] == metric],
                {"metric": metric, "colors": colors, "layout": layout},
            )
            for metric in sorted(shown_rows["metric"].unique())
        ]
    if sweep is not None:
        ref = next((r for r, a in pairs if a == shown), None)
        points = (
            sweep_points(summary, sweep, reference=ref, anchor=shown)
            if ref is not None
            else pd.DataFrame()
        )
        if not points.empty:
            jobs.append(
                FigureJob(
                    f"BD-rate against {sweep[0]} (against {shown})",
                    out / f"sweep_{slug(sweep[0])}",
                    plots.sweep_figure,
                    points,
                    {"option": sweep[0], "anchor": anchor, "layout": layout},
                )
            )
    if figures != "all":
        return jobs, []
    for (seq, metric), part in shown_rows.groupby(["sequence", "metric"], sort=True):
        jobs.append(
            FigureJob(
                f"RD curve: {seq}, {metric} (against {shown})",
                out / f"rd_{slug(seq, metric)}",
                plots.rd_curve_figure,
                part,
                {"sequence": seq, "metric": metric, "colors": colors, "layout": layout},
            )
        )
        jobs.append(
            FigureJob(
                f"R–Q fits: {seq}, {metric} (against {shown}; per codec the model of highest R²)",
                out / f"rq_{slug(seq, metric)}",
                rqplot.rq_figure,
                part,
                {"sequence": seq, "metric": metric, "colors": colors, "layout": layout},
            )
        )
    fits, skipped = (
        residual_fits(run_dir, results, codec=anchor)
        if residual_fits
        else ([], ["none drawn: build_report had no residual_fits (vqabench report passes one)"])
    )
    notes = [f"Residual Q–Q figures: {reason}" for reason in skipped]
    for item in fits:
        jobs.append(
            FigureJob(
                qqreport.caption(item),
                out / f"qq_{slug(item.sequence)}",
                qqreport.qq_figure,
                results.iloc[:0],
                {"item": item},
            )
        )
    pf_path = run_dir / "per_frame.csv"
    if not pf_path.is_file():
        return jobs, notes
    per_frame = fold_references(pd.read_csv(pf_path, keep_default_na=False, na_values=[""]))
    per_frame = per_frame[per_frame["anchor"] == shown]
    for (seq, metric), part in per_frame.groupby(["sequence", "metric"], sort=True):
        jobs.append(
            FigureJob(
                f"Per-frame quality: {seq}, {metric} (against {shown})",
                out / f"frames_{slug(seq, metric)}",
                plots.per_frame_figure,
                part,
                {"sequence": str(seq), "metric": str(metric), "colors": colors},
            )
        )
    if frameplots.has_frame_rates(per_frame):  # coded size per frame, one per sequence
        for seq, part in per_frame.groupby("sequence", sort=True):
            jobs.append(
                FigureJob(
                    f"Coded size per frame: {seq}",
                    out / f"frame_bits_{slug(str(seq))}",
                    frameplots.frame_rate_figure,
                    part,
                    {"sequence": str(seq), "colors": colors},
                )
            )
    return jobs, notes


def build_report(
    run_dir: str | os.PathLike[str],
    *,
    anchor_codec: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    method: Method = "pchip",
    decimals: int = 2,
    figures: FigureSet | bool = "summary",
    nonmonotonic: Nonmonotonic = "reject",
    style: str = "default",
    formats: Sequence[str] = DEFAULT_FORMATS,
    seed: int = DEFAULT_SEED,
    layout: Layout = "one-column",
    embed_media: bool = False,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    residual_fits: ResidualFits | None = None,
    compare: CompareRequest | None = None,
    compared_frames: CompareFrames | None = None,
) -> Report:
    """Write the report of a run directory (see module docstring).

    Args:
        run_dir: folder with ``results.csv`` (and optionally ``per_frame.csv``,
            ``config.toml``).
        anchor_codec: codec BD-rates are computed against.
        out_dir: where to write (default ``RUN_DIR/report``).
        method: BD interpolation (``pchip``, ``cubic``, ``akima``).
        decimals: digits shown in tables (CSV keeps full precision).
        figures: figure set, one of :data:`FIGURE_SETS` (``summary``: averaged RD curves;
            ``all``: also every per-sequence figure; ``none``); True is ``summary``, False
            ``none``.
        nonmonotonic: ``"reject"`` (a non-monotonic curve gives NaN) or ``"pareto"`` (keep
            only its Pareto-optimal points, with a note).
        style: table layout, one of :data:`vqabench.reports.tables.STYLES`.
        formats: figure files written for each figure (PNG is always among them: the
            report pages show it).
        seed: of the bootstrap intervals.
        layout: size of the RD figures (``one-column`` or ``two-column``, see
            :data:`~vqabench.reports.plots.LAYOUTS`); per-frame figures are full width (7 in).
        embed_media: embed the figures in ``report.html`` (base64 PNG, self-contained) instead
            of linking the PNG files next to it.
        jobs: worker processes drawing the figures (:func:`render_figures`).
        progress: called with (figures done, figures in all) while drawing.
        residual_fits: ``residual_fits(run_dir, results, codec=anchor)`` -> (fits, skipped):
            the residual fits of the Q–Q figures under ``figures="all"``
            (:func:`vqabench.runner.residuals.run_residual_fits`, which ``vqabench report``
            passes: it decodes bitstreams, which this layer cannot); None: no Q–Q figures.
            The reasons of sequences left out are listed under the figures.
        compare: the visual comparison to draw (:mod:`vqabench.reports.compare`), with the
            figures of ``figures`` (not with ``none``).
        compared_frames: ``compared_frames(run_dir, results, compare)`` -> the frames
            (:func:`vqabench.runner.comparison.compared_frames`, which ``vqabench report``
            passes); needed with ``compare``.

    Returns:
        Report with the written paths.

    Raises:
        DatasetError: no results.csv; ConfigError: unknown anchor, method, figure set.
    """
    if isinstance(figures, bool):
        figures = "summary" if figures else "none"
    if figures not in FIGURE_SETS:
        raise invalid("figures", figures, " | ".join(FIGURE_SETS))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise invalid("jobs", jobs, "an integer >= 1")
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    if style not in tables.STYLES:
        raise invalid("style", style, " | ".join(tables.STYLES))
    formats = tuple(dict.fromkeys(["png", *formats]))
    check_figure_options(layout, formats)  # also for a tables-only report: no matplotlib
    if compare is not None and figures == "none":
        raise invalid(
            "compare",
            ",".join(compare.codecs),
            "a report with figures (--figures summary | all), not --figures none",
        )
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    if nonmonotonic not in ("reject", "pareto"):
        raise invalid("nonmonotonic", nonmonotonic, "reject | pareto")
    config = read_config(run_dir)
    raw = load_results(run_dir)
    results = fold_references(add_weighted_yuv(raw))
    anchor = choose_anchor(results, config, anchor_codec)
    comparison = None  # decoded before anything is written: a refusal leaves no half report
    if compare is not None:
        if compared_frames is None:
            raise invalid(
                "compared_frames",
                None,
                "a function that decodes the frames (vqabench.runner.comparison.compared_frames)",
            )
        comparison = compared_frames(run_dir, results, compare)
    per = per_sequence_bd_rate(
        results, anchor_codec=anchor, method=method, nonmonotonic=nonmonotonic
    )
    summary = add_uncertainty(summarize_bd_rate(per), per, seed=seed)
    times = time_ratios(results, anchor_codec=anchor)
    bd_csv = tables.write_csv(bdrate_frame(per, summary), out / "bdrate.csv")
    codec_order = list(dict.fromkeys(results["codec"].astype(str)))
    metric_order = list(dict.fromkeys(results["metric"].astype(str)))

    # (title, table, footnotes) sections, rendered three ways; the run's order of anchors,
    # codecs and metrics (the first anchor is the one the console summary shows)
    pairs = list(dict.fromkeys(zip(summary["reference"], summary["anchor"], strict=True)))
    pairs.sort(key=lambda p: list(dict.fromkeys(results["anchor"])).index(p[1]))
    dataset = config.get("dataset", {})
    dataset_name = dataset.get("name", "") if isinstance(dataset, dict) else ""
    sweep = codec_sweep(config)
    sections = _sections(
        style,
        per,
        summary,
        times,
        anchor=anchor,
        method=method,
        dataset=dataset_name or run_dir.name,
        pairs=pairs,
        codec_order=codec_order,
        metric_order=metric_order,
        decimals=decimals,
        complexity=loss_complexity(config) if style == "ptloss" else None,
        sweep=sweep,
        means=mean_quality(results) if style == "ptloss" else None,
    )
    seq_csv = _sequence_metric_sections(
        results, out, sections, codec_order=_anchor_first(codec_order, anchor)
    )
    rc_csv = _rate_control_sections(results, config, method, out, sections)
    excluded = per[per["reason"] != ""]

    figs: list[tuple[str, tuple[Path, ...]]] = []
    fig_notes: list[str] = []
    if figures != "none":
        fig_jobs, fig_notes = _figure_jobs(
            results,
            run_dir,
            out,
            figures=figures,
            anchor=anchor,
            codec_order=codec_order,
            summary=summary,
            pairs=pairs,
            sweep=sweep,
            layout=layout,
            residual_fits=residual_fits,
        )
        if comparison is not None:
            fig_jobs.append(_compare_job(comparison, out))
        drawn = render_figures(fig_jobs, formats, workers=jobs, progress=progress)
        figs = [(job.caption, paths) for job, paths in zip(fig_jobs, drawn, strict=True)]

    title = f"vqabench report: {run_dir.name}"
    intro = (
        f"Anchor codec: {anchor}. BD-rate method: {method}; negative = fewer bits than "
        f"the anchor at equal quality. Means are arithmetic over sequences"
        + (
            "; sequences whose BD-rate is undefined are listed under 'Excluded from the "
            "means' and left out."
            if not excluded.empty
            else "; every per-sequence BD-rate is defined."
        )
        + (
            " Non-monotonic curves keep only their Pareto-optimal points."
            if nonmonotonic == "pareto"
            else ""
        )
        + (f" Dataset: {dataset_name}." if dataset_name else "")
    )
    config_path = run_dir / "config.toml"
    prov = provenance_lines(
        config, raw, config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    )
    lists = [
        (
            "Excluded from the means",
            [f"{r.sequence} / {r.metric} / {r.codec}: {r.reason}" for r in excluded.itertuples()],
        )
    ]
    md, page, tex = write_pages(
        out,
        title=title,
        intro=intro,
        provenance=prov,
        sections=sections,
        decimals=decimals,
        label=slug(run_dir.name),
        lists=lists,
        figures=figs,
        figure_notes=fig_notes,
        embed_media=embed_media,
        tex_comment=f"anchor {anchor}; method {method}",
    )
    return Report(
        out_dir=out,
        markdown=md,
        html=page,
        latex=tex,
        bdrate_csv=bd_csv,
        figures=tuple(paths[0] for _, paths in figs),
        figure_files=tuple(p for _, paths in figs for p in paths),
        ratecontrol_csv=rc_csv,
        sequence_metrics_csv=seq_csv,
    )


def write_pages(
    out: Path,
    *,
    title: str,
    intro: str,
    provenance: Sequence[str],
    sections: Sequence[Section],
    decimals: int,
    label: str,
    lists: Sequence[tuple[str, Sequence[str]]] = (),
    figures: Sequence[tuple[str, tuple[Path, ...]]] = (),
    figure_notes: Sequence[str] = (),
    embed_media: bool = False,
    tex_comment: str = "",
) -> tuple[Path, Path, Path]:
    """Write ``report.md``, ``report.html`` and ``tables.tex`` of a report into ``out``.

    Args:
        sections: (heading, table, notes on the whole table), each rendered by
            :mod:`vqabench.reports.tables` in all three formats.
        label: prefix of the LaTeX labels (``tab:LABEL-1``...).
        lists: (heading, lines) shown after the tables when there are lines.
        figures: (caption, paths: PNG first) of each figure drawn.
        figure_notes: lines under the Figures heading, e.g. why a figure set was left out.
        embed_media: figures embedded in the HTML page (base64 PNG) instead of linked.
        tex_comment: what the first comment line of ``tables.tex`` adds after the title.

    Returns:
        The three paths (Markdown, HTML, LaTeX).
    """
    md = [f"# {title}", "", intro, "", "## Provenance", "", *[f"- {p}" for p in provenance], ""]
    tex = [
        f"% {title}" + (f"; {tex_comment}" if tex_comment else "") + "; needs "
        "\\usepackage{booktabs} and \\usepackage{threeparttable}",
        *[f"% {p}" for p in provenance],
        "",
    ]
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(intro)}</p>",
        "<h2>Provenance</h2>",
        "<ul>",
        *[f"<li>{html.escape(p)}</li>" for p in provenance],
        "</ul>",
    ]
    for i, (heading, table, foot) in enumerate(sections):
        md += [f"## {heading}", "", tables.to_markdown(table, decimals=decimals, notes=foot)]
        tex.append(
            tables.to_latex(
                table, decimals=decimals, caption=heading, notes=foot, label=f"tab:{label}-{i + 1}"
            )
        )
        body += [
            f"<h2>{html.escape(heading)}</h2>",
            tables.to_html(table, decimals=decimals, notes=foot),
        ]
    for heading, lines in lists:
        if not lines:
            continue
        md += [f"## {heading}", ""] + [f"- {n}" for n in lines] + [""]
        body += [f"<h2>{html.escape(heading)}</h2>", "<ul>"]
        body += [f"<li>{html.escape(n)}</li>" for n in lines] + ["</ul>"]
    if figures or figure_notes:
        md += ["## Figures", ""] + [f"- {n}" for n in figure_notes]
        md += [""] if figure_notes else []
        body.append("<h2>Figures</h2>")
        if figure_notes:
            body += ["<ul>", *[f"<li>{html.escape(n)}</li>" for n in figure_notes], "</ul>"]
        for caption, paths in figures:
            path = paths[0]
            vector = ", ".join(f"[{p.suffix[1:].upper()}]({p.name})" for p in paths[1:])
            md += [f"![{caption}]({path.name})" + (f" ({vector})" if vector else ""), ""]
            src = (
                f"data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"
                if embed_media
                else html.escape(path.name)
            )
            body.append(
                f'<figure><img alt="{html.escape(caption)}" src="{src}"><figcaption>'
                f"{html.escape(caption)}</figcaption></figure>"
            )
    css = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 8px;"
        "border-bottom:1px solid #ccc}td.num{text-align:right}"
        "tfoot td{border:0;font-size:90%;text-align:left}"
        "caption{font-weight:bold}img{max-width:100%}"
    )
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return (
        tables.write_text(out / "report.md", "\n".join(md)),
        tables.write_text(out / "report.html", page),
        tables.write_text(out / "tables.tex", "\n".join(tex)),
    )
