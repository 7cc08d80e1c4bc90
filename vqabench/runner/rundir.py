"""The run directory: its lock, the temporaries a killed run left, and its config.toml
(the provenance comment written with it, and how a new config relates to the old one)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from vqabench import metrics
from vqabench.config import ConfigChange, RunConfig, compare_configs
from vqabench.datasets import Sequence
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.runner.plan import anchored

__all__ = ["exclusive", "remove_temporaries", "provenance_comment", "config_change"]


_TEMP_TREES = ("bitstreams", "references", "sources")


@contextlib.contextmanager
def exclusive(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir/.lock`` (released by the OS even on ``kill -9``).

    Raises:
        ConfigError: another process is running in ``out_dir``.
    """
    import fcntl

    lock = out_dir / ".lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"out={str(out_dir)!r} is in use by another vqabench run (pid "
                f"{holder}); wait for it to finish or choose another --out"
            ) from None
        try:  # the holder before us removes the file on exit: lock the file that is there
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        lock.unlink(missing_ok=True)  # still held: nobody else can be inside
        os.close(fd)


def remove_temporaries(out_dir: Path) -> int:
    """Remove what killed runs left: ``.tmp-*`` files of the run directory (CSV, config) and
    of the trees vqabench writes (bitstreams, references, sources), and everything in
    ``.tmp/``. Nothing else is touched, even when ``--out`` is a directory with other files.
    Call it only while holding the directory's lock. Returns the number of entries removed."""
    stale = list(out_dir.glob(".tmp-*"))
    for sub in _TEMP_TREES:
        if (out_dir / sub).is_dir():
            stale += (out_dir / sub).rglob(".tmp-*")
    scratch = out_dir / ".tmp"
    if scratch.is_dir():
        stale += list(scratch.iterdir())
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)


def provenance_comment(
    out_dir: Path, sequences: Iterable[Sequence] = (), cfg: RunConfig | None = None
) -> str:
    """The comment at the top of config.toml: who resolved it (vqabench, ffmpeg, when),
    how to re-run it, what was assumed of each source and the metrics' conventions."""
    import datetime

    from vqabench.io.ffmpeg import ffmpeg_info
    from vqabench.provenance import package_line

    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    assumed = [
        f"{s.name}: " + ", ".join(f"{k} {v}" for k, v in s.source.assumptions().items())
        for s in sequences
    ]
    conventions = "".join(
        f"\n{spec.name}: {text}"
        for spec in (cfg.metrics if cfg else ())
        if (text := metrics.create(spec.name, **dict(spec.options)).provenance_line())
    )
    return (
        f"resolved by {package_line()} with ffmpeg {ffmpeg_info().version} on {now}\n"
        f"re-run with: vqabench run {Path(out_dir).absolute() / 'config.toml'}"
        + "".join(f"\nassumed {line}" for line in assumed)
        + conventions
    )


def config_change(resolved: RunConfig, out_dir: Path, force: bool) -> ConfigChange:
    """How ``resolved`` relates to the config ``out_dir`` already holds.

    The run directory's config.toml is read back through the one config loader
    (:func:`vqabench.experiment.load_config`, the table :data:`vqabench.config.FIELDS`) and
    the two typed configs are compared field by field
    (:func:`vqabench.config.compare_configs`), never as text.

    Raises:
        ConfigError: the configs differ and ``force`` is False.
    """
    old_path = out_dir / "config.toml"
    if not (old_path.is_file() and (out_dir / "store.sqlite").is_file()):
        return ConfigChange("same")
    try:
        # a config.toml written before paths were stored absolute: read from here, as then
        change = compare_configs(anchored(load_config(old_path), out_dir), resolved)
    except ConfigError as exc:
        change = ConfigChange("differs", (f"its config.toml no longer loads ({exc})",))
    if change.kind == "differs" and not force:
        raise ConfigError(
            f"out={str(out_dir)!r} holds a run of a different config ("
            f"{'; '.join(change.details)}); re-run its own config with `vqabench "
            f"run {old_path}`, choose another --out, or pass --force to replace "
            "its config.toml and tables"
        )
    return change
