"""``vqabench run``: the benchmark."""

from __future__ import annotations

import math
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
    """Mean BD-rate (pchip, quality against the source) per codec and metric; with a
    reference stage, per reference group and over all (sequence, reference) pairs."""
    from vqabench.evaluation.aggregate import (
        OVERALL,
        fold_references,
        group_sort_key,
        load_results,
        per_sequence_bd_rate,
        summarize_bd_rate,
    )

    results = load_results(run_dir)
    if results["codec"].nunique() < 2:
        return
    with_refs = bool((results["reference"] != "source").any())
    per_seq = per_sequence_bd_rate(fold_references(results), anchor_codec=anchor)
    summary = summarize_bd_rate(per_seq[per_seq["anchor"] == "source"], by_group=with_refs)
    metric_names = list(dict.fromkeys(results["metric"]))
    groups = sorted((g for g in set(summary["group"]) if g != OVERALL), key=group_sort_key)
    groups = groups if with_refs else []
    table = Table(title=f"BD-rate (%) vs {anchor}",
                  caption="pchip on kbps, quality against the source, mean over sequences"
                          + (" per reference group" if groups else "")
                          + "; negative = fewer bits")
    table.add_column("codec")
    if groups:
        table.add_column("group")
    for m in metric_names:
        table.add_column(m, justify="right")
    for codec_name in dict.fromkeys(results["codec"]):
        if codec_name == anchor:
            continue
        for group in [*groups, OVERALL]:
            cells = []
            for m in metric_names:
                row = summary[(summary["codec"] == codec_name) & (summary["metric"] == m)
                              & (summary["group"] == group)]
                if row.empty or math.isnan(float(row["bd_rate"].iloc[0])):
                    cells.append("n/a")
                else:
                    r = row.iloc[0]
                    excl = f" ({int(r['n_excluded'])} excl.)" if r["n_excluded"] else ""
                    cells.append(f"{float(r['bd_rate']):+.2f}{excl}")
            table.add_row(codec_name, *([group] if groups else []), *cells)
    console.print(table)
    console.print(f"full report: vqabench report {run_dir}")
