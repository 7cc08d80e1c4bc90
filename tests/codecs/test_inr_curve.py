"""The training curve the ``inr`` codec keeps next to each bitstream."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.inr import CURVE_POINTS, curve_path, read_curve, write_curve
from vqabench.errors import CodecError
from vqabench.io.video import read_all

STEPS, QAT = 40, 10


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """An ``inr`` encode through :func:`codecs.run_codec` (atomic bitstream): source, result,
    codec."""
    out = tmp_path_factory.mktemp("inr-curve")
    clip = make_video(out / "clip_48x32.y4m", width=48, height=32, frames=4, seed=3)
    codec = codecs.create("inr", steps=STEPS, qat_steps=QAT, lr=1e-2)
    result = codecs.run_codec(
        codec, clip, codecs.RatePoint("model", "xs"), out / "store" / "xs.inr", decode_dir=out
    )
    return clip, result, codec


def test_curve_lands_next_to_the_final_bitstream(encoded):
    _, result, codec = encoded
    path = curve_path(result.bitstream)
    assert path.name == "xs.inr.curve.csv" and path.is_file()
    # nothing left under the temporary name the bitstream was written to
    assert sorted(p.name for p in result.bitstream.parent.iterdir()) == [
        "xs.inr",
        "xs.inr.curve.csv",
    ]
    # the file holds the curve exactly (NaN lr/loss on the decoded row compare equal here)
    np.testing.assert_equal(
        [tuple(vars(c).values()) for c in read_curve(path)],
        [tuple(vars(c).values()) for c in codec.last_encode.curve],
    )


def test_curve_rows_are_iterations(encoded):
    _, _, codec = encoded
    curve = codec.last_encode.curve
    train = [c for c in curve if c.phase != "decoded"]
    total = STEPS + QAT
    every = total // CURVE_POINTS
    assert [c.iteration for c in train] == list(range(every, total + 1, every))
    assert [c.phase for c in train] == ["train" if c.iteration <= STEPS else "qat" for c in train]
    assert curve[-1].phase == "decoded" and curve[-1].iteration == total
    # the loss falls while training (a random network against a natural-looking clip)
    assert train[-1].loss < 0.5 * train[0].loss
    assert train[-1].lr == pytest.approx(1e-2 * 0.05)  # QAT runs at 5 % of lr


def test_decoded_row_is_the_psnr_of_the_decoded_frames(encoded):
    """The last row equals scikit-image's PSNR of the decoded luma (mean over frames), and
    the last quantisation-aware row measured the same quantised network."""
    clip, result, codec = encoded
    src, dec = read_all(clip).y, read_all(result.decoded).y
    ref = np.mean(
        [peak_signal_noise_ratio(s, d, data_range=255) for s, d in zip(src, dec, strict=True)]
    )
    curve = codec.last_encode.curve
    assert curve[-1].psnr_y == pytest.approx(ref, abs=1e-4)
    assert curve[-2].phase == "qat" and curve[-2].psnr_y == pytest.approx(ref, abs=0.05)


def test_bad_curve_file_is_a_codec_error(tmp_path, encoded):
    bad = tmp_path / "x.curve.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(CodecError, match="not an inr training curve"):
        read_curve(bad)
    good = write_curve(tmp_path / "y.curve.csv", encoded[2].last_encode.curve)
    good.write_text(good.read_text().replace(",train,", ",train,oops,", 1))
    with pytest.raises(CodecError, match="corrupt"):
        read_curve(good)
