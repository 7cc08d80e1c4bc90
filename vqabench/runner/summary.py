"""After a run: the BD-rate summary table, cached, and the import of what it needs,
overlapped with the jobs.

The summary needs pandas and scipy (about a second of imports): :class:`SummaryWarmup`
imports them while the last jobs run, and :func:`bd_summary` caches the table in
``bd_summary.json``, so that re-running a finished run imports neither (see
reports/performance.md, "No-op re-run").
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from vqabench import __version__
from vqabench.io.atomic import atomic_write_text

__all__ = ["SUMMARY_MODULES", "SummaryWarmup", "bd_summary", "bd_summary_table"]


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
        self.thread = threading.Thread(
            target=_import_summary_modules, daemon=True, name="vqabench-summary-imports"
        )
        self.thread.start()

    def wrap(self, execute: Callable[..., None]) -> Callable[..., None]:
        """The executor ``execute(jobs, on_done, n_workers)``, starting the imports when a
        core is first idle while it runs jobs."""

        def executor(
            jobs: list,
            on_done: Callable[..., None],
            n_workers: int,
            *args: object,
            **kwargs: object,
        ) -> None:
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


def bd_summary(run_dir: Path, anchor: str) -> dict | None:
    """The BD-rate summary table of a run (:func:`bd_summary_table`) as plain data, or None
    with fewer than two codecs; cached in ``bd_summary.json`` next to results.csv and
    reused while results.csv, the anchor and the vqabench version are unchanged, so that
    re-running a finished run needs neither pandas nor scipy (see reports/performance.md,
    "No-op re-run")."""
    key = hashlib.sha256(
        (run_dir / "results.csv").read_bytes()
        + f"\x1f{anchor}\x1f{__version__}\x1fnotes-2".encode()
    ).hexdigest()
    cache = run_dir / "bd_summary.json"
    try:
        cached = json.loads(cache.read_text())
    except (OSError, ValueError):
        cached = {}
    if cached.get("key") != key:
        with open(run_dir / "results.csv", newline="") as f:
            n_codecs = len({row["codec"] for row in csv.DictReader(f)})
        table = bd_summary_table(run_dir, anchor) if n_codecs >= 2 else None
        cached = {"key": key, "table": table}
        atomic_write_text(cache, json.dumps(cached))
    return cached["table"]


def bd_summary_table(run_dir: Path, anchor: str) -> dict | None:
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
    table = bd_table(
        summary,
        reference=str(folded["reference"].iloc[0]),
        anchor=first_anchor,
        anchor_codec=anchor,
        codecs=list(dict.fromkeys(results["codec"])),
        metrics=list(dict.fromkeys(results["metric"])),
        per_sequence=per,
    )
    cells = table.cells
    rows = [
        [
            str(v) + (f" [{','.join(table.marks[i, j])}]" if (i, j) in table.marks else "")
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(cells.itertuples(index=False, name=None))
    ]
    return {
        "title": f"BD-rate (%) vs {anchor}",
        "caption": table.caption,
        "columns": [str(c) for c in cells.columns],
        "numeric": [bool(n) for n in numeric_columns(cells)],
        "rows": rows,
        "notes": [f"[{n.mark}] {n.text}" for n in table.notes],
        "details": list(table.details),
    }
