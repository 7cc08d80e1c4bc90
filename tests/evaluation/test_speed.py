"""Speed tables: means and ratios by hand; complexity columns by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.evaluation.speed import complexity_table, speed_table


def _measured():
    rows = []
    for seq, group, base in (
        ("A", "B-class", 100.0),
        ("B", "B-class", 300.0),
        ("C", "C-class", 50.0),
    ):
        for point, (qp, scale) in enumerate(((22, 1.0), (37, 2.0)), start=1):
            rows.append([seq, group, "x264", f"qp={qp}", point, base * scale])
            rows.append([seq, group, "vvenc", f"qp={qp + 5}", point, base * scale / 4])
    return pd.DataFrame(rows, columns=["sequence", "group", "codec", "rate_point", "point", "fps"])


def test_table_iv_layout_means_and_ratios():
    table = speed_table(_measured(), anchor="x264")
    assert list(table.columns) == [
        "Class",
        "Point",
        "Rate points",
        "x264 fps",
        "vvenc fps",
        "vvenc / x264",
    ]
    assert list(zip(table["Class"], table["Point"], strict=True)) == [
        ("B-class", "1"),
        ("B-class", "2"),
        ("C-class", "1"),
        ("C-class", "2"),
        ("All", ""),
    ]
    first = table.iloc[0]
    assert first["x264 fps"] == pytest.approx(200.0)  # mean of 100 and 300
    assert first["vvenc fps"] == pytest.approx(50.0)
    assert first["vvenc / x264"] == pytest.approx(0.25)
    assert first["Rate points"] == "x264 qp=22, vvenc qp=27"
    assert table.iloc[-1]["x264 fps"] == pytest.approx((100 + 300 + 50) * 3 / 6)


def test_anchor_must_be_measured():
    with pytest.raises(ConfigError, match="anchor='vp9' is not allowed"):
        speed_table(_measured(), anchor="vp9")


def test_complexity_columns():
    infos = [
        SimpleNamespace(
            name="pt_loss",
            frames=12,
            height=256,
            width=256,
            params=2_500_000,
            macs=3_000_000_000,
            cpu_s=0.2,
        ),
        SimpleNamespace(
            name="rankdvqa_ugc",
            frames=12,
            height=256,
            width=256,
            params=1_000_000,
            macs=786_432_000,
            cpu_s=0.5,
        ),
    ]
    table = complexity_table(infos)
    assert table["Params (M)"].tolist() == pytest.approx([2.5, 1.0])
    assert table["GMACs"].tolist() == pytest.approx([3.0, 0.786432])
    assert table["kMAC/pixel"].tolist() == pytest.approx([3e9 / 786432 / 1e3, 1.0])
    assert table["Time %"].tolist() == pytest.approx([100.0, 250.0])


def test_learned_codec_columns():
    from vqabench.evaluation.speed import learned_codec_table

    rows = pd.DataFrame(
        {
            "codec": "inr",
            "rate_point": ["model=xxs", "model=xxs", "model=s"],
            "params": [8000, 10000, 30000],
            "macs": [1.8e7, 2.2e7, 5e7],
            "pixels": [36864, 36864, 36864],
            "enc_s": [2.0, 4.0, 9.0],
        }
    )
    table = learned_codec_table(rows, anchor_enc_s=0.5)
    assert table["Rate point"].tolist() == ["model=xxs", "model=s"]
    assert table["Params (k)"].tolist() == pytest.approx([9.0, 30.0])
    assert table["GMAC/frame"].tolist() == pytest.approx([0.02, 0.05])
    assert table["kMAC/pixel"].tolist() == pytest.approx([2e7 / 36864 / 1e3, 5e7 / 36864 / 1e3])
    assert table["EncT %"].tolist() == pytest.approx([600.0, 1800.0])


def test_learned_codec_encoder_macs_column_when_given():
    from vqabench.evaluation.speed import learned_codec_table

    rows = pd.DataFrame(
        {
            "codec": ["inr", "compressai", "compressai"],
            "rate_point": ["model=s", "quality=1", "quality=1"],
            "params": [3e4, 3e6, 3e6],
            "macs": [5e7, 2e9, 4e9],
            "enc_macs": [float("nan"), 3e9, 5e9],
            "pixels": [36864] * 3,
            "enc_s": [9.0, 1.0, 2.0],
        }
    )
    table = learned_codec_table(rows, anchor_enc_s=0.5)
    assert list(table.columns) == [
        "Codec",
        "Rate point",
        "Params (k)",
        "GMAC/frame",
        "Enc GMAC/frame",
        "kMAC/pixel",
        "EncT %",
    ]
    assert table["GMAC/frame"].tolist() == pytest.approx([0.05, 3.0])
    assert table["Enc GMAC/frame"].iloc[1] == pytest.approx(4.0)
    assert np.isnan(table["Enc GMAC/frame"].iloc[0])
