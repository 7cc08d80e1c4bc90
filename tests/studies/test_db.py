"""The answers database on a real SQLite file: schema and durability settings, one answer
per due trial in plan order, rejections that store nothing, and answers read back by an
independent ``sqlite3`` connection after the writer closed."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import pytest

from vqabench.studies.db import (
    DB_NAME,
    Answer,
    AnswerRejected,
    answers,
    app_secret,
    bring_forward,
    by_token,
    next_position,
    open_db,
    participant,
    participants,
    record_answer,
    record_event,
    register,
)

PLAN = [("t3", False), ("t1", True), ("t2", False)]


@pytest.fixture()
def db(tmp_path):
    conn = open_db(tmp_path / DB_NAME, study_id="s1")
    yield conn
    conn.close()


def _answer(db, pid, position, trial, **kw):
    record_answer(
        db,
        pid=pid,
        position=position,
        trial=trial,
        side=kw.get("side"),
        choice=kw.get("choice"),
        score=kw.get("score", 3),
        response_ms=kw.get("response_ms", 500),
    )


def test_settings_and_study_id(tmp_path, db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("SELECT value FROM meta WHERE key='study_id'").fetchone() == ("s1",)
    open_db(tmp_path / DB_NAME, study_id="s1").close()  # same study: fine
    with pytest.raises(AnswerRejected, match="holds answers of study 's1', not 's2'") as exc:
        open_db(tmp_path / DB_NAME, study_id="s2")
    assert exc.value.status == 500


def test_register_and_plan_round_trip(db):
    assert register(db, "p1", PLAN, "Mozilla/5.0 " + "x" * 400) is True
    assert register(db, "p1", [("other", False)]) is False  # nothing changed
    assert participant(db, "p1") == PLAN
    assert participant(db, "nobody") is None
    agent = db.execute("SELECT user_agent FROM participants").fetchone()[0]
    assert len(agent) == 300 and agent.startswith("Mozilla/5.0 ")
    register(db, "p0", PLAN[:1])
    assert participants(db) == {"p0": 1, "p1": 3}


def test_answers_in_plan_order_are_read_back_independently(tmp_path, db):
    register(db, "p1", PLAN)
    assert next_position(db, "p1") == 0
    _answer(db, "p1", 0, "t3", side="left", choice="a", score=None, response_ms=812)
    _answer(db, "p1", 1, "t1", score=5, response_ms=300)
    assert next_position(db, "p1") == 2
    got = answers(db)
    assert [
        (a.position, a.trial, a.swapped, a.side, a.choice, a.score, a.response_ms) for a in got
    ] == [(0, "t3", False, "left", "a", None, 812), (1, "t1", True, None, None, 5, 300)]
    assert all(isinstance(a, Answer) and a.created > 0 for a in got)
    db.close()
    with sqlite3.connect(tmp_path / DB_NAME) as raw:
        rows = raw.execute(
            "SELECT participant, position, trial, swapped, score FROM answers ORDER BY position"
        ).fetchall()
    assert rows == [("p1", 0, "t3", 0, None), ("p1", 1, "t1", 1, 5)]


def test_rejected_answers_store_nothing(db):
    register(db, "p1", PLAN[:2])
    with pytest.raises(AnswerRejected, match="participant='ghost' is not registered") as exc:
        _answer(db, "ghost", 0, "t3")
    assert exc.value.status == 404
    with pytest.raises(
        AnswerRejected,
        match=r"trial='t1' at position=1 is not due: position 0 "
        r"\(trial 't3'\) is",
    ) as exc:
        _answer(db, "p1", 1, "t1")  # out of order
    assert exc.value.status == 409
    with pytest.raises(AnswerRejected, match="trial='t1' at position=0 is not due"):
        _answer(db, "p1", 0, "t1")  # wrong trial at the due position
    _answer(db, "p1", 0, "t3")
    with pytest.raises(AnswerRejected, match="position=0 is not due: position 1"):
        _answer(db, "p1", 0, "t3")  # a replay
    _answer(db, "p1", 1, "t1")
    with pytest.raises(AnswerRejected, match="'p1' has answered every trial") as exc:
        _answer(db, "p1", 2, "t2")
    assert exc.value.status == 409
    assert [(a.position, a.trial) for a in answers(db)] == [(0, "t3"), (1, "t1")]
    assert not db.in_transaction  # every rejection rolled back


# The schema of vqabench before tokens and server timing (issue 31, item 5), verbatim.
_OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE participants (
    id TEXT PRIMARY KEY, plan TEXT NOT NULL, user_agent TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE answers (
    participant TEXT NOT NULL REFERENCES participants(id), position INTEGER NOT NULL,
    trial TEXT NOT NULL, swapped INTEGER NOT NULL, side TEXT, choice TEXT, score INTEGER,
    response_ms INTEGER NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (participant, position), UNIQUE (participant, trial));
INSERT INTO meta VALUES ('study_id', 's1');
INSERT INTO participants VALUES ('old', '[["t3", false], ["t1", true]]', 'UA', 1.0);
INSERT INTO answers VALUES ('old', 0, 't3', 0, 'left', 'a', NULL, 640, 2.0);
"""


