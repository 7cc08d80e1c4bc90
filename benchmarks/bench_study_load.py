"""Load test of a served study: N simulated participants at once against the real server.

``vqabench study serve STUDY --port 0`` (waitress) runs in a child process on 127.0.0.1 only
(its limit of new participants per minute lifted); N participants (one client thread each)
register as the start page does (form token, personal link, CSRF token), then for each
trial of their plan fetch the trial page and the first video on it (a 64 KiB Range request,
as a browser's first read) and post their answer, as fast as the server answers (no think
time: a harder load than people). Bounded: at most ``MAX_REQUESTS`` requests in all, each
with a 30 s timeout, and every participant stops at the deadline (60 s by default); the
server is killed at the end. Afterwards every acknowledged answer (HTTP 200 with
``{"ok": true}``) must be in ``answers.sqlite`` at its position, and no answer twice.

Reports p50/p95/max latency of the answer posts (``POST /api/answer``), the statuses seen,
throughput and ``/proc/loadavg`` before and after (the machine is shared: read the numbers
with its load).

Run: ``python benchmarks/bench_study_load.py [--participants 100] [--threads 8]``; with no
``--study``, it builds a tiny 2AFC study (2 sequences x 2 codecs x 2 rates, 12 trials a
participant) in a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MAX_REQUESTS = 20_000
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Participant:
    """What one simulated participant saw: acknowledged positions, answer latencies."""

    pid: str
    acked: list[int] = field(default_factory=list)  # positions
    answer_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def _request(
    url: str, *, data: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def join(url: str, pid: str) -> tuple[str, str, str]:
    """Register ``pid`` as the start page's form does; (link token, CSRF token, page)."""
    status, page = _request(f"{url}/")
    form_token = re.search(rb'name="form_token" value="([^"]+)"', page)[1].decode()
    req = urllib.request.Request(
        f"{url}/start",
        data=urllib.parse.urlencode({"participant": pid, "form_token": form_token}).encode(),
        headers={"Origin": url},
    )
    with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as r:  # 303 to the link
        token, page = r.url.rsplit("/p/", 1)[1], r.read()
    return token, re.search(rb'csrf = "([^"]+)"', page)[1].decode(), page.decode()


def trial_cfg(page: bytes) -> dict:
    """The JSON settings of a trial page (``trial`` reference, ``position``, ``csrf``...)."""
    return json.loads(re.search(rb"const cfg = (\{.*?\});", page, re.S)[1])


def participant_session(url: str, spec: dict, pid: str, deadline: float) -> Participant:
    """One simulated participant: register, then page, video and answer for every trial.

    The one place that speaks the app's HTTP API (adapt it when the API changes).
    """
    out = Participant(pid)

    def count(kind: str, status: int) -> None:
        out.statuses[f"{kind} {status}"] = out.statuses.get(f"{kind} {status}", 0) + 1

    try:
        token, csrf, _ = join(url, pid)
        count("start", 200)
        for position in range(len(spec["trials"])):
            if time.monotonic() > deadline:
                out.error = "deadline"
                return out
            status, page = _request(f"{url}/p/{token}/trial")
            count("page", status)
            video = re.search(rb'<video id="[^"]+" src="([^"]+)"', page)
            if video:
                status, _ = _request(
                    url + video.group(1).decode(), headers={"Range": "bytes=0-65535"}
                )
                count("media", status)
            cfg = trial_cfg(page)
            body = {
                "study": spec["study_id"],
                "token": token,
                "trial": cfg["trial"],
                "position": position,
                "response_ms": 800,
            }
            if spec["design"] == "2afc":
                body["side"] = ("left", "right", "neutral")[position % 3]
            else:
                body["score"] = 1 + position % 5
            start = time.perf_counter()
            status, reply = _request(
                f"{url}/api/answer",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "X-CSRF-Token": csrf, "Origin": url},
            )
            out.answer_s.append(time.perf_counter() - start)
            count("answer", status)
            if status != 200 or not json.loads(reply).get("ok"):
                out.error = f"answer at {position}: {status} {reply[:200]!r}"
                return out
            out.acked.append(position)
    except Exception as exc:  # noqa: BLE001 - a lost connection is a result, reported
        out.error = repr(exc)
    return out


