"""GLVC paper, Table 4, from several runs: the BD-rate of DISTS and LPIPS per dataset, one
anchor, one table (``vqabench report RUN1 RUN2 ... --style glvc --out DIR``).

Each run is one dataset (its ``[dataset] name``; a ``dataset`` column in results.csv splits a
run into several). Two runs of one dataset name are told apart by their folder names
(``mini (run-a)``). Per dataset, BD-rates are computed per sequence against the one anchor
codec and averaged (:func:`~vqabench.evaluation.aggregate.summarize_bd_rate`), with the 95 %
bootstrap interval and the Wilcoxon p-value (:func:`~vqabench.evaluation.uncertainty.
add_uncertainty`).

Refused, by name: a run without the anchor codec, and runs whose definitions of DISTS or LPIPS
differ (backbone, version, options: :func:`~vqabench.reports.definitions.check_mergeable`,
the leaderboard's rule): their numbers are not the same measurement.

Writes into ``out_dir`` (required: several runs have no run folder of their own):
``report.md``, ``report.html``, ``tables.tex`` (the table, then the uncertainty of each
dataset's means) and ``bdrate.csv`` (the rows of :func:`~vqabench.reports.report.build_report`'s
bdrate.csv for the table's metrics, with ``dataset`` and ``run`` columns first). No figures.

Example:
    >>> build_glvc_report(["runs/uvg", "runs/mcl"], out_dir="reports/glvc").markdown
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vqabench.errors import ConfigError, invalid
from vqabench.evaluation.aggregate import (
    OVERALL,
    fold_references,
    load_results,
    per_sequence_bd_rate,
    summarize_bd_rate,
)
from vqabench.evaluation.bdrate import METHODS, Method, Nonmonotonic
from vqabench.evaluation.uncertainty import DEFAULT_SEED, add_uncertainty
from vqabench.reports import tables
from vqabench.reports.definitions import check_mergeable, run_definitions, run_ffmpeg_build
from vqabench.reports.figspec import check_figure_options
from vqabench.reports.report import (
    Report,
    Section,
    bdrate_frame,
    choose_anchor,
    read_config,
    write_pages,
)

__all__ = ["GLVC_METRICS", "DatasetSummary", "build_glvc_report", "several_runs_report"]

#: The table's metrics, in column order.
GLVC_METRICS: tuple[str, ...] = ("dists", "lpips")


@dataclass(frozen=True)
class DatasetSummary:
    """The BD-rates of one dataset of one run."""

    label: str  # the table's column prefix
    run: str  # the run folder's name
    per: pd.DataFrame  # per-sequence BD-rates
    summary: pd.DataFrame  # means with intervals


def _datasets(
    results: pd.DataFrame, config: dict[str, object], run: str
) -> list[tuple[str, pd.DataFrame]]:
    """(dataset name, rows) of one run: by its ``dataset`` column, else its config."""
    if "dataset" in results.columns:
        names = results["dataset"].fillna("").astype(str)
        if (names != "").all():
            return [(str(n), results[names == n]) for n in dict.fromkeys(names)]
    ds = config.get("dataset", {})
    name = ds.get("name") if isinstance(ds, dict) else None
    return [(str(name or run), results)]


def _label(names: list[tuple[str, str]]) -> list[str]:
    """Column labels of (dataset, run) pairs: the dataset, with the run when two runs share
    a dataset name."""
    runs_of: dict[str, set[str]] = {}
    for dataset, run in names:
        runs_of.setdefault(dataset, set()).add(run)
    return [f"{d} ({r})" if len(runs_of[d]) > 1 else d for d, r in names]


def build_glvc_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None,
    anchor_codec: str | None = None,
    method: Method = "pchip",
    nonmonotonic: Nonmonotonic = "reject",
    seed: int = DEFAULT_SEED,
    decimals: int = 2,
) -> Report:
    """Write the GLVC table of several runs (see module docstring).

    Args:
        run_dirs: run folders, in column order.
        out_dir: where to write; required.
        anchor_codec: the anchor of every run (default: the first run's anchor, see
            :func:`~vqabench.reports.report.choose_anchor`).
        method, nonmonotonic, seed, decimals: as for
            :func:`~vqabench.reports.report.build_report`.

    Raises:
        ConfigError: no ``out_dir``; a run without the anchor; runs whose DISTS or LPIPS
            definitions differ; no run with DISTS or LPIPS; unknown method.
        DatasetError: a folder without results.csv.
    """
    if out_dir is None:
        raise invalid(
            "out",
            None,
            "a folder (--out DIR): a report of several runs has no "
            "run folder of its own to write into",
        )
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    if nonmonotonic not in ("reject", "pareto"):
        raise invalid("nonmonotonic", nonmonotonic, "reject | pareto")
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        raise invalid("run_dirs", [], "one or more run folders")
    loaded = [(d, read_config(d), fold_references(load_results(d))) for d in dirs]
    present = set().union(*(set(r["metric"]) for _, _, r in loaded))
    shown = [m for m in GLVC_METRICS if m in present]
    if not shown:
        raise invalid(
            "style",
            "glvc",
            f"runs with {' or '.join(GLVC_METRICS)} (the GLVC "
            f"table's metrics); these runs have {', '.join(sorted(present))}",
        )
    anchor = choose_anchor(loaded[0][2], loaded[0][1], anchor_codec)
    lacking = [
        f"{d.name!r} ({', '.join(dict.fromkeys(r['codec']))})"
        for d, _, r in loaded
        if anchor not in set(r["codec"])
    ]
    if lacking:
        raise ConfigError(
            f"anchor={anchor!r} is not a codec of run(s) {'; '.join(lacking)}; "
            "every run of one GLVC table needs the same anchor: run it there, "
            "or pass --anchor with a codec every run has"
        )
    definitions = []
    for d, config, results in loaded:
        text = (
            (d / "config.toml").read_text(encoding="utf-8") if (d / "config.toml").is_file() else ""
        )
        measured = [m for m in shown if m in set(results["metric"])]
        definitions.append(
            (d.name, run_definitions(config, measured, ffmpeg_build=run_ffmpeg_build(text)))
        )
    check_mergeable(definitions, into="one GLVC table")

    parts = [
        (name, d.name, rows[rows["metric"].isin(shown)])
        for d, config, results in loaded
        for name, rows in _datasets(results, config, d.name)
    ]
    labels = _label([(name, run) for name, run, _ in parts])
    datasets = []
    for label, (_, run, rows) in zip(labels, parts, strict=True):
        per = per_sequence_bd_rate(
            rows, anchor_codec=anchor, method=method, nonmonotonic=nonmonotonic
        )
        datasets.append(
            DatasetSummary(
                label,
                run,
                per,
                add_uncertainty(summarize_bd_rate(per, by_group=False), per, seed=seed),
            )
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = pd.concat(
        [bdrate_frame(s.per, s.summary).assign(dataset=s.label, run=s.run) for s in datasets],
        ignore_index=True,
    )
    csv = csv[["dataset", "run", *[c for c in csv.columns if c not in ("dataset", "run")]]]
    bd_csv = tables.write_csv(csv, out / "bdrate.csv")
    codecs = [c for c in dict.fromkeys(c for _, _, r in loaded for c in r["codec"]) if c != anchor]
    sections = _sections(datasets, anchor=anchor, method=method, codecs=codecs)
    excluded = [
        f"{s.label}: {r.sequence} / {r.metric} / {r.codec}: {r.reason}"
        for s in datasets
        for r in s.per[s.per["reason"] != ""].itertuples()
    ]
    prov = [
        f"Run {s.run!r}: dataset {s.label}, {s.per['sequence'].nunique()} sequence(s)"
        for s in datasets
    ]
    prov += [
        f"{metric} in {run!r}: {definition['id']}"
        for run, defs in definitions
        for metric, definition in defs.items()
    ]
    title = f"vqabench report: GLVC table of {len(dirs)} run(s)"
    intro = (
        f"Anchor codec: {anchor} in every run. BD-rate method: {method}; negative = "
        "fewer bits than the anchor at equal quality (DISTS and LPIPS: lower is better, "
        "handled). Each cell is the mean over the dataset's sequences; sequences whose "
        "BD-rate is undefined are listed under 'Excluded from the means' and left out."
    )
    md, page, tex = write_pages(
        out,
        title=title,
        intro=intro,
        provenance=prov,
        sections=sections,
        decimals=decimals,
        label="glvc",
        lists=[("Excluded from the means", excluded)],
        tex_comment=f"anchor {anchor}; method {method}",
    )
    return Report(out_dir=out, markdown=md, html=page, latex=tex, bdrate_csv=bd_csv, figures=())


def several_runs_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    style: str,
    figures: str,
    compare: object | None = None,
    layout: str = "one-column",
    formats: Sequence[str] = ("png",),
    **options: object,
) -> Report:
    """The report of several runs (``vqabench report RUN1 RUN2 ...``): the GLVC table
    (:func:`build_glvc_report` with ``options``), the one layout that merges runs.

    Raises:
        ConfigError: another ``style``; ``figures="all"`` or a visual comparison (figures
            are drawn from one run's rows); an unknown ``layout`` or format (checked as for
            one run); and what :func:`build_glvc_report` refuses.
    """
    check_figure_options(layout, formats)
    if style != "glvc":
        raise invalid(
            "style",
            style,
            "glvc with several runs (the one layout that merges runs; other styles take one run)",
        )
    if figures == "all" or compare is not None:
        what = "compare" if compare is not None else "figures"
        raise invalid(
            what,
            "all" if what == "figures" else "A,B",
            "none with several runs "
            "(a GLVC report of several runs is tables only; draw figures per run)",
        )
    return build_glvc_report(run_dirs, **options)  # type: ignore[arg-type]


def _sections(
    datasets: list[DatasetSummary], *, anchor: str, method: str, codecs: list[str]
) -> list[Section]:
    """The GLVC table and the uncertainty table of each (reference, anchor) pair."""
    combined = pd.concat(
        [s.summary[s.summary["group"] == OVERALL].assign(group=s.label) for s in datasets],
        ignore_index=True,
    )
    pairs = list(dict.fromkeys(zip(combined["reference"], combined["anchor"], strict=True)))
    sections: list[Section] = []
    for ref, anc in pairs:
        where = f"reference={ref}, quality measured against {anc}"
        summaries = {s.label: s.summary for s in datasets}
        table = tables.glvc_table(summaries, reference=ref, anchor=anc, codecs=codecs)
        sections.append(
            (
                f"Perceptual BD-rate (%) vs {anchor} per dataset, {method} ({where})",
                tables.layout_notes(table, combined, reference=ref, anchor=anc),
                ("Mean over each dataset's sequences; n/a: no defined BD-rate.",),
            )
        )
        unc = tables.uncertainty_table(combined, reference=ref, anchor=anc)
        noted = tables.layout_notes(unc, combined, reference=ref, anchor=anc)
        sections.append(
            (
                f"Uncertainty of the mean BD-rate (%) vs {anchor}: 95 % bootstrap "
                f"interval over sequences, Wilcoxon signed-rank p ({where})",
                tables.NotedTable(
                    noted.cells.rename(columns={"Group": "Dataset"}), noted.marks, noted.notes
                ),
                (),
            )
        )
    return sections
