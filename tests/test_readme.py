"""Every Python snippet of README.md runs as written (in order, in one namespace, in a
folder holding the ``ref.y4m`` and ``dis.mp4`` the "Python API" section assumes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import make_video
from vqabench.io.ffmpeg import run_ffmpeg

README = Path(__file__).parents[1] / "README.md"


def python_snippets(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def test_snippet_extraction():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_snippets(text) == ["x = 1\n", "y = 2\n"]


@pytest.mark.slow
def test_every_readme_python_snippet_runs(tmp_path, monkeypatch, capsys):
    snippets = python_snippets(README.read_text())
    assert len(snippets) >= 4  # compute a metric, a benchmark, a BD-rate, load results
    monkeypatch.chdir(tmp_path)
    make_video(tmp_path / "ref.y4m", frames=8)
    run_ffmpeg(["-i", "ref.y4m", "-c:v", "libx264", "-qp", "35", "-loglevel", "error",
                "dis.mp4"])
    for k, code in enumerate(snippets):
        exec(compile(code, f"README.md python snippet {k + 1}", "exec"), {})
    out = capsys.readouterr().out
    assert "-10.0" in out  # the BD-rate snippet's stated result
    assert "64 rows in" in out
