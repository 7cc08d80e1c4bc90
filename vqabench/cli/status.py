"""``vqabench status RUN_DIR``: done, pending and failed jobs of a run, without running any."""

from __future__ import annotations

from pathlib import Path

import typer

from vqabench.cli.app import app, console, err_console
from vqabench.errors import ConfigError

__all__ = ["status"]


@app.command("status")
def status(
    run_dir: Path = typer.Argument(..., help="Run directory written by `vqabench run`."),
    show_failures: bool = typer.Option(
        True, "--failures/--no-failures", help="List each failed job and its error."
    ),
) -> int:
    """Count done, pending and failed jobs of RUN_DIR from its config.toml and store
    (or of a `vqabench make-pairs` folder from its pairs.json and store).

    Plans the jobs exactly as `vqabench run RUN_DIR/config.toml` would and looks them up in
    the store (read-only); nothing is encoded or measured. Safe while a run is in progress.
    Exit code 0 when every job is done, 1 when some are pending or failed.
    """
    from vqabench.experiment import load_config
    from vqabench.runner.run import run_status

    config = run_dir / "config.toml"
    if not config.is_file() and (run_dir / "pairs.json").is_file():  # a make-pairs folder
        from vqabench.runner.pairs import pairs_status

        counts = pairs_status(run_dir)
        typer.echo(
            f"{run_dir}: {counts['total']} make-pairs jobs: {counts['done']} done, "
            f"{counts['pending']} pending"
        )
        return 0 if counts["pending"] == 0 else 1
    if not config.is_file():
        raise ConfigError(
            f"run_dir={str(run_dir)!r} is not a run directory: it has no "
            "config.toml (`vqabench run` writes one when it starts)"
        )
    from vqabench.runner.faults import store_faults

    with store_faults(run_dir):
        result = run_status(load_config(config), out_dir=run_dir)
    blocked = f", {result.blocked} blocked by a failed reference" if result.blocked else ""
    retry = f" ({len(result.retry)} to retry after a transient failure)" if result.retry else ""
    console.print(
        f"{run_dir}: {result.total} jobs: {result.done} done, {result.pending} "
        f"pending{retry}, {result.failed} failed{blocked}",
        markup=False,
        highlight=False,
    )
    if show_failures:
        for seq, codec_name, rate, err in result.failures:
            err_console.print(f"failed: {seq} {codec_name} {rate}: {err}", markup=False)
        for seq, codec_name, rate, err in result.retry:
            err_console.print(f"to retry: {seq} {codec_name} {rate}: {err}", markup=False)
    return 0 if result.pending == result.failed == result.blocked == 0 else 1
