"""vqabench/cli/reference.py: docs/cli.md is the Typer app's help, kept current."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_cli
from vqabench.cli.reference import DEFAULT_PATH, render_reference, typer_version


def _help(capsys, *argv: str) -> str:
    """What ``vqabench ARGV --help`` prints (exit code 0)."""
    capsys.readouterr()
    assert run_cli([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_committed_cli_reference_is_current():
    committed = DEFAULT_PATH.read_text()
    made_with = re.search(r"as typer (\S+) lays it out", committed)
    assert made_with, "docs/cli.md names the typer it was generated with"
    if made_with.group(1) != typer_version():  # e.g. the lower-bounds environment
        pytest.skip(
            f"docs/cli.md was laid out by typer {made_with.group(1)}, this is typer "
            f"{typer_version()}: its help layout differs between releases"
        )
    assert committed == render_reference(), (
        "docs/cli.md is out of date: run python -m vqabench.cli.reference"
    )


def test_reference_does_not_depend_on_the_terminal_width(monkeypatch):
    wide = render_reference()
    monkeypatch.setenv("COLUMNS", "37")
    monkeypatch.setenv("TERMINAL_WIDTH", "37")
    assert render_reference() == wide


@pytest.mark.slow
def test_reference_holds_every_command_with_its_options(capsys):
    """Each command path that ``vqabench ... --help`` lists has a section, and the run
    section carries the flags `vqabench run --help` prints."""
    text = render_reference()
    sections = re.findall(r"^## (vqabench.*)$", text, re.M)
    top = _help(capsys)
    listed = re.findall(r"^  ([a-z][a-z-]+)  ", top.split("Commands:")[1], re.M)
    assert {"run", "report", "study", "weights"} <= set(listed)
    for name in listed:
        assert f"vqabench {name}" in sections
    study = _help(capsys, "study")
    for sub in re.findall(r"^  ([a-z][a-z-]+)  ", study.split("Commands:")[1], re.M):
        assert f"vqabench study {sub}" in sections
    run_help = text.split("## vqabench run\n")[1].split("\n## ")[0]
    for flag in re.findall(r"^  (--[a-z-]+)", _help(capsys, "run"), re.M):
        assert flag in run_help
