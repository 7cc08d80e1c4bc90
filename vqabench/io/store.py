"""Content-addressed result store of a run directory (``store.sqlite``, WAL mode).

One row per encode (keyed by the hash of input content, codec spec and rate point), one row
per measurement (keyed by encode key, metric spec and anchor), one row per failed job, and
one row per finished ``make-pairs`` job (``pair_jobs``: a reference or a unit of patch
pairs, see :mod:`vqabench.runner.pairs`).
Each finished job is committed in a single transaction, so a crash loses at most the jobs
that were running, never half a job.

A failure has a kind (:mod:`vqabench.io.faults`): ``transient`` (disk full, a killed worker,
an interruption: the next plain run retries it) or ``permanent`` (retried only with
``--retry-failed``). Stores written before failures had a kind gain the column when a run
opens them; their rows get the kind their error text implies (read-only readers infer it).

Durability: WAL mode with ``synchronous=NORMAL`` keeps every committed transaction through a
killed process (``kill -9``); after a power loss the newest commits may be rolled back, never
half-applied, and the runner redoes those jobs. Only the run's main process writes; readers
(``vqabench status``) open the database read-only and never block it; a store in a read-only
folder (a finished run, archived) is opened as immutable, so that reading it writes nothing.

A file that is not an SQLite database raises :class:`~vqabench.errors.StoreCorruptError`,
and a full disk :class:`~vqabench.errors.DiskFullError`, each as one line naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vqabench.errors import ResourceError, StoreCorruptError
from vqabench.io.faults import PERMANENT, FailureKind, kind_of_error, resource_error

__all__ = ["Store", "EncodeRecord", "MeasurementRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS encodes (
    key TEXT PRIMARY KEY, sequence TEXT NOT NULL, reference TEXT NOT NULL, codec TEXT NOT NULL,
    rate_point TEXT NOT NULL, bitstream TEXT NOT NULL, bits INTEGER NOT NULL,
    enc_s REAL NOT NULL, dec_s REAL NOT NULL, frames INTEGER NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL, fps TEXT NOT NULL, codec_spec TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS measurements (
    key TEXT PRIMARY KEY, encode_key TEXT NOT NULL, metric TEXT NOT NULL, anchor TEXT NOT NULL,
    value REAL NOT NULL, per_frame TEXT NOT NULL, metric_spec TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, sequence TEXT NOT NULL, codec TEXT NOT NULL, rate_point TEXT NOT NULL,
    error TEXT NOT NULL, created REAL NOT NULL, kind TEXT NOT NULL DEFAULT 'permanent');
CREATE TABLE IF NOT EXISTS pair_jobs (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, uid TEXT NOT NULL, record TEXT NOT NULL,
    created REAL NOT NULL);
"""


_INSERT_FAILURE = (
    "INSERT OR REPLACE INTO failures (key, sequence, codec, rate_point, error,"
    " created, kind) VALUES (?,?,?,?,?,?,?)"
)


