"""``vqabench report`` and ``vqabench leaderboard``: flags mapped onto vqabench.reports."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from vqabench.cli.app import app, console

__all__ = ["report", "leaderboard"]


@app.command("report")
def report(
    run_dir: Path = typer.Argument(..., help="Run directory written by `vqabench run`."),
    anchor: str = typer.Option(None, "--anchor", metavar="CODEC",
                               help="Anchor codec (default: [run] anchor "
                               "in config.toml, else the first codec)."),
    out: Path = typer.Option(None, "--out", metavar="DIR",
                             help="Output folder (default: RUN_DIR/report)."),
    method: str = typer.Option("pchip", "--method", metavar="METHOD",
                               help="BD interpolation: pchip | cubic | "
                               "akima."),
    figures: str = typer.Option("summary", "--figures", metavar="none|summary|all",
                                help="Figure set: summary (averaged RD curves, the default) | "
                                "all (also RD curves and per-frame plots of every sequence: "
                                "most of a report's time) | none (tables only)."),
    no_figures: bool = typer.Option(False, "--no-figures", help="Same as --figures none."),
    embed_media: bool = typer.Option(False, "--embed-media",
                                     help="Embed the figures in report.html (self-contained, "
                                     "about 130 kB per figure) instead of linking the PNG "
                                     "files next to it."),
    jobs: int = typer.Option(None, "--jobs", metavar="N",
                             help="Processes drawing figures (default: CPU cores)."),
    nonmonotonic: str = typer.Option("reject", "--nonmonotonic", metavar="reject|pareto",
                                     help="A curve that is not strictly monotonic: reject "
                                     "(BD-rate n/a, listed) or pareto (keep its "
                                     "Pareto-optimal points, with a note)."),
    style: str = typer.Option("default", "--style", metavar="STYLE",
                              help="Table layout: default | ptloss (PT-Loss Table I) | glvc "
                              "(GLVC Table 4) | clic (CLIC Tables I-III)."),
    formats: str = typer.Option("png,pdf", "--formats", metavar="FMT,...",
                                help="Figure formats, comma-separated, of png, pdf, svg "
                                "(png always)."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of the bootstrap intervals."),
    layout: str = typer.Option("one-column", "--layout", metavar="LAYOUT",
                               help="RD figure size: one-column (3.5 in) | two-column "
                               "(7 in)."),
) -> None:
    """Write report.md, report.html, tables.tex, bdrate.csv and figures for a run; a progress
    bar on stderr while the figures are drawn."""
    started = time.perf_counter()
    from vqabench.cli.run import BarFeed
    from vqabench.config import default_jobs
    from vqabench.reports import build_report
    from vqabench.runner.residuals import run_residual_fits

    feed = BarFeed("vqabench report: figures", "figures")
    try:
        result = build_report(run_dir, anchor_codec=anchor, out_dir=out, method=method,
                              figures="none" if no_figures else figures,
                              nonmonotonic=nonmonotonic, style=style, seed=seed, layout=layout,
                              formats=[f.strip() for f in formats.split(",") if f.strip()],
                              embed_media=embed_media,
                              jobs=default_jobs() if jobs is None else jobs,
                              progress=feed.both, residual_fits=run_residual_fits)
    finally:
        feed.stop()
    console.print(f"report written to {result.out_dir} ({result.markdown.name}, "
                  f"{result.html.name}, {result.latex.name}, {result.bdrate_csv.name}, "
                  f"{len(result.figures)} figures) in {time.perf_counter() - started:.1f} s",
                  markup=False, highlight=False)


@app.command("leaderboard")
def leaderboard(
    run_dirs: list[Path] = typer.Argument(..., metavar="RUN_DIR...",
                                          help="One or more run directories."),
    out: Path = typer.Option(..., "--out", help="CSV to write, e.g. "
                             "results/leaderboard/NAME.csv (provenance in NAME.csv.json)."),
    anchor: str = typer.Option(None, "--anchor", help="Anchor codec."),
    method: str = typer.Option("pchip", "--method", help="pchip | cubic | akima."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap intervals."),
) -> None:
    """Write a citable leaderboard CSV (one BD-rate per cell) with a provenance sidecar."""
    from vqabench.reports import build_leaderboard

    result = build_leaderboard(run_dirs, out=out, anchor_codec=anchor, method=method,
                               seed=seed)
    console.print(f"leaderboard written to {result.csv} (provenance: {result.provenance})")
