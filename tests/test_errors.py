"""Typed errors print as the one line the CLI shows."""

from __future__ import annotations

from vqabench.errors import FfmpegError, UnknownNameError, WeightsUnavailableError, invalid


def test_weights_error_message_is_not_formatted_as_errno():
    err = WeightsUnavailableError(
        "alexnet-owt-7be5be79.pth",
        "https://download.pytorch.org/x",
        "/root/.cache/torch/hub/checkpoints/",
    )
    assert str(err) == (
        "weights 'alexnet-owt-7be5be79.pth' are not in the local cache; "
        "download them from https://download.pytorch.org/x and put them at "
        "/root/.cache/torch/hub/checkpoints/"
    )
    assert isinstance(err, FileNotFoundError) and err.filename == "alexnet-owt-7be5be79.pth"


def test_unknown_name_and_invalid():
    assert str(UnknownNameError("codec", "x256", ["x264", "x265"])).startswith(
        "unknown codec 'x256'; did you mean"
    )
    assert str(invalid("frames", -1, "an integer >= 1")) == (
        "frames=-1 is not allowed: expected an integer >= 1"
    )


def test_ffmpeg_error_keeps_the_last_stderr_line():
    err = FfmpegError(["ffmpeg", "-i", "x"], 1, "banner\nmore\nx: No such file or directory\n")
    assert str(err) == "ffmpeg failed (exit code 1): x: No such file or directory"
    assert err.cmd == ["ffmpeg", "-i", "x"]
