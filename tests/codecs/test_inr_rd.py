"""Rate-distortion behaviour of the ``inr`` codec: PSNR-Y rises with the model size.

Real training (one torch thread, seeded, deterministic) on one tiny clip, every model
size. PSNR-Y is scikit-image's, of the encoder's post-quantisation frames (which the
decoder reproduces bit for bit: ``test_inr.py::test_round_trip_is_bit_exact``). Figures
when written (``pytest -s`` prints them): 27.1, 28.9, 32.0, 34.0, 36.3 dB from ``xxs`` to
``l``, so neighbouring sizes differ by at least 1.7 dB against the 0.3 dB asked here.
Five encodes take 9-13 s of one core, depending on the load (marked slow); the fast suite keeps
``test_inr.py::test_higher_rate_point_gives_higher_quality`` (two sizes).
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.inr import PRESETS
from vqabench.io.video import read_all

MODELS = tuple(PRESETS)
MARGIN_DB = 0.3
OPTIONS = {"steps": 60, "qat_steps": 6, "threads": 1, "seed": 0}


@pytest.fixture(scope="module")
def rd(tmp_path_factory):
    """(bits, PSNR-Y against the input) per model size on one tiny clip."""
    out = tmp_path_factory.mktemp("inr-rd")
    clip = make_video(out / "clip_48x32.y4m", width=48, height=32, frames=2, seed=3)
    src = read_all(clip).y
    points = {}
    for model in MODELS:
        codec = codecs.create("inr", **OPTIONS)
        codec.encode(clip, out / f"{model}.inr", codecs.RatePoint("model", model))
        dec = codec.last_encode.reconstruction.y
        points[model] = (
            8 * (out / f"{model}.inr").stat().st_size,
            float(
                np.mean(
                    [
                        peak_signal_noise_ratio(s, d, data_range=255)
                        for s, d in zip(src, dec, strict=True)
                    ]
                )
            ),
        )
        print(model, points[model])
    return points


@pytest.mark.slow
def test_quality_rises_with_rate_over_every_model_size(rd):
    bits = [rd[m][0] for m in MODELS]
    db = [rd[m][1] for m in MODELS]
    assert bits == sorted(bits) and len(set(bits)) == len(bits)
    gaps = [b - a for a, b in zip(db, db[1:], strict=False)]
    assert min(gaps) > MARGIN_DB, dict(zip(MODELS, db, strict=True))
