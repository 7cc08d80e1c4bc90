"""Which vqabench made a number: the package version and, when the package is imported from a
git checkout, the commit (and whether the checkout had uncommitted changes).

Recorded in a run's ``config.toml`` comment and in every leaderboard sidecar.

Example:
    >>> package_provenance()
    {'version': '0.2.0', 'git_commit': '1574659...', 'git_dirty': False}
    >>> package_line()
    'vqabench 0.2.0 (git 1574659..., dirty)'
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from vqabench import __version__

__all__ = ["package_provenance", "package_line"]

_ROOT = Path(__file__).resolve().parent.parent  # the folder holding the vqabench package


def _git(*args: str) -> str | None:
    """``git -C _ROOT ARGS`` stdout stripped, None when git is absent or fails."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


@functools.cache
def package_provenance() -> dict[str, object]:
    """``{"version", "git_commit", "git_dirty"}``: the commit is None (and ``git_dirty``
    None) unless the imported package lies at the top of a git work tree (an installed wheel
    inside some other repository gets none); ``git_dirty`` says whether tracked files differ
    from that commit."""
    commit, dirty = None, None
    top = _git("rev-parse", "--show-toplevel")
    if top and Path(top).resolve() == _ROOT:
        commit = _git("rev-parse", "HEAD")
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = None if commit is None or status is None else status != ""
    return {"version": __version__, "git_commit": commit, "git_dirty": dirty}


def package_line() -> str:
    """``vqabench VERSION`` plus ``(git COMMIT)`` or ``(git COMMIT, dirty)`` when known."""
    p = package_provenance()
    if not p["git_commit"]:
        return f"vqabench {p['version']}"
    return f"vqabench {p['version']} (git {p['git_commit']}{', dirty' if p['git_dirty'] else ''})"
