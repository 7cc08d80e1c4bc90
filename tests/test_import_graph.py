"""The import graph of vqabench/ read from the source with ``ast``: no circle of files, no
private name (leading underscore) imported from another module, and the import-linter
contract that keeps the functional core of the metrics free of their shells names every
shell.

Every import counts, wherever it stands (module level, inside a function, under
``TYPE_CHECKING``): a lazy import hides a circle from Python, not from a reader.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]

#: Private names still imported across modules, each with where it goes (none left).
KNOWN_PRIVATE: set[tuple[str, str, str]] = set()


def module_names(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's ``__init__``) of every module under
    ``root/vqabench``."""
    out = {}
    for path in sorted((root / "vqabench").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if package else parts)] = (path, package)
    return out


def _imported_from(module: str, package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: len(module.split(".")) - (0 if package else 1)]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(module -> the vqabench modules it imports, [(importer, module, private name)]).

    ``from package import name`` is an import of the submodule ``package.name`` when there is
    one, else of ``package``.
    """
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    private = []
    for module, (path, package) in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                source = _imported_from(module, package, node)
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        targets.add(f"{source}.{alias.name}")
                        continue
                    targets.add(source)
                    name = alias.name
                    if (
                        source in modules
                        and name.startswith("_")
                        and not (name.startswith("__") and name.endswith("__"))
                    ):
                        private.append((module, source, name))
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph, private


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of modules (the first module repeated at the end), or [] if none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_circle_of_files_in_the_import_graph():
    graph, _ = import_graph()
    assert len(graph) > 100  # the whole package was read
    assert find_cycle(graph) == []


def test_a_circle_through_a_lazy_import_is_found(tmp_path):
    pkg = tmp_path / "vqabench" / "metrics"
    (pkg / "functional").mkdir(parents=True)
    for rel, text in {
        "__init__.py": "",
        "metrics/__init__.py": "",
        "metrics/base.py": "from vqabench.metrics.functional.ssim import ssim\n",
        "metrics/functional/__init__.py": "",
        "metrics/functional/ssim.py": "def ssim():\n    from ..base import pool\n",
        "metrics/pixel.py": "from vqabench.metrics import base\nfrom . import _x\n",
        "metrics/_x.py": "",
    }.items():
        (tmp_path / "vqabench" / rel).write_text(text)
    graph, private = import_graph(tmp_path)
    assert graph["vqabench.metrics.pixel"] == {"vqabench.metrics.base", "vqabench.metrics._x"}
    assert find_cycle(graph) == [
        "vqabench.metrics.base",
        "vqabench.metrics.functional.ssim",
        "vqabench.metrics.base",
    ]
    assert private == []  # ``pool`` is public, ``_x`` a module
    (pkg / "functional" / "ssim.py").write_text("from vqabench.metrics.base import _pool\n")
    assert import_graph(tmp_path)[1] == [
        ("vqabench.metrics.functional.ssim", "vqabench.metrics.base", "_pool")
    ]


def test_no_private_name_is_imported_from_another_module():
    _, private = import_graph()
    assert set(private) <= KNOWN_PRIVATE, sorted(set(private) - KNOWN_PRIVATE)


def test_the_functional_core_contract_names_every_metric_shell():
    """metrics/functional/ imports nothing from the metric shells (lint-imports checks the
    contract; this test keeps its list complete as shells are added)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    core = contracts["The functional core of the metrics imports none of their shells"]
    assert core["source_modules"] == ["vqabench.metrics.functional"]
    shells = {
        f"vqabench.metrics.{p.stem}"
        for p in (ROOT / "vqabench" / "metrics").glob("*.py")
        if p.stem != "__init__"
    }
    # the weights store is below the metrics: it imports errors and io only
    assert set(core["forbidden_modules"]) >= shells - {"vqabench.metrics.weights"}
    graph, _ = import_graph()
    assert [
        m
        for m, targets in graph.items()  # the package's __init__ (re-exports shells)
        if m.startswith("vqabench.metrics.functional") and "vqabench.metrics" in targets
    ] == []
