"""Answers of a study in SQLite (``STUDY/answers.sqlite``, WAL, ``synchronous=FULL``).

One row per participant (with the plan drawn for them, so the order shown is on record) and
one row per answer. Each answer is one ``BEGIN IMMEDIATE ... COMMIT`` transaction that first
checks that the participant exists and that the trial is the one due at that position, so an
acknowledged answer is on disk (``FULL`` syncs the WAL at every commit) and an answer is
never recorded twice: ``(participant, position)`` and ``(participant, trial)`` are unique.
The screen checks of the instructions page (window size, devicePixelRatio, whether the videos
fit at native size) are kept in ``screens``.
An answer of ``vqabench study simulate`` is stored the same way with ``simulated = 1``; a
database written before that column existed gains it (``0``: answers of people) when opened
for a study, and reads as all-human when only read.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DB_NAME", "AnswerRejected", "Answer", "open_db", "register", "participant",
           "next_position", "record_answer", "bring_forward", "answers", "participants",
           "record_screen"]

DB_NAME = "answers.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY, plan TEXT NOT NULL, user_agent TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    participant TEXT NOT NULL REFERENCES participants(id), position INTEGER NOT NULL,
    trial TEXT NOT NULL, swapped INTEGER NOT NULL, side TEXT, choice TEXT, score INTEGER,
    response_ms INTEGER NOT NULL, created REAL NOT NULL,
    simulated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (participant, position), UNIQUE (participant, trial));
CREATE TABLE IF NOT EXISTS screens (
    participant TEXT NOT NULL REFERENCES participants(id), viewport_w REAL NOT NULL,
    viewport_h REAL NOT NULL, dpr REAL NOT NULL, fits INTEGER NOT NULL, created REAL NOT NULL);
"""


