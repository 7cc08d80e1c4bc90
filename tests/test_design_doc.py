"""docs/design.md stays true: its layer list is the import-linter contract of pyproject.toml
(order included), and every ``vqabench/...`` path it names exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
MARKER = "<!-- layers: tests/test_design_doc.py checks this block against pyproject.toml -->"


def doc_layers(text: str) -> list[str]:
    """The lines of the fenced block right after the layers marker of docs/design.md."""
    after = text.split(MARKER, 1)[1]
    block = re.match(r"\s*```text\n(.*?)^```", after, re.S | re.M)
    assert block, "docs/design.md: no ```text block after the layers marker"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def contract_layers(pyproject: dict) -> list[str]:
    """The layers contract of ``[tool.importlinter]``, written as design.md writes it:
    without the ``vqabench.`` prefix and the parentheses of optional layers."""
    contracts = [c for c in pyproject["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert len(contracts) == 1, "expected one layers contract in pyproject.toml"
    return [
        re.sub(r"[()]", "", layer).replace("vqabench.", "").strip()
        for layer in contracts[0]["layers"]
    ]


def test_contract_layers_are_normalised():
    pyproject = {
        "tool": {
            "importlinter": {
                "contracts": [
                    {"type": "forbidden", "layers": ["vqabench.x"]},
                    {
                        "type": "layers",
                        "layers": [
                            "vqabench.cli",
                            "vqabench.runner | (vqabench.studies)",
                            "vqabench.io : vqabench.registry",
                        ],
                    },
                ]
            }
        }
    }
    assert contract_layers(pyproject) == ["cli", "runner | studies", "io : registry"]


def test_design_doc_layers_are_the_import_linter_contract():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert doc_layers(DESIGN.read_text()) == contract_layers(pyproject), (
        "docs/design.md's layer list and pyproject.toml's [tool.importlinter] layers "
        "contract differ: change both together"
    )


def test_every_package_path_in_design_doc_exists():
    text = DESIGN.read_text()
    paths = set(re.findall(r"`(vqabench/\w[\w/.]*)`", text))
    assert len(paths) > 10
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/design.md names paths that do not exist: {missing}"


def test_every_module_in_the_package_map_exists():
    """Each ``NAME.py`` of the package map sits in the folder the map lists it under."""
    text = DESIGN.read_text()
    block = text.split("## Package map", 1)[1].split("```", 2)[1]
    folder = ROOT / "vqabench"
    missing = []
    for line in block.splitlines():
        head = re.match(r"  (\w+/|\w+\.py)\s", line)
        if head and head.group(1).endswith("/"):
            folder = ROOT / "vqabench" / head.group(1)
        elif head:
            folder = ROOT / "vqabench"
        for name in re.findall(r"\b(\w+\.py)\b", line):
            if not (
                (folder / name).exists()
                or (folder / "functional" / name).exists()
                or (ROOT / "vqabench" / name).exists()
            ):
                missing.append(f"{folder.relative_to(ROOT)}/{name}")
    assert not missing, f"docs/design.md's package map names missing modules: {missing}"
