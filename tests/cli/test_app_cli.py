"""The CLI shell (vqabench/cli/app.py): --version, -h, plain help, piped tables one row per
line (issue 18 item 9)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from vqabench import __version__

COMMANDS = [
    ["run"],
    ["report"],
    ["leaderboard"],
    ["status"],
    ["doctor"],
    ["weights"],
    ["correlate"],
    ["rq"],
    ["train"],
    ["make-pairs"],
    ["metrics", "list"],
    ["metrics", "compute"],
    ["models", "list"],
    ["models", "info"],
    ["models", "evaluate"],
    ["models", "export"],
    ["datasets", "list"],
    ["datasets", "show"],
]


def vqabench(*args, env_extra=None):
    env = {**os.environ, "COLUMNS": "80", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "vqabench", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_version():
    proc = vqabench("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"vqabench {__version__}"


@pytest.mark.slow
def test_every_command_takes_dash_h_and_flags_have_no_type_metavar():
    from click.testing import CliRunner
    from typer.main import get_command

    from vqabench.cli import app

    runner = CliRunner()
    for command in COMMANDS:
        result = runner.invoke(get_command(app), [*command, "-h"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage: " in result.output and "-h, --help" in result.output
        assert "<bool>" not in result.output and "<list[str]>" not in result.output, command


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


@pytest.mark.slow
def test_piped_correlate_and_rq_tables_are_one_row_per_line(tmp_path):
    rng = np.random.default_rng(0)
    long_a, long_b = "a_metric_name_long_enough_to_pass_80_columns", "another_long_metric_name"
    pd.DataFrame({"mos": rng.random(160), long_a: rng.random(160), long_b: rng.random(160)}).to_csv(
        tmp_path / "scores.csv", index=False
    )
    proc = vqabench(
        "correlate", tmp_path / "scores.csv", "--label", "mos", "--metrics", f"{long_a},{long_b}"
    )
    assert proc.returncode == 0, proc.stderr
    lines = _table_lines(proc.stdout)
    assert len(lines) == 4 and len(proc.stdout.strip().splitlines()) == 4
    assert lines[2].startswith(f"| {long_a} | 160 | ") and max(map(len, lines)) > 80

    rows = []
    for seq in ("Sequence_with_a_long_name_for_the_table", "Other"):
        for i, kbps in enumerate((100.0, 200.0, 400.0, 800.0)):
            rows.append(
                [
                    seq,
                    "source",
                    "x264",
                    f"qp={i}",
                    kbps * 1000,
                    kbps / 1e4,
                    kbps,
                    1.0,
                    1.0,
                    "psnr_y",
                    30.0 + 3 * i + rng.random(),
                    "source",
                    "b",
                    "",
                ]
            )
    cols = [
        "sequence",
        "reference",
        "codec",
        "rate_point",
        "bits",
        "bpp",
        "kbps",
        "enc_s",
        "dec_s",
        "metric",
        "value",
        "anchor",
        "bitstream",
        "group",
    ]
    pd.DataFrame(rows, columns=cols).to_csv(tmp_path / "results.csv", index=False)
    proc = vqabench("rq", tmp_path / "results.csv")
    assert proc.returncode == 0, proc.stderr
    lines = _table_lines(proc.stdout)
    assert len(lines) == len(proc.stdout.strip().splitlines()) >= 4
    assert all(line.endswith("|") for line in lines)


@pytest.mark.parametrize(
    "command",
    [["weights", "--no-verify"], ["datasets", "list"], ["models", "list"], ["metrics", "list"]],
)
@pytest.mark.slow
def test_piped_listings_are_one_row_per_line(command):
    proc = vqabench(*command)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    if command[0] == "weights":  # a header, the search path, one row per file
        from vqabench.metrics.weights import weight_status

        assert len(lines) == 2 + len(weight_status(verify=False)) + 2
        assert all("  " in line for line in lines[1:])  # columns never run together
    else:
        assert all(line.strip() for line in lines)


def test_ctrl_c_in_any_command_is_one_line_with_the_command_and_exit_130(
    capsys, monkeypatch, tmp_path
):
    """Typer turns a KeyboardInterrupt into a silent exit code 130; main() says so."""
    import importlib

    from vqabench.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module("vqabench.runner.run"), "run_status", interrupted)
    (tmp_path / "config.toml").write_text('[dataset]\nname = "mini"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["status", str(tmp_path)])
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.splitlines() == [
        f"vqabench: interrupted; run it again with: vqabench status {tmp_path}"
    ]
