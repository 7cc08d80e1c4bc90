"""The web app through Flask's test client: sessions, resume, bad input refused, and answers
nobody can forge (issue 31, item 5): tokens, CSRF, opaque media, limits, consent, completion
code, and a bot that answers without watching excluded by the server's timing."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time

import pytest

from tests.studies.conftest import csrf_of, fresh_copy, join, trial_cfg
from vqabench.errors import ConfigError
from vqabench.studies import analyze_study, create_app, load_spec, participant_plan
from vqabench.studies.analyze import analyze_answers
from vqabench.studies.db import DB_NAME, answers, open_db

pytestmark = pytest.mark.slow  # its fixtures build runs, studies or encodes (seconds each)


@pytest.fixture
def study(study_2afc, tmp_path):
    return fresh_copy(study_2afc, tmp_path / "study")


def _rows(study):
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute(
            "SELECT participant, position, trial, side, choice FROM answers"
        ).fetchall()


def _edit_spec(study, **changes):
    spec = json.loads((study / "study.json").read_text())
    spec.update(changes)
    (study / "study.json").write_text(json.dumps(spec))


class Session:
    """One participant driving the app as the pages' JavaScript does."""

    def __init__(self, client, pid: str = ""):
        self.client = client
        self.token, self.csrf = join(client, pid)

    def page(self) -> dict:
        """Fetch the trial due; its settings (``trial`` reference, ``position``) and URLs."""
        text = self.client.get(f"/p/{self.token}/trial").data.decode()
        cfg = trial_cfg(text)
        cfg["urls"] = dict(re.findall(r'<video id="([\w-]+)" src="([^"]+)"', text))
        return cfg

    def answer(self, cfg: dict, *, headers: dict | None = None, **kw):
        body = {
            "study": cfg["study"],
            "token": self.token,
            "trial": cfg["trial"],
            "position": cfg["position"],
            "side": "left",
            "response_ms": 900,
            **kw,
        }
        return self.client.post(
            "/api/answer",
            json=body,
            headers={"X-CSRF-Token": self.csrf} if headers is None else headers,
        )


def test_session_resume_and_choice_in_trial_terms(study):
    spec = load_spec(study)
    client = create_app(study).test_client()
    alice = Session(client, "alice")
    assert b"Instructions" in client.get(f"/p/{alice.token}").data
    plan = participant_plan(spec, "alice")
    cfg = alice.page()
    trial = next(t for t in spec["trials"] if t["id"] == plan[0][0])
    sha = {m["id"]: m["sha256"] for m in spec["media"]["items"]}
    left, right = (trial["b"], trial["a"]) if plan[0][1] else (trial["a"], trial["b"])
    for slot, media_id in (("left", left), ("right", right), ("reference", trial["reference"])):
        got = client.get(cfg["urls"][slot]).data  # the bytes shown in that slot
        assert hashlib.sha256(got).hexdigest() == sha[media_id]
    for side in ["left", "right", "neutral"]:
        r = alice.answer(alice.page(), side=side)
        assert r.status_code == 200, r.json
    rows = _rows(study)
    for (_, _, tid, side, choice), (ptid, swapped) in zip(rows, plan, strict=False):
        assert tid == ptid
        expect = {
            "left": "b" if swapped else "a",
            "right": "a" if swapped else "b",
            "neutral": "neutral",
        }[side]
        assert choice == expect
    # a new app (a restarted server) resumes at the next trial due, with the same tokens
    again = create_app(study).test_client()
    page = again.get(f"/p/{alice.token}/trial").data.decode()
    assert f"Trial 4 of {len(plan)}" in page and trial_cfg(page)["csrf"] == alice.csrf