def start_server(study: Path, threads: int) -> tuple[subprocess.Popen, str]:
    """``vqabench study serve STUDY --port 0`` on 127.0.0.1; the process and its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vqabench",
            "study",
            "serve",
            str(study),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--threads",
            str(threads),
            "--registrations-per-minute",
            "100000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    url = line.strip().rsplit(" ", 1)[-1].rstrip("/")
    assert url.startswith("http://127.0.0.1:"), url  # loopback only
    return proc, url


def stored_answers(study: Path) -> list[tuple[str, int]]:
    """(participant, position) of every answer in the study's database."""
    with sqlite3.connect(f"file:{study / 'answers.sqlite'}?mode=ro", uri=True) as db:
        return db.execute("SELECT participant, position FROM answers").fetchall()


def run_load(study: Path, participants: int, *, threads: int = 8, timeout_s: float = 60.0) -> dict:
    """Serve ``study`` (which should have no answers yet) and load it; the summary.

    Raises:
        ValueError: the load would exceed ``MAX_REQUESTS``.
    """
    from vqabench.studies import load_spec

    spec = load_spec(study)
    planned = participants * (3 + 3 * len(spec["trials"]))
    if planned > MAX_REQUESTS:
        raise ValueError(
            f"participants={participants} would send {planned} requests, over "
            f"the cap of {MAX_REQUESTS}"
        )
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
    proc, url = start_server(study, threads)
    results: list[Participant] = []
    try:
        start = time.monotonic()
        deadline = start + timeout_s
        workers = [
            threading.Thread(
                target=lambda k=k: results.append(
                    participant_session(url, spec, f"load{k:03d}", deadline)
                ),
                daemon=True,
            )
            for k in range(participants)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=max(0.0, deadline + REQUEST_TIMEOUT_S - time.monotonic()))
        elapsed_s = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    stored = stored_answers(study)
    acked = {(p.pid, pos) for p in results for pos in p.acked}
    latencies = np.array([s for p in results for s in p.answer_s])
    statuses: dict[str, int] = {}
    for p in results:
        for key, n in p.statuses.items():
            statuses[key] = statuses.get(key, 0) + n
    return {
        "participants": participants,
        "trials_each": len(spec["trials"]),
        "server_threads": threads,
        "finished": len(results),
        "errors": [p.error for p in results if p.error][:5],
        "acknowledged": len(acked),
        "stored": len(stored),
        "lost": len(acked - set(stored)),
        "duplicates": len(stored) - len(set(stored)),
        "stored_unacknowledged": len(set(stored) - acked),
        "answer_p50_ms": float(np.percentile(latencies, 50) * 1e3) if len(latencies) else None,
        "answer_p95_ms": float(np.percentile(latencies, 95) * 1e3) if len(latencies) else None,
        "answer_max_ms": float(latencies.max() * 1e3) if len(latencies) else None,
        "answers_per_s": len(acked) / elapsed_s,
        "elapsed_s": elapsed_s,
        "statuses": dict(sorted(statuses.items())),
        "loadavg_before": loadavg_before,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "cpus": os.cpu_count(),
    }


def tiny_study(root: Path) -> Path:
    """A 2AFC study of a tiny real run (2 sequences x 2 codecs x 2 rates)."""
    from tests.conftest import make_video
    from vqabench.experiment import load_config
    from vqabench.runner.run import run
    from vqabench.studies import create_study

    make_video(root / "data" / "Alpha.y4m", frames=8, seed=1)
    make_video(root / "data" / "Beta.y4m", frames=8, seed=2)
    cfg = load_config(
        None,
        dataset=str(root / "data"),
        codecs=["x264:qp=30,40", "x265:qp=30,40"],
        metrics="psnr_y",
        jobs=1,
        out=str(root / "run"),
    )
    if not run(cfg).complete:
        raise RuntimeError("the tiny run did not complete")
    create_study([root / "run"], design="2afc", out=root / "study", seed=3)
    return root / "study"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds, at most")
    parser.add_argument("--study", type=Path, help="a study (copied; default: a tiny one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.study:
            study = Path(tmp) / "study"
            shutil.copytree(
                args.study, study, ignore=shutil.ignore_patterns("answers.sqlite*", "analysis")
            )
        else:
            study = tiny_study(Path(tmp))
        summary = run_load(study, args.participants, threads=args.threads, timeout_s=args.timeout)
    print(json.dumps(summary, indent=1))
    if summary["lost"] or summary["duplicates"]:
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
