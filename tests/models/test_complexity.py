"""Tests of vqabench.models.complexity against hand-counted MACs."""

from __future__ import annotations

import pytest
from torch import nn

from vqabench.errors import ConfigError, UnknownNameError
from vqabench.models import create_model
from vqabench.models.complexity import (
    count_macs,
    count_params,
    cpu_time_per_pair,
    model_info,
    parse_patch,
)
from vqabench.models.mamba import MambaBlock


class _ConvLinear(nn.Module):
    """conv 3x3 (3 -> 5, stride 1, padding 1) on frame 0 of R, then a linear 5 -> 2."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.fc = nn.Linear(5, 2)

    def forward(self, ref, dist):
        return self.fc(self.conv(ref[:, :, 0] - dist[:, :, 0]).mean(dim=(2, 3)))


class _Scan(nn.Module):
    """One Mamba block over the T frame means of R (d_model 8)."""

    def __init__(self):
        super().__init__()
        self.lift = nn.Linear(3, 8, bias=False)
        self.block = MambaBlock(8, d_state=4, d_conv=3, expand=2)

    def forward(self, ref, dist):
        tokens = self.lift(ref.mean(dim=(3, 4)).transpose(1, 2))  # (1, T, 8)
        return self.block(tokens).sum()


@pytest.mark.parametrize(
    ("text", "want"), [("256x256x12", (12, 256, 256)), ("320X240x5", (5, 240, 320))]
)
def test_parse_patch(text, want):
    assert parse_patch(text) == want


@pytest.mark.parametrize("text", ["256x256", "0x8x8", "axbxc", "256x256x12x1"])
def test_parse_patch_rejects(text):
    with pytest.raises(ConfigError, match="WIDTHxHEIGHTxFRAMES"):
        parse_patch(text)


def test_conv_and_linear_macs_by_hand():
    macs, scan = count_macs(_ConvLinear(), (4, 10, 12))
    assert scan == 0
    assert macs == 10 * 12 * 5 * 3 * 9 + 5 * 2


def test_mamba_macs_by_hand():
    t, d_model, d_inner, n, rank = 7, 8, 16, 4, 1
    macs, scan = count_macs(_Scan(), (t, 16, 16))
    assert scan == 4 * d_inner * t * n + 2 * d_inner * t
    linear = t * (
        3 * d_model  # lift
        + d_model * 2 * d_inner  # in_proj
        + d_inner * (rank + 2 * n)  # x_proj
        + rank * d_inner  # dt_proj (weight only)
        + d_inner * d_model
    )  # out_proj
    conv = (t + 2) * d_inner * 3  # depthwise conv1d, padding d_conv - 1
    assert macs == linear + conv + scan


def test_count_params_and_timing():
    model = _ConvLinear()
    assert count_params(model) == 3 * 5 * 9 + 5 + 5 * 2 + 2
    # the statistic over the timed runs, with the runs themselves stubbed (no timing asserted)
    from vqabench.models import complexity

    runs = [0.5, 0.1, 0.3]
    original = complexity.cpu_times_per_pair
    complexity.cpu_times_per_pair = lambda *a, **k: list(runs)
    try:
        assert cpu_time_per_pair(model, (2, 8, 8), repeats=3) == 0.3
        assert cpu_time_per_pair(model, (2, 8, 8), repeats=3, statistic="min") == 0.1
    finally:
        complexity.cpu_times_per_pair = original
    with pytest.raises(ConfigError, match="repeats"):
        cpu_time_per_pair(model, (2, 8, 8), repeats=0)


@pytest.mark.slow
def test_model_info_small_patch():
    info = model_info("pt_loss", (4, 32, 32), time_repeats=1)
    model = create_model("pt_loss")
    assert info.params == count_params(model)
    assert (info.macs, info.scan_macs) == count_macs(model, (4, 32, 32))
    assert info.cpu_s is not None
    d = info.as_dict()
    assert d["gmacs"] == info.macs / 1e9 and (d["frames"], d["height"], d["width"]) == (4, 32, 32)
    with pytest.raises(UnknownNameError):
        model_info("nope", (4, 32, 32), time_repeats=0)
