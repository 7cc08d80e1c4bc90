"""Citable leaderboard CSVs: one BD-rate per cell, with a provenance sidecar.

``build_leaderboard`` writes ``NAME.csv`` with one row per (run, reference, anchor, codec)
and one column per metric (Overall mean BD-rate in percent against the anchor codec, full
precision; empty when undefined), and ``NAME.csv.json`` next to it with the provenance:
vqabench version, date (UTC), BD method, anchor codec, and for every run its directory name,
dataset, ``config_sha256`` (SHA-256 of ``config.toml`` bytes), codec versions when
``config.toml`` or ``store.sqlite`` records them, and how many sequences were excluded.

Example:
    >>> build_leaderboard(["runs/mini"], out="results/leaderboard/mini.csv")
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vqabench import __version__
from vqabench.errors import invalid
from vqabench.evaluation.aggregate import (
    OVERALL,
    add_weighted_yuv,
    fold_references,
    load_results,
    per_sequence_bd_rate,
    summarize_bd_rate,
)
from vqabench.evaluation.bdrate import METHODS, Method
from vqabench.reports.report import choose_anchor, read_config
from vqabench.reports.tables import write_csv, write_text

__all__ = ["Leaderboard", "build_leaderboard", "config_sha256", "codec_versions"]


@dataclass(frozen=True)
class Leaderboard:
    """What :func:`build_leaderboard` wrote."""

    csv: Path
    provenance: Path
    table: pd.DataFrame


def config_sha256(run_dir: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of ``config.toml`` in ``run_dir``; "" when there is none."""
    path = Path(run_dir) / "config.toml"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


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
            con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT DISTINCT codec, codec_spec FROM encodes").fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            rows = []  # a store we cannot read adds no versions; the sidecar says none found
        for codec, spec in rows:
            try:
                version = json.loads(spec).get("version")
            except (TypeError, ValueError, AttributeError):
                version = None
            if version:
                versions.setdefault(str(codec), str(version))
    return _ffmpeg_once(versions, codecs if isinstance(codecs, list) else [])


def _ffmpeg_once(versions: dict[str, str], entries: list) -> dict[str, str]:
    """The ffmpeg build once (key ``ffmpeg``), each ffmpeg codec with its encoder library's
    version when the installed ffmpeg is that build, else ``"in ffmpeg"``."""
    builds = sorted({v for v in versions.values() if v.startswith("ffmpeg ")})
    if not builds:
        return versions
    from vqabench import codecs
    from vqabench.codecs.ffmpeg import _ffmpeg_version
    from vqabench.codecs.versions import encoder_version

    names = {str(c.get("label") or c.get("name")): str(c.get("name")) for c in entries
             if isinstance(c, dict)}
    same_build = builds == [_ffmpeg_version()]
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


def build_leaderboard(run_dirs: Sequence[str | os.PathLike[str]], *,
                      out: str | os.PathLike[str], anchor_codec: str | None = None,
                      method: Method = "pchip", metrics: Sequence[str] | None = None
                      ) -> Leaderboard:
    """Write ``out`` (CSV) and ``out + '.json'`` (provenance); see module docstring.

    Raises:
        ConfigError: no run directories, unknown method or anchor; DatasetError: a run
        directory without results.csv.
    """
    if not run_dirs:
        raise invalid("run_dirs", list(run_dirs), "at least one run directory")
    if method not in METHODS:
        raise invalid("method", method, " | ".join(METHODS))
    frames, runs = [], []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        config = read_config(run_dir)
        results = fold_references(add_weighted_yuv(load_results(run_dir)))
        anchor = choose_anchor(results, config, anchor_codec)
        per = per_sequence_bd_rate(results, anchor_codec=anchor, method=method, metrics=metrics)
        summary = summarize_bd_rate(per, by_group=False)
        summary = summary[summary["group"] == OVERALL]
        wide = summary.pivot_table(index=["reference", "anchor", "codec"], columns="metric",
                                   values="bd_rate", aggfunc="first", dropna=False)
        wide.columns.name = None
        wide = wide.reset_index().rename(columns={"anchor": "measured_against"})
        dataset = config.get("dataset", {})
        wide.insert(0, "anchor_codec", anchor)
        wide.insert(0, "run", run_dir.name)
        frames.append(wide)
        runs.append({
            "run": run_dir.name,
            "dataset": dataset.get("name", "") if isinstance(dataset, dict) else "",
            "config_sha256": config_sha256(run_dir),
            "anchor_codec": anchor,
            "codec_versions": codec_versions(run_dir, config),
            "sequences": sorted(results["sequence"].astype(str).unique()),
            "excluded": [f"{r.sequence}/{r.metric}/{r.codec}: {r.reason}"
                         for r in per[per["reason"] != ""].itertuples()],
        })
    table = pd.concat(frames, ignore_index=True)
    csv_path = write_csv(table, out)
    provenance = {
        "vqabench_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "bd_method": method,
        "rate": "kbps",
        "value": "Overall mean of per-sequence BD-rate in percent (negative = fewer bits "
                 "than anchor_codec at equal quality); empty = undefined",
        "runs": runs,
    }
    side = write_text(f"{csv_path}.json", json.dumps(provenance, indent=2) + "\n")
    return Leaderboard(csv_path, side, table)