@pytest.mark.parametrize(
    "change, status, message",
    [
        ({"trial": "deadbeef"}, 409, "is not the one due"),
        ({"study": "deadbeef"}, 400, "is not this study"),
        ({"position": 1}, 409, "is not the one due"),
        ({"side": "up"}, 400, "side='up'"),
        ({"position": "0"}, 400, "position='0'"),
        ({"response_ms": True}, 400, "response_ms=True"),
        ({"response_ms": 2**63}, 400, "response_ms=9223372036854775808 must be an integer"),
        ({"response_ms": -1}, 400, "response_ms=-1"),
        ({"position": 10**30}, 400, "position=1000000000000000000000000000000"),
        ({"score": 3, "side": None}, 400, "side=None"),
        ({"token": None}, 400, "token is missing"),
    ],
)
def test_bad_answers_are_refused_and_not_stored(study, change, status, message):
    alice = Session(create_app(study).test_client(), "alice")
    r = alice.answer(alice.page(), **change)
    assert r.status_code == status and message in r.json["error"], r.json
    assert _rows(study) == []


def test_replayed_and_malformed_bodies_are_refused_with_400_never_500(study):
    client = create_app(study).test_client()
    alice = Session(client, "alice")
    cfg = alice.page()
    assert alice.answer(cfg).status_code == 200
    replay = alice.answer(cfg)
    assert replay.status_code == 409 and "recorded once" in replay.json["error"]
    # the 409 names positions, not trial ids (which are numbered by kind)
    assert spec_trial_ids(study).isdisjoint(re.findall(r"[0-9a-f]{8}-t\d+", replay.json["error"]))
    deep = b"[" * 1000 + b"]" * 1000
    deep_object = b'{"a":' * 1000 + b"1" + b"}" * 1000
    huge = (
        json.dumps(
            {
                "study": load_spec(study)["study_id"],
                "token": alice.token,
                "trial": cfg["trial"],
                "position": 1,
                "side": "left",
            }
        ).encode()[:-1]
        + b', "response_ms": '
        + b"9" * 5000
        + b"}"
    )
    deeper = b"[" * 8000 + b"]" * 8000  # past Python's recursion limit, under 16 KiB
    for data in (
        b"{not json",
        b"[1, 2]",
        b"\xff\xfe",
        deep,
        deep_object,
        deeper,
        huge,
        b"",
        b"x" * 40000,
    ):
        for path in ("/api/answer", "/api/screen"):
            r = client.post(
                path,
                data=data,
                content_type="application/json",
                headers={"X-CSRF-Token": alice.csrf},
            )
            assert r.json["ok"] is False, (path, data[:20])
            assert r.status_code == (413 if len(data) > 16384 else 400), (path, data[:20])
    assert len(_rows(study)) == 1


def spec_trial_ids(study) -> set[str]:
    return {t["id"] for t in load_spec(study)["trials"]}


def test_an_id_is_not_a_credential(study):
    """Answers as another participant's id, with a guessed token, or after re-registering
    the id are refused; only the link's token answers."""
    client = create_app(study).test_client()
    alice, bob = Session(client, "alice"), Session(client, "bob")
    cfg = alice.page()
    r = alice.answer(cfg, participant="bob")  # alice's token naming bob
    assert r.status_code == 403 and "not the participant of this token" in r.json["error"]
    r = bob.answer(cfg, token=alice.token)  # bob's CSRF token with alice's link token
    assert r.status_code == 403
    guessed = "A" * 22
    r = alice.answer(cfg, token=guessed, headers={"X-CSRF-Token": alice.csrf})
    assert r.status_code == 404 and "no participant has this token" in r.json["error"]
    old_style = {k: v for k, v in cfg.items() if k in ("study", "trial", "position")}
    r = client.post(
        "/api/answer",
        json={**old_style, "participant": "alice", "side": "left", "response_ms": 5},
        headers={"X-CSRF-Token": alice.csrf},
    )
    assert r.status_code == 400 and "not a participant id" in r.json["error"]
    for path in ("/p/alice", "/p/alice/trial", f"/p/{guessed}/done"):
        assert client.get(path).status_code == 404
    page = client.get("/").data.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    r = client.post(
        "/start",
        data={"participant": "alice", "form_token": form_token},
        headers={"Origin": "http://localhost"},
    )
    assert r.status_code == 409 and b"personal link" in r.data and "Location" not in r.headers
    assert _rows(study) == []
    with sqlite3.connect(study / "answers.sqlite") as db:
        stored = db.execute("SELECT id, token_sha256 FROM participants ORDER BY id").fetchall()
    assert stored == [
        ("alice", hashlib.sha256(alice.token.encode()).hexdigest()),
        ("bob", hashlib.sha256(bob.token.encode()).hexdigest()),
    ]
    assert len(alice.token) >= 22 and alice.token != bob.token


