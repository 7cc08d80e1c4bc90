"""Rate-control accuracy: ΔR % by hand, BD-rate against bd_rate() called directly."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.evaluation import bd_rate
from vqabench.evaluation.ratecontrol import rate_control, rate_control_means, rate_controlled

QPS = (22, 27, 32, 37)
FIXED_KBPS = (800.0, 400.0, 200.0, 100.0)
PSNR = (40.0, 37.0, 34.0, 31.0)


def _results():
    """Sequence S: x264 at four QPs; x264-2pass at their rates, 10 % over / 5 % under, with
    0.5 dB less quality; x265 (qp) is not rate controlled."""
    rows = []
    for qp, kbps, q in zip(QPS, FIXED_KBPS, PSNR, strict=True):
        rows.append(["S", "x264", f"qp={qp}", kbps, q, math.nan])
        rows.append(["S", "x265", f"qp={qp}", 0.8 * kbps, q, math.nan])
    for i, (kbps, q) in enumerate(zip(FIXED_KBPS, PSNR, strict=True)):
        actual = kbps * (1.10 if i % 2 == 0 else 0.95)
        rows.append(["S", "x264-2pass", f"kbps={kbps}", actual, q - 0.5, kbps])
    df = pd.DataFrame(
        rows, columns=["sequence", "codec", "rate_point", "kbps", "value", "target_kbps"]
    )
    return df.assign(reference="source", anchor="source", metric="psnr_y", group="")


def test_delta_r_and_bd_rate_against_the_target_source():
    res = _results()
    per = rate_control(res, targets_from="x264:qp=22,27,32,37")
    (row,) = per.itertuples()
    assert row.codec == "x264-2pass" and row.n_points == 4 and row.targets_from == "x264"
    assert row.delta_r_pct == pytest.approx((10 + 5 + 10 + 5) / 4)
    rc = res[res["codec"] == "x264-2pass"]
    expected = bd_rate(FIXED_KBPS, PSNR, rc["kbps"], rc["value"], method="pchip")
    assert row.bd_rate == pytest.approx(expected) and row.bd_rate > 0
    means = rate_control_means(per)
    assert means["delta_r_pct"].iloc[0] == pytest.approx(7.5)
    assert means["n_sequences"].iloc[0] == 1


def test_without_a_target_source_the_bd_rate_is_nan_with_a_reason():
    per = rate_control(_results())
    assert math.isnan(per["bd_rate"].iloc[0]) and "targets_from" in per["reason"].iloc[0]
    assert per["delta_r_pct"].iloc[0] == pytest.approx(7.5)


def test_no_rate_controlled_points_and_bad_source():
    fixed = _results().assign(target_kbps=math.nan)
    assert rate_controlled(fixed).empty and rate_control(fixed).empty
    assert rate_controlled(fixed.drop(columns="target_kbps")).empty
    with pytest.raises(ConfigError, match="targets_from='vp9' is not allowed"):
        rate_control(_results(), targets_from="vp9")
