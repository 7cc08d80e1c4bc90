"""``vqabench run``: plan jobs from a config, execute what the store lacks, write the tables.

The rooms of a run: :mod:`~vqabench.runner.plan` (jobs from the config),
:mod:`~vqabench.runner.checks` (refusals before any job), :mod:`~vqabench.runner.execute`
(stages through the one executor, outcomes into the store), :mod:`~vqabench.runner.results`
(the CSV tables), :mod:`~vqabench.runner.progress` (counts and ETA),
:mod:`~vqabench.runner.rundir` (lock, temporaries, config.toml) and
:mod:`~vqabench.runner.summary` (the BD-rate summary); this module strings them together.

Run directory layout::

    config.toml     the resolved configuration (re-runnable: vqabench run config.toml)
    store.sqlite    every finished encode and measurement, keyed by content hash
    bitstreams/     SEQUENCE/CODEC/RATE.ext
    results.csv     tidy rows (docs/design.md columns + bitstream), written atomically
    per_frame.csv   per-frame values of every measurement
    references.csv  rows of the reference stage (R made from S), when one is configured
    references/     the decoded references R (the codecs' input in UGC transcoding)
    sources/        sources converted from a folder dataset (if any)
    .tmp/           decoded videos and metric scratch files of running jobs
    .lock           held (flock) by the one ``vqabench run`` working in the directory

Faults of the machine (:mod:`vqabench.runner.faults`): a full disk stops the run with one line
naming the path and the free space (the job that hit it is a transient failure, retried by
the next plain run, as are jobs of a killed worker); a read-only run directory and a corrupt
store are one line each; Ctrl-C removes the temporaries and says what was kept.

Crash safety: a finished job is one SQLite transaction; bitstreams, decoded references and
the CSV tables are written under temporary names and renamed. A killed run leaves at most
temporary files (``.tmp-*``, ``.tmp/``), which the next run in the directory removes before
it starts; then it redoes only the jobs the store lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vqabench.config import ConfigChange, RunConfig, write_config
from vqabench.errors import invalid
from vqabench.io.store import Store
from vqabench.runner import plan, rundir
from vqabench.runner.checks import check_formats, check_metrics_fit, check_size, warn_small_inr
from vqabench.runner.execute import Executor, Stages, local_workers
from vqabench.runner.plan import load_sequences, plan_jobs, plan_references, rate_targets
from vqabench.runner.progress import RunProgress
from vqabench.runner.results import PER_FRAME_COLUMNS, RESULT_COLUMNS, write_results

__all__ = [
    "RESULT_COLUMNS",
    "PER_FRAME_COLUMNS",
    "RunSummary",
    "RunStatus",
    "plan_jobs",
    "plan_references",
    "rate_targets",
    "load_sequences",
    "check_formats",
    "check_size",
    "run",
    "run_status",
    "default_out_dir",
    "write_results",
]


@dataclass
class RunSummary:
    """What a run did."""

    out_dir: Path
    jobs_total: int
    jobs_reused: int
    jobs_run: int
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    rows: int = 0
    change: ConfigChange = ConfigChange("same")
    retry: int = 0  # failures that are transient: the next plain run retries them

    @property
    def complete(self) -> bool:
        """True when every planned job has its results."""
        return not self.failures


def default_out_dir(cfg: RunConfig) -> Path:
    """``runs/<dataset>-<first 8 hex of the config identity>``: the same command reuses it."""
    stem = Path(cfg.dataset).name or "dataset"
    return Path("runs") / f"{stem}-{cfg.identity()[:8]}"


@dataclass
class RunStatus:
    """Where a run directory stands (:func:`run_status`); counts are jobs.

    Attributes:
        done: jobs whose encode and every measurement are in the store.
        pending: jobs still to run (including those waiting on a reference not made yet).
        failed: jobs with a recorded permanent failure (re-run them with ``--retry-failed``).
        blocked: jobs that cannot run because their reference-stage job failed.
        failures: ``(sequence, codec, rate_point, error)`` of the failed jobs.
        retry: the same of the pending jobs whose last try failed for a transient reason
            (disk full, a killed worker): the next plain run retries them.
    """

    out_dir: Path
    done: int
    pending: int
    failed: int
    blocked: int = 0
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    retry: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every planned job."""
        return self.done + self.pending + self.failed + self.blocked


