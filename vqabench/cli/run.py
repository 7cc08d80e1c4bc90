"""``vqabench run``: the benchmark."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vqabench.cli.app import app, console, err_console

__all__ = ["run_command"]


@app.command("run")
def run_command(
    config: Path | None = typer.Argument(None, help="Experiment config (TOML). Default: the "
                                         "built-in mini benchmark."),
    dataset: str | None = typer.Option(None, "--dataset", help="Built-in dataset name or a "
                                       "folder of .y4m/.yuv/container files."),
    frames: int | None = typer.Option(None, "--frames", help="Frames per sequence."),
    size: str | None = typer.Option(None, "--size", help="Scale sources to WxH, e.g. 256x144."),
    codec: list[str] = typer.Option([], "--codec", help="NAME:PARAM=V1,V2,...[:OPT=VAL]; "
                                    "repeatable, e.g. --codec x264:qp=22,27,32,37"),
    metrics: str | None = typer.Option(None, "--metrics", help="Comma-separated metrics, "
                                       "e.g. psnr_y,vmaf"),
    out: Path | None = typer.Option(None, "--out", help="Run directory (default: "
                                    "runs/<dataset>-<config hash>)."),
    jobs: int | None = typer.Option(None, "--jobs", help="Worker processes (default: cores)."),
    anchor: str | None = typer.Option(None, "--anchor", help="BD-rate anchor codec "
                                      "(default: the first codec)."),
    root: Path | None = typer.Option(None, "--root", help="Data root for named datasets."),
    reference: str | None = typer.Option(None, "--reference", help="UGC reference stage: "
                                         "codecs encode R = S coded at each point, e.g. "
                                         "x264:qp=30,37,42 (groups High/Medium/Low)."),
    anchors: str | None = typer.Option(None, "--anchors", help="Measure quality against: "
                                       "source (default), reference, or source,reference."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed jobs again."),
    executor: str = typer.Option("local", "--executor", help="local (worker processes on this "
                                 "machine) or dask (a Dask cluster: local with --jobs workers, "
                                 "or the one at --scheduler)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, "
                                         "e.g. tcp://head:8786 (with --executor dask)."),
) -> int:
    """Encode, decode and measure every sequence x codec x rate point; resume if interrupted."""
    from vqabench.config import load_config
    from vqabench.runner.executors import make_executor
    from vqabench.runner.run import default_out_dir, run

    cfg = load_config(config, dataset=dataset, frames=frames, size=size, codecs=codec,
                      metrics=metrics, out=str(out) if out else None, jobs=jobs, anchor=anchor,
                      root=str(root) if root else None, reference=reference, anchors=anchors)
    out_dir = Path(cfg.out) if cfg.out else default_out_dir(cfg)
    started = time.perf_counter()
    # The bar starts once the dataset is loaded and jobs are planned, so that bad input
    # gives one error line and nothing else.
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("jobs"), TimeRemainingColumn(), console=err_console)
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(f"vqabench run -> {out_dir}", total=total)
        bar.update(task, completed=done, total=total)

    try:
        with make_executor(executor, scheduler) as execute:
            summary = run(cfg, out_dir=out_dir, retry_failed=retry_failed, executor=execute,
                          progress=progress)
    finally:
        bar.stop()
    elapsed = time.perf_counter() - started
    console.print(f"{summary.jobs_total} jobs: {summary.jobs_run} run, {summary.jobs_reused} "
                  f"reused from the store, {len(summary.failures)} failed; "
                  f"{summary.rows} rows in {summary.out_dir / 'results.csv'} ({elapsed:.1f} s)")
    if summary.rows:
        _print_bd_summary(summary.out_dir, cfg.anchor or cfg.codecs[0].display)
    if summary.failures:
        for seq, codec_name, rate, err in summary.failures:
            err_console.print(f"failed: {seq} {codec_name} {rate}: {err}", markup=False)
        err_console.print(f"run incomplete: {len(summary.failures)} job(s) failed; fix the cause "
                          "and re-run with --retry-failed", markup=False)
        return 1
    return 0


def _print_bd_summary(run_dir: Path, anchor: str) -> None:
    """Mean BD-rate per codec and metric (pchip), from the same table builder as
    ``vqabench report``: the run's order of codecs and metrics, quality against the run's
    first anchor; with a reference stage, per reference group and over all pairs."""
    from vqabench.evaluation.aggregate import (
        fold_references,
        load_results,
        per_sequence_bd_rate,
        summarize_bd_rate,
    )
    from vqabench.reports.tables import bd_table

    results = load_results(run_dir)
    if results["codec"].nunique() < 2:
        return
    with_refs = bool((results["reference"] != "source").any())
    folded = fold_references(results)
    first_anchor = str(results["anchor"].iloc[0])
    per = per_sequence_bd_rate(folded, anchor_codec=anchor)
    summary = summarize_bd_rate(per[per["anchor"] == first_anchor], by_group=with_refs)
    table = bd_table(summary, reference=str(folded["reference"].iloc[0]), anchor=first_anchor,
                     anchor_codec=anchor, codecs=list(dict.fromkeys(results["codec"])),
                     metrics=list(dict.fromkeys(results["metric"])))
    console.print(rich_table(table.cells, title=f"BD-rate (%) vs {anchor}",
                             caption=table.caption))
    for note in table.notes:
        console.print(note, markup=False, highlight=False)
    console.print(f"full report: vqabench report {run_dir}", markup=False, highlight=False)


def rich_table(cells, *, title: str = "", caption: str = "") -> Table:
    """A rich Table of a text DataFrame (numbers right-aligned), for the console."""
    from vqabench.reports.tables import numeric_columns

    table = Table(title=title or None, caption=caption or None)
    for column, numeric in zip(cells.columns, numeric_columns(cells), strict=True):
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in cells.itertuples(index=False, name=None):
        table.add_row(*(str(v) for v in row))
    return table
