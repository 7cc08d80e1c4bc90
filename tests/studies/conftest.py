"""Shared fixtures: one tiny real run (2 sequences x 2 codecs x 2 rates) and studies of it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench.experiment import load_config
from vqabench.runner.run import run
from vqabench.studies import create_study

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vqabench run`` of two 64x64 8-frame sequences, x264 and x265 at qp 30 and 40."""
    root = tmp_path_factory.mktemp("study_data")
    make_video(root / "Alpha.y4m", frames=8, seed=1)
    make_video(root / "Beta.y4m", frames=8, seed=2)
    out = tmp_path_factory.mktemp("study_run") / "run"
    cfg = load_config(
        None,
        dataset=str(root),
        codecs=["x264:qp=30,40", "x265:qp=30,40"],
        metrics="psnr_y,vmaf",
        jobs=1,
        out=str(out),
    )
    assert run(cfg).complete
    return out


@pytest.fixture(scope="session")
def study_2afc(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studies") / "s2afc"
    create_study([tiny_run], design="2afc", out=out, seed=3)
    return out


@pytest.fixture(scope="session")
def study_acr(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studies") / "sacr"
    create_study([tiny_run], design="acr", out=out, seed=4)
    return out


@pytest.fixture(scope="session")
def study_dcr(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studies") / "sdcr"
    create_study([tiny_run], design="dcr", out=out, seed=5, attention=1, repeat_fraction=0)
    return out


def fresh_copy(study: Path, dest: Path) -> Path:
    """A copy of a study without answers (each test writes its own database)."""
    shutil.copytree(study, dest, ignore=shutil.ignore_patterns("answers.sqlite*", "analysis"))
    return dest


def start_server(study: Path) -> tuple[subprocess.Popen, str]:
    """``vqabench study serve STUDY --port 0`` in a child process; returns it and its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vqabench", "study", "serve", str(study), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.strip().rsplit(" ", 1)[-1].rstrip("/")


def record_answers(
    study: Path, participants: list[str], decide, *, limit: int | None = None
) -> None:
    """Register ``participants`` and store an answer to every trial of their plans (the first
    ``limit`` only: a participant who left) through the answers database, as the web app
    does; ``decide(trial) -> choice (2AFC) | score``."""
    from vqabench.studies import load_spec, participant_plan
    from vqabench.studies.db import DB_NAME, open_db, record_answer, register

    spec = load_spec(study)
    trials = {t["id"]: t for t in spec["trials"]}
    db = open_db(study / DB_NAME, study_id=spec["study_id"])
    try:
        for pid in participants:
            plan = participant_plan(spec, pid)
            register(db, pid, plan)
            for pos, (tid, _) in enumerate(plan[:limit]):
                value = decide(trials[tid])
                two_afc = spec["design"] == "2afc"
                record_answer(
                    db,
                    pid=pid,
                    position=pos,
                    trial=tid,
                    side=None,
                    choice=value if two_afc else None,
                    score=None if two_afc else value,
                    response_ms=700,
                )
    finally:
        db.close()


def join(client, pid: str = "", **form) -> tuple[str, str]:
    """Register ``pid`` through the start page of a Flask test client, as a browser does
    (the form's token, a same-origin Origin); returns the link token and the CSRF token."""
    page = client.get("/").data.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    r = client.post(
        "/start",
        data={"participant": pid, "form_token": form_token, **form},
        headers={"Origin": "http://localhost"},
    )
    assert r.status_code == 303, r.data
    token = r.headers["Location"].rsplit("/p/", 1)[1]
    return token, csrf_of(client.get(f"/p/{token}").data.decode())


def csrf_of(page: str) -> str:
    """The CSRF token embedded in a participant's page."""
    return re.search(r'csrf = "([^"]+)"', page)[1]


def trial_cfg(page: str) -> dict:
    """The JSON settings of a trial page (``trial`` reference, ``position``, ``csrf``...)."""
    return json.loads(re.search(r"const cfg = (\{.*?\});", page, re.S)[1])
