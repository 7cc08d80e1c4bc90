"""``vqabench run``: the benchmark."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vqabench.cli.app import (
    EXECUTOR_OPTION,
    SCHEDULER_OPTION,
    CommandInterrupted,
    app,
    console,
    err_console,
    set_threads,
)

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

__all__ = ["run_command", "work_bar", "BarFeed", "rich_table", "print_bd_summary"]


def work_bar(description: str) -> Progress:
    """A progress bar on stderr whose ETA comes from work units, not item counts: the
    ``items`` field shows done/total items (jobs, steps, patch pairs)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[items]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console.get(),
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )


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


def run_command(
    config: Path | None = typer.Argument(
        None,
        metavar="[CONFIG]",
        help="Experiment config (TOML). Default: the built-in mini benchmark.",
    ),
    *,
    threads: int | None = typer.Option(
        None,
        "--threads",
        metavar="N",
        help="torch/BLAS threads of this process (default 1; "
        "each of --jobs N workers gets cores // N).",
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed jobs again."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Run a config that differs from the "
        "one --out holds, replacing its config.toml and tables (a "
        "config that only adds codecs or metrics extends the run "
        "without it).",
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Under the BD-rate summary, list the per-sequence notes behind each marked cell.",
    ),
    executor: str = EXECUTOR_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    **fields: object,
) -> int:
    """Encode, decode and measure every sequence x codec x rate point; resume if interrupted."""
    from vqabench import datasets
    from vqabench.errors import Interrupted
    from vqabench.experiment import load_config

    n_threads = set_threads(threads)
    cfg = load_config(config, **fields)
    datasets.check_spec(cfg.dataset)
    # the runner is imported only once the config is valid: a mistyped option answers at once
    from vqabench.runner.executors import make_executor
    from vqabench.runner.run import default_out_dir, run

    out_dir = Path(cfg.out) if cfg.out else default_out_dir(cfg)
    started = time.perf_counter()
    # The bar starts once the dataset is loaded and jobs are planned, so that bad input
    # gives one error line and nothing else; its ETA is work-weighted (runner/progress.py).
    feed = BarFeed(f"vqabench run -> {out_dir}", "jobs")
    try:
        with make_executor(executor, scheduler, threads=n_threads) as execute:
            summary = run(
                cfg,
                out_dir=out_dir,
                retry_failed=retry_failed,
                executor=execute,
                progress=feed.items,
                work_progress=feed.work,
                force=force,
                warm_summary=True,
            )
    except Interrupted as exc:
        raise CommandInterrupted(str(exc)) from None
    finally:
        feed.stop()
    elapsed = time.perf_counter() - started
    if summary.change.kind != "same":
        what = "extended" if summary.change.kind == "extends" else "replaced (--force)"
        console.print(
            f"run directory {what}: {'; '.join(summary.change.details)}",
            markup=False,
            highlight=False,
        )
    console.print(
        f"{summary.jobs_total} jobs: {summary.jobs_run} run, {summary.jobs_reused} "
        f"reused from the store, {len(summary.failures)} failed; "
        f"{summary.rows} rows in {summary.out_dir / 'results.csv'} ({elapsed:.1f} s)",
        markup=False,
        highlight=False,
    )
    if summary.rows:
        print_bd_summary(summary.out_dir, cfg.anchor or cfg.codecs[0].display, verbose=verbose)
    if summary.failures:
        for seq, codec_name, rate, err in summary.failures:
            err_console.print(f"failed: {seq} {codec_name} {rate}: {err}", markup=False)
        err_console.print(
            f"run incomplete: {_failed_advice(len(summary.failures), summary.retry)}", markup=False
        )
        return 1
    return 0


def _options(command: Callable[..., int], after: str = "jobs") -> Callable[..., int]:
    """``command`` with one option per config field (:data:`vqabench.config.FIELDS`: the
    table the config file is read with) in place of its ``**fields``: its argument first,
    then the fields, its first option after the field ``after``, its others last."""
    from vqabench.config import FIELDS

    own = list(inspect.signature(command, eval_str=True).parameters.values())
    fields = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option([] if f.repeat else None, f.flag, metavar=f.metavar, help=f.help),
            annotation=list[f.cli_type] if f.repeat else f.cli_type | None,
        )
        for f in FIELDS
    ]
    cut = [f.name for f in FIELDS].index(after) + 1
    params = [own[0], *fields[:cut], own[1], *fields[cut:], *own[2:-1]]
    command.__signature__ = inspect.Signature(params, return_annotation=int)  # type: ignore[attr-defined]
    return command


app.command("run")(_options(run_command))


def _failed_advice(failed: int, transient: int) -> str:
    """What to do about ``failed`` jobs of which ``transient`` failed for a passing reason."""
    permanent = failed - transient
    retried = (
        f"{transient} for a transient reason (disk full, a killed worker, an "
        "interruption): the same command retries them"
    )
    fixed = f"{permanent}: fix the cause and re-run with --retry-failed"
    if not transient:
        return f"{failed} job(s) failed; fix the cause and re-run with --retry-failed"
    return f"{failed} job(s) failed, " + (retried if not permanent else f"{retried}; {fixed}")


def print_bd_summary(run_dir: Path, anchor: str, *, verbose: bool = False) -> None:
    """Print the BD-rate summary of a run (:func:`vqabench.runner.summary.bd_summary`), its
    notes under it and, when ``verbose``, the per-sequence notes behind them."""
    from rich.table import Table
    from rich.text import Text

    from vqabench.runner.summary import bd_summary

    spec = bd_summary(run_dir, anchor)
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


def rich_table(cells, *, title: str = "", caption: str = "") -> Table:
    """A rich Table of a text DataFrame (numbers right-aligned), for the console."""
    from rich.table import Table
    from rich.text import Text

    from vqabench.reports.tables import numeric_columns

    table = Table(title=title or None, caption=caption or None)
    for column, numeric in zip(cells.columns, numeric_columns(cells), strict=True):
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in cells.itertuples(index=False, name=None):
        table.add_row(*(Text(str(v)) for v in row))  # text, not rich markup
    return table
