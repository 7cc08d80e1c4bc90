"""`vqabench doctor --deep`: lossless round trips measured for real."""

from __future__ import annotations

import pytest

from vqabench.cli.doctor import LOSSLESS_EXPECTED, lossless_check


@pytest.mark.slow
def test_lossless_check_values():
    values = lossless_check()
    assert set(values) == {f"{c} {m}" for c in ("x264 qp=0", "ffv1") for m in LOSSLESS_EXPECTED}
    assert values["x264 qp=0 psnr_y"] == values["ffv1 psnr_y"] == 100.0  # the cap
    assert values["ffv1 ssim"] == pytest.approx(1.0, abs=1e-12)
    assert values["x264 qp=0 vmaf"] == pytest.approx(values["ffv1 vmaf"], abs=1e-9)  # same frames
    assert values["ffv1 vmaf"] > 97.0
