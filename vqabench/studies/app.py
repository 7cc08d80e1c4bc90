"""The participants' web app of a study (Flask), served on loopback by default.

Flask, because the app is a handful of server-rendered pages and one JSON endpoint whose work
is one blocking SQLite transaction: a synchronous WSGI app with one connection per request
matches that directly (an async framework would push every query into a thread pool), and
Flask's Jinja2/Werkzeug are maintained and small. :func:`serve` runs it under waitress, a
production WSGI server with a pool of threads (:mod:`vqabench.studies.server`: why waitress,
the media's caching and Range headers); each request is short and SQLite serialises the
writers.

Pages: ``/`` (start: the consent text when the study has one, a participant id, prefilled
from ``?participant=`` or Prolific's ``?PROLIFIC_PID=``), ``POST /start`` (registers the
participant and redirects to their personal link), ``/p/<token>`` (instructions),
``/p/<token>/trial`` (the trial due: the training trial first; in a study with active
sampling, the most informative test trial is made the one due first,
:func:`vqabench.studies.sampling.bring_forward_next`), ``/p/<token>/t/<position>/
<name>`` (that trial's videos), ``/p/<token>/done`` (end page, with the study's completion
code once every trial is answered).

Who answers: a participant is identified by the unguessable token in their link
(``secrets.token_urlsafe(16)``), never by their id alone; registering an id that exists is
refused (the link resumes a session). Every POST carries a CSRF token: ``/start`` a signed
form token and a same-origin ``Origin`` (or ``Referer``), the JSON endpoints the
participant's token (header ``X-CSRF-Token``, derived from the link token by the study's
secret). Registrations are limited per minute (429 beyond). Video names in the pages are
per participant, trial and slot (opaque: neither the file nor whether it is a hidden
reference or an attention video shows), and a trial's videos are served only while that
trial is due; the server notes when it first served each trial page and video, and each
answer stores the server's elapsed time and the videos fetched (analysis screens on them).

``POST /api/answer`` takes ``{"study", "token", "trial", "position", "side" | "score",
"response_ms"}`` (``trial``: the trial page's reference of its trial, since trial ids are
numbered by kind); it answers 200 once the answer is committed, 400 for a malformed body (not
JSON, nested too deep, wrong types, numbers out of range) or another study's, 403
without the right CSRF token or with a ``participant`` that is not the token's, 404 for an
unknown token and 409 for an answer that is not the one due (replayed, out of order, or
naming another trial);
nothing is stored unless it answers 200. ``POST /api/screen`` takes ``{"study", "token",
"viewport_w", "viewport_h", "dpr"}`` (the window's inner size in CSS px and its
devicePixelRatio, measured by the instructions page) and stores it with the verdict of
:func:`~vqabench.studies.design.viewport_needed`; the page itself refuses to start a
participant whose window cannot show the videos at native size.
"""

from __future__ import annotations

import collections
import hmac
import json
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from vqabench.errors import invalid
from vqabench.studies import db as answers_db
from vqabench.studies.design import (
    BAR_CSS_PX,
    GAP_CSS_PX,
    load_spec,
    participant_plan,
    participant_seed,
    viewport_needed,
)
from vqabench.studies.server import listening, make_server, media_response

__all__ = [
    "create_app",
    "serve",
    "submit_answer",
    "ACR_LABELS",
    "DCR_LABELS",
    "SIDES",
    "REGISTRATIONS_PER_MINUTE",
]

