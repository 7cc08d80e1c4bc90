"""Executors run jobs and hand each outcome to a callback in the main process.

The local executor runs jobs in this process (``n_workers == 1``) or in a pool of worker
processes; the Dask executor runs them on a Dask distributed cluster (a local one, or one
reached at a scheduler address). Either way the callback (which commits to the store) runs
in the main process as jobs finish, so the store has one writer.

Example:
    >>> with make_executor("dask") as execute:
    ...     summary = run(cfg, executor=execute)
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

from vqabench.errors import ConfigError, invalid
from vqabench.runner.jobs import Job, JobOutcome, execute_job

__all__ = [
    "local_executor",
    "LocalExecutor",
    "run_job",
    "DaskExecutor",
    "make_executor",
    "EXECUTORS",
    "WORKER_DIED",
    "thread_budget",
]

OnDone = Callable[[Job, JobOutcome], None]
# What a worker runs on each job: run_job for encode+measure jobs; any picklable module-level
# function of one picklable job returning an outcome with ``.error`` (make-pairs jobs).
TaskFn = Callable[[Any], Any]
_FILTER_SAFE = re.compile(r"[\w/.\-]+")
EXECUTORS = ("local", "dask")
#: Dask exceptions of a worker or connection lost mid-job: transient, retried by the next run.
_DASK_LOST = ("KilledWorker", "CommClosedError", "CancelledError", "TimeoutError")
_DASK_MISSING = (
    "--executor dask needs the optional dependency dask[distributed], which is "
    'not installed: pip install -e ".[dask]" (or pip install "dask[distributed]")'
)


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the main process dies (``kill -9``), so
    that no orphan keeps writing into a run directory that a resumed run is cleaning."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def thread_budget(n_workers: int, cores: int | None = None) -> int:
    """Threads each of ``n_workers`` side-by-side jobs may use: ``max(1, cores // n_workers)``,
    so that jobs x threads never exceeds the cores this process may run on."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
    return max(1, cores // max(1, n_workers))


#: Threads of this process's job slot (:func:`_limit_threads`), handed to each job it runs.
_SLOT_THREADS = 1


def _limit_threads(threads: int = 1) -> None:
    """The thread policy of one job slot: numerical libraries use ``threads`` threads each,
    and the jobs this process runs are given ``threads`` (:func:`run_job`).

    The variables cover libraries imported later (torch reads them when a metric imports
    it); OpenCV, which every pixel metric uses, is imported here to set its count; torch is
    not: most jobs (codecs, PSNR, VMAF) never need it, and importing it cost each worker
    seconds (see reports/performance.md, "Runs at scale"). Encoders keep their own
    ``threads`` option (default 1; it is part of the encode's key, as it can change the
    bitstream).
    """
    global _SLOT_THREADS
    _SLOT_THREADS = threads
    for var in _THREAD_VARIABLES:
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    import cv2

    cv2.setNumThreads(threads)


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextlib.contextmanager
def _thread_slot(threads: int) -> Iterator[None]:
    """:func:`_limit_threads` in this process for a while; the previous settings (variables,
    torch's and OpenCV's thread counts, the slot's) come back afterwards."""
    global _SLOT_THREADS
    import cv2

    saved_env = {n: os.environ.get(n) for n in _THREAD_VARIABLES}
    torch = sys.modules.get("torch")
    saved_torch = torch.get_num_threads() if torch is not None else None
    saved_cv2, saved_slot = cv2.getNumThreads(), _SLOT_THREADS
    _limit_threads(threads)
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if saved_torch is not None:
            torch.set_num_threads(saved_torch)
        cv2.setNumThreads(saved_cv2)
        _SLOT_THREADS = saved_slot


_STOPPING = False  # in a worker: the main process asked it to stop (SIGTERM)
_IN_JOB = False  # in a worker: a job is running


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: an idle one exits; a running job ends through its ``finally``
    blocks (a running ffmpeg is killed, temporary files are removed), then the worker
    exits (:func:`_in_worker`). While a child process is being started the stop waits 5 ms
    (SIGALRM comes back here): stopping inside ``Popen()`` would orphan the child, which
    would go on writing into the run directory."""
    import signal

    global _STOPPING
    _STOPPING = True
    if not _IN_JOB:
        os._exit(128 + signal.SIGTERM)
    if _spawning(frame):
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    raise SystemExit(128 + signal.SIGTERM)


def _spawning(frame: Any) -> bool:
    """True when ``frame`` (or a caller) is inside ``subprocess.Popen()``."""
    while frame is not None:
        if frame.f_globals.get("__name__") == "subprocess" and frame.f_code.co_name in (
            "__init__",
            "_execute_child",
        ):
            return True
        frame = frame.f_back
    return False


def _in_worker(fn: TaskFn, job: Any) -> Any:
    """What a pool worker runs: ``fn(job)``; the worker exits after it when stopping."""
    global _IN_JOB
    _IN_JOB = True
    try:
        return fn(job)
    finally:
        _IN_JOB = False
        if _STOPPING:  # the main process no longer waits for the outcome
            os._exit(1)


def _init_worker(threads: int = 1) -> None:
    import signal

    _die_with_parent()
    _limit_threads(threads)
    # Ctrl-C reaches every process of the terminal's group: the main process handles it
    # (stops the pool, says what was kept), workers neither stop mid-write nor print a trace
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGALRM, _stop_worker)  # a stop deferred by a starting child


def _warn_oversubscribed(jobs: list[Job], n_workers: int) -> None:
    """Warn when the codecs' own ``threads`` options ask for more threads than cores."""
    cores = thread_budget(1)
    asked = max(
        (int(dict(getattr(j, "codec_options", ())).get("threads", 1) or cores) for j in jobs),
        default=1,
    )
    if min(n_workers, len(jobs)) * asked > cores:
        logging.getLogger("vqabench").warning(
            "%d jobs side by side with encoder threads=%d ask for more threads than the %d "
            "cores (the codec option threads= is yours; lower it or --jobs)",
            min(n_workers, len(jobs)),
            asked,
            cores,
        )


def run_job(job: Job) -> JobOutcome:
    """:func:`~vqabench.runner.jobs.execute_job` with scratch files in the job's ``decode_dir``,
    given the threads of this process's slot.

    Metrics that need scratch space (libvmaf's logs through ffmpeg-quality-metrics) use the
    default temporary directory; pointing it at the run's ``.tmp/`` for the job's duration
    means a killed job leaves nothing in the system temp, and the next run cleans ``.tmp/``.
    Only for run directories whose path is safe inside an ffmpeg filter graph (libvmaf's
    ``log_path`` option): letters, digits, ``/``, ``_``, ``.``, ``-``; others keep the system
    temp.
    """
    if job.decode_dir is None or not _FILTER_SAFE.fullmatch(str(job.decode_dir)):
        return execute_job(job, threads=_SLOT_THREADS)
    saved = tempfile.tempdir
    tempfile.tempdir = str(job.decode_dir)
    try:
        return execute_job(job, threads=_SLOT_THREADS)
    finally:
        tempfile.tempdir = saved


WORKER_DIED = (
    "WorkerDied: the worker process ended abruptly while this job was in flight "
    "(killed, out of memory, or a crash in native code); every job in flight then "
    "is recorded as a transient failure, which the next run retries"
)


def local_executor(
    jobs: list[Job], on_done: OnDone, n_workers: int, *, fn: TaskFn = run_job, threads: int = 1
) -> None:
    """Run ``jobs`` on this machine with ``n_workers`` processes (1 = in this process).

    ``fn`` is what runs each job (default :func:`run_job`; make-pairs jobs pass theirs);
    ``threads`` is the thread count of a job run in this process (the CLI's ``--threads``,
    default 1: a thread per core collapses when the cores are shared, performance.md,
    "Threads"); worker processes get :func:`thread_budget`.

    A worker process that dies (OOM killer, segfault) does not end the run: the jobs in
    flight at that moment are recorded as failed (:data:`WORKER_DIED`; which one caused it
    is unknowable) and the rest continue in a fresh pool.
    """
    if not jobs:
        return
    _warn_oversubscribed(jobs, n_workers)
    if n_workers <= 1 or len(jobs) == 1:
        with _thread_slot(threads):
            for job in jobs:
                on_done(job, fn(job))
        return
    queue = list(reversed(jobs))
    while queue:
        _run_pool(queue, on_done, n_workers, fn)


@dataclass(frozen=True)
class LocalExecutor:
    """:func:`local_executor` with the thread count of jobs run in this process; what
    :func:`make_executor` gives for ``local`` (and a run's default). A run starts its worker
    processes early (:func:`prestart`) for this executor only."""

    threads: int = 1

    def __call__(
        self, jobs: list[Job], on_done: OnDone, n_workers: int, *, fn: TaskFn = run_job
    ) -> None:
        local_executor(jobs, on_done, n_workers, fn=fn, threads=self.threads)


#: Pools started ahead of their first jobs by :func:`prestart`, by worker count.
_PRESTARTED: dict[int, ProcessPoolExecutor] = {}


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(thread_budget(workers),),
    )


def _warm_up() -> None:
    """A task that makes a fresh worker start, import the job code and ask ffmpeg what it
    offers (three probes, about 50 ms, that every job's codec spec and VMAF need) before it
    is given a job."""
    import vqabench.metrics  # noqa: F401  (the metric registry every job uses)
    from vqabench.io.ffmpeg import ffmpeg_info

    ffmpeg_info()


def prestart(n_workers: int) -> None:
    """Start the ``n_workers`` worker processes of the next local pool now, so that their
    start-up (a fresh interpreter importing the job code, about a second each) overlaps the
    caller's planning instead of delaying the first jobs; the next :func:`local_executor`
    call with that many workers uses them. :func:`release_prestarted` ends them if unused.
    """
    if n_workers <= 1 or n_workers in _PRESTARTED:
        return
    pool = _new_pool(n_workers)
    for _ in range(n_workers):  # each task on a busy pool spawns one more worker
        pool.submit(_warm_up)
    _PRESTARTED[n_workers] = pool


def release_prestarted() -> None:
    """End the pools of :func:`prestart` that no job used: their workers are terminated, not
    awaited, so a run that stops at a bad input (an unknown dataset) answers at once."""
    while _PRESTARTED:
        _stop_pool(_PRESTARTED.popitem()[1])


def _run_pool(queue: list[Job], on_done: OnDone, n_workers: int, fn: TaskFn = run_job) -> None:
    """Run jobs popped from ``queue`` until it is empty or the pool breaks."""
    workers = min(n_workers, len(queue))
    with _PRESTARTED.pop(workers, None) or _new_pool(workers) as pool:
        try:
            _feed_pool(pool, queue, on_done, n_workers, fn)
        except BaseException:  # Ctrl-C, a full disk: stop the workers, keep nothing of theirs
            _stop_pool(pool)
            raise


def _feed_pool(
    pool: ProcessPoolExecutor, queue: list[Job], on_done: OnDone, n_workers: int, fn: TaskFn
) -> None:
    pending: dict[Future[JobOutcome], Job] = {}
    broken = False
    # keep at most 2 jobs per worker in flight so a kill loses little queued work
    while (queue and not broken) or pending:
        while queue and not broken and len(pending) < 2 * n_workers:
            job = queue.pop()
            try:
                pending[pool.submit(_in_worker, fn, job)] = job
            except BrokenProcessPool:
                queue.append(job)  # never started: it goes to the next pool
                broken = True
        if not pending:
            break
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            job = pending.pop(fut)
            try:
                outcome = fut.result()
            except BrokenProcessPool:
                broken = True
                outcome = JobOutcome(job.key, error=WORKER_DIED, error_kind="transient")
            on_done(job, outcome)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool now: queued jobs cancelled, running workers terminated (their jobs are
    not recorded; the next run does them), so that nothing writes into the run directory
    after the run has stopped."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(10)
        if process.is_alive():  # pragma: no cover - stuck in native code
            process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


_WORKER_READY = False


def _run_on_dask_worker(job: Job) -> JobOutcome:
    """The task a Dask worker runs: one-time thread limits, a check that this machine's
    codec (name, version, options: ffmpeg's version included) is the one the job was keyed
    with, then :func:`run_job`."""
    global _WORKER_READY
    if not _WORKER_READY:
        _limit_threads()  # one thread per Dask worker thread (threads_per_worker=1)
        _WORKER_READY = True
    try:
        from vqabench import codecs

        here = codecs.create(job.codec_name, **dict(job.codec_options)).spec
    except Exception as exc:  # reported like any failing job
        return JobOutcome(job.key, error=f"{type(exc).__name__} on a Dask worker: {exc}")
    if here != job.codec_spec:
        return JobOutcome(
            job.key,
            error=(
                f"EnvironmentError: the Dask worker {os.uname().nodename} has codec {here}, the "
                f"run planned {job.codec_spec}; install the same vqabench and imageio-ffmpeg "
                "versions on every machine (docs/distributed.md)"
            ),
        )
    return run_job(job)


def _run_task_on_dask_worker(fn: TaskFn, job: Any) -> Any:
    """The task a Dask worker runs for a job of another kind: thread limits, then ``fn``."""
    global _WORKER_READY
    if not _WORKER_READY:
        _limit_threads()
        _WORKER_READY = True
    return fn(job)


class DaskExecutor:
    """Run jobs on a Dask distributed cluster; outcomes come back to the main process.

    Without ``scheduler`` the first call starts a ``LocalCluster`` with ``n_workers`` worker
    processes of one thread each; with it, the client connects to that scheduler and the
    cluster's workers decide the parallelism. One cluster serves every call (both stages of a
    run) until :meth:`close`. At most two jobs per worker thread are in flight, so a kill of
    the main process loses little queued work. Every worker must see the run directory, the
    sources and the cache at the same absolute paths (see docs/distributed.md).

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``), or None for a local
            cluster.

    Raises:
        ConfigError: dask[distributed] is not installed, or the scheduler cannot be reached.
    """

    def __init__(self, scheduler: str | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError(_DASK_MISSING) from None
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None
        if scheduler is not None:  # fail before any work when the address is wrong
            self._connect(0)

    def _connect(self, n_workers: int) -> Any:
        if self._client is not None:
            return self._client
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            self._cluster = LocalCluster(
                n_workers=max(1, n_workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError(
                    f"--scheduler={self.scheduler!r}: cannot connect to a Dask "
                    f"scheduler there ({type(exc).__name__}: {exc})"
                ) from None
        return self._client

    def __call__(
        self, jobs: list[Job], on_done: OnDone, n_workers: int, *, fn: TaskFn = run_job
    ) -> None:
        """Run ``jobs``; ``on_done(job, outcome)`` runs here as each one completes.

        ``fn`` is what runs each job (default :func:`run_job`, with the codec check)."""
        if not jobs:
            return
        from distributed import as_completed

        client = self._connect(n_workers)
        threads = sum(client.nthreads().values()) or max(1, n_workers)
        queue = list(reversed(jobs))
        owner: dict[str, Job] = {}

        def submit() -> Any:
            job = queue.pop()
            key = f"vqabench-{job.key[:16]}-{os.urandom(4).hex()}"
            if fn is run_job:
                fut = client.submit(_run_on_dask_worker, job, pure=False, key=key)
            else:
                fut = client.submit(_run_task_on_dask_worker, fn, job, pure=False, key=key)
            owner[fut.key] = job
            return fut

        running = as_completed([submit() for _ in range(min(len(queue), 2 * threads))])
        for fut in running:
            job = owner.pop(fut.key)
            try:
                outcome = fut.result()
            except Exception as exc:  # a lost worker, a task that could not be unpickled...
                lost = type(exc).__name__ in _DASK_LOST or isinstance(exc, OSError)
                outcome = JobOutcome(
                    job.key,
                    error=f"{type(exc).__name__} on the Dask cluster: {exc}",
                    error_kind="transient" if lost else "permanent",
                )
            fut.release()
            on_done(job, outcome)
            if queue:
                running.add(submit())

    def close(self) -> None:
        """Close the client and the local cluster, if one was started."""
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def make_executor(
    kind: Literal["local", "dask"] | str = "local",
    scheduler: str | None = None,
    *,
    threads: int = 1,
) -> Iterator[Callable[[list[Job], OnDone, int], None]]:
    """The executor named ``kind`` for :func:`vqabench.runner.run.run`, closed on exit.

    Args:
        kind: ``local`` (processes on this machine) or ``dask``.
        scheduler: Dask scheduler address (only with ``dask``); None starts a local cluster.
        threads: threads of a job run in this process (``local``; Dask workers use one).

    Raises:
        ConfigError: unknown kind, a scheduler without dask, dask not installed.
    """
    if kind not in EXECUTORS:
        raise invalid("--executor", kind, " | ".join(EXECUTORS))
    if kind == "local":
        if scheduler is not None:
            raise invalid(
                "--scheduler", scheduler, "no address with --executor local (add --executor dask)"
            )
        yield LocalExecutor(threads)
        return
    with DaskExecutor(scheduler) as executor:
        yield executor
