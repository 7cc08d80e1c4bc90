"""The participants' web app of a study (Flask), served on loopback by default.

Flask, because the app is a handful of server-rendered pages and one JSON endpoint whose work
is one blocking SQLite transaction: a synchronous WSGI app with one connection per request
matches that directly (an async framework would push every query into a thread pool), and
Flask's Jinja2/Werkzeug are maintained and small. :func:`serve` runs Werkzeug's threaded
server, which is enough for a lab study on one machine (each request is short; SQLite
serialises the writers).

Pages: ``/`` (start or resume a session), ``/p/<id>`` (instructions), ``/p/<id>/trial`` (the
trial due: the training trial first; in a study with active sampling, the most informative
test trial is made the one due first, :func:`vqabench.studies.sampling.bring_forward_next`),
``/p/<id>/done`` (end page). ``POST /api/answer`` takes
``{"study", "participant", "trial", "position", "side" | "score", "response_ms"}``; it answers
200 once the answer is committed, 400 for a malformed body or a trial of another study, 404
for an unknown participant and 409 for an answer that is not the one due (replayed, out of
order); nothing is stored unless it answers 200. ``POST /api/screen`` takes
``{"study", "participant", "viewport_w", "viewport_h", "dpr"}`` (the window's inner size in
CSS px and its devicePixelRatio, measured by the instructions page) and stores it with the
verdict of :func:`~vqabench.studies.design.viewport_needed`; the page itself refuses to start
a participant whose window cannot show the videos at native size.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import sys
from pathlib import Path

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

__all__ = ["create_app", "serve", "submit_answer", "ACR_LABELS", "DCR_LABELS", "SIDES"]

ACR_LABELS = {5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad"}
DCR_LABELS = {5: "Imperceptible", 4: "Perceptible but not annoying", 3: "Slightly annoying",
              2: "Annoying", 1: "Very annoying"}
SIDES = ("left", "right", "neutral")
_PID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _parse_answer(body: object, spec: dict, trials: dict) -> dict:
    """Validate a JSON answer body; raise AnswerRejected(400) with the reason."""
    def bad(message: str) -> answers_db.AnswerRejected:
        return answers_db.AnswerRejected(400, message)

    if not isinstance(body, dict):
        raise bad("the body must be a JSON object")
    if body.get("study") != spec["study_id"]:
        raise bad(f"study={body.get('study')!r} is not this study ({spec['study_id']!r})")
    trial = body.get("trial")
    if not isinstance(trial, str) or trial not in trials:
        raise bad(f"trial={trial!r} is not a trial of this study")
    pid = body.get("participant")
    if not isinstance(pid, str) or not _PID.match(pid):
        raise bad(f"participant={pid!r} is not a participant id")
    out: dict = {"pid": pid, "trial": trial, "side": None, "score": None}
    for key in ("position", "response_ms"):
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad(f"{key}={value!r} must be an integer >= 0")
        out[key] = value
    if spec["design"] == "2afc":
        if body.get("side") not in SIDES:
            raise bad(f"side={body.get('side')!r} must be one of {', '.join(SIDES)}")
        out["side"] = body["side"]
    else:
        score = body.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise bad(f"score={score!r} must be an integer 1-5")
        out["score"] = score
    return out


def _layout(spec: dict, width: int, height: int) -> dict:
    """What the pages' JavaScript needs to size the videos and check the window."""
    shown = spec["presentation"]
    return {"presentation": shown, "width": width, "height": height, "bar": BAR_CSS_PX,
            "gap": GAP_CSS_PX, "columns": 2 if shown == "side-by-side" else 1}


def _parse_screen(body: object, spec: dict) -> dict:
    """Validate a JSON screen check body; raise AnswerRejected(400) with the reason."""
    if not isinstance(body, dict) or body.get("study") != spec["study_id"]:
        raise answers_db.AnswerRejected(400, "the body must be a JSON object of this study")
    pid = body.get("participant")
    if not isinstance(pid, str) or not _PID.match(pid):
        raise answers_db.AnswerRejected(400, f"participant={pid!r} is not a participant id")
    out: dict = {"pid": pid}
    for key in ("viewport_w", "viewport_h", "dpr"):
        value = body.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1e5:
            raise answers_db.AnswerRejected(400, f"{key}={value!r} must be a number in "
                                                 "(0, 100000)")
        out[key] = float(value)
    return out


def _choice(side: str | None, swapped: bool) -> str | None:
    if side is None or side == "neutral":
        return side
    return "b" if (side == "left") == swapped else "a"


def submit_answer(db: sqlite3.Connection, spec: dict, trials: dict, body: object, *,
                  simulated: bool = False) -> str:
    """Validate and store one answer body of ``POST /api/answer``; the participant id.

    The one path from an answer to the database, for people (the endpoint) and for
    ``vqabench study simulate`` (``simulated=True``, stored as such).

    Raises:
        AnswerRejected: with the HTTP status (400, 404, 409); nothing is stored.
    """
    parsed = _parse_answer(body, spec, trials)
    plan = answers_db.participant(db, parsed["pid"])
    swapped = bool(plan and parsed["position"] < len(plan) and plan[parsed["position"]][1])
    answers_db.record_answer(db, pid=parsed["pid"], position=parsed["position"],
                             trial=parsed["trial"], side=parsed["side"],
                             choice=_choice(parsed["side"], swapped), score=parsed["score"],
                             response_ms=parsed["response_ms"], simulated=simulated)
    return parsed["pid"]


