"""Served like a web service: waitress on 127.0.0.1, media with Range, ETag and caching
headers checked over real HTTP, proxy headers trusted only when asked, and a bounded load of
20 participants at once that loses no acknowledged answer."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from benchmarks.bench_study_load import join, run_load
from tests.studies.conftest import fresh_copy, start_server
from vqabench.cli import main
from vqabench.studies import create_app, load_spec, participant_plan
from vqabench.studies.server import MEDIA_MAX_AGE_S, make_server


def get(url: str, headers: dict | None = None) -> tuple[int, Message, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture
def study(study_2afc, tmp_path):
    return fresh_copy(study_2afc, tmp_path / "study")


def _first_video(study: Path, url: str) -> tuple[str, str, dict]:
    """Join as a participant; (video URL of the slot ``left`` or ``test`` of the first trial,
    the participant's link token, the spec's media item behind it)."""
    spec = load_spec(study)
    token, _, _ = join(url, "alice")
    page = urllib.request.urlopen(f"{url}/p/{token}/trial", timeout=30).read().decode()
    tid, swapped = participant_plan(spec, "alice")[0]
    trial = next(t for t in spec["trials"] if t["id"] == tid)
    shown = (trial["b"] if swapped else trial["a"]) if "a" in trial else trial["condition"]
    item = next(m for m in spec["media"]["items"] if m["id"] == shown)
    slot = "left" if "a" in trial else "test"
    return url + re.search(rf'<video id="{slot}" src="([^"]+)"', page)[1], token, item


@pytest.mark.slow
def test_media_ranges_etag_and_caching_over_http(study):
    proc, url = start_server(study)
    try:
        assert get(url)[1]["Server"] == "vqabench"  # waitress (ident), not Werkzeug
        video, token, item = _first_video(study, url)
        data = (study / item["file"]).read_bytes()
        size, sha = len(data), item["sha256"]
        assert size > 200 and token in video
        status, headers, body = get(video)
        assert (status, body, headers["ETag"]) == (200, data, f'"{sha}"')
        assert headers["Accept-Ranges"] == "bytes"
        assert set(headers["Cache-Control"].split(", ")) == {
            "private",
            f"max-age={MEDIA_MAX_AGE_S}",
            "immutable",
        }
        status, headers, body = get(video, {"Range": "bytes=10-99"})
        assert (status, headers["Content-Range"], body) == (
            206,
            f"bytes 10-99/{size}",
            data[10:100],
        )
        assert headers["Content-Length"] == "90"
        status, headers, body = get(video, {"Range": "bytes=-50"})
        assert (status, headers["Content-Range"], body) == (
            206,
            f"bytes {size - 50}-{size - 1}/{size}",
            data[-50:],
        )
        status, headers, _ = get(video, {"Range": f"bytes={size}-"})
        assert (status, headers["Content-Range"]) == (416, f"bytes */{size}")
        status, headers, body = get(video, {"If-None-Match": f'"{sha}"'})
        assert (status, body, headers["ETag"]) == (304, b"", f'"{sha}"')
        # If-Range with a stale ETag: the whole (new) file, not a range of it
        status, _, body = get(video, {"Range": "bytes=0-9", "If-Range": '"stale"'})
        assert (status, body) == (200, data)
        assert get(video.rsplit("/", 1)[0] + "/0123456789abcdef0123.webm")[0] == 404
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_video_names_change_with_the_file(study):
    """The digest is in a video's signed name: other bytes at the same participant, trial
    position and slot (active sampling moves trials) get another name, so a year's caching
    never shows stale bytes."""
    spec = load_spec(study)
    client = create_app(study).test_client()
    token = _token(client, "alice")
    names = []
    for k in range(2):
        if k:  # the file behind every slot changes (and the spec records it); same secret
            for m in spec["media"]["items"]:
                m["sha256"] = "0" * 64
            (study / "study.json").write_text(json.dumps(spec))
            client = create_app(study).test_client()
        page = client.get(f"/p/{token}/trial").data.decode()
        names.append(dict(re.findall(r'<video id="([^"]+)" src="/p/[^/]+/t/0/([^"]+)"', page)))
    assert len(names[0]) >= 2 and names[0].keys() == names[1].keys()
    assert not set(names[0].values()) & set(names[1].values())


def _token(client, pid: str) -> str:
    page = client.get("/").data.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    r = client.post(
        "/start",
        data={"participant": pid, "form_token": form_token},
        headers={"Origin": "http://localhost"},
    )
    assert r.status_code == 303, r.data
    return r.headers["Location"].rsplit("/p/", 1)[1]


@pytest.mark.slow
def test_a_changed_media_file_is_refused(study):
    proc, url = start_server(study)
    try:
        video, _, item = _first_video(study, url)
        with open(study / item["file"], "ab") as f:
            f.write(b"\0")
        status, _, body = get(video)
        assert status == 500 and b"is not the file recorded by the study" in body
    finally:
        proc.kill()
        proc.wait()


def _echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    keys = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST", "HTTP_X_FORWARDED_FOR")
    return [json.dumps({k: environ.get(k) for k in keys}).encode()]


@pytest.mark.parametrize(
    "behind_proxy, expect",
    [
        (
            None,
            {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_FOR": None},
        ),
        (
            "127.0.0.1",
            {
                "REMOTE_ADDR": "203.0.113.7",
                "wsgi.url_scheme": "https",
                "HTTP_HOST": "study.example.org",
            },
        ),
        (
            "192.0.2.1",
            {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_FOR": None},
        ),  # a proxy elsewhere: this peer is not it
    ],
)
def test_forwarded_headers_are_trusted_only_from_the_proxy(behind_proxy, expect):
    server = make_server(_echo, port=0, threads=2, behind_proxy=behind_proxy)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        forged = {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "study.example.org",
        }
        status, _, body = get(f"http://127.0.0.1:{server.effective_port}/", forged)
        seen = json.loads(body)
        assert status == 200 and {k: seen[k] for k in expect} == expect
        if behind_proxy != "127.0.0.1":
            assert seen["HTTP_HOST"].startswith("127.0.0.1:")
    finally:
        server.close()
        server.task_dispatcher.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threads", "0"], "threads=0 is not allowed: expected an integer 1-256"),
        (["--port", "70000"], "port=70000 is not allowed"),
    ],
)
def test_serve_errors_are_one_line(study, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["study", "serve", str(study), *argv])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.count("\n") == 0 and message in err, err


@pytest.mark.slow
def test_twenty_participants_load_loses_no_acknowledged_answer(study):
    """The load benchmark's client at 20 participants (the benchmark runs 100)."""
    summary = run_load(study, 20, threads=4, timeout_s=60)
    n = 20 * summary["trials_each"]
    assert summary["errors"] == [] and summary["finished"] == 20
    assert summary["acknowledged"] == summary["stored"] == n
    assert (summary["lost"], summary["duplicates"], summary["stored_unacknowledged"]) == (0, 0, 0)
    assert summary["statuses"] == {"answer 200": n, "media 206": n, "page 200": n, "start 200": 20}
    assert 0 < summary["answer_p50_ms"] <= summary["answer_p95_ms"] < 30_000
