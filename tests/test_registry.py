"""The generic registry: duplicates refused, unknown names answered with close matches."""

from __future__ import annotations

import pytest

from vqabench.errors import DuplicateNameError, UnknownNameError
from vqabench.registry import Registry


def test_register_get_and_names():
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", 1)

    @reg.register("beta")
    def beta() -> int:
        return 2

    assert reg.get("alpha") == 1 and reg.get("beta")() == 2
    assert reg.names() == ["alpha", "beta"]


def test_duplicate_is_an_error():
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", 1)
    with pytest.raises(DuplicateNameError, match="widget 'alpha' is already registered"):
        reg.add("alpha", 2)


def test_unknown_lists_close_matches_and_everything():
    reg: Registry[int] = Registry("widget")
    for name in ("psnr_y", "psnr_yuv", "vmaf"):
        reg.add(name, 0)
    with pytest.raises(UnknownNameError) as info:
        reg.get("psnr_yvu")
    assert info.value.close_matches[0] == "psnr_yuv"
    assert str(info.value).startswith("unknown widget 'psnr_yvu'; did you mean 'psnr_yuv'")
    assert "(available: psnr_y, psnr_yuv, vmaf)" in str(info.value)