def test_an_old_database_is_migrated_and_stays_readable(tmp_path):
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as raw:
        raw.executescript(_OLD_SCHEMA)
    reader = open_db(path)  # as analysis opens it: the old answer reads back, not timed
    assert answers(reader) == [Answer("old", 0, "t3", False, "left", "a", None, 640, 2.0)]
    reader.close()
    db = open_db(path, study_id="s1")  # as the web app opens it
    _answer(db, "old", 1, "t1", score=4)  # the old participant goes on
    assert register(db, "new", PLAN, token="tok-new-0123456789ab") is True
    assert by_token(db, "tok-new-0123456789ab") == "new" and by_token(db, "old") is None
    assert [(a.participant, a.position, a.score, a.media_needed) for a in answers(db)] == [
        ("old", 0, None, None),
        ("old", 1, 4, None),
    ]
    assert len(app_secret(db)) == 32
    db.close()


def test_tokens_are_stored_hashed_and_answers_carry_the_servers_timing(tmp_path, db):
    token = "secret-token-0123456789"
    register(db, "p1", PLAN, token=token)
    stored = db.execute("SELECT token_sha256 FROM participants").fetchone()[0]
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert by_token(db, token) == "p1" and by_token(db, token + "x") is None
    assert register(db, "p2", PLAN, token=token) is False  # never two with one token
    assert participant(db, "p2") is None
    record_event(db, pid="p1", position=0, kind="page")
    first = db.execute("SELECT created FROM events").fetchone()[0]
    time.sleep(0.05)
    record_event(db, pid="p1", position=0, kind="page")  # a reload: the first time counts
    record_event(db, pid="p1", position=0, kind="media", name="left")
    record_event(db, pid="p1", position=0, kind="media", name="left")  # a range request
    record_event(db, pid="p1", position=1, kind="media", name="right")  # another trial
    record_answer(
        db,
        pid="p1",
        position=0,
        trial="t3",
        side="left",
        choice="a",
        score=None,
        response_ms=5,
        media_needed=3,
    )
    record_answer(
        db,
        pid="p1",
        position=1,
        trial="t1",
        side="left",
        choice="a",
        score=None,
        response_ms=5,
        media_needed=3,
    )
    a, b = answers(db)
    assert a.served_ms == pytest.approx((a.created - first) * 1000, abs=1) and a.served_ms >= 50
    assert (a.media_fetched, a.media_needed, a.response_ms) == (1, 3, 5)
    assert (b.served_ms, b.media_fetched) == (None, 1)  # its page was never served


def test_simulated_answers_are_marked_and_old_databases_stay_readable(tmp_path):
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as raw:  # a database written before the simulated column
        raw.executescript(_OLD_SCHEMA)
    reader = open_db(path)  # as analysis opens it: migrated, old answers are people's
    assert [(a.trial, a.simulated) for a in answers(reader)] == [("t3", False)]
    reader.close()
    db = open_db(path, study_id="s1")  # opened for the study
    record_answer(
        db,
        pid="old",
        position=1,
        trial="t1",
        side=None,
        choice="b",
        score=None,
        response_ms=0,
        simulated=True,
    )
    assert [(a.trial, a.simulated) for a in answers(db)] == [("t3", False), ("t1", True)]
    db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT trial, simulated FROM answers ORDER BY position").fetchall() == [
            ("t3", 0),
            ("t1", 1),
        ]


def test_bring_forward_swaps_the_due_trial(db):
    register(db, "p1", PLAN)
    _answer(db, "p1", 0, "t3")
    bring_forward(db, "p1", "t2")  # t2 (position 2) becomes due, t1 takes its place
    assert participant(db, "p1") == [("t3", False), ("t2", False), ("t1", True)]
    _answer(db, "p1", 1, "t2")
    with pytest.raises(AnswerRejected, match="trial='t3' is not among the trials") as exc:
        bring_forward(db, "p1", "t3")  # answered already
    assert exc.value.status == 409
    with pytest.raises(AnswerRejected, match="participant='ghost'"):
        bring_forward(db, "ghost", "t1")
    assert participant(db, "p1") == [("t3", False), ("t2", False), ("t1", True)]
