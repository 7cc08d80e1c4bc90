"""Whole 2AFC and ACR sessions in a real Chromium (Debian's package, driven by Playwright),
answered by clicks and keys; then the database rows and the analysis output are checked.

Set ``VQABENCH_DOCS_SCREENSHOTS=DIR`` to keep a screenshot of each page type in DIR (the
ones in docs/studies/ were made so).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.studies.conftest import CHROMIUM, fresh_copy, start_server
from vqabench.studies import analyze_study, load_spec, participant_plan

playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed "
        "(apt-get install chromium chromium-driver; .ci/run installs it)",
    ),
]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def browser_page(tmp_path):
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 760, "height": 460},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        context.close()


def _shot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path)
    keep = os.environ.get("VQABENCH_DOCS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _begin(page, url: str, pid: str, tmp_path: Path, design: str) -> None:
    page.goto(f"{url}/")
    if design == "2afc":
        _shot(page, "start", tmp_path)
    page.fill("#participant", pid)
    with page.expect_navigation():
        page.click("#start")
    assert "Instructions" in page.inner_text("#instructions")
    if design == "2afc":
        _shot(page, "instructions", tmp_path)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _wait_ready(page) -> None:
    page.wait_for_selector("body[data-ready='1'], body[data-media-error='1']", timeout=15000)
    assert page.get_attribute("body", "data-media-error") is None, page.inner_text("#message")


def _rows(study: Path) -> list[tuple]:
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute(
            "SELECT position, trial, side, choice, score FROM answers "
            "WHERE participant = 'alice' ORDER BY position"
        ).fetchall()


def test_whole_2afc_session(study_2afc, tmp_path, browser_page):
    page, errors = browser_page
    study = fresh_copy(study_2afc, tmp_path / "study")
    spec = load_spec(study)
    trials = {t["id"]: t for t in spec["trials"]}
    kbps = {c["id"]: c["kbps"] for c in spec["conditions"]}
    cond = {c["id"]: c for c in spec["conditions"]}
    plan = participant_plan(spec, "alice")
    # one neutral answer, on a pair of two codecs (the ladder pairs order each codec's points)
    neutral_at = next(
        i
        for i, (tid, _) in enumerate(plan)
        if trials[tid]["kind"] == "test"
        and cond[trials[tid]["a"]]["codec"] != cond[trials[tid]["b"]]["codec"]
    )
    proc, url = start_server(study)
    expected = []
    try:
        _begin(page, url, "alice", tmp_path, "2afc")
        for pos, (tid, swapped) in enumerate(plan):
            _wait_ready(page)
            t = trials[tid]
            if pos == 1:
                _shot(page, "trial_2afc", tmp_path)
            if t["kind"] == "attention":
                choice = "a"  # the undegraded source
            elif pos == neutral_at:
                choice = "neutral"
            else:  # the participant prefers the higher rate
                choice = "a" if kbps[t["a"]] > kbps[t["b"]] else "b"
            side = (
                "neutral"
                if choice == "neutral"
                else ("left" if (choice == "a") != swapped else "right")
            )
            expected.append((pos, tid, side, choice, None))
            with page.expect_navigation():
                if pos % 2:  # clicks and keys alternate
                    page.click(f"#answer-{side}")
                else:
                    page.keyboard.press(
                        {"left": "ArrowLeft", "right": "ArrowRight", "neutral": "ArrowDown"}[side]
                    )
        page.wait_for_url("**/done")
        assert "Thank you" in page.inner_text("#done")
        _shot(page, "done", tmp_path)
    finally:
        proc.kill()
        proc.wait()
    assert not errors
    assert _rows(study) == expected
    # the server saw a real browser fetch every video of each trial and take at least the
    # playing time (8 frames at 25 fps, played together) before each answer
    with sqlite3.connect(study / "answers.sqlite") as db:
        timing = db.execute("SELECT served_ms, media_fetched, media_needed FROM answers").fetchall()
    assert len(timing) == len(plan)
    assert all(ms >= 320 and fetched == needed == 3 for ms, fetched, needed in timing), timing
    result = analyze_study(study, resamples=50, figures=True)
    assert not result.observers["removed"].any()
    prefs = result.preferences
    # every test pair was answered once (repeats only measure consistency): preference for
    # the higher rate is 1, except the pair with the neutral answer (counted half)
    higher_a = prefs["a_kbps"] > prefs["b_kbps"]
    shares = prefs["preference_a"].where(higher_a, 1 - prefs["preference_a"])
    na, nb = (cond[trials[plan[neutral_at][0]][k]] for k in ("a", "b"))
    is_neutral = (
        (prefs["sequence"] == na["sequence"])
        & (prefs["a_codec"] == na["codec"])
        & (prefs["a_rate_point"] == na["rate_point"])
        & (prefs["b_codec"] == nb["codec"])
        & (prefs["b_rate_point"] == nb["rate_point"])
    )
    assert is_neutral.sum() == 1 and set(shares[~is_neutral]) == {1.0}
    assert (prefs["answers"] == 1).all() and shares[is_neutral].iloc[0] == 0.5
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    assert set(scores["metric"]) == {"jod"} and len(scores) == 8
    for (seq, codec), part in scores.groupby(["sequence", "codec"]):
        low, high = part.sort_values("kbps")["value"]
        assert high > low, (seq, codec)
    assert (study / "analysis" / "preferences.png").stat().st_size > 1000


def test_whole_acr_session(study_acr, tmp_path, browser_page):
    page, errors = browser_page
    study = fresh_copy(study_acr, tmp_path / "study")
    spec = load_spec(study)
    trials = {t["id"]: t for t in spec["trials"]}
    cond = {c["id"]: c for c in spec["conditions"]}
    plan = participant_plan(spec, "alice")

    def intended(t):
        if t["kind"] == "attention":
            return 1
        c = cond.get(t["condition"])
        return 5 if c is None else (4 if c["rate_point"] == "qp=30" else 2)

    proc, url = start_server(study)
    expected = []
    try:
        _begin(page, url, "alice", tmp_path, "acr")
        for pos, (tid, _) in enumerate(plan):
            _wait_ready(page)
            if pos == 1:
                _shot(page, "trial_acr", tmp_path)
            score = intended(trials[tid])
            expected.append((pos, tid, None, None, score))
            with page.expect_navigation():
                if pos % 2:
                    page.click(f"#answer-{score}")
                else:
                    page.keyboard.press(str(score))
        page.wait_for_url("**/done")
    finally:
        proc.kill()
        proc.wait()
    assert not errors
    assert _rows(study) == expected
    analyze_study(study, resamples=50, figures=False)
    scores = pd.read_csv(study / "analysis" / "scores.csv")
    mos = scores[scores["metric"] == "mos"].set_index(["sequence", "codec", "rate_point"])
    assert len(mos) == 8 and mos["n"].eq(1).all()
    for (_, _, rate), row in mos.iterrows():
        assert row["value"] == (4 if rate == "qp=30" else 2)
    dmos = scores[scores["metric"] == "dmos"]
    assert list(dmos["value"]) == list(mos["value"])  # hidden reference rated 5: DV = V


def test_dcr_trials_play_the_reference_then_the_processed_video(study_dcr, tmp_path, browser_page):
    """The first three trials of a DCR session (the whole flow is the ACR test's)."""
    page, errors = browser_page
    study = fresh_copy(study_dcr, tmp_path / "study")
    proc, url = start_server(study)
    try:
        _begin(page, url, "alice", tmp_path, "dcr")
        for pos in range(3):
            _wait_ready(page)
            # both videos have played to their end; the processed one is on screen
            ended = page.evaluate(
                "['reference', 'test'].map(id => document.getElementById(id).ended)"
            )
            assert ended == [True, True]
            assert page.is_hidden("#fig-reference") and page.is_visible("#fig-test")
            if pos == 1:
                _shot(page, "trial_dcr", tmp_path)
            with page.expect_navigation():
                page.keyboard.press(str(5 - pos))
        _wait_ready(page)
    finally:
        proc.kill()
        proc.wait()
    assert not errors
    assert [r[4] for r in _rows(study)] == [5, 4, 3]
