"""Residual Q–Q figures of a run (``vqabench report --figures all``).

One per sequence: the anchor codec's middle rate point (by rate; the lower of the two middle
ones for an even count), quality against the source. Its bitstream is decoded again with the
run's codec options and :func:`~vqabench.metrics.distribution.error_distribution` (plane Y,
defaults) fits the residuals ``decoded - source``; the figure is
:func:`~vqabench.reports.qq.plot_qq` and the caption gives R² and the Wasserstein-1 distance
of both fits. Sequences whose bitstream or source cannot be read are skipped (their reason
is returned), never guessed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vqabench.errors import VqabenchError
from vqabench.metrics.distribution import ResidualFit, error_distribution

__all__ = ["RunResidualFit", "run_residual_fits", "qq_figure", "caption"]


@dataclass(frozen=True)
class RunResidualFit:
    """The residual fit of one coded video of a run."""

    sequence: str
    codec: str
    rate_point: str
    fit: ResidualFit


def _middle_rows(results: pd.DataFrame, codec: str) -> pd.DataFrame:
    """One row per sequence: ``codec``'s middle rate point by rate, against the source."""
    rows = results[(results["codec"].astype(str) == codec) & (results["anchor"] == "source")
                   & (results["reference"] == "source")]
    rows = rows.drop_duplicates(["sequence", "rate_point"]).sort_values(["sequence", "kbps"])
    return pd.DataFrame([g.iloc[(len(g) - 1) // 2] for _, g in
                         rows.groupby("sequence", sort=True)], columns=rows.columns)


def run_residual_fits(run_dir: Path, results: pd.DataFrame, *, codec: str
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


def caption(item: RunResidualFit) -> str:
    """Figure caption with both fits' R² and Wasserstein-1 distance (8-bit code values)."""
    g, lap = item.fit.gaussian, item.fit.laplace
    return (f"Residual Q–Q (decoded − source, Y): {item.sequence}, {item.codec} "
            f"{item.rate_point}: Gaussian R²={g.r2:.4f}, W1={g.wasserstein:.4g}; Laplace "
            f"R²={lap.r2:.4f}, W1={lap.wasserstein:.4g}; {item.fit.better} fits better")


def qq_figure(data: pd.DataFrame, *, item: RunResidualFit) -> object:
    """A report figure job's function (:class:`~vqabench.reports.report.FigureJob`)."""
    from vqabench.reports.qq import plot_qq

    return plot_qq(item.fit, title=f"{item.sequence}, {item.codec} {item.rate_point}: "
                                   f"residual Q–Q, {item.fit.better} fits better")
