"""scripts/lower_bounds.py: the constraints of ``tox -e lower`` pin every requirement of
pyproject.toml at its lower bound."""

from __future__ import annotations

import runpy
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
SCRIPT = runpy.run_path(str(ROOT / "scripts" / "lower_bounds.py"))


def test_lower_bound_pins_the_release_series_or_the_exact_version():
    lower_bound = SCRIPT["lower_bound"]
    assert lower_bound("numpy>=1.24") == "numpy==1.24.*"
    assert lower_bound("rich>=13") == "rich==13.0.*"
    assert lower_bound("dask[distributed]>=2024.1") == "dask==2024.1.*"
    assert lower_bound("waitress>=3.0.2") == "waitress==3.0.2"
    assert lower_bound("sureal==0.9.0") == "sureal==0.9.0"
    assert lower_bound("x>=1.0rc1,<2") == "x==1.0rc1"
    assert lower_bound("free") is None and lower_bound("y<3") is None


def test_every_requirement_of_pyproject_is_pinned(tmp_path):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = SCRIPT["constraints"]()
    names = {p.split("==")[0] for p in pins}
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = requirement.split("[")[0].split(">")[0].split("=")[0].strip()
        assert name in names, requirement
    assert "pandas==2.0.*" in pins and "torch==2.1.*" in pins
    assert SCRIPT["main"]([str(tmp_path / "c.txt")]) == 0
    assert (tmp_path / "c.txt").read_text().splitlines() == pins


def test_an_option_is_never_taken_for_the_output_file(tmp_path, monkeypatch, capsys):
    """``--help`` once wrote the constraints into a file named ``--help``."""
    monkeypatch.chdir(tmp_path)
    assert SCRIPT["main"](["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: python scripts/lower_bounds.py")
    assert SCRIPT["main"](["--out"]) == 2
    assert list(tmp_path.iterdir()) == []
