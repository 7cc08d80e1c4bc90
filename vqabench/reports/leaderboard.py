"""Citable leaderboard CSVs: one BD-rate per cell, with a provenance sidecar.

``build_leaderboard`` writes three files:

- ``NAME.csv``: one row per (run, reference, anchor, codec, group) and one column per metric
  (mean BD-rate in percent against the anchor codec, full precision; empty when undefined),
  named by the metric alone: what it measured is its entry in the sidecar's ``definitions``.
  ``group`` is ``Overall`` (every sequence); runs with a UGC reference stage also get one row
  per reference group (Low, Medium, High), as published UGC tables do. ``command`` re-runs
  the row's run (:func:`reproducing_command`). The last column,
  ``notes``, holds the note codes of the row's cells as ``metric: codes`` joined by ``; ``
  (e.g. ``psnr_y: overlap(n=8/8,min=0.2400,max=0.3700)``; empty when no cell has one; codes
  in :mod:`vqabench.evaluation.aggregate`), so that a flagged value carries its flag.
- ``NAME.sequences.csv``: every per-sequence BD-rate behind those means (with the reason
  when undefined) and its note codes (``notes``), so one value can be recomputed from a
  cheap run of one sequence.
- ``NAME.csv.json``: the provenance: vqabench version and git commit
  (:mod:`vqabench.provenance`), date (UTC), BD method, how the uncertainty was computed, each
  metric column's full definition (``definitions``, :mod:`vqabench.reports.definitions`) and
  licence (``licences``), and for every run its directory name, dataset, ``config_sha256``
  (SHA-256 of ``config.toml`` bytes), ``settings_sha256`` (of its parsed settings, blind to
  the comments that carry the run date and to the run's folder and worker count), codec
  versions when ``config.toml`` or ``store.sqlite`` records them, its ``command`` and
  ``config.toml`` text, the sequences and which were excluded; plus one entry per cell with
  its bootstrap interval, Wilcoxon p-value, number of sequences and note codes (``notes``).

Example:
    >>> build_leaderboard(["runs/mini"], out="results/leaderboard/mini.csv")
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vqabench.errors import invalid
from vqabench.evaluation.aggregate import (
    OVERALL,
    add_weighted_yuv,
    fold_references,
    group_sort_key,
    load_results,
    per_sequence_bd_rate,
    summarize_bd_rate,
)
from vqabench.evaluation.bdrate import METHODS, Method
from vqabench.evaluation.uncertainty import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    add_uncertainty,
)
from vqabench.io.hashing import file_sha256
from vqabench.io.store import Store
from vqabench.provenance import package_provenance
from vqabench.reports.definitions import (
    check_mergeable,
    metric_licence,
    run_definitions,
    run_ffmpeg_build,
)
from vqabench.reports.report import choose_anchor, read_config
from vqabench.reports.tables import write_csv, write_text

__all__ = [
    "Leaderboard",
    "build_leaderboard",
    "config_sha256",
    "settings_sha256",
    "codec_versions",
    "reproducing_command",
]


@dataclass(frozen=True)
class Leaderboard:
    """What :func:`build_leaderboard` wrote."""

    csv: Path
    provenance: Path
    table: pd.DataFrame
    sequences: Path | None = None


#: ``[run]`` keys of config.toml that change no number: not part of :func:`settings_sha256`.
_NOT_SETTINGS = ("out", "jobs")


def config_sha256(run_dir: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of ``config.toml`` in ``run_dir``; "" when there is none."""
    path = Path(run_dir) / "config.toml"
    return file_sha256(path) if path.is_file() else ""


