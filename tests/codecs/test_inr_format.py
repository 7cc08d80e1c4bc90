"""Constants of the inr codec (vqabench/codecs/inr_format.py): one definition, which the codec
shell, the network module and the losses all use."""

from __future__ import annotations

from typing import get_args

from vqabench.codecs import inr_codec, inr_format, losses


def test_one_definition_of_the_inr_constants():
    assert get_args(inr_format.LossName) == inr_format.LOSS_NAMES
    assert inr_format.LOSS_NAMES == (
        "l1_msssim",
        "pt_loss",
        "rankdvqa_ugc",
        "lpips",
        "perceptual_ensemble",
    )
    assert set(inr_format.PRESETS) == {"xxs", "xs", "s", "m", "l"}
    assert inr_codec.PRESETS is inr_format.PRESETS
    assert losses.LOSS_NAMES is inr_format.LOSS_NAMES
