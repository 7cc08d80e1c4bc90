"""Locate ffmpeg and run it as an argument list (never through a shell).

The default binary is the one the ``imageio-ffmpeg`` wheel ships (built with libvmaf, x264,
x265, libvpx, libaom, SVT-AV1 and VVenC). ``VQABENCH_FFMPEG`` overrides it.

What a binary offers (:func:`ffmpeg_info`: three ffmpeg runs) is cached on disk per binary,
in ``<cache dir>/ffmpeg-info/`` (``$VQABENCH_CACHE`` or ``~/.cache/vqabench``), so that
``vqabench codecs list`` answers at once. The key is the binary's resolved path, size,
inode, modification and change times: replacing or touching the file, or pointing
``VQABENCH_FFMPEG`` elsewhere, probes again. (Not a hash of its contents: reading a 170 MB
binary would cost more than the three runs it saves.)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from vqabench.errors import ConfigError, FfmpegError
from vqabench.io.process import TimedProcess, run_command

__all__ = [
    "ffmpeg_path",
    "run_ffmpeg",
    "path_arg",
    "FfmpegInfo",
    "ffmpeg_info",
    "ffmpeg_version",
    "binary_key",
    "info_cache_file",
    "ENV_VAR",
]

ENV_VAR = "VQABENCH_FFMPEG"


def ffmpeg_path() -> str:
    """Return the ffmpeg executable to use.

    Raises:
        ConfigError: if ``VQABENCH_FFMPEG`` names a file that is not an executable.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        found = shutil.which(override) or (override if os.access(override, os.X_OK) else None)
        if not found or not Path(found).is_file():
            raise ConfigError(
                f"{ENV_VAR}={override!r} is not allowed: expected the path of an ffmpeg executable"
            )
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def path_arg(path: str | os.PathLike[str]) -> str:
    """A file path as an ffmpeg argument: absolute, so that a name such as ``concat:x.y4m``
    or ``-i.y4m`` is never read as a protocol or an option."""
    return os.path.abspath(path)


def run_ffmpeg(args: list[str], *, timeout_s: float | None = None) -> TimedProcess:
    """Run ``ffmpeg args...`` quietly and return the completed process.

    Args:
        args: arguments after the executable, as a list (file names are never interpreted
            by a shell).
        timeout_s: optional wall-clock limit.

    Raises:
        FfmpegError: non-zero exit, with the command and the tail of stderr.
    """
    return run_command(
        [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", *map(str, args)],
        timeout_s=timeout_s,
        error=FfmpegError,
    )


@dataclass(frozen=True)
class FfmpegInfo:
    """What the ffmpeg binary offers."""

    path: str
    version: str
    encoders: frozenset[str]
    filters: frozenset[str]


def _probe(path: str) -> FfmpegInfo:
    """Run ``path -version``, ``-encoders`` and ``-filters``."""

    def listing(flag: str) -> str:
        return run_command([path, "-hide_banner", flag], check=False).stdout

    version_out = run_command([path, "-version"], check=False).stdout
    m = re.search(r"ffmpeg version (\S+)", version_out)
    encoders = frozenset(
        m2.group(1) for m2 in re.finditer(r"^\s*V\S*\s+(\S+)", listing("-encoders"), re.M)
    )
    filters = frozenset(
        m2.group(1) for m2 in re.finditer(r"^\s*\S+\s+(\S+)\s+\S+->\S+", listing("-filters"), re.M)
    )
    return FfmpegInfo(path, m.group(1) if m else "unknown", encoders, filters)


_CACHE_SCHEMA = 1


def binary_key(path: str) -> dict[str, object]:
    """What identifies an executable file for the probe cache: resolved path, size, inode,
    modification and change times (ns)."""
    st = os.stat(path)
    return {
        "path": os.path.realpath(path),
        "size": st.st_size,
        "inode": st.st_ino,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def info_cache_file(key: dict[str, object]) -> Path:
    """The probe cache file of the binary with :func:`binary_key` ``key``."""
    from vqabench.io.cache import cache_dir

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / "ffmpeg-info" / f"{digest}.json"


def _read_cached(file: Path, key: dict[str, object], path: str) -> FfmpegInfo | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if data["schema"] != _CACHE_SCHEMA or data["key"] != key:
            return None
        return FfmpegInfo(
            path, str(data["version"]), frozenset(data["encoders"]), frozenset(data["filters"])
        )
    except (OSError, ValueError, KeyError, TypeError):  # absent, partial or foreign: probe
        return None


@functools.lru_cache(maxsize=4)
def _info_for(path: str, key_json: str) -> FfmpegInfo:
    key = json.loads(key_json)
    file = info_cache_file(key)
    info = _read_cached(file, key, path)
    if info is None:
        info = _probe(path)
        data = {
            "schema": _CACHE_SCHEMA,
            "key": key,
            "version": info.version,
            "encoders": sorted(info.encoders),
            "filters": sorted(info.filters),
        }
        try:
            from vqabench.io.atomic import atomic_write_text

            atomic_write_text(file, json.dumps(data, indent=1) + "\n")
        except OSError:  # a read-only cache folder: probe again next time
            pass
    return info


def ffmpeg_info() -> FfmpegInfo:
    """Version, encoders and filters of the ffmpeg in use (cached per binary, on disk)."""
    path = ffmpeg_path()
    return _info_for(path, json.dumps(binary_key(path), sort_keys=True))


def ffmpeg_version() -> str:
    """``ffmpeg VERSION`` of the binary in use: the one version text in codec specs (and so in
    job keys) and provenance."""
    return f"ffmpeg {ffmpeg_info().version}"
