"""The web app through Flask's test client: sessions, resume, and bad input refused."""

from __future__ import annotations

import sqlite3

import pytest

from tests.studies.conftest import fresh_copy
from vqabench.studies import create_app, load_spec, participant_plan

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)


@pytest.fixture
def study(study_2afc, tmp_path):
    return fresh_copy(study_2afc, tmp_path / "study")


def _rows(study):
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute("SELECT participant, position, trial, side, choice FROM answers"
                          ).fetchall()


def _body(spec, pid, position, **kw):
    plan = participant_plan(spec, pid)
    return {"study": spec["study_id"], "participant": pid, "trial": plan[position][0],
            "position": position, "side": "left", "response_ms": 900, **kw}


def test_session_resume_and_choice_in_trial_terms(study):
    spec = load_spec(study)
    client = create_app(study).test_client()
    r = client.post("/start", data={"participant": "alice"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/p/alice")
    assert b"Instructions" in client.get("/p/alice").data
    plan = participant_plan(spec, "alice")
    page = client.get("/p/alice/trial").data.decode()
    trial = next(t for t in spec["trials"] if t["id"] == plan[0][0])
    files = {m["id"]: m["file"] for m in spec["media"]["items"]}
    left, right = (trial["b"], trial["a"]) if plan[0][1] else (trial["a"], trial["b"])
    assert page.index(files[left]) < page.index(files[right])
    for pos, side in enumerate(["left", "right", "neutral"]):
        r = client.post("/api/answer", json=_body(spec, "alice", pos, side=side))
        assert r.status_code == 200, r.json
    rows = _rows(study)
    for (_, _, tid, side, choice), (ptid, swapped) in zip(rows, plan, strict=False):
        assert tid == ptid
        expect = {"left": "b" if swapped else "a", "right": "a" if swapped else "b",
                  "neutral": "neutral"}[side]
        assert choice == expect
    # a new app (a restarted server) resumes at the next trial due
    again = create_app(study).test_client()
    assert f"Trial 4 of {len(plan)}" in again.get("/p/alice/trial").data.decode()


@pytest.mark.parametrize("change, status, message", [
    ({"trial": "deadbeef-t1"}, 400, "not a trial of this study"),
    ({"study": "deadbeef"}, 400, "is not this study"),
    ({"participant": "mallory"}, 404, "not registered"),
    ({"position": 1}, 409, "is not due"),
    ({"side": "up"}, 400, "side='up'"),
    ({"position": "0"}, 400, "position='0'"),
    ({"response_ms": True}, 400, "response_ms=True"),
    ({"score": 3, "side": None}, 400, "side=None"),
])
def test_bad_answers_are_refused_and_not_stored(study, change, status, message):
    spec = load_spec(study)
    client = create_app(study).test_client()
    client.post("/start", data={"participant": "alice"})
    r = client.post("/api/answer", json={**_body(spec, "alice", 0), **change})
    assert r.status_code == status and message in r.json["error"]
    assert _rows(study) == []


def test_replayed_and_malformed_bodies_are_refused(study):
    spec = load_spec(study)
    client = create_app(study).test_client()
    client.post("/start", data={"participant": "alice"})
    body = _body(spec, "alice", 0)
    assert client.post("/api/answer", json=body).status_code == 200
    replay = client.post("/api/answer", json=body)
    assert replay.status_code == 409 and "recorded once" in replay.json["error"]
    for data in (b"{not json", b"[1, 2]", b"x" * 40000):
        r = client.post("/api/answer", data=data, content_type="application/json")
        assert r.status_code in (400, 413) and r.json["ok"] is False
    assert len(_rows(study)) == 1


def test_a_trial_of_another_study_is_refused(study, study_acr, tmp_path):
    other = load_spec(study_acr)
    spec = load_spec(study)
    client = create_app(study).test_client()
    client.post("/start", data={"participant": "alice"})
    body = {**_body(spec, "alice", 0), "trial": other["trials"][1]["id"]}
    r = client.post("/api/answer", json=body)
    assert r.status_code == 400 and "not a trial of this study" in r.json["error"]
    assert _rows(study) == []


def test_unknown_participant_pages_are_404(study):
    client = create_app(study).test_client()
    assert client.get("/p/nobody/trial").status_code == 404
    assert client.post("/start", data={"participant": "bad id!"}).status_code == 400


def test_screen_checks_are_stored_with_the_servers_verdict(study):
    """64x64 videos side by side need (2 * 64 / dpr + 16) x (64 / dpr + 48) CSS px."""
    spec = load_spec(study)
    client = create_app(study).test_client()
    client.post("/start", data={"participant": "alice"})
    page = client.get("/p/alice").data.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '"presentation": "side-by-side"' in page and '"width": 64' in page
    body = {"study": spec["study_id"], "participant": "alice"}
    verdicts = []
    for w, h, dpr in ((144, 112, 1), (143, 112, 1), (144, 111, 1), (80, 80, 2)):
        r = client.post("/api/screen", json={**body, "viewport_w": w, "viewport_h": h,
                                             "dpr": dpr})
        assert r.status_code == 200, r.json
        verdicts.append(r.json["fits"])
    assert verdicts == [True, False, False, True]
    for change, status in (({"dpr": 0}, 400), ({"viewport_w": "wide"}, 400),
                           ({"participant": "mallory"}, 404), ({"study": "x"}, 400)):
        r = client.post("/api/screen", json={**body, "viewport_w": 500, "viewport_h": 500,
                                             "dpr": 1, **change})
        assert r.status_code == status and r.json["ok"] is False
    with sqlite3.connect(study / "answers.sqlite") as db:
        rows = db.execute("SELECT participant, viewport_w, viewport_h, dpr, fits FROM screens"
                          ).fetchall()
    assert rows == [("alice", 144, 112, 1, 1), ("alice", 143, 112, 1, 0),
                    ("alice", 144, 111, 1, 0), ("alice", 80, 80, 2, 1)]
