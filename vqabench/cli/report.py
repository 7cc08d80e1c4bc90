"""``vqabench report`` and ``vqabench leaderboard``: flags mapped onto vqabench.reports."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from vqabench.cli.app import app, console

__all__ = ["report", "leaderboard"]


@app.command("report")
def report(
    run_dirs: list[Path] = typer.Argument(
        ...,
        metavar="RUN_DIR...",
        help="Run directory written by `vqabench run`; "
        "several with --style glvc (one table, a "
        "dataset per run; needs --out, tables only).",
    ),
    anchor: str = typer.Option(
        None,
        "--anchor",
        metavar="CODEC",
        help="Anchor codec (default: [run] anchor in config.toml, else the first codec).",
    ),
    out: Path = typer.Option(
        None,
        "--out",
        metavar="DIR",
        help="Output folder (default: RUN_DIR/report; required with several runs).",
    ),
    method: str = typer.Option(
        "pchip", "--method", metavar="METHOD", help="BD interpolation: pchip | cubic | akima."
    ),
    figures: str = typer.Option(
        "summary",
        "--figures",
        metavar="none|summary|all",
        help="Figure set: summary (averaged RD curves, and per "
        "reference group Low/Medium/High with Overall in UGC runs; "
        "the default) | all (also per group of other groups, RD "
        "curves, R-Q fits, residual Q-Q and per-frame plots of every "
        "sequence: most of a report's time) | none (tables only).",
    ),
    no_figures: bool = typer.Option(False, "--no-figures", help="Same as --figures none."),
    embed_media: bool = typer.Option(
        False,
        "--embed-media",
        help="Embed the figures in report.html (self-contained, "
        "about 130 kB per figure) instead of linking the PNG "
        "files next to it.",
    ),
    jobs: int = typer.Option(
        None, "--jobs", metavar="N", help="Processes drawing figures (default: CPU cores)."
    ),
    nonmonotonic: str = typer.Option(
        "reject",
        "--nonmonotonic",
        metavar="reject|pareto",
        help="A curve that is not strictly monotonic: reject "
        "(BD-rate n/a, listed) or pareto (keep its "
        "Pareto-optimal points, with a note).",
    ),
    style: str = typer.Option(
        "default",
        "--style",
        metavar="STYLE",
        help="Table layout: default | ptloss (PT-Loss Table I) | glvc "
        "(GLVC Table 4: DISTS/LPIPS BD-rate per dataset, one or several "
        "runs) | clic (CLIC Tables I-III). Every style adds the "
        "sequence metrics (POVI Table 1: mean ± std, min-max over "
        "sequences) when the run measured any.",
    ),
    formats: str = typer.Option(
        "png,pdf",
        "--formats",
        metavar="FMT,...",
        help="Figure formats, comma-separated, of png, pdf, svg (png always).",
    ),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of the bootstrap intervals."),
    layout: str = typer.Option(
        "one-column",
        "--layout",
        metavar="LAYOUT",
        help="RD figure size: one-column (3.5 in) | two-column (7 in).",
    ),
    compare: str = typer.Option(
        None,
        "--compare",
        metavar="A,B",
        help="Also draw a visual comparison of codecs A and B: the "
        "same textured crop of the source and both decoded frames at "
        "the rate points whose bpp are closest, with bpp, PSNR-Y and "
        "VMAF (decodes two bitstreams).",
    ),
    sequence: str = typer.Option(
        None, "--sequence", metavar="NAME", help="Sequence of --compare (default: the run's first)."
    ),
    frame: int = typer.Option(
        None, "--frame", metavar="N", help="Frame of --compare, from 0 (default: the middle one)."
    ),
) -> None:
    """Write report.md, report.html, tables.tex, bdrate.csv and figures for a run (several
    runs: the GLVC table only); a progress bar on stderr while the figures are drawn."""
    started = time.perf_counter()
    from vqabench.cli.run import BarFeed
    from vqabench.config import default_jobs
    from vqabench.reports import build_report
    from vqabench.reports.compare import compare_request
    from vqabench.reports.glvc import several_runs_report
    from vqabench.runner.comparison import compared_frames
    from vqabench.runner.residuals import run_residual_fits

    request = compare_request(compare, sequence=sequence, frame=frame)
    figure_set = "none" if no_figures else figures
    formats_list = [f.strip() for f in formats.split(",") if f.strip()]
    if len(run_dirs) > 1:
        result = several_runs_report(
            run_dirs,
            style=style,
            figures=figure_set,
            compare=request,
            layout=layout,
            formats=formats_list,
            out_dir=out,
            anchor_codec=anchor,
            method=method,
            nonmonotonic=nonmonotonic,
            seed=seed,
        )
    else:
        feed = BarFeed("vqabench report: figures", "figures")
        try:
            result = build_report(
                run_dirs[0],
                anchor_codec=anchor,
                out_dir=out,
                method=method,
                figures=figure_set,
                nonmonotonic=nonmonotonic,
                style=style,
                seed=seed,
                layout=layout,
                formats=formats_list,
                embed_media=embed_media,
                jobs=default_jobs() if jobs is None else jobs,
                progress=feed.both,
                residual_fits=run_residual_fits,
                compare=request,
                compared_frames=compared_frames,
            )
        finally:
            feed.stop()
    console.print(
        f"report written to {result.out_dir} ({result.markdown.name}, "
        f"{result.html.name}, {result.latex.name}, {result.bdrate_csv.name}, "
        f"{len(result.figures)} figures) in {time.perf_counter() - started:.1f} s",
        markup=False,
        highlight=False,
    )


@app.command("leaderboard")
def leaderboard(
    run_dirs: list[Path] = typer.Argument(
        ..., metavar="RUN_DIR...", help="One or more run directories."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="CSV to write, e.g. results/leaderboard/NAME.csv (provenance in NAME.csv.json).",
    ),
    anchor: str = typer.Option(None, "--anchor", help="Anchor codec."),
    method: str = typer.Option("pchip", "--method", help="pchip | cubic | akima."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap intervals."),
) -> None:
    """Write a citable leaderboard CSV (one BD-rate per cell) with a provenance sidecar."""
    from vqabench.reports import build_leaderboard

    result = build_leaderboard(run_dirs, out=out, anchor_codec=anchor, method=method, seed=seed)
    console.print(f"leaderboard written to {result.csv} (provenance: {result.provenance})")
