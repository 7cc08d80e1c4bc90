"""Pin every requirement of pyproject.toml at its lower bound, as a pip constraints file.

``tox -e lower`` installs vqabench and its dev extra under these constraints and runs the
quick tests, so the suite is checked on the oldest versions the requirements allow, not only
on the newest that a fresh install takes::

    python scripts/lower_bounds.py lower.txt      # numpy==1.24.*, pandas==2.0.*, ...
    pip install -c lower.txt -e ".[dev]"

A bound of one or two release numbers pins its release series (``>=1.24`` -> ``==1.24.*``,
``>=13`` -> ``==13.0.*``), so pip takes its latest patch release: a bare ``==4.8`` would
match no opencv wheel (they are 4.8.0.74 and up), and patch releases keep the API the bound
is about. A bound of three or more numbers is pinned exactly. A requirement without a
``>=`` or ``==`` bound is left free (and said so on stderr); extras are dropped (pip refuses
them in a constraints file).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def lower_bound(requirement: str) -> str | None:
    """The pin of a requirement's ``>=`` (or ``==``) bound, None without one.

    Example:
        >>> lower_bound("dask[distributed]>=2024.1")
        'dask==2024.1.*'
    """
    match = _REQUIREMENT.match(requirement.split(";")[0])
    if match is None:
        raise ValueError(f"cannot read the requirement {requirement!r}")
    name, _extras, spec = match.groups()
    for clause in spec.split(","):
        op_version = re.fullmatch(r"\s*(>=|==)\s*([^\s,]+)\s*", clause)
        if op_version:
            version = op_version.group(2)
            release = version.split(".")
            if len(release) >= 3 or not all(part.isdigit() for part in release):
                return f"{name}=={version}"
            return f"{name}=={'.'.join(release + ['0'] * (2 - len(release)))}.*"
    return None


def constraints(
    pyproject: Path = ROOT / "pyproject.toml", extras: tuple[str, ...] = ("dev",)
) -> list[str]:
    """The pinned lower bounds of the runtime requirements and of ``extras``, one per
    package, in the order pyproject.toml lists them."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    out, seen = [], set()
    for requirement in requirements:
        pin = lower_bound(requirement)
        if pin is None:
            print(f"lower_bounds: {requirement!r} has no lower bound; left free", file=sys.stderr)
            continue
        name = pin.split("==")[0].lower().replace("_", "-")
        if name not in seen:
            seen.add(name)
            out.append(pin)
    return out


def main(argv: list[str]) -> int:
    usage = "usage: python scripts/lower_bounds.py CONSTRAINTS.txt"
    if argv in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):  # never a file named after an option
        print(usage, file=sys.stderr)
        return 2
    Path(argv[0]).write_text("\n".join(constraints()) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