def _read_only_fs(path: Path) -> bool:
    """True when ``path`` lies on a file system mounted read-only (root ignores modes)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@dataclass(frozen=True)
class EncodeRecord:
    """A finished encode + decode."""

    key: str
    sequence: str
    reference: str
    codec: str
    rate_point: str
    bitstream: str  # relative to the run directory
    bits: int
    enc_s: float
    dec_s: float
    frames: int
    width: int
    height: int
    fps: str
    codec_spec: str


@dataclass(frozen=True)
class MeasurementRecord:
    """One metric value of one encode against one anchor."""

    key: str
    encode_key: str
    metric: str
    anchor: str
    value: float
    per_frame: tuple[float, ...]
    metric_spec: str


class Store:
    """A thin wrapper over the run's SQLite database (one writer: the run's main process)."""

    def __init__(self, path: Path, *, readonly: bool = False):
        """Open (and create, unless ``readonly``) the store at ``path``.

        Args:
            path: the ``store.sqlite`` file.
            readonly: open an existing store for reading only; nothing is created or written.

        Raises:
            FileNotFoundError: ``readonly`` and no store exists at ``path``.
            StoreCorruptError: the file is not an SQLite database.
            DiskFullError / ReadOnlyError: the store cannot be created or written.
        """
        self.path = Path(path)
        self.readonly = readonly
        if self.path.exists() and not self.path.is_file():
            raise StoreCorruptError(f"store {self.path} is not a file")
        try:
            if readonly:
                if not self.path.is_file():
                    raise FileNotFoundError(f"no store at {self.path}")
                self._db = self._open_readonly()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
                self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self._transaction():
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        self._db.execute(statement)
                    self._migrate()
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(failures)")}
        except ResourceError:
            raise
        except (OSError, sqlite3.Error) as exc:
            error = resource_error(exc, self.path)
            if error is None:
                raise
            raise error from exc
        self._kinds = "kind" in columns  # False: a read-only look at an old store

    def _open_readonly(self) -> sqlite3.Connection:
        """A read-only connection; immutable when the folder cannot be written (WAL mode
        needs a -shm file next to the store, which a read-only folder cannot hold: nobody
        can be writing the store there either)."""
        uri = self.path.absolute().as_uri()
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
            if os.access(self.path.parent, os.W_OK) and not _read_only_fs(self.path):
                raise
        db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=60)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db

    def _migrate(self) -> None:
        """Give the failures of a store written before failures had a kind their kind, from
        the recorded error text (inside the opening transaction)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(failures)")}
        if "kind" in columns:
            return
        self._db.execute("ALTER TABLE failures ADD COLUMN kind TEXT NOT NULL DEFAULT 'permanent'")
        for key, error in self._db.execute("SELECT key, error FROM failures").fetchall():
            self._db.execute(
                "UPDATE failures SET kind = ? WHERE key = ?", (kind_of_error(error), key)
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is committed, or none of it (also on a crash)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            error = None if isinstance(exc, ResourceError) else resource_error(exc, self.path)
            if error is None or "readonly" in str(exc):
                raise
            raise error from exc

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encode(self, key: str) -> EncodeRecord | None:
        """The encode stored under ``key``, if any."""
        row = self._db.execute(
            "SELECT key, sequence, reference, codec, rate_point, bitstream, bits, enc_s, dec_s,"
            " frames, width, height, fps, codec_spec FROM encodes WHERE key = ?",
            (key,),
        ).fetchone()
        return EncodeRecord(*row) if row else None

    def measurement(self, key: str) -> MeasurementRecord | None:
        """The measurement stored under ``key``, if any."""
        row = self._db.execute(
            "SELECT key, encode_key, metric, anchor, value, per_frame, metric_spec"
            " FROM measurements WHERE key = ?",
            (key,),
        ).fetchone()
        if not row:
            return None
        return MeasurementRecord(*row[:5], tuple(json.loads(row[5])), row[6])

    def commit_job(
        self,
        encode: EncodeRecord | None,
        measurements: list[MeasurementRecord],
        failure: tuple[str, str, str, str] | None = None,
    ) -> None:
        """Store one job's encode and measurements in one transaction.

        Args:
            encode: the encode record (None to add measurements only).
            measurements: the measurements to store.
            failure: ``(sequence, codec, rate_point, error)`` when part of the job failed
                (e.g. a metric gave NaN): recorded in the same transaction. Without it the
                job's earlier failure, if any, is cleared.
        """
        now = time.time()
        with self._transaction():
            if encode is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO encodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        encode.key,
                        encode.sequence,
                        encode.reference,
                        encode.codec,
                        encode.rate_point,
                        encode.bitstream,
                        encode.bits,
                        encode.enc_s,
                        encode.dec_s,
                        encode.frames,
                        encode.width,
                        encode.height,
                        encode.fps,
                        encode.codec_spec,
                        now,
                    ),
                )
            for m in measurements:
                self._db.execute(
                    "INSERT OR REPLACE INTO measurements VALUES (?,?,?,?,?,?,?,?)",
                    (
                        m.key,
                        m.encode_key,
                        m.metric,
                        m.anchor,
                        m.value,
                        json.dumps(list(m.per_frame)),
                        m.metric_spec,
                        now,
                    ),
                )
            key = (
                encode.key
                if encode is not None
                else (measurements[0].encode_key if measurements else None)
            )
            if key is not None and failure is None:
                self._db.execute("DELETE FROM failures WHERE key = ?", (key,))
            elif key is not None:
                self._db.execute(_INSERT_FAILURE, (key, *failure, now, PERMANENT))

    def record_failure(
        self,
        key: str,
        sequence: str,
        codec: str,
        rate_point: str,
        error: str,
        kind: FailureKind = PERMANENT,
    ) -> None:
        """Remember that the job ``key`` failed with ``error``; a ``transient`` failure is
        retried by the next plain run, a ``permanent`` one only with ``--retry-failed``."""
        with self._transaction():
            self._db.execute(
                _INSERT_FAILURE, (key, sequence, codec, rate_point, error, time.time(), kind)
            )

    def failures(self) -> list[tuple[str, str, str, str]]:
        """(sequence, codec, rate_point, error) of every recorded failure."""
        return self._db.execute(
            "SELECT sequence, codec, rate_point, error FROM failures ORDER BY created"
        ).fetchall()

    def failure(self, key: str) -> str | None:
        """The recorded error of job ``key``, if it failed."""
        row = self._db.execute("SELECT error FROM failures WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def failure_kind(self, key: str) -> FailureKind | None:
        """``transient`` or ``permanent`` when job ``key`` failed, else None."""
        column = "kind" if self._kinds else "error"
        row = self._db.execute(f"SELECT {column} FROM failures WHERE key = ?", (key,)).fetchone()
        if not row:
            return None
        return row[0] if self._kinds else kind_of_error(row[0])

    def pair_job(self, key: str) -> dict | None:
        """The record of the finished make-pairs job ``key``, if any."""
        row = self._db.execute("SELECT record FROM pair_jobs WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def commit_pair_job(self, key: str, kind: str, uid: str, record: dict) -> None:
        """Store one finished make-pairs job (``kind`` ``reference`` or ``unit``) atomically."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO pair_jobs VALUES (?,?,?,?,?)",
                (key, kind, uid, json.dumps(record, sort_keys=True), time.time()),
            )

    def pair_counts(self) -> dict[str, int]:
        """Finished make-pairs jobs by kind."""
        return dict(self._db.execute("SELECT kind, COUNT(*) FROM pair_jobs GROUP BY kind"))

    def codec_specs(self) -> list[tuple[str, dict]]:
        """(codec label, codec spec) of every distinct codec configuration with a stored
        encode; the spec is the JSON hashed into the job keys (name, version, options)."""
        rows = self._db.execute("SELECT DISTINCT codec, codec_spec FROM encodes ORDER BY codec")
        out = []
        for codec, spec in rows:
            try:
                data = json.loads(spec)
            except (TypeError, ValueError):
                data = None
            out.append((str(codec), data if isinstance(data, dict) else {}))
        return out

    def counts(self) -> dict[str, int]:
        """Number of stored encodes, measurements and failures."""
        return {
            t: self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("encodes", "measurements", "failures")
        }
