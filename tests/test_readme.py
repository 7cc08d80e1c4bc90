"""Every Python snippet of README.md and of the Markdown pages under docs/ runs as written:
the snippets of one file in order, in one namespace, in a fresh process (so that a page that
registers an example codec or metric leaves the registries of this process alone), in a
folder holding the ``ref.y4m`` and ``dis.mp4`` the Python API examples assume."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench.io.ffmpeg import run_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: What a page's snippets print that a reader can check by hand (the page states it).
EXPECTED_OUTPUT = {
    "README.md": ["-10.0"],  # the BD-rate example
    "docs/python_api.md": ["-10.0", "64 rows in"],  # BD-rate; 2 codecs x 4 x 8 seq.
    "docs/metrics.md": ["10.0 (10.0, 10.0, 10.0)"],  # |128 - 138| on every pixel
    "docs/codecs.md": ["True"],  # bits == 8 x the file's bytes
}


def python_snippets(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def pages_with_snippets() -> list[str]:
    """README.md and every page under docs/ with a Python block, relative to the root."""
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    return [p.relative_to(ROOT).as_posix() for p in pages if python_snippets(p.read_text())]


def test_snippet_extraction():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_snippets(text) == ["x = 1\n", "y = 2\n"]


def test_the_pages_that_promise_runnable_examples_have_them():
    assert set(EXPECTED_OUTPUT) <= set(pages_with_snippets())
    assert len(python_snippets(README.read_text())) >= 2  # compute a metric, a BD-rate


@pytest.mark.slow
@pytest.mark.parametrize("page", pages_with_snippets())
def test_every_python_snippet_runs(page, tmp_path):
    code = "\n".join(python_snippets((ROOT / page).read_text()))
    make_video(tmp_path / "ref.y4m", frames=8)
    run_ffmpeg(
        [
            "-i",
            str(tmp_path / "ref.y4m"),
            "-c:v",
            "libx264",
            "-qp",
            "35",
            "-loglevel",
            "error",
            str(tmp_path / "dis.mp4"),
        ]
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{page}: a Python snippet failed:\n{proc.stderr[-3000:]}"
    for expected in EXPECTED_OUTPUT.get(page, []):
        assert expected in proc.stdout, f"{page}: expected {expected!r} in\n{proc.stdout}"


def ci_commands(script: str) -> list[str]:
    """The install, health-check and test commands of a CI script (comments dropped)."""
    lines = (line.split("#")[0].strip() for line in script.splitlines())
    return [line for line in lines if re.match(r"(pip install|vqabench doctor|pytest)\b", line)]


def test_the_readme_shows_the_commands_ci_runs():
    """.ci/run builds the environment "exactly as the README says": each of its install,
    doctor and pytest commands stands as a command line in a bash block of the README."""
    assert ci_commands("pip install -e .  # x\n  # pip install no\npytest\nls\n") == [
        "pip install -e .",
        "pytest",
    ]
    commands = ci_commands((ROOT / ".ci" / "run").read_text())
    assert len(commands) >= 4
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(), re.S | re.M)
    shown = {line.split("#")[0].strip() for block in blocks for line in block.splitlines()}
    assert [c for c in commands if c not in shown] == []
