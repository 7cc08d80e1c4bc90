"""``vqabench run``: the benchmark."""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from vqabench.cli.app import (
    EXECUTOR_OPTION,
    SCHEDULER_OPTION,
    CommandInterrupted,
    app,
    console,
    err_console,
    set_threads,
)

__all__ = ["run_command", "work_bar", "BarFeed", "rich_table"]


def work_bar(description: str) -> Progress:
    """A progress bar on stderr whose ETA comes from work units, not item counts: the
    ``items`` field shows done/total items (jobs, steps, patch pairs)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.fields[items]}"), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err_console, transient=False,
                    redirect_stdout=False, redirect_stderr=False)


class BarFeed:
    """Feeds a :func:`work_bar` from ``items(done, total)`` and ``work(done, total)``
    callbacks; starts it at the first call, so that bad input prints one line only."""

    def __init__(self, description: str, unit: str):
        self.bar, self.description, self.unit = work_bar(description), description, unit
        self.task: int | None = None
        self.items_text = ""

    def _task(self) -> int:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=None, items="")
        return self.task

    def items(self, done: int, total: int) -> None:
        """Item counts (shown as text)."""
        self.bar.update(self._task(), items=f"{done}/{total} {self.unit}")

    def work(self, done: float, total: float) -> None:
        """Work units (drive the bar and its ETA)."""
        self.bar.update(self._task(), completed=done, total=max(total, done, 1e-9))

    def both(self, done: int, total: int) -> None:
        """Items that are also the work units (equal-cost steps)."""
        self.items(done, total)
        self.work(done, total)

    def stop(self) -> None:
        self.bar.stop()


#: What the BD-rate summary after a run imports (pandas, scipy.interpolate: about a second).
SUMMARY_MODULES = ("vqabench.evaluation.aggregate", "vqabench.reports.tables")


def _import_summary_modules() -> None:
    for name in SUMMARY_MODULES:
        importlib.import_module(name)


class SummaryWarmup:
    """Imports :data:`SUMMARY_MODULES` in a background thread once a core is idle, so that
    the import overlaps the jobs instead of following them, without taking a core from a
    job: at once when the jobs leave a core free (``--jobs 1``: the job runs in this process
    on one thread), otherwise when the last jobs leave one free (``--jobs 2`` on 2 cores:
    as the last job runs alone). A run whose jobs are all reused starts nothing and stays a
    fast no-op; see reports/performance.md, "Runs of real-size jobs"."""

    def __init__(self, cores: int | None = None) -> None:
        self.thread: threading.Thread | None = None
        self.cores = cores

    def _start(self) -> None:
        self.thread = threading.Thread(target=_import_summary_modules, daemon=True,
                                       name="vqabench-summary-imports")
        self.thread.start()

    def wrap(self, execute: Callable[..., None]) -> Callable[..., None]:
        """The executor ``execute(jobs, on_done, n_workers)``, starting the imports when a
        core is first idle while it runs jobs."""

        @functools.wraps(execute)  # run() sees through it (inspect.unwrap)
        def executor(jobs: list, on_done: Callable[..., None], n_workers: int,
                     *args: object, **kwargs: object) -> None:
            if not jobs or self.thread is not None:
                return execute(jobs, on_done, n_workers, *args, **kwargs)
            from vqabench.runner.executors import thread_budget

            cores = self.cores or thread_budget(1)
            left = [len(jobs)]  # jobs not yet done: at most min(workers, left) are running

            def core_idle() -> bool:
                return min(max(1, n_workers), left[0]) < cores

            def counted(job: object, outcome: object) -> None:
                left[0] -= 1
                if self.thread is None and left[0] and core_idle():
                    self._start()
                on_done(job, outcome)

            if core_idle():
                self._start()
            return execute(jobs, counted, n_workers, *args, **kwargs)

        return executor


@app.command("run")
def run_command(
    config: Path | None = typer.Argument(None, metavar="[CONFIG]",
                                         help="Experiment config (TOML). Default: the "
                                         "built-in mini benchmark."),
    dataset: str | None = typer.Option(None, "--dataset", metavar="NAME|DIR",
                                       help="Built-in dataset name or a folder of "
                                       ".y4m/.yuv/container files."),
    frames: int | None = typer.Option(None, "--frames", metavar="N",
                                      help="Frames per sequence."),
    sequences: str | None = typer.Option(None, "--sequences", metavar="LIST",
                                         help="Comma-separated sequence names: a subset of "
                                         "the dataset, in this order (default: all)."),
    size: str | None = typer.Option(None, "--size", metavar="WxH",
                                    help="Scale sources to WxH, e.g. 256x144."),
    fps: str | None = typer.Option(None, "--fps", metavar="RATE",
                                   help="Convert folder sources to this constant rate "
                                   "(ffmpeg's fps filter), e.g. 30 or 30000/1001: how a "
                                   "variable-rate container is benchmarked."),
    interlaced: str | None = typer.Option(None, "--interlaced", metavar="refuse|progressive",
                                          help="Interlaced sources: refuse (default) or code "
                                          "their frames as progressive pictures."),
    codec: list[str] = typer.Option([], "--codec", metavar="SPEC",
                                    help="NAME:PARAM=V1,V2,...[:OPT=VAL]; repeatable, e.g. "
                                    "--codec x264:qp=22,27,32,37"),
    metrics: str | None = typer.Option(None, "--metrics", metavar="LIST",
                                       help="Comma-separated metrics, e.g. psnr_y,vmaf"),
    out: Path | None = typer.Option(None, "--out", metavar="DIR",
                                    help="Run directory (default: runs/<dataset>-<config "
                                    "hash>)."),
    jobs: int | None = typer.Option(None, "--jobs", metavar="N",
                                    help="Worker processes (default: CPU cores)."),
    threads: int | None = typer.Option(None, "--threads", metavar="N",
                                       help="torch/BLAS threads of this process (default 1; "
                                       "each of --jobs N workers gets cores // N)."),
    anchor: str | None = typer.Option(None, "--anchor", metavar="CODEC",
                                      help="BD-rate anchor codec (default: the first codec)."),
    root: Path | None = typer.Option(None, "--root", metavar="DIR",
                                     help="Data root for named datasets."),
    reference: str | None = typer.Option(None, "--reference", metavar="SPEC",
                                         help="UGC reference stage: codecs encode R = S "
                                         "coded at each point, e.g. x264:qp=30,37,42 (groups "
                                         "High/Medium/Low)."),
    anchors: str | None = typer.Option(None, "--anchors", metavar="LIST",
                                       help="Measure quality against: source (default), "
                                       "reference, or source,reference."),
    targets_from: str | None = typer.Option(None, "--targets-from", metavar="SPEC",
                                            help="Targets of the kbps=from codecs: the actual "
                                            "rates of this configuration of the run, per "
                                            "sequence, e.g. x264:qp=22,27,32,37."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed jobs again."),
    force: bool = typer.Option(False, "--force", help="Run a config that differs from the "
                               "one --out holds, replacing its config.toml and tables (a "
                               "config that only adds codecs or metrics extends the run "
                               "without it)."),
    verbose: bool = typer.Option(False, "--verbose", help="Under the BD-rate summary, list "
                                 "the per-sequence notes behind each marked cell."),
    executor: str = EXECUTOR_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
) -> int:
    """Encode, decode and measure every sequence x codec x rate point; resume if interrupted."""
    from vqabench.errors import Interrupted
    from vqabench.experiment import load_config
    from vqabench.runner.executors import make_executor
    from vqabench.runner.run import default_out_dir, run

    set_threads(threads)
    cfg = load_config(config, dataset=dataset, frames=frames, size=size, codecs=codec,
                      metrics=metrics, out=str(out) if out else None, jobs=jobs, anchor=anchor,
                      root=str(root) if root else None, reference=reference, anchors=anchors,
                      targets_from=targets_from, sequences=sequences, fps=fps,
                      interlaced=interlaced)
    out_dir = Path(cfg.out) if cfg.out else default_out_dir(cfg)
    started = time.perf_counter()
    # The bar starts once the dataset is loaded and jobs are planned, so that bad input
    # gives one error line and nothing else; its ETA is work-weighted (runner/progress.py).
    feed = BarFeed(f"vqabench run -> {out_dir}", "jobs")
    try:
        with make_executor(executor, scheduler) as execute:
            summary = run(cfg, out_dir=out_dir, retry_failed=retry_failed,
                          executor=SummaryWarmup().wrap(execute), progress=feed.items,
                          work_progress=feed.work, force=force)
    except Interrupted as exc:
        raise CommandInterrupted(str(exc)) from None
    finally:
        feed.stop()
    elapsed = time.perf_counter() - started
    if summary.change.kind != "same":
        what = "extended" if summary.change.kind == "extends" else "replaced (--force)"
        console.print(f"run directory {what}: {'; '.join(summary.change.details)}",
                      markup=False, highlight=False)
    console.print(f"{summary.jobs_total} jobs: {summary.jobs_run} run, {summary.jobs_reused} "
                  f"reused from the store, {len(summary.failures)} failed; "
                  f"{summary.rows} rows in {summary.out_dir / 'results.csv'} ({elapsed:.1f} s)",
                  markup=False, highlight=False)
    if summary.rows:
        _print_bd_summary(summary.out_dir, cfg.anchor or cfg.codecs[0].display,
                          verbose=verbose)
    if summary.failures:
        for seq, codec_name, rate, err in summary.failures:
            err_console.print(f"failed: {seq} {codec_name} {rate}: {err}", markup=False)
        err_console.print(f"run incomplete: {_failed_advice(len(summary.failures), summary.retry)}",
                          markup=False)
        return 1
    return 0


def _failed_advice(failed: int, transient: int) -> str:
    """What to do about ``failed`` jobs of which ``transient`` failed for a passing reason."""
    permanent = failed - transient
    retried = (f"{transient} for a transient reason (disk full, a killed worker, an "
               "interruption): the same command retries them")
    fixed = f"{permanent}: fix the cause and re-run with --retry-failed"
    if not transient:
        return f"{failed} job(s) failed; fix the cause and re-run with --retry-failed"
    return f"{failed} job(s) failed, " + (retried if not permanent else f"{retried}; {fixed}")


def _print_bd_summary(run_dir: Path, anchor: str, *, verbose: bool = False) -> None:
    """Print the BD-rate summary table (:func:`_bd_summary_table`), its notes under it and,
    when ``verbose``, the per-sequence notes behind them; cached in
    ``bd_summary.json`` next to results.csv and reused while results.csv, the anchor and
    the vqabench version are unchanged, so that re-running a finished run needs neither
    pandas nor scipy (see reports/performance.md, "No-op re-run")."""
    import csv
    import hashlib
    import json

    from vqabench import __version__
    from vqabench.io.atomic import atomic_write_text

    key = hashlib.sha256((run_dir / "results.csv").read_bytes()
                         + f"\x1f{anchor}\x1f{__version__}\x1fnotes-2".encode()).hexdigest()
    cache = run_dir / "bd_summary.json"
    try:
        cached = json.loads(cache.read_text())
    except (OSError, ValueError):
        cached = {}
    if cached.get("key") != key:
        with open(run_dir / "results.csv", newline="") as f:
            n_codecs = len({row["codec"] for row in csv.DictReader(f)})
        table = _bd_summary_table(run_dir, anchor) if n_codecs >= 2 else None
        cached = {"key": key, "table": table}
        atomic_write_text(cache, json.dumps(cached))
    spec = cached["table"]
    if spec is None:
        return
    table = Table(title=spec["title"] or None, caption=spec["caption"] or None)
    for column, numeric in zip(spec["columns"], spec["numeric"], strict=True):
        table.add_column(column, justify="right" if numeric else "left")
    for row in spec["rows"]:
        table.add_row(*map(Text, row))  # text, not markup: "[a]" is a note's mark
    console.print(table)
    for note in [*spec["notes"], *(spec.get("details", []) if verbose else [])]:
        console.print(note, markup=False, highlight=False)
    console.print(f"full report: vqabench report {run_dir}", markup=False, highlight=False)


def _bd_summary_table(run_dir: Path, anchor: str) -> dict | None:
    """Mean BD-rate per codec and metric (pchip), from the same table builder as
    ``vqabench report``: the run's order of codecs and metrics, quality against the run's
    first anchor; with a reference stage, per reference group and over all pairs. Returns
    the table as plain data (title, caption, columns, numeric flags, rows with the marks
    of their notes as `` [a]``, notes ``[a] text``, per-sequence details)."""
    from vqabench.evaluation.aggregate import (
        fold_references,
        load_results,
        per_sequence_bd_rate,
        summarize_bd_rate,
    )
    from vqabench.reports.tables import bd_table, numeric_columns

    results = load_results(run_dir)
    if results["codec"].nunique() < 2:
        return None
    with_refs = bool((results["reference"] != "source").any())
    folded = fold_references(results)
    first_anchor = str(results["anchor"].iloc[0])
    per = per_sequence_bd_rate(folded, anchor_codec=anchor)
    summary = summarize_bd_rate(per[per["anchor"] == first_anchor], by_group=with_refs)
    table = bd_table(summary, reference=str(folded["reference"].iloc[0]), anchor=first_anchor,
                     anchor_codec=anchor, codecs=list(dict.fromkeys(results["codec"])),
                     metrics=list(dict.fromkeys(results["metric"])), per_sequence=per)
    cells = table.cells
    rows = [[str(v) + (f" [{','.join(table.marks[i, j])}]" if (i, j) in table.marks else "")
             for j, v in enumerate(row)]
            for i, row in enumerate(cells.itertuples(index=False, name=None))]
    return {"title": f"BD-rate (%) vs {anchor}", "caption": table.caption,
            "columns": [str(c) for c in cells.columns],
            "numeric": [bool(n) for n in numeric_columns(cells)],
            "rows": rows, "notes": [f"[{n.mark}] {n.text}" for n in table.notes],
            "details": list(table.details)}


def rich_table(cells, *, title: str = "", caption: str = "") -> Table:
    """A rich Table of a text DataFrame (numbers right-aligned), for the console."""
    from vqabench.reports.tables import numeric_columns

    table = Table(title=title or None, caption=caption or None)
    for column, numeric in zip(cells.columns, numeric_columns(cells), strict=True):
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in cells.itertuples(index=False, name=None):
        table.add_row(*(Text(str(v)) for v in row))  # text, not rich markup
    return table