def test_posts_without_csrf_token_or_from_another_site_are_refused(study):
    client = create_app(study).test_client()
    alice = Session(client, "alice")
    cfg = alice.page()
    for headers in (
        {},
        {"X-CSRF-Token": "0" * 32},
        {"X-CSRF-Token": alice.csrf, "Origin": "https://evil.example"},
    ):
        r = alice.answer(cfg, headers=headers)
        assert r.status_code == 403 and "CSRF" in r.json["error"]
        r = client.post(
            "/api/screen",
            json={
                "study": cfg["study"],
                "token": alice.token,
                "viewport_w": 500,
                "viewport_h": 500,
                "dpr": 1,
            },
            headers=headers,
        )
        assert r.status_code == 403
    form_token = re.search(r'name="form_token" value="([^"]+)"', client.get("/").data.decode())[1]
    for data, headers in (
        ({"participant": "eve", "form_token": form_token}, {"Origin": "https://evil.example"}),
        (
            {"participant": "eve", "form_token": form_token},
            {"Referer": "https://evil.example/page"},
        ),
        ({"participant": "eve", "form_token": form_token}, {}),  # neither header
        ({"participant": "eve"}, {"Origin": "http://localhost"}),  # no form token
        ({"participant": "eve", "form_token": "1234." + "0" * 32}, {"Origin": "http://localhost"}),
    ):
        r = client.post("/start", data=data, headers=headers)
        assert r.status_code == 403, (data, headers)
    r = client.post(
        "/start",
        data={"participant": "eve", "form_token": form_token},
        headers={"Referer": "http://localhost/"},
    )
    assert r.status_code == 303
    # behind a reverse proxy that passes the public host name
    r = client.post(
        "/start",
        data={"participant": "finn", "form_token": form_token},
        headers={"Origin": "https://study.example.org", "X-Forwarded-Host": "study.example.org"},
    )
    assert r.status_code == 303
    assert alice.answer(cfg).status_code == 200 and len(_rows(study)) == 1


def test_registrations_per_minute_are_limited(study):
    client = create_app(study, registrations_per_minute=3).test_client()
    for k in range(3):
        join(client, f"p{k}")
    form_token = re.search(r'name="form_token" value="([^"]+)"', client.get("/").data.decode())[1]
    r = client.post(
        "/start",
        data={"participant": "p3", "form_token": form_token},
        headers={"Origin": "http://localhost"},
    )
    assert r.status_code == 429 and b"more than 3 new participants" in r.data
    with sqlite3.connect(study / "answers.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM participants").fetchone()[0] == 3
    with pytest.raises(ConfigError, match="registrations_per_minute=0"):
        create_app(study, registrations_per_minute=0)


def test_media_names_are_opaque_and_served_only_for_the_trial_due(study):
    """File names (keyed hashes, mapping only in study.json) and page URLs (per participant,
    trial and slot) say nothing of the trial kind; in an attention trial the reference and
    the undegraded version have different URLs; the next trial's videos are not served."""
    spec = load_spec(study)
    hexname = re.compile(r"^media/[0-9a-f]{20}\.webm$")
    assert all(hexname.match(m["file"]) for m in spec["media"]["items"])
    assert len({m["file"] for m in spec["media"]["items"]}) == len(spec["media"]["items"])
    client = create_app(study).test_client()
    alice = Session(client, "alice")
    kinds = {t["id"]: t["kind"] for t in spec["trials"]}
    plan = participant_plan(spec, "alice")
    seen = set()
    for pos, (tid, _) in enumerate(plan):
        cfg = alice.page()
        for url in cfg["urls"].values():
            assert re.fullmatch(rf"/p/{re.escape(alice.token)}/t/{pos}/[0-9a-f]{{20}}\.webm", url)
            seen.add(url)
        assert re.fullmatch(r"[0-9a-f]{20}", cfg["trial"])
        if kinds[tid] == "attention":
            assert len({cfg["urls"][k] for k in ("reference", "left", "right")}) == 3
        if pos == 0:  # the next trial's videos, and a made-up name, are 404
            nxt = cfg["urls"]["left"].replace("/t/0/", "/t/1/")
            assert client.get(nxt).status_code == 404
            assert client.get(f"/p/{alice.token}/t/0/{'0' * 20}.webm").status_code == 404
            assert client.head(cfg["urls"]["left"]).status_code == 200  # fetches nothing
        assert alice.answer(cfg).status_code == 200
    assert len(seen) == 3 * len(plan)  # reference, left, right: new names every trial
    assert client.get(next(iter(seen))).status_code == 404  # answered: not served again
    assert client.get("/" + spec["media"]["items"][0]["file"]).status_code == 404
    db = open_db(study / DB_NAME)
    assert {(a.media_fetched, a.media_needed) for a in answers(db)} == {(0, 3)}
    db.close()


