"""Typed errors raised by vqabench.

Every error names the argument, the value it got and what is allowed, so that the CLI can
print it as one line. The CLI catches :class:`VqabenchError` and exits non-zero without a
traceback; library code never calls ``sys.exit`` and never uses ``assert`` for validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches

__all__ = [
    "VqabenchError",
    "ConfigError",
    "UnknownNameError",
    "DuplicateNameError",
    "VideoFormatError",
    "FfmpegError",
    "CodecError",
    "MetricError",
    "AlignmentError",
    "DatasetError",
    "WeightsUnavailableError",
    "DownloadError",
    "ResourceError",
    "DiskFullError",
    "ReadOnlyError",
    "StoreCorruptError",
    "Interrupted",
    "invalid",
]


class VqabenchError(Exception):
    """Base class of every error vqabench raises on purpose."""


class ConfigError(VqabenchError, ValueError):
    """An argument, flag or config value is not allowed."""


class UnknownNameError(VqabenchError, KeyError):
    """A name looked up in a registry does not exist; the message lists close matches."""

    def __init__(self, kind: str, name: str, available: Iterable[str]):
        available = sorted(available)
        close = get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"unknown {kind} {name!r}{hint} (available: {', '.join(available) or 'none'})"
        super().__init__(msg)
        self.kind, self.name, self.available, self.close_matches = kind, name, available, close

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateNameError(VqabenchError, ValueError):
    """A name is registered twice in one registry."""


class VideoFormatError(VqabenchError, ValueError):
    """A video file cannot be read or does not match its declared format."""


class FfmpegError(VqabenchError, RuntimeError):
    """ffmpeg exited with an error; carries the command and the tail of stderr."""

    def __init__(self, cmd: list[str], returncode: int, stderr: str):
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        last = tail.splitlines()[-1] if tail else "no error output"
        super().__init__(f"ffmpeg failed (exit code {returncode}): {last}")
        self.cmd, self.returncode, self.stderr_tail = list(cmd), returncode, tail


class CodecError(VqabenchError, ValueError):
    """A codec option or rate point is not allowed."""


class MetricError(VqabenchError, ValueError):
    """A metric cannot be computed on the given input."""


class AlignmentError(MetricError):
    """A decoded video's frames do not line up with its anchor's (a duplicated or dropped
    frame): every frame-wise number would compare the wrong frames."""


class DatasetError(VqabenchError, ValueError):
    """A dataset cannot be found or read."""


class WeightsUnavailableError(VqabenchError, FileNotFoundError):
    """Pretrained weight files are neither in the local cache nor downloadable.

    Args:
        filename: the file that is needed (the first one, when several are).
        origin: where it comes from (URL or package).
        destination: where to put it so that vqabench finds it.
        fetch_command: the command that downloads every missing file, if there is one.
        missing: every missing file as ``(filename, origin, destination)``, when more than
            one is; the message then names each.
    """

    def __init__(
        self,
        filename: str,
        origin: str,
        destination: str,
        *,
        fetch_command: str | None = None,
        missing: Sequence[tuple[str, str, str]] = (),
    ):
        files = list(missing) or [(filename, origin, destination)]
        if len(files) == 1:
            self.message = (
                f"weights {filename!r} are not in the local cache; download them "
                f"from {origin} and put them at {destination}"
            )
        else:
            each = "; ".join(f"{name!r} from {url} to {dest}" for name, url, dest in files)
            self.message = f"{len(files)} weight files are not in the local cache: {each}"
        if fetch_command:
            self.message += (
                f"; or fetch {'it' if len(files) == 1 else 'them all'} with: {fetch_command}"
            )
        super().__init__(self.message)
        self.filename, self.origin, self.destination = filename, origin, destination
        self.missing = tuple(name for name, _, _ in files)
        self.fetch_command = fetch_command

    def __str__(self) -> str:  # OSError would format its constructor arguments as errno
        return self.message


class ResourceError(VqabenchError, OSError):
    """The machine, not the input, stopped the work: a full disk, a read-only folder, a
    corrupt store. The CLI prints one line and exits with code 4; what was finished is kept.
    """

    def __str__(self) -> str:  # OSError would format two arguments as errno and text
        return str(self.args[0]) if self.args else ""


class DownloadError(ResourceError):
    """A download failed: the server answered an error, the transfer broke off, or the file
    does not match its published SHA-256. Nothing is left at the destination."""


class DiskFullError(ResourceError):
    """No space left on the device (or the quota) where vqabench writes."""


class ReadOnlyError(ResourceError):
    """A folder or file vqabench must write is read-only."""


class StoreCorruptError(ResourceError):
    """A run's ``store.sqlite`` is not a readable SQLite database."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a run; the message says what was kept. A KeyboardInterrupt,
    so that ``except Exception`` never swallows it."""


def invalid(argument: str, value: object, allowed: str) -> ConfigError:
    """Build the standard error for a value that is not allowed.

    Example:
        >>> raise invalid("frames", -1, "an integer >= 1")
    """
    return ConfigError(f"{argument}={value!r} is not allowed: expected {allowed}")
