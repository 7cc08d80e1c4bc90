"""``vqabench correlate`` and ``vqabench rq``: flags mapped onto vqabench.evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vqabench.cli.app import app, console
from vqabench.errors import DatasetError, invalid

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["correlate", "rq"]


def _read_csv(path: Path):  # -> pandas.DataFrame (pandas imported lazily)
    if not path.is_file():
        raise DatasetError(f"CSV file {str(path)!r} does not exist")
    import pandas as pd

    return pd.read_csv(path)


def _print_table(table, fmt: str, caption: str | None) -> None:
    from vqabench.reports.tables import to_latex, to_markdown

    if fmt == "csv":
        typer.echo(table.to_csv(index=False, lineterminator="\n"), nl=False)
    elif fmt == "latex":
        typer.echo(to_latex(table, decimals=4, caption=caption), nl=False)
    elif fmt == "md":  # echo, not the rich console: long table rows must not wrap
        typer.echo(to_markdown(table, decimals=4, caption=caption))
    else:
        raise invalid("format", fmt, "md | latex | csv")


def _correlate_run(
    run_dir: Path,
    label: str,
    metrics: list[str],
    by: str | None,
    fit: str,
    bootstrap: int,
    compare_bootstrap: int,
    seed: int,
    fmt: str,
    out: Path | None,
    force: bool = False,
) -> None:
    from vqabench.evaluation import load_results
    from vqabench.evaluation.correlation import (
        comparison_table,
        correlation_by,
        items_from_results,
    )
    from vqabench.reports.tables import write_csv

    results = load_results(run_dir)
    if by not in (None, "codec", "group", "dataset", "sequence"):
        raise invalid("by", by, "codec | group | dataset | sequence")
    if by == "dataset":
        from vqabench.reports.report import read_config

        dataset = read_config(run_dir).get("dataset", {})
        name = dataset.get("name") if isinstance(dataset, dict) else None
        results = results.assign(dataset=str(name or Path(run_dir).name))
    name, sep, path = label.partition("=")
    if sep:  # NAME=SCORES.csv: a study's scores of metric NAME
        from vqabench.studies.design import check_scores_run

        scores = _read_csv(Path(path))
        for note in check_scores_run(Path(path), run_dir, force=force):
            typer.echo(f"note: {note}", err=fmt == "csv")  # stdout stays CSV
        if "metric" in scores.columns:
            scores = scores[scores["metric"].astype(str) == name]
        if scores.empty:
            raise invalid("label", label, f"a scores file with metric {name!r} rows")
        truth = scores
    else:  # NAME@ANCHOR: a metric of the same run as proxy ground truth
        truth = label
    items = items_from_results(
        results,
        metrics,
        label=truth,
        extra=[c for c in ("group", "dataset") if c in results.columns],
    )
    fit_kind = None if fit == "none" else fit
    table = correlation_by(
        items, metrics=metrics, by=by, fit=fit_kind, bootstrap=bootstrap, seed=seed
    )
    compare = (
        comparison_table(items, metrics=metrics, by=by, bootstrap=compare_bootstrap, seed=seed)
        if len(metrics) > 1
        else None
    )
    what = f"against {label}; PLCC/RMSE after {fit_kind or 'no'} mapping"
    _print_table(table, fmt, f"Correlation {what}")
    if compare is not None:
        _print_table(
            compare,
            fmt,
            "SROCC differences between metrics (same items): Williams' test and paired bootstrap",
        )
    if out is not None:
        write_csv(table, out)
        if compare is not None:
            write_csv(compare, out.with_name(out.stem + "_comparisons.csv"))


@app.command("correlate")
def correlate(
    source: Path = typer.Argument(..., help="A run directory, or a CSV with one row per item."),
    label: str = typer.Option(
        ...,
        "--label",
        help="Run: NAME=STUDY/analysis/scores.csv or "
        "METRIC@ANCHOR (proxy ground truth). CSV: the label column.",
    ),
    metrics: str = typer.Option(
        ...,
        "--metrics",
        help="Comma-separated metrics (run: NAME@ANCHOR, anchor default source; CSV: columns).",
    ),
    by: str = typer.Option(None, "--by", help="Run: also per codec | group | dataset | sequence."),
    fit: str = typer.Option(
        None,
        "--fit",
        help="logistic4 | logistic5 | none before "
        "PLCC/RMSE (run default logistic4; CSV default none).",
    ),
    label_std: str = typer.Option(
        None, "--label-std", help="CSV: column of per-item label std (for the outlier ratio)."
    ),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples for CIs."),
    compare_bootstrap: int = typer.Option(
        1000, "--compare-bootstrap", help="Run: bootstrap resamples of the test between metrics."
    ),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    fmt: str = typer.Option("md", "--format", help="Printed table: md | latex | csv."),
    out: Path = typer.Option(
        None,
        "--out",
        help="Also write the table as CSV here (run: "
        "and the comparisons next to it, *_comparisons.csv).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Run with a study's scores: join them "
        "even when the run is not one the study was made from "
        "(noted in the output).",
    ),
) -> None:
    """SROCC, KROCC, PLCC, RMSE (and outlier ratio, CIs) of metrics against labels."""
    from vqabench.evaluation import correlation_table
    from vqabench.reports.tables import write_csv

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if source.is_dir():
        _correlate_run(
            source,
            label,
            names,
            by,
            fit or "logistic4",
            bootstrap,
            compare_bootstrap,
            seed,
            fmt,
            out,
            force,
        )
        return
    if by is not None:
        raise invalid("by", by, "no --by with a CSV (give a run directory)")
    table = correlation_table(
        _read_csv(source),
        label=label,
        metrics=names,
        fit=None if fit == "none" else fit,
        label_std=label_std,
        bootstrap=bootstrap,
        seed=seed,
    )
    _print_table(table, fmt, None)
    if out is not None:
        write_csv(table, out)


@app.command("rq")
def rq(
    run_dir: Path = typer.Argument(..., help="Run directory (or results.csv)."),
    axis: str = typer.Option(
        "quality",
        "--axis",
        help="quality: quality against rate "
        "(linear, logarithmic, exponential R-D fits); parameter: rate "
        "against the coding parameter (QP, CRF, level; RQ-LVC models).",
    ),
    level: str = typer.Option(
        "sequence",
        "--level",
        help="With --axis parameter: sequence "
        "(kbps per rate point) or frame (bits of every frame).",
    ),
    out: Path = typer.Option(None, "--out", help="Also write the fits as CSV here."),
    figures: Path = typer.Option(
        None,
        "--figures",
        metavar="DIR",
        help="With --axis quality: "
        "also draw per sequence and metric the measured points and "
        "each codec's best fitted model with its R² "
        "(rq_[REFERENCE_ANCHOR_]SEQUENCE_METRIC.png) in this folder.",
    ),
) -> None:
    """Fit R-Q models per sequence with R²: quality vs rate, or rate vs coding parameter."""
    from vqabench.errors import invalid
    from vqabench.evaluation import fit_rq_table, load_results
    from vqabench.evaluation.rq import fit_rp_table, rate_parameter_points, rp_table
    from vqabench.reports.tables import to_markdown, write_csv

    if axis not in ("quality", "parameter"):
        raise invalid("--axis", axis, "quality | parameter")
    results = load_results(run_dir)
    if axis == "quality":
        if level != "sequence":
            raise invalid(
                "--level",
                level,
                "sequence with --axis quality (frame-level fits "
                "are rate against parameter: --axis parameter)",
            )
        table = fit_rq_table(results)
        console.print(to_markdown(table, decimals=4), markup=False)
        if figures is not None:
            _rq_figures(results, figures)
    elif figures is not None:
        raise invalid("--figures", str(figures), "a folder with --axis quality only")
    else:
        per_frame = None
        if level == "frame":
            pf_path = (run_dir if run_dir.is_dir() else run_dir.parent) / "per_frame.csv"
            per_frame = _read_csv(pf_path)
        table = fit_rp_table(rate_parameter_points(results, per_frame, level=level))
        unit = "kbps per sequence" if level == "sequence" else "bits per frame"
        console.print(
            f"R² of rate ({unit}) against the coding parameter; Best = highest R²", markup=False
        )
        console.print(to_markdown(rp_table(table), decimals=4), markup=False)
    if out is not None:
        write_csv(table, out)


def _rq_figures(results: pd.DataFrame, folder: Path) -> None:
    """One R–Q figure per (reference, anchor, sequence, metric) as PNG in ``folder``."""
    from vqabench.reports.plots import codec_styles, save_figure
    from vqabench.reports.report import slug
    from vqabench.reports.rqplot import rq_figure

    folder.mkdir(parents=True, exist_ok=True)
    colors = codec_styles(list(dict.fromkeys(results["codec"].astype(str))))
    keys = ["reference", "anchor", "sequence", "metric"]
    for (ref, anchor, seq, metric), part in results.groupby(keys, sort=True):
        prefix = () if (ref, anchor) == ("source", "source") else (str(ref), str(anchor))
        fig = rq_figure(part, sequence=str(seq), metric=str(metric), colors=colors)
        save_figure(fig, folder / f"rq_{slug(*prefix, str(seq), str(metric))}", ("png",))
    console.print(f"R–Q figures written to {folder}", markup=False)
