"""The real server process: loopback by default, SIGKILL loses nothing acknowledged, and 20
participants at once lose no answer and record none twice."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.studies.conftest import csrf_of, fresh_copy, start_server, trial_cfg
from vqabench.studies import load_spec, participant_plan


def post(
    url: str, body: dict | None = None, form: dict | None = None, headers: dict | None = None
) -> tuple[int, dict]:
    if form is not None:
        data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    else:
        data, kind = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(url, data=data, headers={"Content-Type": kind, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, json.loads(text) if kind == "application/json" else {"url": r.url}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}") if kind == "application/json" else {}


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def join(url: str, pid: str) -> tuple[str, str]:
    """Register ``pid`` as the start page's form does; (link token, CSRF token)."""
    form_token = re.search(r'name="form_token" value="([^"]+)"', get(f"{url}/"))[1]
    status, reply = post(
        f"{url}/start", form={"participant": pid, "form_token": form_token}, headers={"Origin": url}
    )
    assert status == 200, status  # after the 303 to the personal link
    token = reply["url"].rsplit("/p/", 1)[1]
    return token, csrf_of(get(reply["url"]))


def answer(
    url: str, spec: dict, session: tuple[str, str], position: int, ref: str | None = None
) -> tuple[int, dict]:
    """Answer the trial at ``position`` with the reference ``ref`` (default: the one the
    page of the trial due gives)."""
    token, csrf = session
    ref = ref or trial_cfg(get(f"{url}/p/{token}/trial"))["trial"]
    return post(
        f"{url}/api/answer",
        {
            "study": spec["study_id"],
            "token": token,
            "trial": ref,
            "position": position,
            "side": ("left", "right", "neutral")[position % 3],
            "response_ms": 500,
        },
        headers={"X-CSRF-Token": csrf},
    )


def _rows(study: Path) -> list[tuple]:
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute(
            "SELECT participant, position, trial FROM answers ORDER BY participant, position"
        ).fetchall()


@pytest.fixture
def study(study_2afc, tmp_path):
    return fresh_copy(study_2afc, tmp_path / "study")


@pytest.mark.slow
def test_binds_loopback_by_default(study):
    proc, url = start_server(study)
    try:
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}"
        listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        local = {row[1] for row in listening if row[3] == "0A"}  # state LISTEN
        assert f"0100007F:{port:04X}" in local and f"00000000:{port:04X}" not in local
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_sigkill_between_answers_loses_nothing_acknowledged(study):
    spec = load_spec(study)
    plan = participant_plan(spec, "alice")
    proc, url = start_server(study)
    acknowledged = []
    try:
        alice = join(url, "alice")
        for pos in range(3):
            status, body = answer(url, spec, alice, pos)
            assert status == 200 and body["ok"]
            acknowledged.append(("alice", pos, plan[pos][0]))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _rows(study) == acknowledged
        proc, url = start_server(study)  # the participant resumes where they stopped
        assert answer(url, spec, alice, 2)[0] == 409  # the same link and CSRF token work
        assert answer(url, spec, alice, 3)[0] == 200
        assert _rows(study) == acknowledged + [("alice", 3, plan[3][0])]
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_twenty_participants_at_once(study):
    """20 participants answer every trial concurrently (20 x 12 answers, a replay each)."""
    spec = load_spec(study)
    n_trials = len(spec["trials"])
    proc, url = start_server(study)
    acked: dict[str, list[int]] = {}
    errors: list[str] = []

    def participant(k: int) -> None:
        pid = f"p{k:02d}"
        acked[pid] = []
        try:
            session = join(url, pid)
            for pos in range(n_trials):
                ref = trial_cfg(get(f"{url}/p/{session[0]}/trial"))["trial"]
                status, _ = answer(url, spec, session, pos, ref)
                if status != 200:
                    errors.append(f"{pid}@{pos}: {status}")
                    return
                acked[pid].append(pos)
            status, _ = answer(url, spec, session, n_trials - 1, ref)  # a replay
            if status != 409:
                errors.append(f"{pid} replay: {status}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{pid}: {exc!r}")

    start = time.monotonic()
    threads = [threading.Thread(target=participant, args=(k,)) for k in range(20)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert not errors, errors[:5]
    assert elapsed < 120
    rows = _rows(study)
    assert len(rows) == 20 * n_trials == sum(len(v) for v in acked.values())
    assert len(set(rows)) == len(rows)
    for pid, positions in acked.items():
        plan = participant_plan(spec, pid)
        assert [(p, t) for q, p, t in rows if q == pid] == [(i, plan[i][0]) for i in positions]
