"""Faults of the machine: which job failures are transient, and which errors become a typed
one-line ResourceError naming the path (and the free space of a full disk)."""

from __future__ import annotations

import errno
import os
import re
import sqlite3

import pytest

from vqabench.errors import (
    DiskFullError,
    FfmpegError,
    ReadOnlyError,
    ResourceError,
    StoreCorruptError,
)
from vqabench.io.faults import (
    failure_kind,
    human_bytes,
    kind_of_error,
    resource_error,
)
from vqabench.runner.executors import WORKER_DIED

# ffmpeg 7's own words when its output file system is full (exit code 228 = -ENOSPC & 0xff)
_FFMPEG_FULL = "[out#0/yuv4mpegpipe @ 0x55] Error closing file: No space left on device\n"


@pytest.mark.parametrize(
    "exc, kind",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/run/x.y4m"), "transient"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "transient"),
        (sqlite3.OperationalError("database or disk is full"), "transient"),
        (FfmpegError(["ffmpeg", "-i", "a", "/run/b.y4m"], 228, _FFMPEG_FULL), "transient"),
        (FfmpegError(["ffmpeg"], -9, ""), "transient"),  # killed by a signal (OOM killer)
        (FfmpegError(["ffmpeg"], 255, "Exiting normally, received signal 2."), "transient"),
        (MemoryError(), "transient"),
        (FfmpegError(["ffmpeg"], -1, "timed out after 5 s"), "permanent"),  # a timeout
        (FfmpegError(["ffmpeg"], 1, "Error setting profile 7."), "permanent"),
        (OSError(errno.ENOENT, "No such file or directory"), "permanent"),
        (ValueError("decoded 64x64 with 3 frames"), "permanent"),
    ],
)
def test_failure_kind(exc, kind):
    assert failure_kind(exc) == kind


@pytest.mark.parametrize(
    "text, kind",
    [
        (
            "FfmpegError: ffmpeg failed (exit code 228): "
            "Error closing file: No space left on device",
            "transient",
        ),
        (WORKER_DIED, "transient"),
        ("KilledWorker on the Dask cluster: ('vqabench-1', <WorkerState ...>)", "transient"),
        ("DiskFullError: no space left on device writing /r (0 B free there)", "transient"),
        ("FfmpegError: ffmpeg failed (exit code 1): Error setting profile 7.", "permanent"),
        ("MetricError: psnr_y against source gave NaN; not stored", "permanent"),
    ],
)
def test_kind_of_a_recorded_error_text(text, kind):
    assert kind_of_error(text) == kind


def test_a_full_disk_names_the_path_and_the_free_bytes_there(tmp_path):
    target = tmp_path / "bitstreams" / "a.264"  # not there yet: its nearest parent counts
    error = resource_error(OSError(errno.ENOSPC, "No space left on device", str(target)))
    assert isinstance(error, DiskFullError) and isinstance(error, ResourceError)
    vfs = os.statvfs(tmp_path)  # what `df` shows as available (other writers may move it)
    free = vfs.f_bavail * vfs.f_frsize
    match = re.fullmatch(
        rf"disk full: no space left on device writing {re.escape(str(target))}"
        r" \(([\d.]+) (B|KiB|MiB|GiB|TiB) free there\)",
        str(error),
    )
    assert match, str(error)
    shown = float(match[1]) * 1024 ** ("B", "KiB", "MiB", "GiB", "TiB").index(match[2])
    assert shown == pytest.approx(free, rel=0.01, abs=1 << 20)


def test_ffmpeg_on_a_full_disk_names_its_output():
    exc = FfmpegError(["ffmpeg", "-i", "/d/in.y4m", "/run/.tmp/dec.y4m"], 228, _FFMPEG_FULL)
    assert str(resource_error(exc)).startswith(
        "disk full: no space left on device writing /run/.tmp/dec.y4m ("
    )


@pytest.mark.parametrize(
    "exc, cls, text",
    [
        (
            OSError(errno.EROFS, "Read-only file system", "/ro/.lock"),
            ReadOnlyError,
            "cannot write /ro/.lock: read-only file system",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/r/x"),
            ReadOnlyError,
            "cannot write /r/x: permission denied",
        ),
        (
            sqlite3.DatabaseError("file is not a database"),
            StoreCorruptError,
            "store /r/store.sqlite is corrupt: file is not a database",
        ),
        (
            sqlite3.DatabaseError("database disk image is malformed"),
            StoreCorruptError,
            "store /r/store.sqlite is corrupt: database disk image is malformed",
        ),
    ],
)
def test_resource_errors_are_one_typed_line(exc, cls, text):
    error = resource_error(exc, "/r/store.sqlite")
    assert type(error) is cls and str(error) == text


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("x"),
        OSError(errno.ENOENT, "gone"),
        sqlite3.OperationalError("no such table: encodes"),
    ],
)
def test_other_errors_are_not_resource_errors(exc):
    assert resource_error(exc, "/r/store.sqlite") is None


def test_human_bytes():
    assert [human_bytes(n) for n in (0, 1023, 1024, 1536, 5 << 20, 3 << 40)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 TiB",
    ]
