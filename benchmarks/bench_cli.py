"""Commands that should answer at once: ``-h``, ``--version``, the list commands and
validation errors, against the direct tools.

Each command runs as a user types it (``python -m vqabench ...``: interpreter start and
imports included) in a fresh subprocess, ``--repeats`` times, in an empty temporary folder;
the figure is the median wall time, with the median CPU time (user + system, from
``getrusage`` of the child) beside it, which load from other processes inflates less.

* **direct tools**: ``python -c pass`` (the interpreter's own start, the floor of any Python
  CLI) and ``ffmpeg -version`` (the bundled binary, run directly): each command's ratio
  against them says how far it is from answering "at once". Two more references: ``floor:
  import typer`` is what every command needs before vqabench's own code runs; ``floor:
  import typer, pydantic, rich, numpy`` is what every command imported before the plain
  parameter coercion (vqabench/cli/coercion.py) and the lazy imports of issue 34.
* **old code** (``--old DIR``): the same commands with ``PYTHONPATH=DIR``, a package exported
  from an earlier commit (``git archive BASE vqabench | tar -x -C DIR``), in the same run.

``--pycache DIR`` keeps compiled bytecode in ``DIR`` (``PYTHONPYCACHEPREFIX``, with
``PYTHONDONTWRITEBYTECODE`` unset), as a default Python install does; without it the
environment's setting holds (on the project machine ``PYTHONDONTWRITEBYTECODE=1``, so every
start compiles vqabench's own modules again).

Every round runs every command once, in the same order, so load from other users hits all
alike; one warm-up round (not counted) fills the ffmpeg probe cache and the page cache.
``/proc/loadavg`` is recorded before and after.

Usage:
    python benchmarks/bench_cli.py [--repeats 7] [--old /tmp/old] [--pycache /tmp/pyc]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: label -> arguments after ``python -m vqabench``; every one must answer at once.
COMMANDS: dict[str, list[str]] = {
    "-h": ["-h"],
    "--version": ["--version"],
    "codecs list": ["codecs", "list"],
    "metrics list": ["metrics", "list"],
    "datasets list": ["datasets", "list"],
    "models list": ["models", "list"],
    "run --codec x246:qp=22": ["run", "--codec", "x246:qp=22"],
    "run --codec x264:qp=99": ["run", "--codec", "x264:qp=99"],
    "run --metrics psnr_yy": ["run", "--metrics", "psnr_yy"],
    "run --dataset nope": ["run", "--dataset", "nope"],
}

_FLOOR = "import typer, typer._adapters, rich.console, numpy"
_TYPER = "import typer"


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit code of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def _variants(old: str | None, pycache: str | None) -> dict[str, dict[str, str]]:
    """``new`` (this checkout) and, with ``--old``, ``old``: their environments."""
    here = str(Path(__file__).resolve().parents[1])
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pycache:
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        base["PYTHONPYCACHEPREFIX"] = str(Path(pycache).resolve())
    out = {"new": {**base, "PYTHONPATH": here}}
    if old:
        out["old"] = {**base, "PYTHONPATH": str(Path(old).resolve())}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--old", help="folder holding an earlier vqabench package")
    parser.add_argument("--pycache", help="keep bytecode in this folder (PYTHONPYCACHEPREFIX)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from vqabench.io.ffmpeg import ffmpeg_path

    variants = _variants(args.old, args.pycache)
    runs: dict[str, list[str]] = {
        "direct: python -c pass": [sys.executable, "-c", "pass"],
        "direct: ffmpeg -version": [ffmpeg_path(), "-version"],
        "floor: import typer": [sys.executable, "-c", _TYPER],
        "floor: import typer, pydantic, rich, numpy": [sys.executable, "-c", _FLOOR],
    }
    plan = [(label, "direct", cmd, variants["new"]) for label, cmd in runs.items()]
    for label, tail in COMMANDS.items():
        for name, env in variants.items():
            plan.append((label, name, [sys.executable, "-m", "vqabench", *tail], env))

    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    codes: dict[tuple[str, str], int] = {}
    load_before = _loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cwd:
        for round_ in range(args.repeats + 1):  # round 0: warm-up, not counted
            for label, name, cmd, env in plan:
                wall, cpu, code = _timed(cmd, env, cwd)
                codes[label, name] = code
                if round_:
                    samples.setdefault((label, name), []).append((wall, cpu))
    load_after = _loadavg()

    def med(key: tuple[str, str], i: int) -> float:
        return statistics.median(s[i] for s in samples[key])

    floor = med(("direct: python -c pass", "direct"), 0)
    ffmpeg_s = med(("direct: ffmpeg -version", "direct"), 0)
    rows = []
    for label, name in samples:
        wall = med((label, name), 0)
        rows.append(
            {
                "command": label,
                "code": name,
                "wall_s": wall,
                "cpu_s": med((label, name), 1),
                "exit": codes[label, name],
                "x_python": wall / floor,
                "x_ffmpeg": wall / ffmpeg_s,
            }
        )
    result = {
        "repeats": args.repeats,
        "pycache": args.pycache,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpus": os.cpu_count(),
        "rows": rows,
    }

    print(
        f"loadavg before: {load_before}; after: {load_after}; {os.cpu_count()} CPUs; "
        f"median of {args.repeats}; bytecode "
        + (
            f"cached in {args.pycache}"
            if args.pycache
            else f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
        )
    )
    print(
        "| command | code | exit | wall s | CPU s | x python -c pass | x ffmpeg -version |"
        + (" new/old |" if args.old else "")
    )
    print("|---|---|---|---|---|---|---|" + ("---|" if args.old else ""))
    for r in rows:
        old = next((o for o in rows if o["command"] == r["command"] and o["code"] == "old"), None)
        vs = (
            f" {r['wall_s'] / old['wall_s']:.2f} |"
            if old and r["code"] == "new"
            else (" |" if args.old else "")
        )
        print(
            f"| {r['command']} | {r['code']} | {r['exit']} | {r['wall_s']:.3f} | "
            f"{r['cpu_s']:.3f} | {r['x_python']:.1f} | {r['x_ffmpeg']:.1f} |{vs}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
