"""Per-frame rate figures draw the frame sizes of per_frame.csv, in kbit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vqabench.errors import ConfigError
from vqabench.reports.frameplots import frame_rate_figure, has_frame_rates


def _per_frame():
    rows = []
    for metric in ("psnr_y", "ssim"):  # frames repeat per metric; drawn once
        for frame, (bits, kind) in enumerate([(40000, "I"), (8000, "B"), (12000, "P")]):
            rows.append(["S", "source", "x264", "qp=32", metric, "source", frame, 1.0, bits,
                         kind, 30])
    return pd.DataFrame(rows, columns=["sequence", "reference", "codec", "rate_point", "metric",
                                       "anchor", "frame", "value", "frame_bits", "frame_type",
                                       "frame_qp"])


def test_lines_are_the_frame_sizes_in_kbit_with_intra_frames_marked():
    fig = frame_rate_figure(_per_frame(), sequence="S")
    line, intra = fig.axes[0].lines
    assert line.get_xdata().tolist() == [0, 1, 2]
    assert np.allclose(line.get_ydata(), [40.0, 8.0, 12.0])
    assert intra.get_xdata().tolist() == [0] and np.allclose(intra.get_ydata(), [40.0])
    assert fig.axes[0].get_yscale() == "log"


def test_without_frame_sizes():
    old = _per_frame().drop(columns=["frame_bits", "frame_type", "frame_qp"])
    assert not has_frame_rates(old)
    with pytest.raises(ConfigError, match="sequence='T'"):
        frame_rate_figure(_per_frame(), sequence="T")