def settings_sha256(config: dict[str, object]) -> str:
    """SHA-256 of the parsed ``config.toml`` as canonical JSON (sorted keys): unlike
    :func:`config_sha256` it ignores comments, such as the date and path the runner writes,
    and the ``[run]`` keys that change no number (:data:`_NOT_SETTINGS`: where the run was
    written and how many workers ran it), so two runs of the same settings give the same
    value on any machine and in any folder ("" for an empty config)."""
    if not config:
        return ""
    run = config.get("run")
    if isinstance(run, dict):
        config = {**config, "run": {k: v for k, v in run.items() if k not in _NOT_SETTINGS}}
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _config_text(run_dir: Path) -> str:
    """The run's ``config.toml`` text ("" when there is none)."""
    path = run_dir / "config.toml"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def reproducing_command(run_dir: str | os.PathLike[str]) -> str:
    """``vqabench run CONFIG --out RUN_DIR``, which re-runs (or resumes) the run.

    The paths are relative to the root of the git work tree that holds the run (the
    repository's own ``runs/``: run it from there, on any machine with the checkout), else
    absolute (any folder of this machine). The sidecar also holds the config's text
    (``config_toml``), for where neither path exists.
    """
    import shlex
    import subprocess

    run_dir = Path(run_dir).resolve()
    try:
        top = subprocess.run(
            ["git", "-C", str(run_dir), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        root = Path(top.stdout.strip()).resolve() if top.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        root = None
    where = run_dir.relative_to(root) if root and run_dir.is_relative_to(root) else run_dir
    return shlex.join(["vqabench", "run", str(where / "config.toml"), "--out", str(where)])


def codec_versions(run_dir: str | os.PathLike[str], config: dict[str, object]) -> dict[str, str]:
    """Codec label -> version, from the run's store (the version hashed into every job key,
    e.g. the ffmpeg build for ffmpeg codecs) or ``[[codecs]] version = ...`` in config.toml.
    """
    versions: dict[str, str] = {}
    codecs = config.get("codecs", [])
    if isinstance(codecs, list):
        for c in codecs:
            if isinstance(c, dict) and "version" in c:
                versions[str(c.get("label") or c.get("name"))] = str(c["version"])
    store = Path(run_dir) / "store.sqlite"
    if store.is_file():
        try:
            with Store(store, readonly=True) as db:
                rows = db.codec_specs()
        except sqlite3.Error:
            rows = []  # a store we cannot read adds no versions; the sidecar says none found
        for codec, spec in rows:
            if spec.get("version"):
                versions.setdefault(codec, str(spec["version"]))
    return _ffmpeg_once(versions, codecs if isinstance(codecs, list) else [])


def _ffmpeg_once(versions: dict[str, str], entries: list) -> dict[str, str]:
    """The ffmpeg build once (key ``ffmpeg``), each ffmpeg codec with its encoder library's
    version when the installed ffmpeg is that build, else ``"in ffmpeg"``."""
    builds = sorted({v for v in versions.values() if v.startswith("ffmpeg ")})
    if not builds:
        return versions
    from vqabench import codecs
    from vqabench.codecs.versions import encoder_version
    from vqabench.io.ffmpeg import ffmpeg_version

    names = {
        str(c.get("label") or c.get("name")): str(c.get("name"))
        for c in entries
        if isinstance(c, dict)
    }
    same_build = builds == [ffmpeg_version()]
    out = {}
    for codec, version in versions.items():
        if not version.startswith("ffmpeg "):
            out[codec] = version
            continue
        try:
            encoder = str(getattr(codecs.get_class(names.get(codec, codec)), "encoder", ""))
        except Exception:  # a codec this installation lacks
            encoder = ""
        library = encoder_version(encoder) if same_build and encoder else ""
        out[codec] = f"{encoder} {library}" if library else "in ffmpeg"
    out["ffmpeg"] = "; ".join(b.removeprefix("ffmpeg ") for b in builds)
    return out


def build_leaderboard(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    anchor_codec: str | None = None,
    method: Method = "pchip",
    metrics: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Leaderboard:
    """Write ``out`` (CSV), its per-sequence CSV and ``out + '.json'``; see module docstring.

    Args:
        run_dirs: run directories written by ``vqabench run``.
        out: the leaderboard CSV (``results/leaderboard/NAME.csv``).
        anchor_codec: codec the BD-rates are computed against (default as in reports).
        method: BD interpolation.
        metrics: restrict to these metrics.
        seed, n_resamples, confidence: of the bootstrap intervals
            (:func:`~vqabench.evaluation.uncertainty.bootstrap_ci`).

    Raises:
        ConfigError: no run directories, unknown method or anchor, runs whose definitions of
        one metric column differ (nothing is written); DatasetError: a run directory without
        results.csv.
    """
    if not run_dirs:
        raise invalid("run_dirs", list(run_dirs), "at least one run directory")
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    loaded = []
    for run_dir in map(Path, run_dirs):
        config = read_config(run_dir)
        results = fold_references(add_weighted_yuv(load_results(run_dir)))
        columns = [m for m in dict.fromkeys(results["metric"]) if not metrics or m in metrics]
        text = _config_text(run_dir)
        loaded.append(
            (
                run_dir,
                config,
                results,
                run_definitions(config, sorted(columns), ffmpeg_build=run_ffmpeg_build(text)),
            )
        )
    check_mergeable([(run_dir.name, defs) for run_dir, _, _, defs in loaded])
    frames, runs, per_frames, cells = [], [], [], []
    for run_dir, config, results, _ in loaded:
        anchor = choose_anchor(results, config, anchor_codec)
        command = reproducing_command(run_dir)
        per = per_sequence_bd_rate(results, anchor_codec=anchor, method=method, metrics=metrics)
        if not (results["reference"] == "transcoded").any():
            per = per.assign(group="")  # groups are UGC reference groups only
        summary = add_uncertainty(
            summarize_bd_rate(per), per, seed=seed, n_resamples=n_resamples, confidence=confidence
        )
        order = {g: group_sort_key(g) if g != OVERALL else (9, "") for g in summary["group"]}
        summary = summary.sort_values(
            ["reference", "anchor", "codec", "group"],
            key=lambda c: c.map(order) if c.name == "group" else c,
        )
        keys = ["reference", "anchor", "codec", "group"]
        wide = summary.set_index([*keys, "metric"])["bd_rate"].unstack("metric")
        rows = list(dict.fromkeys(map(tuple, summary[keys].to_numpy())))
        wide = wide.reindex(pd.MultiIndex.from_tuples(rows, names=keys))
        wide.columns.name = None
        wide = wide.reset_index().rename(columns={"anchor": "measured_against"})
        wide["command"] = command
        wide["notes"] = [_row_notes(summary, r) for r in rows]
        dataset = config.get("dataset", {})
        wide.insert(0, "anchor_codec", anchor)
        wide.insert(0, "run", run_dir.name)
        frames.append(wide)
        per_frames.append(
            per.drop(columns="notes")
            .rename(columns={"anchor": "measured_against", "note_codes": "notes"})
            .assign(run=run_dir.name, anchor_codec=anchor)[_SEQUENCE_COLUMNS]
        )
        cells += [
            {
                "run": run_dir.name,
                "reference": r.reference,
                "measured_against": r.anchor,
                "codec": r.codec,
                "group": r.group,
                "metric": r.metric,
                "bd_rate": _num(r.bd_rate),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
                "wilcoxon_p": _num(r.wilcoxon_p),
                "n_sequences": int(r.n_sequences),
                "n_excluded": int(r.n_excluded),
                "notes": str(r.note_codes),
            }
            for r in summary.itertuples(index=False)
        ]
        runs.append(
            {
                "run": run_dir.name,
                "dataset": dataset.get("name", "") if isinstance(dataset, dict) else "",
                "config_sha256": config_sha256(run_dir),
                "settings_sha256": settings_sha256(config),
                "anchor_codec": anchor,
                "command": command,
                "config_toml": _config_text(run_dir),
                "codec_versions": codec_versions(run_dir, config),
                "sequences": sorted(results["sequence"].astype(str).unique()),
                "excluded": [
                    f"{r.sequence}/{r.metric}/{r.codec}: {r.reason}"
                    for r in per[per["reason"] != ""].itertuples()
                ],
            }
        )
    table = pd.concat(frames, ignore_index=True)
    csv_path = write_csv(table, out)
    seq_path = write_csv(
        pd.concat(per_frames, ignore_index=True),
        csv_path.with_name(f"{csv_path.stem}.sequences.csv"),
    )
    package = package_provenance()
    definitions: dict[str, dict] = {}  # one per column: check_mergeable made them agree
    for *_, run_defs in loaded:
        for metric, definition in run_defs.items():
            definitions.setdefault(metric, definition)
    columns = [c for c in table.columns if c in definitions]
    provenance = {
        "vqabench_version": package["version"],
        "vqabench_git_commit": package["git_commit"],
        "vqabench_git_dirty": package["git_dirty"],
        "created_utc": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "bd_method": method,
        "rate": "kbps",
        "value": "mean of per-sequence BD-rates in percent over the group's sequences "
        "(negative = fewer bits than anchor_codec at equal quality); empty = "
        "undefined",
        "uncertainty": {
            "interval": "percentile bootstrap of the mean over sequences (scipy.stats.bootstrap)",
            "confidence": confidence,
            "n_resamples": n_resamples,
            "seed": seed,
            "test": "two-sided Wilcoxon signed-rank test over sequences of the per-sequence "
            "BD-rates (paired codec vs anchor_codec; scipy.stats.wilcoxon)",
        },
        "per_sequence_csv": seq_path.name,
        "definitions": {
            m: {
                **definitions[m],
                "measured_against": sorted(
                    {c["measured_against"] for c in cells if c["metric"] == m}
                ),
            }
            for m in columns
        },
        "licences": {m: metric_licence(m) for m in columns},
        "runs": runs,
        "cells": cells,
    }
    side = write_text(f"{csv_path}.json", json.dumps(provenance, indent=2) + "\n")
    return Leaderboard(csv_path, side, table, seq_path)


_SEQUENCE_COLUMNS = [
    "run",
    "anchor_codec",
    "reference",
    "measured_against",
    "codec",
    "group",
    "sequence",
    "metric",
    "bd_rate",
    "reason",
    "notes",
]


def _row_notes(summary: pd.DataFrame, key: tuple) -> str:
    """``metric: codes; ...`` of the cells of one leaderboard row (reference, anchor, codec,
    group), metrics in the summary's order."""
    reference, anchor, codec, group = key
    part = summary[
        (summary["reference"] == reference)
        & (summary["anchor"] == anchor)
        & (summary["codec"] == codec)
        & (summary["group"] == group)
    ]
    return "; ".join(
        f"{m}: {c}" for m, c in zip(part["metric"], part["note_codes"], strict=True) if c
    )


def _num(value: object) -> float | None:
    """A float for JSON (None for NaN, which JSON cannot hold)."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number
