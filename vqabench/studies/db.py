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

A participant is identified by an unguessable token (the id is a name, not a credential):
only its SHA-256 is stored (``participants.token_sha256``), so a copy of the database does
not let anyone answer. ``events`` records when the server first served each trial page and
each of its videos to a participant; an answer stores the server's elapsed time since its
trial page was served (``served_ms``) and how many of the trial's videos were fetched before
it (``media_fetched`` of ``media_needed``), next to the client's ``response_ms``. A database
written before these columns existed is migrated in place when opened (new columns NULL:
"not measured").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DB_NAME",
    "AnswerRejected",
    "Answer",
    "open_db",
    "register",
    "participant",
    "next_position",
    "record_answer",
    "bring_forward",
    "answers",
    "participants",
    "record_screen",
    "by_token",
    "record_event",
    "app_secret",
    "consents",
]

DB_NAME = "answers.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY, plan TEXT NOT NULL, user_agent TEXT NOT NULL, created REAL NOT NULL,
    token_sha256 TEXT, consent_sha256 TEXT);
CREATE TABLE IF NOT EXISTS answers (
    participant TEXT NOT NULL REFERENCES participants(id), position INTEGER NOT NULL,
    trial TEXT NOT NULL, swapped INTEGER NOT NULL, side TEXT, choice TEXT, score INTEGER,
    response_ms INTEGER NOT NULL, created REAL NOT NULL, served_ms INTEGER,
    media_fetched INTEGER, media_needed INTEGER, simulated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (participant, position), UNIQUE (participant, trial));
CREATE TABLE IF NOT EXISTS screens (
    participant TEXT NOT NULL REFERENCES participants(id), viewport_w REAL NOT NULL,
    viewport_h REAL NOT NULL, dpr REAL NOT NULL, fits INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    participant TEXT NOT NULL REFERENCES participants(id), position INTEGER NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (participant, position, kind, name));
CREATE UNIQUE INDEX IF NOT EXISTS participants_token ON participants(token_sha256);
"""
#: Columns added since the first schema: table -> ((column, type), ...).
_ADDED = {
    "participants": (("token_sha256", "TEXT"), ("consent_sha256", "TEXT")),
    "answers": (
        ("served_ms", "INTEGER"),
        ("media_fetched", "INTEGER"),
        ("media_needed", "INTEGER"),
        ("simulated", "INTEGER NOT NULL DEFAULT 0"),
    ),
}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class AnswerRejected(Exception):
    """An answer that is not stored; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Answer:
    """One stored answer. ``choice`` is in trial terms (``a``, ``b``, ``neutral``; 2AFC),
    ``side`` what was clicked (``left``, ``right``, ``neutral``), ``score`` 1-5 (ACR/DCR).
    ``response_ms`` is what the client reported; ``served_ms`` (server: trial page served to
    answer received), ``media_fetched`` and ``media_needed`` are None where not measured
    (answers stored without the web app, or before vqabench measured them); ``simulated``:
    given by ``vqabench study simulate``, not by a person."""

    participant: str
    position: int
    trial: str
    swapped: bool
    side: str | None
    choice: str | None
    score: int | None
    response_ms: int
    created: float
    served_ms: int | None = None
    media_fetched: int | None = None
    media_needed: int | None = None
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
    if study_id is None:
        _migrate(db)
    else:
        with _transaction(db):
            _migrate(db, in_transaction=True)
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('study_id', ?)", (study_id,))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
            stored = db.execute("SELECT value FROM meta WHERE key='study_id'").fetchone()[0]
        if stored != study_id:
            db.close()
            raise AnswerRejected(500, f"{path} holds answers of study {stored!r}, not {study_id!r}")
    return db


