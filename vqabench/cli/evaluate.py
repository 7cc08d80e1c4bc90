"""``vqabench correlate`` and ``vqabench rq``: flags mapped onto vqabench.evaluation."""

from __future__ import annotations

from pathlib import Path

import typer

from vqabench.cli.app import app, console
from vqabench.errors import DatasetError

__all__ = ["correlate", "rq"]


def _read_csv(path: Path):  # -> pandas.DataFrame (pandas imported lazily)
    if not path.is_file():
        raise DatasetError(f"CSV file {str(path)!r} does not exist")
    import pandas as pd

    return pd.read_csv(path)


@app.command("correlate")
def correlate(
    csv: Path = typer.Argument(..., help="CSV with one row per item."),
    label: str = typer.Option(..., "--label", help="Column of subjective scores (MOS)."),
    metrics: str = typer.Option(..., "--metrics", help="Comma-separated metric columns."),
    fit: str = typer.Option(None, "--fit", help="logistic4 | logistic5 before PLCC/RMSE."),
    label_std: str = typer.Option(None, "--label-std", help="Column of per-item label std "
                                  "(for the outlier ratio)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap resamples for CIs."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    out: Path = typer.Option(None, "--out", help="Also write the table as CSV here."),
) -> None:
    """SROCC, KROCC, PLCC, RMSE (and outlier ratio, CIs) of metric columns against labels."""
    from vqabench.evaluation import correlation_table
    from vqabench.reports.tables import to_markdown, write_csv

    table = correlation_table(_read_csv(csv), label=label,
                              metrics=[m.strip() for m in metrics.split(",") if m.strip()],
                              fit=fit, label_std=label_std, bootstrap=bootstrap, seed=seed)
    console.print(to_markdown(table, decimals=4), markup=False)
    if out is not None:
        write_csv(table, out)


@app.command("rq")
def rq(
    run_dir: Path = typer.Argument(..., help="Run directory (or results.csv)."),
    out: Path = typer.Option(None, "--out", help="Also write the fits as CSV here."),
) -> None:
    """Fit linear, logarithmic and exponential rate-quality models per sequence (R²)."""
    from vqabench.evaluation import fit_rq_table, load_results
    from vqabench.reports.tables import to_markdown, write_csv

    table = fit_rq_table(load_results(run_dir))
    console.print(to_markdown(table, decimals=4), markup=False)
    if out is not None:
        write_csv(table, out)
