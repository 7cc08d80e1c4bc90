"""What a run says when the machine, not the input, stops it.

A full disk, a read-only run directory, a corrupt store and Ctrl-C each end a run with one
line that says what was kept and how to go on (:func:`run_faults`); a run that is about to
recompute everything because its store is missing or empty, next to the results of an
earlier run, warns first (:func:`warn_lost_store`). Which failures of single jobs are
transient is :mod:`vqabench.io.faults`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path

from vqabench.errors import (
    DiskFullError,
    Interrupted,
    ReadOnlyError,
    ResourceError,
    StoreCorruptError,
)
from vqabench.io.faults import resource_error

__all__ = ["run_faults", "store_faults", "intact", "warn_lost_store"]


def _csv_rows(path: Path) -> int:
    """Data rows of a CSV file (0 when it is absent or unreadable)."""
    try:
        with open(path, "rb") as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return 0


def _bitstreams(out_dir: Path) -> int:
    """Bitstream files under ``bitstreams/`` (without sidecars and temporaries)."""
    folder = out_dir / "bitstreams"
    if not folder.is_dir():
        return 0
    return sum(
        1
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-") and not p.name.endswith(".frames.json")
    )


def intact(out_dir: Path) -> str:
    """What of a run directory does not depend on its store, e.g. ``results.csv (16 rows)
    and 8 bitstreams are intact``."""
    rows, bits = _csv_rows(out_dir / "results.csv"), _bitstreams(out_dir)
    parts = ([f"results.csv ({rows} rows)"] if (out_dir / "results.csv").is_file() else []) + (
        [f"{bits} bitstreams"] if bits else []
    )
    return (
        (" and ".join(parts) + (" are" if len(parts) > 1 or bits > 1 else " is") + " intact")
        if parts
        else "no results.csv or bitstreams are there"
    )


def _advice(error: ResourceError, out_dir: Path, progress: list[int]) -> str:
    done, total = progress
    kept = (
        f"{done} of {total} jobs finished and kept in {out_dir / 'store.sqlite'}"
        if total
        else "nothing was run yet"
    )
    if isinstance(error, DiskFullError):
        return f"{kept}; free some space (or choose another --out) and run the same command" + (
            " to resume: the jobs that hit the full disk are retried" if total else ""
        )
    if isinstance(error, ReadOnlyError):
        return (
            f"{out_dir} must be writable for a run: choose another --out; `vqabench "
            f"status {out_dir}` reads a finished run without writing"
        )
    if isinstance(error, StoreCorruptError):
        store = out_dir / "store.sqlite"
        return (
            f"{intact(out_dir)}; to rebuild, move the store aside (mv {store} "
            f"{store}.corrupt) and run the same command: every job is encoded and "
            "measured again"
        )
    return kept


@contextlib.contextmanager
def run_faults(out_dir: Path, progress: list[int]) -> Iterator[None]:
    """Turn a machine fault inside a run into one line that says what was kept.

    Args:
        out_dir: the run directory.
        progress: ``[jobs finished, jobs planned]``, kept current by the run.

    Raises:
        DiskFullError / ReadOnlyError / StoreCorruptError: with what was kept and what to do.
        Interrupted: Ctrl-C, with what was kept.
    """
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        done, total = progress
        raise Interrupted(
            f"{done} of {total} jobs finished and kept in {out_dir / 'store.sqlite'}"
        ) from None
    except (OSError, sqlite3.Error) as exc:
        error = resource_error(exc, out_dir)
        if error is None:
            raise
        raise type(error)(f"{error}; {_advice(error, out_dir, progress)}") from exc


@contextlib.contextmanager
def store_faults(out_dir: Path) -> Iterator[None]:
    """:func:`run_faults` for commands that only read a run (``vqabench status``)."""
    try:
        yield
    except StoreCorruptError as exc:
        raise StoreCorruptError(f"{exc}; {_advice(exc, out_dir, [0, 0])}") from exc


def warn_lost_store(out_dir: Path) -> None:
    """Warn when ``store.sqlite`` is missing or empty while results of an earlier run are
    there: the run is about to encode and measure every job again."""
    store = out_dir / "store.sqlite"
    if store.exists() and not store.is_file():
        return  # opening it says what is wrong
    if store.is_file() and store.stat().st_size > 0:
        try:
            with contextlib.closing(
                sqlite3.connect(f"{store.absolute().as_uri()}?mode=ro", uri=True)
            ) as db:
                rows = sum(
                    db.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]
                    for t in ("encodes", "measurements", "failures")
                )
        except sqlite3.Error as exc:
            if "no such table" not in str(exc):
                return  # not a store this check can read: opening it says what is wrong
            rows = 0
        if rows:
            return
    rows, bits = _csv_rows(out_dir / "results.csv"), _bitstreams(out_dir)
    if not (rows or bits):
        return
    state = "empty" if store.is_file() else "missing"
    warnings.warn(
        f"{store} is {state} but {intact(out_dir)}: every job is encoded and "
        "measured again (the store is what records finished jobs; restore it from "
        "a copy to keep them)",
        UserWarning,
        stacklevel=3,
    )