def test_consent_is_asked_first_and_declining_ends_the_study(study):
    text = "This study shows you short videos.\n\nYou may stop at any time."
    consent = {
        "file": "consent.txt",
        "text": text,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    _edit_spec(study, consent=consent)
    client = create_app(study).test_client()
    page = client.get("/?PROLIFIC_PID=prolific42").data.decode()
    assert page.index("<p>This study shows you short videos.</p>") < page.index('id="start"')
    assert "<p>You may stop at any time.</p>" in page and 'value="prolific42"' in page
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    origin = {"Origin": "http://localhost"}
    r = client.post(
        "/start",
        data={"participant": "carol", "form_token": form_token, "consent": "no"},
        headers=origin,
    )
    assert r.status_code == 200 and b"nothing about you has been" in r.data
    r = client.post(
        "/start", data={"participant": "dave", "form_token": form_token}, headers=origin
    )
    assert r.status_code == 400 and b"agree or decline" in r.data
    token, _ = join(client, "erin", consent="yes")
    assert client.get(f"/p/{token}").status_code == 200
    with sqlite3.connect(study / "answers.sqlite") as db:
        rows = db.execute("SELECT id, consent_sha256 FROM participants").fetchall()
    assert rows == [("erin", consent["sha256"])]  # carol and dave: nothing stored


def test_completion_code_is_shown_once_every_trial_is_answered(study):
    _edit_spec(study, completion_code="C0DE42")
    client = create_app(study).test_client()
    alice = Session(client, "alice")
    n = len(participant_plan(load_spec(study), "alice"))
    for _ in range(n - 1):
        assert alice.answer(alice.page()).status_code == 200
    assert b"C0DE42" not in client.get(f"/p/{alice.token}/done").data
    assert alice.answer(alice.page()).status_code == 200
    r = client.get(f"/p/{alice.token}/trial")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/p/{alice.token}/done")
    page = client.get(f"/p/{alice.token}/done").data.decode()
    assert '<b id="completion-code">C0DE42</b>' in page and f"{n} of {n}" in page


def test_a_bot_that_answers_without_watching_is_excluded(study):
    """Two participants fetch every video and take the minimum viewing time (0.1 s here);
    a bot reads each trial page and answers at once without fetching a video, claiming 900
    ms, and even gets the attention trials right (as if it knew them). It is stored, then
    removed by the server's timing, and the scores equal those without it."""
    _edit_spec(study, min_view_s=0.1)
    spec = load_spec(study)
    trials = {t["id"]: t for t in spec["trials"]}
    kbps = {c["id"]: c["kbps"] for c in spec["conditions"]}
    client = create_app(study).test_client()
    people = {pid: Session(client, pid) for pid in ("hana", "ivan")}
    bot = Session(client, "bot")

    def side(pid: str, pos: int, prefer_high: bool) -> str:
        tid, swapped = participant_plan(spec, pid)[pos]
        t = trials[tid]
        choice = (
            "a"
            if t["kind"] == "attention"
            else ("a" if (kbps[t["a"]] > kbps[t["b"]]) == prefer_high else "b")
        )
        return "left" if (choice == "a") != swapped else "right"

    n = len(participant_plan(spec, "bot"))
    started = time.monotonic()
    for pos in range(n):
        cfgs = {pid: s.page() for pid, s in people.items()}
        for pid, s in people.items():
            for url in set(cfgs[pid]["urls"].values()):
                assert s.client.get(url).status_code == 200
        cfg = bot.page()
        assert bot.answer(cfg, side=side("bot", pos, False)).status_code == 200
        time.sleep(0.12)
        for pid, s in people.items():
            assert s.answer(cfgs[pid], side=side(pid, pos, True)).status_code == 200
    assert time.monotonic() - started < 10
    db = open_db(study / DB_NAME)
    rows = answers(db)
    db.close()
    mine = [a for a in rows if a.participant == "bot"]
    assert len(mine) == n and all(a.response_ms == 900 for a in mine)  # stored as sent
    assert all(a.media_fetched == 0 and a.media_needed == 3 for a in mine)
    assert all(a.served_ms is not None and a.served_ms < 100 for a in mine)
    people_rows = [a for a in rows if a.participant != "bot"]
    assert all(a.media_fetched == 3 and a.served_ms >= 100 for a in people_rows)
    result = analyze_study(study, resamples=20, figures=False)
    obs = result.observers.set_index("participant")
    assert list(obs.index[obs["removed"]]) == ["bot"]
    assert obs.loc["bot", "reason"] == (
        f"failed the server's timing on {n - 1} of {n - 1} "
        f"answers (videos not fetched: {n - 1}; faster than the "
        f"minimum viewing time: {n - 1})"
    )
    assert obs.loc["bot", "attention_failed"] == 0
    without, _ = analyze_answers(spec, people_rows, resamples=20)
    assert result.scores.equals(without.scores)
    with_bot, _ = analyze_answers(spec, rows, resamples=20, max_timing_failures=n)
    assert not with_bot.scores.equals(without.scores)  # the exclusion matters
    report = (study / "analysis" / "report.md").read_text()
    assert f"- bot: {obs.loc['bot', 'reason']}" in report


def test_unknown_participant_pages_are_404(study):
    client = create_app(study).test_client()
    assert client.get("/p/nobody/trial").status_code == 404
    form_token = re.search(r'name="form_token" value="([^"]+)"', client.get("/").data.decode())[1]
    r = client.post(
        "/start",
        data={"participant": "bad id!", "form_token": form_token},
        headers={"Origin": "http://localhost"},
    )
    assert r.status_code == 400


def test_screen_checks_are_stored_with_the_servers_verdict(study):
    """64x64 videos side by side need (2 * 64 / dpr + 16) x (64 / dpr + 48) CSS px."""
    spec = load_spec(study)
    client = create_app(study).test_client()
    token, csrf = join(client, "alice")
    page = client.get(f"/p/{token}").data.decode()
    assert csrf_of(page) == csrf
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '"presentation": "side-by-side"' in page and '"width": 64' in page
    body = {"study": spec["study_id"], "token": token}
    headers = {"X-CSRF-Token": csrf}
    verdicts = []
    for w, h, dpr in ((144, 112, 1), (143, 112, 1), (144, 111, 1), (80, 80, 2)):
        r = client.post(
            "/api/screen",
            json={**body, "viewport_w": w, "viewport_h": h, "dpr": dpr},
            headers=headers,
        )
        assert r.status_code == 200, r.json
        verdicts.append(r.json["fits"])
    assert verdicts == [True, False, False, True]
    for change, status in (
        ({"dpr": 0}, 400),
        ({"viewport_w": "wide"}, 400),
        ({"viewport_w": 2**63}, 400),
        ({"token": "B" * 22}, 404),
        ({"study": "x"}, 400),
    ):
        r = client.post(
            "/api/screen",
            json={**body, "viewport_w": 500, "viewport_h": 500, "dpr": 1, **change},
            headers=headers,
        )
        assert r.status_code == status and r.json["ok"] is False
    with sqlite3.connect(study / "answers.sqlite") as db:
        rows = db.execute(
            "SELECT participant, viewport_w, viewport_h, dpr, fits FROM screens"
        ).fetchall()
    assert rows == [
        ("alice", 144, 112, 1, 1),
        ("alice", 143, 112, 1, 0),
        ("alice", 144, 111, 1, 0),
        ("alice", 80, 80, 2, 1),
    ]
