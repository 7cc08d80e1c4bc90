"""Videos at native size in Debian's Chromium: HD sources in 1920x1080 and 1366x768 windows,
a phone, and the screen check that refuses a window too small (issue 31, item 2).

The studies here are copies of the tiny 2AFC study whose videos are replaced by 3-frame
solid-colour clips of the sizes under test (lossless VP9 like every study video, cheap to
encode); the layout is measured with ``getBoundingClientRect`` in CSS px and compared with
the size ffmpeg wrote (``videoWidth``) divided by ``devicePixelRatio``.

Set ``VQABENCH_DOCS_SCREENSHOTS=DIR`` to keep the screenshots (those in docs/studies/).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.studies.conftest import CHROMIUM, fresh_copy, start_server
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.io.hashing import file_sha256
from vqabench.studies.media import MEDIA_ARGS

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
COLOURS = {"reference": "0x606060", "left": "0x3060a0", "right": "0xa06030"}


def _clips(dest: Path, width: int, height: int) -> dict[str, Path]:
    """A reference and two versions: 3 frames of a solid colour under a white grid."""
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, colour in COLOURS.items():
        out[name] = dest / f"{name}_{width}x{height}.webm"
        if not out[name].exists():
            src = (
                f"color=c={colour}:s={width}x{height}:r=25:d=0.12,"
                f"drawgrid=w={width // 8}:h={height // 4}:t=4:c=white"
            )
            run_ffmpeg(["-f", "lavfi", "-i", src, *MEDIA_ARGS, str(out[name])])
    return out


def _sized_study(
    study: Path, dest: Path, clips: dict[str, Path], width: int, height: int, presentation: str
) -> Path:
    """A copy of ``study`` whose every video is one of ``clips`` and whose spec says so."""
    fresh_copy(study, dest)
    spec = json.loads((dest / "study.json").read_text())
    for seq in spec["sequences"].values():
        seq["width"], seq["height"] = width, height
    for n, item in enumerate(spec["media"]["items"]):
        clip = {"source": "reference", "attention": "right"}.get(
            item["kind"], ("left", "right")[n % 2]
        )
        shutil.copy(clips[clip], dest / item["file"])
        item["sha256"] = file_sha256(dest / item["file"])  # the server checks it
    spec["presentation"] = presentation
    (dest / "study.json").write_text(json.dumps(spec))
    return dest


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


def _shot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, scale="css")
    keep = os.environ.get("VQABENCH_DOCS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _start(page, url: str, pid: str) -> None:
    page.goto(f"{url}/")
    page.fill("#participant", pid)
    with page.expect_navigation():
        page.click("#start")


_MEASURE = """() => {
  const rect = el => { const r = el.getBoundingClientRect();
    return {id: el.id, x: r.left, y: r.top, w: r.width, h: r.height, right: r.right,
            bottom: r.bottom}; };
  return {vw: innerWidth, vh: innerHeight, dpr: devicePixelRatio, scrollW:
          document.documentElement.scrollWidth, scrollH: document.documentElement.scrollHeight,
          videos: [...document.querySelectorAll('video')].map(v => Object.assign(rect(v),
            {videoWidth: v.videoWidth, videoHeight: v.videoHeight})),
          buttons: [...document.querySelectorAll('#bar button')].map(rect)};
}"""


def _assert_native_and_reachable(page, width: int, height: int) -> dict:
    """Every video at native size and every video and button inside the window, unscrolled."""
    m = page.evaluate(_MEASURE)
    assert m["scrollW"] <= m["vw"] and m["scrollH"] <= m["vh"], m  # nothing to scroll to
    assert m["videos"] and m["buttons"]
    for v in m["videos"]:
        assert (v["videoWidth"], v["videoHeight"]) == (width, height), v  # as ffmpeg wrote it
        assert v["w"] == pytest.approx(width / m["dpr"], abs=0.01), v
        assert v["h"] == pytest.approx(height / m["dpr"], abs=0.01), v
    for r in m["videos"] + m["buttons"]:
        assert r["x"] >= 0 and r["y"] >= 0, r
        assert r["right"] <= m["vw"] and r["bottom"] <= m["vh"], r
    return m


def _answers(study: Path, pid: str) -> int:
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM answers WHERE participant = ?", (pid,)).fetchone()[
            0
        ]


def _screens(study: Path, pid: str) -> list[tuple]:
    with sqlite3.connect(study / "answers.sqlite") as db:
        return db.execute(
            "SELECT viewport_w, viewport_h, dpr, fits FROM screens WHERE participant = ?", (pid,)
        ).fetchall()


@pytest.mark.parametrize(
    "design, size, presentation, viewports",
    [
        ("2afc", (1280, 720), "toggle", [(1920, 1080, 1), (1366, 768, 1)]),
        ("2afc", (640, 360), "side-by-side", [(1366, 768, 1)]),
        # a HiDPI laptop: 1366x768 CSS px at devicePixelRatio 2 holds 960x540 CSS px of video
        ("2afc", (1920, 1080), "sequential", [(1920, 1080, 1), (1366, 768, 2)]),
        ("dcr", (1920, 1080), "sequential", [(1920, 1080, 1)]),
    ],
)
def test_hd_videos_play_at_native_size_with_every_control_in_the_window(
    request, clip_dir, tmp_path, browser, design, size, presentation, viewports
):
    """The presentations ``choose_presentation`` picks for these sizes on a 1920x1080 or
    1366x768 screen (test_design): each trial fits, unscaled, and is answered by a click."""
    width, height = size
    clips = _clips(clip_dir, width, height)
    study = _sized_study(
        request.getfixturevalue(f"study_{design}"),
        tmp_path / "study",
        clips,
        width,
        height,
        presentation,
    )
    proc, url = start_server(study)
    try:
        for vw, vh, dpr in viewports:
            page = browser.new_page(viewport={"width": vw, "height": vh}, device_scale_factor=dpr)
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            pid = f"p{vw}x{dpr}"
            _start(page, url, pid)
            assert page.is_enabled("#begin") and page.is_hidden("#screen-refusal")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.wait_for_selector("body[data-ready='1']", timeout=15000)
            _assert_native_and_reachable(page, width, height)
            assert page.get_attribute("body", "data-screen") == "ok"
            if presentation == "toggle":  # flip with the buttons and keys: one layer shown
                for how, shown in (("#view-left", "left"), ("2", "right"), ("r", "reference")):
                    page.click(how) if how.startswith("#") else page.keyboard.press(how)
                    assert page.get_attribute("body", "data-showing") == shown
                    assert page.is_visible(f"#{shown}")
                    assert [
                        i for i in ("reference", "left", "right") if page.is_visible(f"#{i}")
                    ] == [shown]
            elif presentation == "side-by-side":
                page.keyboard.press("r")
                assert page.is_visible("#reference") and page.is_visible("#reference-2")
                assert page.is_hidden("#left") and page.is_hidden("#right")
                page.click("#view-reference")
                assert page.is_visible("#left") and page.is_visible("#right")
            if dpr == 1:
                _shot(
                    page, f"trial_{design}_{presentation}_{width}x{height}_in_{vw}x{vh}", tmp_path
                )
            with page.expect_navigation():
                page.click("#answer-left" if design == "2afc" else "#answer-4")
            assert _answers(study, pid) == 1
            assert _screens(study, pid) == [(vw, vh, dpr, 1)]
            assert not errors
            page.close()
    finally:
        proc.kill()
        proc.wait()


def test_a_window_too_small_is_refused_until_it_is_large_enough(
    study_2afc, clip_dir, tmp_path, browser
):
    """1920x1080 videos (sequential on a 1920x1080 screen) in a 1366x768 window: the start
    page says why and does not start; enlarging the window lets the participant begin."""
    clips = _clips(clip_dir, 1920, 1080)
    study = _sized_study(study_2afc, tmp_path / "study", clips, 1920, 1080, "sequential")
    proc, url = start_server(study)
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        _start(page, url, "small")
        page.wait_for_selector("body[data-screen='refused']", timeout=5000)
        text = page.inner_text("#screen-refusal")
        assert "1366 x 768" in text and "1920 x 1080" in text and "native size" in text
        assert page.is_disabled("#begin")
        _shot(page, "refused_1920x1080_in_1366x768", tmp_path)
        link = page.url  # the participant's personal link, /p/<token>
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        assert page.url == link  # Enter did not start the trials
        # the trial page refuses too (a participant who types its address)
        page.goto(f"{link}/trial")
        page.wait_for_selector("body[data-screen='refused']")
        assert page.is_visible("#refusal") and "native size" in page.inner_text("#refusal")
        page.goto(link)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_selector("body[data-screen='ok']")
        assert page.is_enabled("#begin") and page.is_hidden("#screen-refusal")
        assert _screens(study, "small") == [
            (1366, 768, 1.0, 0),
            (1366, 768, 1.0, 0),
            (1920, 1080, 1.0, 1),
        ]
        assert _answers(study, "small") == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_phone_sees_the_page_at_its_width_and_small_videos_at_native_size(
    study_2afc, clip_dir, tmp_path, browser
):
    """390x844 CSS px at devicePixelRatio 3: the viewport meta tag gives the page the phone's
    width (without it the page is laid out 980 px wide and shown at 0.4x); the 64x64 videos
    are 64/3 CSS px, every control inside the screen; 1280x720 videos are refused."""
    study = fresh_copy(study_2afc, tmp_path / "study")  # side by side (test_design)
    hd = _sized_study(study_2afc, tmp_path / "hd", _clips(clip_dir, 1280, 720), 1280, 720, "toggle")
    phone = {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    }
    for directory, fits in ((study, True), (hd, False)):
        proc, url = start_server(directory)
        try:
            context = browser.new_context(**phone)
            page = context.new_page()
            _start(page, url, "phone")
            assert page.evaluate("[innerWidth, devicePixelRatio]") == [390, 3]
            if fits:
                page.wait_for_selector("body[data-screen='ok']")
                page.tap("#begin")
                page.wait_for_selector("body[data-ready='1']", timeout=15000)
                _assert_native_and_reachable(page, 64, 64)
                _shot(page, "phone_390", tmp_path)
                with page.expect_navigation():
                    page.tap("#answer-neutral")
                assert _answers(directory, "phone") == 1
            else:
                page.wait_for_selector("body[data-screen='refused']")
                assert page.is_visible("#screen-refusal") and page.is_disabled("#begin")
                _shot(page, "phone_390_refused", tmp_path)
            context.close()
        finally:
            proc.kill()
            proc.wait()
