"""Refusals before any job: sizes and formats a codec cannot code, patches that do not fit."""

from __future__ import annotations

import pytest

from tests.conftest import make_video
from vqabench.errors import CodecError
from vqabench.experiment import load_config
from vqabench.runner.checks import check_formats, check_size
from vqabench.runner.plan import load_sequences


def test_a_size_a_codec_cannot_code_is_refused_before_any_conversion():
    """x265 codes pictures of at least 16x16 (its documented minimum); x264 codes 10x10."""
    codecs = ["x264:qp=30", "x265:qp=30"]
    check_size(load_config(None, codecs=codecs, metrics="psnr_y"))  # no size: nothing to check
    check_size(load_config(None, codecs=codecs[:1], metrics="psnr_y", size="10x10"))
    with pytest.raises(
        CodecError,
        match=r"^nothing was run: x265 cannot code 10x10: it "
        r"codes at least 16x16$",
    ):
        check_size(load_config(None, codecs=codecs, metrics="psnr_y", size="10x10"))


@pytest.mark.slow
def test_every_refused_file_is_named_with_its_codec(tmp_path):
    """Two small sources, one codec that refuses them: one line each, naming the file."""
    make_video(tmp_path / "data" / "Tiny.y4m", width=10, height=10, frames=2)
    make_video(tmp_path / "data" / "Wee.y4m", width=12, height=10, frames=2)
    cfg = load_config(None, dataset=str(tmp_path / "data"), codecs=["x265:qp=30"], metrics="psnr_y")
    with pytest.raises(CodecError) as info:
        check_formats(cfg, load_sequences(cfg, tmp_path / "run"))
    assert str(info.value).splitlines() == [
        "2 refusal(s), nothing was run:",
        "Tiny.y4m: x265: x265 cannot code 10x10: it codes at least 16x16",
        "Wee.y4m: x265: x265 cannot code 12x10: it codes at least 16x16",
    ]
