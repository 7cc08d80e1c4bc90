"""Which runs a study was made from, and whether a run directory still holds the same run.

``study.json`` records, per run, its directory, the SHA-256 of its ``config.toml`` and (since
this module) the run's config identity (:meth:`vqabench.config.RunConfig.identity`: the hash
of everything that determines the results, blind to comments, ``jobs`` and ``out``) with the
text of that ``config.toml``. A study's scores are joined to a run's metrics only when the
run's current identity is the recorded one, or when the run only *extends* it (adds codecs or
metrics, :func:`vqabench.config.compare_configs`): a run re-made with other frames, size,
sequences or codec settings measured other videos than the participants saw. ``--force``
joins them anyway and the output says so.

Example:
    >>> notes = check_study_runs(load_spec("study"), force=False)  # ConfigError on mismatch
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vqabench.errors import ConfigError
from vqabench.io.hashing import file_sha256

__all__ = ["run_record", "run_mismatch", "refuse_or_note", "check_study_runs"]

_SHOWN = 12  # hex digits of a hash shown in messages


def run_record(run_dir: Path, config) -> dict:
    """What ``study.json`` records of one run: path, config.toml hash, identity and text.

    Args:
        run_dir: the run directory (holds config.toml).
        config: its :class:`vqabench.config.RunConfig`, as loaded from config.toml.
    """
    path = Path(run_dir) / "config.toml"
    return {
        "path": str(run_dir),
        "config_sha256": file_sha256(path),
        "config_identity": config.identity(),
        "config_toml": path.read_text(encoding="utf-8"),
    }


def _load_text(text: str):
    from vqabench.experiment import load_config

    fd, name = tempfile.mkstemp(suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return load_config(name)
    finally:
        os.unlink(name)


def run_mismatch(record: dict, run_dir: Path) -> str:
    """Why the run in ``run_dir`` is not the run ``record`` describes ("" when it is, or
    when it only extends it with codecs or metrics).

    Returns:
        One phrase naming both hashes and what differs, e.g. ``"config 1a2b.. is not the
        study's 3c4d..: changes frames (16 -> 8)"``.
    """
    from vqabench.config import compare_configs
    from vqabench.experiment import load_config

    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        return f"{str(path)!r} does not exist"
    if "config_identity" not in record:  # a study made before identities were recorded
        now = file_sha256(path)
        was = str(record.get("config_sha256", ""))
        if now == was:
            return ""
        return (
            f"config.toml sha256 {now[:_SHOWN]} is not the study's {was[:_SHOWN]} (the "
            "study predates recorded settings, so what changed is not known)"
        )
    try:
        current = load_config(path)
    except ConfigError as exc:
        return f"its config.toml no longer loads ({exc})"
    was = record["config_identity"]
    if current.identity() == was:
        return ""
    try:
        change = compare_configs(_load_text(record["config_toml"]), current)
    except ConfigError as exc:
        return (
            f"config {current.identity()[:_SHOWN]} is not the study's {was[:_SHOWN]} "
            f"(the recorded config no longer loads: {exc})"
        )
    if change.kind == "extends" and change.details:
        return ""
    what = "; ".join(change.details) or (
        "no setting that compare_configs names differs (a "
        "field it does not compare, or another vqabench)"
    )
    return f"config {current.identity()[:_SHOWN]} is not the study's {was[:_SHOWN]}: {what}"


def refuse_or_note(problem: str, *, force: bool) -> str:
    """The note for a mismatch that ``force`` lets through.

    Raises:
        ConfigError: ``force`` is False (the message names the mismatch and ``--force``).
    """
    if not force:
        raise ConfigError(f"{problem}; pass --force to join them anyway")
    return f"forced (--force): {problem}"


def check_study_runs(spec: dict, *, force: bool) -> list[str]:
    """Check every run of a study that is still on disk against its record.

    A run directory that is gone is not checked here (its metrics are simply not joined).

    Returns:
        Notes for the output: each forced mismatch.

    Raises:
        ConfigError: a run directory now holds another run and ``force`` is False.
    """
    notes = []
    for record in spec.get("runs", []):
        run_dir = Path(record["path"])
        if not (run_dir / "config.toml").is_file():
            continue
        problem = run_mismatch(record, run_dir)
        if problem:
            notes.append(
                refuse_or_note(
                    f"run {str(run_dir)!r} no longer holds the run of "
                    f"study {spec['study_id']}: {problem}",
                    force=force,
                )
            )
    return notes
