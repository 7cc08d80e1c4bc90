"""Constants of the ``inr`` codec shared by the codec shell (:mod:`vqabench.codecs.inr_codec`),
the network and bitstream (:mod:`vqabench.codecs.inr`) and the training losses
(:mod:`vqabench.codecs.losses`), without importing torch or the other two.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FORMAT_VERSION", "CURVE_SUFFIX", "PRESETS", "LossName", "LOSS_NAMES"]

FORMAT_VERSION = 1
CURVE_SUFFIX = ".curve.csv"

#: model size -> (embedding channels C0, stage widths, grid time samples per 4 frames).
#: Every size but ``xxs`` has one grid sample per frame (a per-frame embedding); parameters
#: grow about 1.6-2x per size (reports/performance.md, "INR baseline").
PRESETS: dict[str, tuple[int, tuple[int, int, int, int], int]] = {
    "xxs": (4, (8, 8, 6, 4), 1),
    "xs": (6, (12, 10, 8, 6), 4),
    "s": (8, (16, 12, 10, 8), 4),
    "m": (12, (24, 16, 12, 8), 4),
    "l": (16, (32, 24, 16, 10), 4),
}

LossName = Literal["l1_msssim", "pt_loss", "rankdvqa_ugc", "lpips", "perceptual_ensemble"]
#: Training losses of :mod:`vqabench.codecs.losses`.
LOSS_NAMES: tuple[str, ...] = get_args(LossName)
