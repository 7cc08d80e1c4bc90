"""vqabench/provenance.py: the version and, from a git checkout, the commit and whether it
was dirty, as recorded in config.toml comments and leaderboard sidecars."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import vqabench
from vqabench.provenance import package_line, package_provenance

_PACKAGE = Path(vqabench.__file__).resolve().parent
_PROBE = (
    "import json; from vqabench.provenance import package_line, package_provenance; "
    "print(json.dumps([package_provenance(), package_line()]))"
)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _probe(root: Path) -> tuple[dict, str]:
    """package_provenance() and package_line() of the vqabench package copied under root."""
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    provenance, line = json.loads(proc.stdout)
    return provenance, line


def _copy_package(root: Path) -> None:
    shutil.copytree(
        _PACKAGE, root / "vqabench", ignore=shutil.ignore_patterns("__pycache__", "weights")
    )


def test_this_checkout_names_its_head_commit():
    """Imported from the repository (as tests are), the commit is the checkout's HEAD."""
    head = _git(_PACKAGE.parent, "rev-parse", "HEAD")
    provenance = package_provenance()
    assert provenance["version"] == vqabench.__version__
    assert provenance["git_commit"] == head
    dirty = ", dirty" if provenance["git_dirty"] else ""
    assert package_line() == f"vqabench {vqabench.__version__} (git {head}{dirty})"


def test_outside_a_checkout_no_commit_and_in_one_the_dirty_flag(tmp_path):
    """A copy outside any git tree names no commit; committed into a fresh repository it
    names that commit, and a changed tracked file makes it dirty."""
    plain = tmp_path / "plain"
    _copy_package(plain)
    version = vqabench.__version__
    assert _probe(plain) == (
        {"version": version, "git_commit": None, "git_dirty": None},
        f"vqabench {version}",
    )

    repo = tmp_path / "repo"
    _copy_package(repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "vqabench")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "c")
    head = _git(repo, "rev-parse", "HEAD")
    assert _probe(repo) == (
        {"version": version, "git_commit": head, "git_dirty": False},
        f"vqabench {version} (git {head})",
    )
    with (repo / "vqabench" / "errors.py").open("a") as f:
        f.write("# changed\n")
    assert _probe(repo)[1] == f"vqabench {version} (git {head}, dirty)"
