"""``vqabench report`` wall time on a run directory: tables only, default figures, all figures.

Each case is ``python -m vqabench report RUN --out TMP ...`` as a user types it, end to end
(interpreter start and imports included), in a fresh output folder:

* **tables**: ``--figures none`` (bdrate.csv, report.md/html, tables.tex);
* **summary**: the default (averaged RD curves, PNG + PDF);
* **all**: ``--figures all --formats png,pdf,svg --jobs J`` (every figure of the old default);
* **old-tables**, **old-all** (with ``--old DIR``): the same commands on an exported copy of
  an older vqabench (``PYTHONPATH=DIR``; old flags: ``--no-figures`` and its default, which
  drew every figure in PNG, PDF and SVG in one process);
* **baseline**: the direct tool for the summary set: a plain script that reads results.csv
  with pandas and draws, per metric, one matplotlib figure of the codecs' averaged RD
  curves (the same averaging: geometric mean rate, mean quality per rate point) and saves it
  as PNG and PDF, with matplotlib's default style and no tables. It is the floor of drawing
  these figures in Python, not an equivalent of the report (no BD-rate, no bootstrap).

Each case runs ``--repeats`` times, cases alternating so that load from other users hits all
alike; the median and every time are printed with ``/proc/loadavg`` before and after, and
the CPU time (user + sys) of the command and its worker processes, which the load of other
users inflates much less than the wall time. The
figure count is read from the command's last line; sizes are of the output folder and its
report.html.

Usage:
    python benchmarks/bench_report.py RUN_DIR [--repeats 3] [--jobs 2] [--old /tmp/old]
        [--cases tables,summary,all,baseline] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = r"""
import sys
import matplotlib
matplotlib.use("Agg")
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
run, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(run + "/results.csv")
df = df[(df["anchor"] == "source") & (df["kbps"] > 0)]
for metric, part in df.groupby("metric"):
    fig = Figure(figsize=(3.5, 2.6))
    ax = fig.add_subplot()
    for codec, curve in part.groupby("codec", sort=False):
        avg = curve.assign(lr=np.log10(curve["kbps"])).groupby("rate_point").agg(
            lr=("lr", "mean"), v=("value", "mean")).sort_values("lr")
        ax.plot(10 ** avg["lr"], avg["v"], marker="o", label=codec)
    ax.set_xscale("log")
    ax.legend()
    for fmt in ("png", "pdf"):
        fig.savefig(f"{out}/rd_average_{metric}.{fmt}")
"""


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _command(case: str, run: Path, out: Path, jobs: int) -> list[str]:
    report = [sys.executable, "-m", "vqabench", "report", str(run), "--out", str(out)]
    return {
        "tables": [*report, "--figures", "none"],
        "summary": [*report, "--jobs", str(jobs)],
        "all": [*report, "--figures", "all", "--formats", "png,pdf,svg", "--jobs", str(jobs)],
        "old-tables": [*report, "--no-figures"],
        "old-all": report,
        "baseline": [sys.executable, "-c", BASELINE, str(run), str(out)],
    }[case]


REPO = Path(__file__).resolve().parents[1]


def _env(case: str, old: Path | None) -> dict[str, str]:
    """The environment of a case: PYTHONPATH is this checkout, or ``old`` for ``old-*``."""
    if case.startswith("old-") and old is None:
        raise SystemExit(f"case {case} needs --old DIR")
    return dict(
        os.environ, MPLBACKEND="Agg", PYTHONPATH=str(old if case.startswith("old-") else REPO)
    )


def _package(env: dict[str, str], cwd: str) -> str:
    """Where the vqabench a case runs is imported from."""
    return subprocess.run(
        [sys.executable, "-c", "import vqabench; print(vqabench.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def time_case(case: str, run: Path, jobs: int, old: Path | None) -> dict[str, object]:
    """One timed run of ``case`` in a fresh output folder (also its working directory:
    ``python -m`` puts the working directory first on sys.path)."""
    env = _env(case, old)
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        out = Path(tmp) / "report"
        out.mkdir()
        load_before = _loadavg()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            _command(case, run.resolve(), out, jobs),
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime
        if proc.returncode != 0:
            raise SystemExit(f"{case} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        found = re.search(r"(\d+) figures\)", proc.stdout)
        html = out / "report.html"
        return {
            "case": case,
            "seconds": seconds,
            "cpu_s": cpu_s,
            "load_before": load_before,
            "load_after": _loadavg(),
            "figures": int(found.group(1)) if found else len(list(out.glob("*.png"))),
            "files": sum(1 for p in out.rglob("*") if p.is_file()),
            "out_mb": _size_mb(out),
            "html_mb": html.stat().st_size / 1e6 if html.is_file() else 0.0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--old", type=Path, help="PYTHONPATH of an older vqabench")
    parser.add_argument("--cases", default="tables,summary,all,baseline")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    print(
        f"run {args.run_dir}; cores {os.cpu_count()}; jobs {args.jobs}; load {_loadavg()}",
        flush=True,
    )
    for case in cases:
        if case != "baseline":
            print(f"  {case}: {_package(_env(case, args.old), tempfile.gettempdir())}")
    runs: list[dict[str, object]] = []
    for repeat in range(args.repeats):
        for case in cases:
            row = time_case(case, args.run_dir, args.jobs, args.old)
            runs.append({**row, "repeat": repeat})
            print(
                f"  {case:<10} {row['seconds']:7.1f} s  cpu {row['cpu_s']:6.1f} s  "
                f"load {row['load_before']} -> {row['load_after']}",
                flush=True,
            )
    print(
        f"{'case':<10} {'median s':>9} {'cpu s':>6} {'times s':<24} {'figs':>5} "
        f"{'files':>5} {'out MB':>7} {'html MB':>7}"
    )
    summary = []
    for case in cases:
        rows = [r for r in runs if r["case"] == case]
        times = [float(r["seconds"]) for r in rows]
        cpu = statistics.median(float(r["cpu_s"]) for r in rows)
        last = rows[-1]
        summary.append(
            {
                "case": case,
                "median_s": statistics.median(times),
                "cpu_s": cpu,
                "times_s": times,
                **{k: last[k] for k in ("figures", "files", "out_mb", "html_mb")},
            }
        )
        print(
            f"{case:<10} {statistics.median(times):9.1f} {cpu:6.1f} "
            f"{', '.join(f'{t:.1f}' for t in times):<24} {last['figures']:>5} "
            f"{last['files']:>5} {last['out_mb']:7.1f} {last['html_mb']:7.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
