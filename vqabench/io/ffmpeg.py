"""Locate ffmpeg and run it as an argument list (never through a shell).

The default binary is the one the ``imageio-ffmpeg`` wheel ships (built with libvmaf, x264,
x265, libvpx, libaom, SVT-AV1 and VVenC). ``VQABENCH_FFMPEG`` overrides it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from vqabench.errors import ConfigError, FfmpegError
from vqabench.io.process import TimedProcess, run_command

__all__ = ["ffmpeg_path", "run_ffmpeg", "path_arg", "FfmpegInfo", "ffmpeg_info", "ffmpeg_version",
           "ENV_VAR"]

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
    return run_command([ffmpeg_path(), "-hide_banner", "-nostdin", "-y", *map(str, args)],
                       timeout_s=timeout_s, error=FfmpegError)


@dataclass(frozen=True)
class FfmpegInfo:
    """What the ffmpeg binary offers."""

    path: str
    version: str
    encoders: frozenset[str]
    filters: frozenset[str]


@functools.lru_cache(maxsize=4)
def _info_for(path: str) -> FfmpegInfo:
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


def ffmpeg_info() -> FfmpegInfo:
    """Version, encoders and filters of the ffmpeg in use (cached per binary)."""
    return _info_for(ffmpeg_path())


def ffmpeg_version() -> str:
    """``ffmpeg VERSION`` of the binary in use: the one version text in codec specs (and so in
    job keys) and provenance."""
    return f"ffmpeg {ffmpeg_info().version}"
