"""Residual fits of a run for its Q–Q figures (``vqabench report --figures all``).

One per sequence: the anchor codec's middle rate point (by rate; the lower of the two middle
ones for an even count), quality against the source. Its bitstream is decoded again with the
run's codec options and :func:`~vqabench.metrics.distribution.error_distribution` (plane Y,
defaults) fits the residuals ``decoded - source``. Sequences whose bitstream or source cannot
be read are skipped (their reason is returned), never guessed. This sits in the runner
because it loads the run's sequences as the run did
(:func:`vqabench.runner.run.load_sequences`); the report only draws
(:mod:`vqabench.reports.qqreport`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from vqabench.errors import VqabenchError
from vqabench.metrics.distribution import error_distribution
from vqabench.reports.qqreport import RunResidualFit

__all__ = ["run_residual_fits"]


def _middle_rows(results: pd.DataFrame, codec: str) -> pd.DataFrame:
    """One row per sequence: ``codec``'s middle rate point by rate, against the source."""
    rows = results[
        (results["codec"].astype(str) == codec)
        & (results["anchor"] == "source")
        & (results["reference"] == "source")
    ]
    rows = rows.drop_duplicates(["sequence", "rate_point"]).sort_values(["sequence", "kbps"])
    return pd.DataFrame(
        [g.iloc[(len(g) - 1) // 2] for _, g in rows.groupby("sequence", sort=True)],
        columns=rows.columns,
    )


def run_residual_fits(
    run_dir: Path, results: pd.DataFrame, *, codec: str
) -> tuple[list[RunResidualFit], list[str]]:
    """Fit the residuals of ``codec``'s middle rate point on every sequence of a run.

    Returns:
        (fits in sequence order, one reason per sequence skipped).
    """
    from vqabench import codecs
    from vqabench.experiment import load_config
    from vqabench.runner.run import load_sequences

    config_path = run_dir / "config.toml"
    if not config_path.is_file() or "source" not in set(results["anchor"]):
        return [], ["no config.toml or no quality against the source: no Q–Q figures"]
    rows = _middle_rows(results, codec)
    if rows.empty:
        return [], []
    try:
        cfg = load_config(config_path)
        spec = next((s for s in cfg.codecs if s.display == codec), None)
        if spec is None:
            return [], [f"codec {codec!r} is not in config.toml: no Q–Q figures"]
        sources = {s.name: s.source for s in load_sequences(cfg, run_dir)}
        coder = codecs.create(spec.name, **dict(spec.options))
    except VqabenchError as exc:  # a dataset or codec this machine cannot load
        return [], [f"no Q–Q figures: {exc}"]
    fits, skipped = [], []
    for row in rows.itertuples():
        seq, bitstream = str(row.sequence), run_dir / str(row.bitstream)
        if seq not in sources or not bitstream.is_file():
            skipped.append(f"{seq}: source or bitstream {row.bitstream} missing")
            continue
        with tempfile.TemporaryDirectory(prefix="vqabench-qq-") as tmp:
            decoded = Path(tmp) / "decoded.y4m"
            try:
                coder.decode(bitstream, decoded, sources[seq])
                fit = error_distribution(sources[seq], decoded)
            except VqabenchError as exc:
                skipped.append(f"{seq}: {exc}")
                continue
        fits.append(RunResidualFit(seq, codec, str(row.rate_point), fit))
    return fits, skipped