def _migrate(db: sqlite3.Connection, *, in_transaction: bool = False) -> None:
    """Add the columns of :data:`_ADDED` that a database of an older vqabench lacks."""
    missing = []
    for table, columns in _ADDED.items():
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if have:  # the table exists
            missing += [(table, c, t) for c, t in columns if c not in have]
    if not missing:
        return
    with contextlib.nullcontext() if in_transaction else _transaction(db):
        for table, column, kind in missing:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def app_secret(db: sqlite3.Connection) -> bytes:
    """The study's server secret (random, made with the database; keys the CSRF tokens, so
    they survive a restart of the server)."""
    return bytes.fromhex(db.execute("SELECT value FROM meta WHERE key='secret'").fetchone()[0])


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def register(
    db: sqlite3.Connection,
    pid: str,
    plan: list[tuple[str, bool]],
    user_agent: str = "",
    *,
    token: str | None = None,
    consent_sha256: str | None = None,
) -> bool:
    """Add a participant with their plan; False when the id (or token) exists (nothing changed).

    Args:
        token: their credential (only its SHA-256 is stored); None: no web access.
        consent_sha256: hash of the consent text they agreed to, if any.
    """
    with _transaction(db):
        cur = db.execute(
            "INSERT OR IGNORE INTO participants (id, plan, user_agent, created, "
            "token_sha256, consent_sha256) VALUES (?, ?, ?, ?, ?, ?)",
            (
                pid,
                json.dumps(plan),
                user_agent[:300],
                time.time(),
                None if token is None else _sha256(token),
                consent_sha256,
            ),
        )
    return cur.rowcount == 1


def by_token(db: sqlite3.Connection, token: str) -> str | None:
    """The participant id whose token is ``token``, or None."""
    row = db.execute(
        "SELECT id FROM participants WHERE token_sha256 = ?", (_sha256(token),)
    ).fetchone()
    return None if row is None else row[0]


def participant(db: sqlite3.Connection, pid: str) -> list[tuple[str, bool]] | None:
    """The plan of participant ``pid``, or None when unknown."""
    row = db.execute("SELECT plan FROM participants WHERE id = ?", (pid,)).fetchone()
    return None if row is None else [(t, bool(s)) for t, s in json.loads(row[0])]


def record_event(
    db: sqlite3.Connection, *, pid: str, position: int, kind: str, name: str = ""
) -> None:
    """Note the first time the server served ``kind`` (``page`` | ``media``) ``name`` of
    the trial at ``position`` to ``pid`` (later ones change nothing)."""
    key = (pid, position, kind, name)
    if (
        db.execute(
            "SELECT 1 FROM events WHERE participant = ? AND position = ? AND kind = ? AND name = ?",
            key,
        ).fetchone()
        is not None
    ):
        return  # a range request or a reload: no write (and no sync) needed
    with _transaction(db):
        db.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)", (*key, time.time()))


def next_position(db: sqlite3.Connection, pid: str) -> int:
    """Number of answers of ``pid`` (= position of the next trial due)."""
    return int(
        db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?", (pid,)).fetchone()[0]
    )


def record_answer(
    db: sqlite3.Connection,
    *,
    pid: str,
    position: int,
    trial: str,
    side: str | None,
    choice: str | None,
    score: int | None,
    response_ms: int,
    media_needed: int | None = None,
    simulated: bool = False,
) -> None:
    """Store one answer in one transaction, after checking it is the one due.

    With ``media_needed`` (the number of video slots of the trial; the web app gives it), the
    server's timing is stored with it: milliseconds since the trial page was first served
    (None if it never was) and the number of the trial's videos fetched before the answer.
    ``simulated`` marks an answer of ``vqabench study simulate``.

    Raises:
        AnswerRejected: 404 unknown participant; 409 not the trial due at ``position``
            (a replayed or out-of-order answer); nothing is stored.
    """
    with _transaction(db):
        plan, due = _plan_and_due(db, pid)
        if due >= len(plan):
            raise AnswerRejected(409, f"participant {pid!r} has answered every trial")
        if position != due or plan[due][0] != trial:
            raise AnswerRejected(
                409,
                f"trial={trial!r} at position={position} is not due: "
                f"position {due} (trial {plan[due][0]!r}) is; an answer "
                "is recorded once",
            )
        now, served_ms, fetched = time.time(), None, None
        if media_needed is not None:
            served = db.execute(
                "SELECT MIN(created) FROM events WHERE participant = ? AND "
                "position = ? AND kind = 'page'",
                (pid, position),
            ).fetchone()[0]
            served_ms = None if served is None else round((now - served) * 1000)
            fetched = db.execute(
                "SELECT COUNT(*) FROM events WHERE participant = ? AND "
                "position = ? AND kind = 'media'",
                (pid, position),
            ).fetchone()[0]
        db.execute(
            "INSERT INTO answers (participant, position, trial, swapped, side, choice, "
            "score, response_ms, created, served_ms, media_fetched, media_needed, "
            "simulated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pid,
                position,
                trial,
                int(plan[due][1]),
                side,
                choice,
                score,
                int(response_ms),
                now,
                served_ms,
                fetched,
                media_needed,
                int(simulated),
            ),
        )


