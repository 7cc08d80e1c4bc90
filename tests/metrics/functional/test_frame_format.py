"""FrameFormat: bit depth and chroma layout from every supported pixel format, and errors
that name the argument."""

from __future__ import annotations

import pytest

from tests.conftest import make_video
from vqabench.errors import ConfigError
from vqabench.metrics.functional.frame_format import FrameFormat


@pytest.mark.parametrize(
    ("pix_fmt", "bits", "subsampling"),
    [
        ("yuv420p", 8, (2, 2)),
        ("yuv422p", 8, (2, 1)),
        ("yuv444p", 8, (1, 1)),
        ("yuv420p10le", 10, (2, 2)),
        ("yuv422p10le", 10, (2, 1)),
        ("yuv444p10le", 10, (1, 1)),
    ],
)
def test_from_pix_fmt(pix_fmt, bits, subsampling):
    assert FrameFormat.from_pix_fmt(pix_fmt) == FrameFormat(bits, subsampling)


def test_of_a_video_reads_its_header(tmp_path):
    video = make_video(tmp_path / "v.y4m", frames=1, pix_fmt="yuv444p10le")
    assert FrameFormat.of(video) == FrameFormat(10, (1, 1))
    assert FrameFormat(8).subsampling == (2, 2)  # 4:2:0 unless told


def test_bad_values_name_the_argument():
    with pytest.raises(ConfigError, match="pix_fmt='rgb24' is not allowed: expected yuv420p"):
        FrameFormat.from_pix_fmt("rgb24")
    with pytest.raises(ConfigError, match="bit_depth=7 is not allowed: expected an integer in"):
        FrameFormat(7)
    with pytest.raises(ConfigError, match=r"subsampling=\(1, 2\) is not allowed"):
        FrameFormat(8, (1, 2))
