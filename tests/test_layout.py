"""Tests mirror the package: every module under vqabench/ has a test file at the mirrored
path (tests/<package>/test_<module>.py; CLI modules may use test_<module>_cli.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]


def missing_tests(root: Path = ROOT) -> list[str]:
    """Modules of vqabench/ (relative paths) without a mirrored test file."""
    out = []
    for module in sorted((root / "vqabench").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        rel = module.relative_to(root / "vqabench")
        folder = root / "tests" / rel.parent
        names = (
            f"test_{module.stem}.py",
            f"test_{module.stem}_cli.py",
            f"test_{module.stem}_{rel.parent.name}.py",
        )
        if not any((folder / n).is_file() for n in names):
            out.append(rel.as_posix())
    return out


def test_every_module_has_a_mirrored_test_file():
    assert missing_tests() == [], "modules without tests/<path>/test_<module>.py"


def test_a_module_without_a_test_file_is_found(tmp_path):
    (tmp_path / "vqabench" / "metrics" / "functional").mkdir(parents=True)
    (tmp_path / "tests" / "metrics" / "functional").mkdir(parents=True)
    for rel in (
        "metrics/functional/__init__.py",
        "metrics/functional/pixel.py",
        "metrics/functional/ssim.py",
        "metrics/app.py",
    ):
        (tmp_path / "vqabench" / rel).touch()
    (tmp_path / "tests" / "metrics" / "functional" / "test_pixel.py").touch()
    (tmp_path / "tests" / "metrics" / "test_app_cli.py").touch()
    assert missing_tests(tmp_path) == ["metrics/functional/ssim.py"]


def test_every_test_folder_is_a_package():
    """Same basenames in two folders (tests/metrics/test_pixel.py and
    tests/metrics/functional/test_pixel.py) need packages, or pytest refuses the second."""
    folders = {p.parent for p in (ROOT / "tests").rglob("test_*.py")}
    assert (
        sorted(f.relative_to(ROOT).as_posix() for f in folders if not (f / "__init__.py").is_file())
        == []
    )


def test_every_python_folder_is_linted():
    """tox's lint environment and .ci/run run ruff over every top-level folder that holds
    Python files (scripts/ and benchmarks/ too, not only the package and its tests)."""
    folders = sorted(
        {
            p.relative_to(ROOT).parts[0]
            for p in ROOT.glob("*/**/*.py")
            if not p.relative_to(ROOT).parts[0].startswith(".")
        }
    )
    for config in ("tox.ini", ".ci/run"):
        lint = [
            line
            for line in (ROOT / config).read_text(encoding="utf-8").splitlines()
            if "ruff check" in line
        ]
        assert lint, config
        assert [f for f in folders if f not in lint[0].split()] == [], config