def _plan_and_due(db: sqlite3.Connection, pid: str) -> tuple[list, int]:
    """``pid``'s plan and the position due (answers stored so far), inside a transaction.

    Raises:
        AnswerRejected: 404 unknown participant.
    """
    row = db.execute("SELECT plan FROM participants WHERE id = ?", (pid,)).fetchone()
    if row is None:
        raise AnswerRejected(404, f"participant={pid!r} is not registered in this study")
    due = int(
        db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?", (pid,)).fetchone()[0]
    )
    return json.loads(row[0]), due


def bring_forward(db: sqlite3.Connection, pid: str, trial: str) -> None:
    """Make ``trial`` the trial due next for ``pid`` (active sampling), in one transaction.

    The plan entry of ``trial`` (with its sides) swaps places with the entry due now, so the
    plan keeps every trial once and the answered part is unchanged.

    Raises:
        AnswerRejected: 404 unknown participant; 409 ``trial`` is not among the trials
            ``pid`` has still to answer.
    """
    with _transaction(db):
        plan, due = _plan_and_due(db, pid)
        where = [k for k in range(due, len(plan)) if plan[k][0] == trial]
        if not where:
            raise AnswerRejected(
                409,
                f"trial={trial!r} is not among the trials participant {pid!r} has still to answer",
            )
        plan[due], plan[where[0]] = plan[where[0]], plan[due]
        db.execute("UPDATE participants SET plan = ? WHERE id = ?", (json.dumps(plan), pid))


def record_screen(
    db: sqlite3.Connection,
    *,
    pid: str,
    viewport_w: float,
    viewport_h: float,
    dpr: float,
    fits: bool,
) -> None:
    """Store one screen check of ``pid`` (viewport in CSS px, devicePixelRatio, verdict).

    Raises:
        AnswerRejected: 404 unknown participant.
    """
    with _transaction(db):
        if db.execute("SELECT 1 FROM participants WHERE id = ?", (pid,)).fetchone() is None:
            raise AnswerRejected(404, f"participant={pid!r} is not registered in this study")
        db.execute(
            "INSERT INTO screens VALUES (?, ?, ?, ?, ?, ?)",
            (pid, viewport_w, viewport_h, dpr, int(fits), time.time()),
        )


def answers(db: sqlite3.Connection) -> list[Answer]:
    """Every stored answer, by participant and position (an older database is migrated when
    opened: ``simulated`` 0, timing None)."""
    rows = db.execute(
        "SELECT participant, position, trial, swapped, side, choice, score, "
        "response_ms, created, served_ms, media_fetched, media_needed, simulated "
        "FROM answers ORDER BY participant, position"
    )
    return [Answer(r[0], r[1], r[2], bool(r[3]), *r[4:12], bool(r[12])) for r in rows]


def consents(db: sqlite3.Connection) -> dict[str, str | None]:
    """Participant id -> SHA-256 of the consent text they agreed to (None: none asked)."""
    return dict(db.execute("SELECT id, consent_sha256 FROM participants ORDER BY id"))


def participants(db: sqlite3.Connection) -> dict[str, int]:
    """Participant id -> number of trials in their plan."""
    return {
        pid: len(json.loads(plan))
        for pid, plan in db.execute("SELECT id, plan FROM participants ORDER BY id")
    }