def _bring_forward_next(db: sqlite3.Connection, spec: dict, pid: str,
                        position: int) -> str | None:
    """Active sampling: the most informative test trial becomes the one due; ties broken by
    a generator of (seed, participant, position), so reloading a page shows the same trial."""
    import numpy as np

    from vqabench.studies.sampling import bring_forward_next

    rng = np.random.default_rng([*participant_seed(int(spec["seed"]), pid), position])
    return bring_forward_next(db, spec, pid, rng)


def create_app(study_dir: str | Path):
    """The Flask app of the study in ``study_dir`` (creates ``answers.sqlite`` if needed).

    Raises:
        DatasetError: no study in ``study_dir``.
    """
    from flask import (
        Flask,
        abort,
        g,
        jsonify,
        redirect,
        render_template,
        request,
        send_from_directory,
        url_for,
    )

    study_dir = Path(study_dir).absolute()
    spec = load_spec(study_dir)
    db_path = study_dir / answers_db.DB_NAME
    answers_db.open_db(db_path, study_id=spec["study_id"]).close()
    trials = {t["id"]: t for t in spec["trials"]}
    videos = {m["id"]: m for m in spec["media"]["items"]}
    largest = _layout(spec, max(s["width"] for s in spec["sequences"].values()),
                      max(s["height"] for s in spec["sequences"].values()))
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

    def plan_or_404(pid: str) -> list[tuple[str, bool]]:
        plan = answers_db.participant(conn(), pid)
        if plan is None:
            abort(404, description=f"participant {pid!r} is not registered in this study")
        return plan

    @app.get("/")
    def index():
        return render_template("index.html", spec=spec)

    @app.post("/start")
    def start():
        pid = (request.form.get("participant") or "").strip() or secrets.token_urlsafe(6)
        if not _PID.match(pid):
            abort(400, description="a participant id is 1-64 letters, digits, '-' or '_'")
        answers_db.register(conn(), pid, participant_plan(spec, pid),
                            request.headers.get("User-Agent", ""))
        return redirect(url_for("instructions", pid=pid), code=303)

    @app.get("/p/<pid>")
    def instructions(pid: str):
        plan = plan_or_404(pid)
        done = answers_db.next_position(conn(), pid)
        return render_template("instructions.html", spec=spec, pid=pid, done=done,
                               total=len(plan), layout=largest)

    @app.get("/p/<pid>/trial")
    def trial(pid: str):
        plan = plan_or_404(pid)
        position = answers_db.next_position(conn(), pid)
        if position >= len(plan):
            return redirect(url_for("done", pid=pid), code=303)
        if spec.get("sampling") == "active" and _bring_forward_next(conn(), spec, pid, position):
            plan = answers_db.participant(conn(), pid)
        tid, swapped = plan[position]
        t = trials[tid]
        clips = ([t["b"], t["a"]] if swapped else [t["a"], t["b"]]) if "a" in t else \
            [t["condition"]]
        seq = spec["sequences"][t["sequence"]]
        return render_template(
            "trial.html", spec=spec, pid=pid, trial=t, position=position, total=len(plan),
            clips=[videos[c]["file"] for c in clips],
            reference=videos[t["reference"]]["file"] if t.get("reference") else None,
            width=seq["width"], height=seq["height"], fps=seq["fps"],
            layout=_layout(spec, seq["width"], seq["height"]),
            labels=ACR_LABELS if spec["design"] == "acr" else DCR_LABELS)

    @app.get("/p/<pid>/done")
    def done(pid: str):
        plan = plan_or_404(pid)
        return render_template("done.html", spec=spec, pid=pid,
                               done=answers_db.next_position(conn(), pid), total=len(plan))

    @app.get("/media/<path:name>")
    def media(name: str):
        return send_from_directory(study_dir / "media", name, conditional=True)

    @app.post("/api/answer")
    def answer():
        try:
            pid = submit_answer(conn(), spec, trials, request.get_json(silent=True))
        except answers_db.AnswerRejected as exc:
            return jsonify(ok=False, error=exc.message), exc.status
        return jsonify(ok=True, next=url_for("trial", pid=pid))

    @app.post("/api/screen")
    def screen():
        try:
            parsed = _parse_screen(request.get_json(silent=True), spec)
            need_w, need_h = viewport_needed(spec["presentation"], largest["width"],
                                             largest["height"], parsed["dpr"])
            fits = need_w <= parsed["viewport_w"] and need_h <= parsed["viewport_h"]
            answers_db.record_screen(conn(), pid=parsed["pid"], viewport_w=parsed["viewport_w"],
                                     viewport_h=parsed["viewport_h"], dpr=parsed["dpr"],
                                     fits=fits)
        except answers_db.AnswerRejected as exc:
            return jsonify(ok=False, error=exc.message), exc.status
        return jsonify(ok=True, fits=fits, needed=[need_w, need_h])

    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _error(exc):
        if request.path.startswith("/api/"):
            return jsonify(ok=False, error=exc.description), exc.code
        return render_template("error.html", spec=spec, error=exc), exc.code

    return app


def serve(study_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the study until interrupted (Werkzeug threaded server).

    Prints ``serving STUDY at http://HOST:PORT/`` once listening (``port=0``: a free port).

    Raises:
        ConfigError: bad port.
    """
    from werkzeug.serving import make_server

    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise invalid("port", port, "an integer 0-65535 (0 = any free port)")
    app = create_app(study_dir)
    server = make_server(host, port, app, threaded=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}, reachable from other machines", file=sys.stderr)
    print(f"serving {study_dir} at http://{host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
