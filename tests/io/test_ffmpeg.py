"""The ffmpeg wrapper: bundled binary, override, errors carrying command and stderr."""

from __future__ import annotations

import os

import pytest

from vqabench.errors import ConfigError, FfmpegError
from vqabench.io.ffmpeg import ffmpeg_info, ffmpeg_path, run_ffmpeg


def test_bundled_ffmpeg_has_required_components():
    info = ffmpeg_info()
    for encoder in ("libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1", "libvvenc"):
        assert encoder in info.encoders
    assert "libvmaf" in info.filters


def test_override_must_be_executable(monkeypatch, tmp_path):
    monkeypatch.setenv("VQABENCH_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(ConfigError, match="VQABENCH_FFMPEG="):
        ffmpeg_path()


def test_failure_carries_command_and_stderr(tmp_path):
    missing = tmp_path / "-starts with dash and 'quotes'.y4m"
    with pytest.raises(FfmpegError) as info:
        run_ffmpeg(["-i", missing, "-f", "null", "-"])
    err = info.value
    assert err.returncode != 0
    assert str(missing) in err.cmd  # passed as one argument, never through a shell
    assert "No such file" in err.stderr_tail


def test_relative_protocol_like_name_is_read_as_a_file(tmp_path, monkeypatch):
    """'concat:clip.y4m' relative to the working directory is a file, not ffmpeg's concat
    protocol: paths reach ffmpeg absolute."""
    from tests.conftest import make_video
    from vqabench.io.video import read_all, to_y4m

    monkeypatch.chdir(tmp_path)
    original = make_video(tmp_path / "concat:clip.y4m", frames=3)
    copy = to_y4m("concat:clip.y4m", "out.y4m")
    assert (read_all(copy).y == read_all(original).y).all()


_FAKE_FFMPEG = """#!/bin/sh
case "$*" in
  *-version*) echo "ffmpeg version {version} Copyright (c) the fake";;
  *-encoders*) printf ' V....D libfake{version}    Fake encoder\\n';;
  *-filters*) printf ' ... fakefilter        V->V       Fake filter\\n';;
esac
"""


def _fake_ffmpeg(path, version: str, mtime_ns: int):
    path.write_text(_FAKE_FFMPEG.format(version=version))
    path.chmod(0o755)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_probe_is_cached_on_disk_per_binary(tmp_path, monkeypatch):
    """ffmpeg_info() writes what a binary offers to the cache folder, keyed by the binary: a
    new process reads it back instead of probing; the same path rewritten, or another
    binary through VQABENCH_FFMPEG, is probed afresh (fake ffmpeg scripts stand in for
    different builds)."""
    import json

    from vqabench.io import ffmpeg as ff

    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "cache"))
    fake = _fake_ffmpeg(tmp_path / "ffmpeg", "fake-1", 10**18)
    monkeypatch.setenv("VQABENCH_FFMPEG", str(fake))
    ff._info_for.cache_clear()
    info = ffmpeg_info()
    assert (info.version, info.encoders, info.filters) == (
        "fake-1",
        frozenset({"libfakefake-1"}),
        frozenset({"fakefilter"}),
    )
    file = ff.info_cache_file(ff.binary_key(str(fake)))
    data = json.loads(file.read_text())
    assert data["version"] == "fake-1" and data["key"]["path"] == str(fake.resolve())

    data["version"] = "from-the-cache"  # a new process (in-memory cache cleared) reads it
    file.write_text(json.dumps(data))
    ff._info_for.cache_clear()
    assert ffmpeg_info().version == "from-the-cache"

    _fake_ffmpeg(fake, "fake-2", 2 * 10**18)  # the same path, another build
    assert ffmpeg_info().version == "fake-2"
    other = _fake_ffmpeg(tmp_path / "ffmpeg-3", "fake-3", 10**18)
    monkeypatch.setenv("VQABENCH_FFMPEG", str(other))
    assert ffmpeg_info().encoders == frozenset({"libfakefake-3"})
    assert len(list(file.parent.glob("*.json"))) == 3  # one file per binary


def test_unreadable_cache_file_is_probed_again(tmp_path, monkeypatch):
    """A truncated cache file (a crash, a full disk) is never trusted: probe and rewrite."""
    from vqabench.io import ffmpeg as ff

    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "cache"))
    fake = _fake_ffmpeg(tmp_path / "ffmpeg", "fake-1", 10**18)
    monkeypatch.setenv("VQABENCH_FFMPEG", str(fake))
    file = ff.info_cache_file(ff.binary_key(str(fake)))
    file.parent.mkdir(parents=True)
    file.write_text('{"schema": 1, "key": ')
    ff._info_for.cache_clear()
    assert ffmpeg_info().version == "fake-1"
    assert '"version": "fake-1"' in file.read_text()