ACR_LABELS = {5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad"}
DCR_LABELS = {
    5: "Imperceptible",
    4: "Perceptible but not annoying",
    3: "Slightly annoying",
    2: "Annoying",
    1: "Very annoying",
}
SIDES = ("left", "right", "neutral")
#: Default limit of new participants per minute (``serve(registrations_per_minute=...)``).
REGISTRATIONS_PER_MINUTE = 60
_PID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_MAX_POSITION = 100_000
_MAX_RESPONSE_MS = 86_400_000  # a day


def _bad(message: str) -> answers_db.AnswerRejected:
    return answers_db.AnswerRejected(400, message)


def _sign(secret: bytes, purpose: str, value: str, n: int = 32) -> str:
    return hmac.new(secret, f"{purpose}:{value}".encode(), "sha256").hexdigest()[:n]


def _read_json(data: bytes) -> object:
    """Parse a request body; any malformed body (not UTF-8 JSON, nested past Python's
    recursion limit, an integer of thousands of digits) -> AnswerRejected(400)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"the body is not a JSON object ({type(exc).__name__})") from None


def _int_field(body: dict, key: str, high: int) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise _bad(f"{key}={value!r} must be an integer 0-{high}")
    return value


def _token_of(body: object, spec: dict) -> tuple[dict, str]:
    """The body (a JSON object of this study) and its participant token, or 400."""
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    if body.get("study") != spec["study_id"]:
        raise _bad(f"study={body.get('study')!r} is not this study ({spec['study_id']!r})")
    token = body.get("token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise _bad(
            "token is missing or malformed: answers are sent with the token of the "
            "participant's link, not a participant id"
        )
    return body, token


def _parse_answer(body: dict, spec: dict) -> dict:
    """Validate the fields of a JSON answer body; raise AnswerRejected(400) with the reason."""
    trial = body.get("trial")
    if not isinstance(trial, str) or len(trial) > 64:
        raise _bad(f"trial={trial!r} is not a trial reference")
    out: dict = {
        "trial": trial,
        "side": None,
        "score": None,
        "position": _int_field(body, "position", _MAX_POSITION),
        "response_ms": _int_field(body, "response_ms", _MAX_RESPONSE_MS),
    }
    if spec["design"] == "2afc":
        if body.get("side") not in SIDES:
            raise _bad(f"side={body.get('side')!r} must be one of {', '.join(SIDES)}")
        out["side"] = body["side"]
    else:
        score = body.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise _bad(f"score={score!r} must be an integer 1-5")
        out["score"] = score
    return out


def _trial_files(trial: dict, swapped: bool, files: dict[str, str]) -> dict[str, str]:
    """Slot (``reference``, ``left``, ``right`` | ``test``) -> media file of a trial."""
    out = {"reference": files[trial["reference"]]} if trial.get("reference") else {}
    if "a" in trial:
        left, right = (trial["b"], trial["a"]) if swapped else (trial["a"], trial["b"])
        return {**out, "left": files[left], "right": files[right]}
    return {**out, "test": files[trial["condition"]]}


def _layout(spec: dict, width: int, height: int) -> dict:
    """What the pages' JavaScript needs to size the videos and check the window."""
    shown = spec["presentation"]
    return {
        "presentation": shown,
        "width": width,
        "height": height,
        "bar": BAR_CSS_PX,
        "gap": GAP_CSS_PX,
        "columns": 2 if shown == "side-by-side" else 1,
    }


def _parse_screen(body: dict) -> dict:
    """Validate a JSON screen check body; raise AnswerRejected(400) with the reason."""
    out: dict = {}
    for key in ("viewport_w", "viewport_h", "dpr"):
        value = body.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1e5:
            raise _bad(f"{key}={value!r} must be a number in (0, 100000)")
        out[key] = float(value)
    return out


def _choice(side: str | None, swapped: bool) -> str | None:
    if side is None or side == "neutral":
        return side
    return "b" if (side == "left") == swapped else "a"


def submit_answer(
    db: sqlite3.Connection,
    spec: dict,
    trials: dict,
    pid: str,
    body: dict,
    *,
    names_trial: Callable[[str, int, str], bool],
    files: dict[str, str] | None = None,
    simulated: bool = False,
) -> None:
    """Validate and store one answer of participant ``pid``: the one path from an answer to
    the database, for people (``POST /api/answer``, after its token and CSRF checks) and for
    ``vqabench study simulate`` (``simulated=True``, stored as such).

    Args:
        names_trial: ``names_trial(reference, position, trial_id)``: whether the body's
            ``trial`` names the trial due at ``position`` (a trial page sends its signed
            reference, a simulation the trial id).
        files: media id -> file: given (the web app), the server's timing is stored with
            the answer; None for a simulation, whose answers are not timed.

    Raises:
        AnswerRejected: with the HTTP status (400, 409); nothing is stored.
    """
    parsed = _parse_answer(body, spec)
    plan = answers_db.participant(db, pid) or []
    position = parsed["position"]
    due = plan[position] if position < len(plan) else None
    needed = (
        None if due is None or files is None else len(_trial_files(trials[due[0]], due[1], files))
    )
    named = due is not None and names_trial(parsed["trial"], position, due[0])
    answers_db.record_answer(
        db,
        pid=pid,
        position=position,
        trial=due[0] if named else f"ref {parsed['trial']}",
        side=parsed["side"],
        choice=_choice(parsed["side"], bool(due and due[1])),
        score=parsed["score"],
        response_ms=parsed["response_ms"],
        media_needed=needed,
        simulated=simulated,
    )


def _bring_forward_next(db: sqlite3.Connection, spec: dict, pid: str, position: int) -> str | None:
    """Active sampling: the most informative test trial becomes the one due; ties broken by
    a generator of (seed, participant, position), so reloading a page shows the same trial."""
    import numpy as np

    from vqabench.studies.sampling import bring_forward_next

    rng = np.random.default_rng([*participant_seed(int(spec["seed"]), pid), position])
    return bring_forward_next(db, spec, pid, rng)


def create_app(study_dir: str | Path, *, registrations_per_minute: int = REGISTRATIONS_PER_MINUTE):
    """The Flask app of the study in ``study_dir`` (creates ``answers.sqlite`` if needed).

    Args:
        study_dir: the study directory.
        registrations_per_minute: new participants accepted in any 60 s (429 beyond).

    Raises:
        DatasetError: no study in ``study_dir``.
        ConfigError: a registration limit below 1.
    """
    from flask import (
        Flask,
        abort,
        g,
        jsonify,
        redirect,
        render_template,
        request,
        url_for,
    )

    limit = registrations_per_minute
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise invalid("registrations_per_minute", registrations_per_minute, "an integer >= 1")
    study_dir = Path(study_dir).absolute()
    spec = load_spec(study_dir)
    db_path = study_dir / answers_db.DB_NAME
    setup = answers_db.open_db(db_path, study_id=spec["study_id"])
    secret = answers_db.app_secret(setup)
    setup.close()
    consent = spec.get("consent")
    code = spec.get("completion_code")
    trials = {t["id"]: t for t in spec["trials"]}
    files = {m["id"]: m["file"] for m in spec["media"]["items"]}
    shas = {m["file"]: m.get("sha256") for m in spec["media"]["items"]}
    largest = _layout(
        spec,
        max(s["width"] for s in spec["sequences"].values()),
        max(s["height"] for s in spec["sequences"].values()),
    )
    recent: collections.deque[float] = collections.deque()
    recent_lock = threading.Lock()
    app = Flask(__name__, template_folder=str(Path(__file__).with_name("templates")))
    app.config.update(SPEC=spec, MAX_CONTENT_LENGTH=16 * 1024)

    def conn() -> sqlite3.Connection:
        if "db" not in g:
            g.db = answers_db.open_db(db_path)
        return g.db

    @app.teardown_appcontext
    def _close(_exc: object) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Referrer-Policy", "same-origin")  # links stay private
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def csrf(token: str) -> str:
        return _sign(secret, "csrf", token)

    def same_origin() -> bool | None:
        """Whether the request's Origin (else Referer) is this site; None without both.

        This site is the ``Host`` the request was sent to, or the ``X-Forwarded-Host`` of a
        reverse proxy (a cross-site form or fetch cannot set that header)."""
        hosts = {request.host, *request.headers.get("X-Forwarded-Host", "").split(",")}
        for header in ("Origin", "Referer"):
            value = request.headers.get(header)
            if value:
                return urlsplit(value).netloc in {h.strip() for h in hosts if h.strip()}
        return None

    def who(token: str) -> tuple[str, list[tuple[str, bool]]]:
        pid = answers_db.by_token(conn(), token) if _TOKEN.match(token) else None
        plan = None if pid is None else answers_db.participant(conn(), pid)
        if plan is None:
            abort(
                404,
                description="no participant has this link; open the link you were "
                "given, or start a new session",
            )
        return pid, plan

    def trial_ref(token: str, position: int, tid: str) -> str:
        """What the trial page calls its trial (trial ids are numbered by kind)."""
        return _sign(secret, "trial", f"{token}:{position}:{tid}", 20)

    def slot_urls(token: str, position: int, slots: dict[str, str]) -> dict[str, str]:
        """Opaque names of a trial's videos; the file's digest is in the signature, so a name
        always means the same bytes (active sampling may change the trial due at a position)
        and the video may be cached for good (:func:`~vqabench.studies.server.media_response`)."""
        return {
            slot: url_for(
                "media",
                token=token,
                position=position,
                name=_sign(secret, "media", f"{token}:{position}:{slot}:{shas[file]}", 20)
                + ".webm",
            )
            for slot, file in slots.items()
        }

    def due_files(token: str, position: int) -> tuple[str, dict[str, str]]:
        pid, plan = who(token)
        if position != answers_db.next_position(conn(), pid) or position >= len(plan):
            abort(404, description="this trial is not the one due")
        tid, swapped = plan[position]
        return pid, _trial_files(trials[tid], swapped, files)

    @app.get("/")
    def index():
        prefill = request.args.get("participant") or request.args.get("PROLIFIC_PID") or ""
        nonce = secrets.token_hex(8)
        return render_template(
            "index.html",
            spec=spec,
            consent=consent,
            prefill=prefill if _PID.match(prefill) else "",
            form_token=f"{nonce}.{_sign(secret, 'start', nonce)}",
        )

    @app.post("/start")
    def start():
        if same_origin() is not True:
            abort(
                403,
                description="a form posted from another site (or without an Origin "
                "or Referer header) is refused",
            )
        nonce, _, mac = (request.form.get("form_token") or "").partition(".")
        if not nonce or not hmac.compare_digest(mac, _sign(secret, "start", nonce)):
            abort(403, description="the form's token is missing or wrong; reload the start page")
        if consent is not None:
            decision = request.form.get("consent")
            if decision == "no":
                return render_template("declined.html", spec=spec)
            if decision != "yes":
                abort(400, description="agree or decline the consent text to continue")
        pid = (request.form.get("participant") or "").strip() or secrets.token_urlsafe(6)
        if not _PID.match(pid):
            abort(400, description="a participant id is 1-64 letters, digits, '-' or '_'")
        with recent_lock:
            now = time.monotonic()
            while recent and recent[0] < now - 60:
                recent.popleft()
            if len(recent) >= registrations_per_minute:
                abort(
                    429,
                    description=f"more than {registrations_per_minute} new "
                    "participants in the last minute; try again shortly",
                )
            recent.append(now)
        token = secrets.token_urlsafe(16)
        if not answers_db.register(
            conn(),
            pid,
            participant_plan(spec, pid),
            request.headers.get("User-Agent", ""),
            token=token,
            consent_sha256=consent["sha256"] if consent else None,
        ):
            abort(
                409,
                description=f"participant {pid!r} is registered already: open your "
                "personal link to resume (an id alone does not resume a "
                "session)",
            )
        return redirect(url_for("instructions", token=token), code=303)

    @app.get("/p/<token>")
    def instructions(token: str):
        pid, plan = who(token)
        done = answers_db.next_position(conn(), pid)
        return render_template(
            "instructions.html",
            spec=spec,
            pid=pid,
            token=token,
            csrf=csrf(token),
            done=done,
            total=len(plan),
            layout=largest,
            link=url_for("instructions", token=token, _external=True),
        )

    @app.get("/p/<token>/trial")
    def trial(token: str):
        pid, plan = who(token)
        position = answers_db.next_position(conn(), pid)
        if position >= len(plan):
            return redirect(url_for("done", token=token), code=303)
        if spec.get("sampling") == "active" and _bring_forward_next(conn(), spec, pid, position):
            plan = answers_db.participant(conn(), pid)
        tid, swapped = plan[position]
        t = trials[tid]
        answers_db.record_event(conn(), pid=pid, position=position, kind="page")
        urls = slot_urls(token, position, _trial_files(t, swapped, files))
        seq = spec["sequences"][t["sequence"]]
        return render_template(
            "trial.html",
            spec=spec,
            token=token,
            csrf=csrf(token),
            trial=t,
            ref=trial_ref(token, position, tid),
            position=position,
            total=len(plan),
            urls=urls,
            width=seq["width"],
            height=seq["height"],
            fps=seq["fps"],
            layout=_layout(spec, seq["width"], seq["height"]),
            labels=ACR_LABELS if spec["design"] == "acr" else DCR_LABELS,
        )

    @app.get("/p/<token>/done")
    def done(token: str):
        pid, plan = who(token)
        answered = answers_db.next_position(conn(), pid)
        return render_template(
            "done.html",
            spec=spec,
            done=answered,
            total=len(plan),
            code=code if answered >= len(plan) else None,
        )

    @app.get("/p/<token>/t/<int:position>/<name>")
    def media(token: str, position: int, name: str):
        pid, slots = due_files(token, position)
        urls = slot_urls(token, position, slots)
        slot = next((k for k, u in urls.items() if u.rsplit("/", 1)[-1] == name), None)
        if slot is None:
            abort(404, description="not a video of this trial")
        if request.method == "GET":  # a HEAD request fetches nothing
            answers_db.record_event(conn(), pid=pid, position=position, kind="media", name=slot)
        return media_response(study_dir, slots[slot], shas[slots[slot]])

    def authorised(body: object) -> tuple[dict, str, str]:
        """(body, token, participant id) of a JSON post, or AnswerRejected."""
        body, token = _token_of(body, spec)
        pid = answers_db.by_token(conn(), token)
        if pid is None:
            raise answers_db.AnswerRejected(404, "no participant has this token")
        sent = request.headers.get("X-CSRF-Token", "")
        if same_origin() is False or not hmac.compare_digest(sent, csrf(token)):
            raise answers_db.AnswerRejected(
                403,
                "the CSRF token (header X-CSRF-Token) is "
                "missing or wrong, or the post is cross-site",
            )
        if "participant" in body and body["participant"] != pid:
            raise answers_db.AnswerRejected(
                403, f"participant={body['participant']!r} is not the participant of this token"
            )
        return body, token, pid

    @app.post("/api/answer")
    def answer():
        try:
            body, token, pid = authorised(_read_json(request.get_data()))
            submit_answer(
                conn(),
                spec,
                trials,
                pid,
                body,
                files=files,
                names_trial=lambda ref, position, tid: hmac.compare_digest(
                    ref, trial_ref(token, position, tid)
                ),
            )
        except answers_db.AnswerRejected as exc:
            if exc.status == 409:  # its message names trial ids, which are numbered by kind
                due_now = answers_db.next_position(conn(), pid)
                return jsonify(
                    ok=False,
                    error=f"the answer at position={body['position']} is not "
                    f"the one due (position {due_now} is); an answer is recorded "
                    "once",
                ), 409
            return jsonify(ok=False, error=exc.message), exc.status
        return jsonify(ok=True, next=url_for("trial", token=token))

    @app.post("/api/screen")
    def screen():
        try:
            body, _, pid = authorised(_read_json(request.get_data()))
            parsed = _parse_screen(body)
            need_w, need_h = viewport_needed(
                spec["presentation"], largest["width"], largest["height"], parsed["dpr"]
            )
            fits = need_w <= parsed["viewport_w"] and need_h <= parsed["viewport_h"]
            answers_db.record_screen(
                conn(),
                pid=pid,
                viewport_w=parsed["viewport_w"],
                viewport_h=parsed["viewport_h"],
                dpr=parsed["dpr"],
                fits=fits,
            )
        except answers_db.AnswerRejected as exc:
            return jsonify(ok=False, error=exc.message), exc.status
        return jsonify(ok=True, fits=fits, needed=[need_w, need_h])

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(409)
    @app.errorhandler(413)
    @app.errorhandler(429)
    def _error(exc):
        if request.path.startswith("/api/"):
            return jsonify(ok=False, error=exc.description), exc.code
        return render_template("error.html", spec=spec, error=exc), exc.code

    return app


def serve(
    study_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    registrations_per_minute: int = REGISTRATIONS_PER_MINUTE,
    threads: int = 8,
    behind_proxy: str | None = None,
) -> None:
    """Serve the study until interrupted (waitress, :mod:`vqabench.studies.server`).

    Prints ``serving STUDY at http://HOST:PORT/`` once listening (``port=0``: a free port);
    ``behind_proxy``: the address of a reverse proxy whose ``X-Forwarded-*`` are trusted.

    Raises:
        ConfigError: bad port, registration limit or thread count.
    """
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise invalid("port", port, "an integer 0-65535 (0 = any free port)")
    app = create_app(study_dir, registrations_per_minute=registrations_per_minute)
    server = make_server(app, host=host, port=port, threads=threads, behind_proxy=behind_proxy)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}, reachable from other machines", file=sys.stderr)
    for url in listening(server):
        print(f"serving {study_dir} at {url}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
