"""The ffmpeg wrapper: bundled binary, override, errors carrying command and stderr."""

from __future__ import annotations

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