def run_status(cfg: RunConfig, *, out_dir: Path) -> RunStatus:
    """Count done, pending and failed jobs of a run directory without running any job.

    Plans exactly as :func:`run` does (loading the dataset, which reuses the sources the run
    converted) and looks every job up in the store, read-only. Jobs on a reference R that
    does not exist yet are counted as pending (their keys need R's content).

    Raises:
        DatasetError / VideoFormatError: the dataset cannot be loaded.
    """
    out_dir = Path(out_dir).absolute()
    sequences = load_sequences(cfg, out_dir)
    ref_jobs = plan_references(cfg, sequences, out_dir)
    per_input = plan.ladder_len(cfg)
    path = out_dir / "store.sqlite"
    if not path.exists():  # a folder in its place is an error (Store says so)
        n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
        return RunStatus(out_dir, 0, len(ref_jobs) + len(sequences) * n_refs * per_input, 0)
    with Store(path, readonly=True) as store:
        usable = plan.usable_references(ref_jobs, store)
        jobs = plan.main_jobs(cfg, sequences, out_dir, usable)
        jobs += plan.targeted_jobs(cfg, sequences, out_dir, usable, jobs, store)
        counts = {"done": 0, "pending": 0, "failed": 0}
        failures, retry = [], []
        for job in [*ref_jobs, *jobs]:
            if plan.pending_part(job, store, retry_failed=True) is None:
                counts["done"] += 1
            elif (err := store.failure(job.key)) is not None:
                transient = store.failure_kind(job.key) == "transient"
                counts["pending" if transient else "failed"] += 1
                (retry if transient else failures).append(
                    (job.sequence, job.codec, job.rate_label, err)
                )
            else:
                counts["pending"] += 1
        failed_refs = sum(1 for j in ref_jobs if store.failure_kind(j.key) == "permanent")
        waiting = len(ref_jobs) - len(usable) - failed_refs
    return RunStatus(
        out_dir,
        counts["done"],
        counts["pending"] + waiting * per_input,
        counts["failed"],
        failed_refs * per_input,
        failures,
        retry,
    )


def run(
    cfg: RunConfig,
    *,
    out_dir: Path | None = None,
    retry_failed: bool = False,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
    work_progress: Callable[[float, float], None] | None = None,
    warm_summary: bool = False,
) -> RunSummary:
    """Run (or resume) a benchmark.

    Args:
        cfg: validated configuration (:func:`vqabench.experiment.load_config`).
        out_dir: run directory; default ``cfg.out`` or :func:`default_out_dir`.
        retry_failed: run again the jobs that failed before (otherwise they are reported).
        executor: ``executor(jobs, on_done, n_workers)``; default local processes
            (:class:`~vqabench.runner.executors.LocalExecutor`).
        progress: called as ``progress(done, total)`` after each job.
        work_progress: called as ``work_progress(done, total)`` in work units of the jobs
            still to run (:mod:`vqabench.runner.progress`), for an ETA that holds on mixed
            jobs; jobs reused from the store count for nothing.
        force: run a config that differs from the one ``out_dir`` holds (replacing its
            config.toml and tables); without it such a run is refused. A config that only
            adds codecs or metrics extends the run (``RunSummary.change``).
        warm_summary: import what the BD-rate summary needs while the last jobs run
            (:class:`vqabench.runner.summary.SummaryWarmup`).

    Returns:
        RunSummary; ``complete`` is False when some jobs failed.

    Raises:
        ConfigError: ``out_dir`` holds a run of a different config and ``force`` is False,
            or it is a file.
        DiskFullError / ReadOnlyError / StoreCorruptError: the machine stopped the run
            (:mod:`vqabench.runner.faults`); the message says what was kept.
        Interrupted: Ctrl-C; the message says how many jobs were kept.
    """
    from vqabench.runner.executors import LocalExecutor
    from vqabench.runner.faults import run_faults
    from vqabench.runner.summary import SummaryWarmup

    out_dir = Path(out_dir or cfg.out or default_out_dir(cfg)).absolute()
    seen = [0, 0]  # jobs finished and planned, for the line of a run stopped by a fault

    def counted(done: int, total: int) -> None:
        seen[:] = [done, total]
        if progress:
            progress(done, total)

    execute = executor or LocalExecutor()
    with run_faults(out_dir, seen):
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise invalid(
                "out",
                str(out_dir),
                "a directory, existing or new (this path or a parent of it is a file)",
            ) from None
        # local worker processes start while the run is planned, unless the run directory
        # looks finished (results.csv written): then a re-run stays a fast no-op
        warm = (
            isinstance(execute, LocalExecutor)
            and cfg.jobs > 1
            and not (out_dir / "results.csv").is_file()
        )
        with rundir.exclusive(out_dir), local_workers(cfg.jobs, warm):
            try:
                rundir.remove_temporaries(out_dir)  # left by a killed run
                summary = _run_locked(
                    cfg,
                    out_dir,
                    retry_failed,
                    force,
                    SummaryWarmup().wrap(execute) if warm_summary else execute,
                    RunProgress(counted, work_progress),
                )
            except BaseException:  # Ctrl-C, a full disk: no temporaries stay behind
                rundir.remove_temporaries(out_dir)
                shutil.rmtree(out_dir / ".tmp", ignore_errors=True)
                raise
            shutil.rmtree(out_dir / ".tmp", ignore_errors=True)  # clean exit: no leftovers
            return summary