class AnswerRejected(Exception):
    """An answer that is not stored; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Answer:
    """One stored answer. ``choice`` is in trial terms (``a``, ``b``, ``neutral``; 2AFC),
    ``side`` what was clicked (``left``, ``right``, ``neutral``), ``score`` 1-5 (ACR/DCR);
    ``simulated``: given by ``vqabench study simulate``, not by a person."""

    participant: str
    position: int
    trial: str
    swapped: bool
    side: str | None
    choice: str | None
    score: int | None
    response_ms: int
    created: float
    simulated: bool = False


def open_db(path: Path, *, study_id: str | None = None) -> sqlite3.Connection:
    """Open (creating) the answers database; autocommit mode, explicit transactions.

    Raises:
        AnswerRejected: (500) the database belongs to another study.
    """
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    if study_id is not None:
        with _transaction(db):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            if not _has_simulated(db):  # a database of an earlier vqabench
                db.execute("ALTER TABLE answers ADD COLUMN simulated INTEGER NOT NULL "
                           "DEFAULT 0")
            db.execute("INSERT OR IGNORE INTO meta VALUES ('study_id', ?)", (study_id,))
            stored = db.execute("SELECT value FROM meta WHERE key='study_id'").fetchone()[0]
        if stored != study_id:
            db.close()
            raise AnswerRejected(500, f"{path} holds answers of study {stored!r}, not "
                                      f"{study_id!r}")
    return db


def _has_simulated(db: sqlite3.Connection) -> bool:
    return any(row[1] == "simulated" for row in db.execute("PRAGMA table_info(answers)"))


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def register(db: sqlite3.Connection, pid: str, plan: list[tuple[str, bool]],
             user_agent: str = "") -> bool:
    """Add a participant with their plan; False when the id exists (nothing changed)."""
    with _transaction(db):
        cur = db.execute("INSERT OR IGNORE INTO participants VALUES (?, ?, ?, ?)",
                         (pid, json.dumps(plan), user_agent[:300], time.time()))
    return cur.rowcount == 1


def participant(db: sqlite3.Connection, pid: str) -> list[tuple[str, bool]] | None:
    """The plan of participant ``pid``, or None when unknown."""
    row = db.execute("SELECT plan FROM participants WHERE id = ?", (pid,)).fetchone()
    return None if row is None else [(t, bool(s)) for t, s in json.loads(row[0])]


def next_position(db: sqlite3.Connection, pid: str) -> int:
    """Number of answers of ``pid`` (= position of the next trial due)."""
    return int(db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?",
                          (pid,)).fetchone()[0])


def record_answer(db: sqlite3.Connection, *, pid: str, position: int, trial: str,
                  side: str | None, choice: str | None, score: int | None,
                  response_ms: int, simulated: bool = False) -> None:
    """Store one answer in one transaction, after checking it is the one due.

    ``simulated`` marks an answer of ``vqabench study simulate``.

    Raises:
        AnswerRejected: 404 unknown participant; 409 not the trial due at ``position``
            (a replayed or out-of-order answer); nothing is stored.
    """
    with _transaction(db):
        row = db.execute("SELECT plan FROM participants WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise AnswerRejected(404, f"participant={pid!r} is not registered in this study")
        plan = json.loads(row[0])
        due = int(db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?",
                             (pid,)).fetchone()[0])
        if due >= len(plan):
            raise AnswerRejected(409, f"participant {pid!r} has answered every trial")
        if position != due or plan[due][0] != trial:
            raise AnswerRejected(409, f"trial={trial!r} at position={position} is not due: "
                                      f"position {due} (trial {plan[due][0]!r}) is; an answer "
                                      "is recorded once")
        db.execute("INSERT INTO answers (participant, position, trial, swapped, side, choice, "
                   "score, response_ms, created, simulated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (pid, position, trial, int(plan[due][1]), side, choice, score,
                    int(response_ms), time.time(), int(simulated)))


def bring_forward(db: sqlite3.Connection, pid: str, trial: str) -> None:
    """Make ``trial`` the trial due next for ``pid`` (active sampling), in one transaction.

    The plan entry of ``trial`` (with its sides) swaps places with the entry due now, so the
    plan keeps every trial once and the answered part is unchanged.

    Raises:
        AnswerRejected: 404 unknown participant; 409 ``trial`` is not among the trials
            ``pid`` has still to answer.
    """
    with _transaction(db):
        row = db.execute("SELECT plan FROM participants WHERE id = ?", (pid,)).fetchone()
        if row is None:
            raise AnswerRejected(404, f"participant={pid!r} is not registered in this study")
        plan = json.loads(row[0])
        due = int(db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?",
                             (pid,)).fetchone()[0])
        where = [k for k in range(due, len(plan)) if plan[k][0] == trial]
        if not where:
            raise AnswerRejected(409, f"trial={trial!r} is not among the trials participant "
                                      f"{pid!r} has still to answer")
        plan[due], plan[where[0]] = plan[where[0]], plan[due]
        db.execute("UPDATE participants SET plan = ? WHERE id = ?", (json.dumps(plan), pid))


def record_screen(db: sqlite3.Connection, *, pid: str, viewport_w: float, viewport_h: float,
                  dpr: float, fits: bool) -> None:
    """Store one screen check of ``pid`` (viewport in CSS px, devicePixelRatio, verdict).

    Raises:
        AnswerRejected: 404 unknown participant.
    """
    with _transaction(db):
        if db.execute("SELECT 1 FROM participants WHERE id = ?", (pid,)).fetchone() is None:
            raise AnswerRejected(404, f"participant={pid!r} is not registered in this study")
        db.execute("INSERT INTO screens VALUES (?, ?, ?, ?, ?, ?)",
                   (pid, viewport_w, viewport_h, dpr, int(fits), time.time()))


def answers(db: sqlite3.Connection) -> list[Answer]:
    """Every stored answer, by participant and position (``simulated`` False in a database
    written before that column existed)."""
    simulated = "simulated" if _has_simulated(db) else "0"
    rows = db.execute("SELECT participant, position, trial, swapped, side, choice, score, "
                      f"response_ms, created, {simulated} FROM answers "
                      "ORDER BY participant, position")
    return [Answer(r[0], r[1], r[2], bool(r[3]), *r[4:9], bool(r[9])) for r in rows]


def participants(db: sqlite3.Connection) -> dict[str, int]:
    """Participant id -> number of trials in their plan."""
    return {pid: len(json.loads(plan)) for pid, plan in
            db.execute("SELECT id, plan FROM participants ORDER BY id")}