def _run_locked(
    cfg: RunConfig,
    out_dir: Path,
    retry_failed: bool,
    force: bool,
    execute: Executor,
    progress: RunProgress,
) -> RunSummary:
    """Plan, check, write config.toml, run the stages and write the tables."""
    from vqabench.runner.faults import warn_lost_store

    check_size(cfg)
    sequences = load_sequences(cfg, out_dir)
    check_formats(cfg, sequences)
    check_metrics_fit(cfg, sequences)
    warn_small_inr(cfg, sequences)
    ref_jobs = plan_references(cfg, sequences, out_dir)
    # the written config names its run directory, so that re-running it reuses this one
    resolved = plan.anchored(plan.resolved_config(cfg, sequences), out_dir)
    change = rundir.config_change(resolved, out_dir, force)
    write_config(
        resolved,
        out_dir / "config.toml",
        comment=rundir.provenance_comment(out_dir, sequences, cfg),
    )
    decode_dir = out_dir / ".tmp"
    decode_dir.mkdir(exist_ok=True)
    warn_lost_store(out_dir)
    with Store(out_dir / "store.sqlite") as store:
        progress.work_total = plan.estimated_work(cfg, sequences)
        stages = Stages(store, execute, cfg.jobs, decode_dir, retry_failed, progress)
        n_refs = len(cfg.reference.codec.values) if cfg.reference else 1
        per_input = plan.ladder_len(cfg)
        progress.total = len(ref_jobs) + len(sequences) * n_refs * per_input
        ran = stages.run(ref_jobs)
        usable = plan.usable_references(ref_jobs, store)
        if ref_jobs:
            write_results(ref_jobs, store, out_dir, name="references")
        jobs = plan.main_jobs(cfg, sequences, out_dir, usable)
        rc_points = per_input - sum(len(c.values) for c in cfg.codecs if not c.targets_from_run)
        rc_todo = (len(usable) if cfg.reference else len(sequences)) * rc_points
        progress.total = (
            len(ref_jobs) + len(jobs) + rc_todo + (len(ref_jobs) - len(usable)) * per_input
        )
        ran += stages.run(jobs, estimate=plan.estimated_work(cfg, sequences))
        # rate-controlled codecs with targets from the run: after their source's jobs
        jobs += (targeted := plan.targeted_jobs(cfg, sequences, out_dir, usable, jobs, store))
        if targeted:
            progress.total += len(targeted) - rc_todo
            ran += stages.run(targeted)
        rows = write_results(jobs, store, out_dir)
        failed = [(j, err) for j in [*ref_jobs, *jobs] if (err := store.failure(j.key))]
        failures = [(j.sequence, j.codec, j.rate_label, err) for j, err in failed]
        retry = sum(store.failure_kind(j.key) == "transient" for j, _ in failed)
    try:
        decode_dir.rmdir()
    except OSError:
        pass
    total = len(ref_jobs) + len(jobs)
    return RunSummary(out_dir, total, total - len(ran), len(ran), failures, rows, change, retry)
