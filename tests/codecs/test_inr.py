"""The built-in INR codec: bitstream round trip, determinism, monotone RD, options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench import codecs, metrics
from vqabench.codecs.inr import MAGIC, read_bitstream
from vqabench.codecs.inr_codec import InrCodec
from vqabench.errors import CodecError, ConfigError
from vqabench.io.video import read_all

FAST = {"steps": 40, "qat_steps": 10, "lr": 1e-2}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(
        tmp_path_factory.mktemp("inr") / "clip_48x32.y4m", width=48, height=32, frames=4, seed=3
    )


@pytest.fixture(scope="module")
def encoded(clip, tmp_path_factory):
    """model=xxs and model=s encodes of ``clip``: (codec, EncodeResult, reconstruction)."""
    out = tmp_path_factory.mktemp("inr-out")
    done = {}
    for model in ("xxs", "s"):
        codec = codecs.create("inr", **FAST)
        result = codecs.run_codec(
            codec, clip, codecs.RatePoint("model", model), out / f"{model}.inr", decode_dir=out
        )
        done[model] = (codec, result, codec.last_encode.reconstruction)
    return done


def test_round_trip_is_bit_exact(encoded, tmp_path):
    codec, result, recon = encoded["xxs"]
    assert result.bits == 8 * result.bitstream.stat().st_size
    assert result.bitstream.read_bytes().startswith(MAGIC)
    decoded = read_all(result.decoded)
    for plane, ref in zip(decoded, recon, strict=True):
        assert plane.dtype == np.uint8 and np.array_equal(plane, ref)
    # a fresh codec object decodes from the file alone, identically every time
    again = [InrCodec().decode_frames(result.bitstream)[1] for _ in range(2)]
    for a, b in zip(*again, strict=True):
        assert np.array_equal(a, b)
    assert all(np.array_equal(a, r) for a, r in zip(again[0], recon, strict=True))
    assert codec.last_decode_fps and codec.last_decode_fps > 0


def test_header_carries_architecture_and_shapes(encoded, clip):
    _, result, _ = encoded["s"]
    arch, bits, tensors = read_bitstream(result.bitstream)
    assert (arch.width, arch.height, arch.frames, arch.pix_fmt) == (48, 32, 4, "yuv420p")
    assert bits == 8 and set(tensors) >= {"grid", "head.weight"}
    q, scales = tensors["stages.0.weight"]
    assert q.shape == (4 * arch.widths[0], arch.emb_channels, 3, 3) and len(scales) == q.shape[0]
    assert np.abs(q).max() <= 127


def test_higher_rate_point_gives_higher_quality(encoded, clip):
    psnr = metrics.create("psnr_y")
    small, large = (encoded[m][1] for m in ("xxs", "s"))
    assert large.bits > small.bits
    assert psnr.compute(clip, large.decoded).value > psnr.compute(clip, small.decoded).value


def test_encoding_is_deterministic(tmp_path):
    video = make_video(tmp_path / "v_32x32.y4m", width=32, height=32, frames=2, seed=5)
    streams = []
    for i in range(2):
        codec = codecs.create("inr", steps=5, qat_steps=2)
        codec.encode(video, tmp_path / f"{i}.inr", codecs.RatePoint("model", "xxs"))
        streams.append((tmp_path / f"{i}.inr").read_bytes())
    assert streams[0] == streams[1]


def test_fewer_weight_bits_give_a_smaller_bitstream(tmp_path):
    video = make_video(tmp_path / "v_32x32.y4m", width=32, height=32, frames=2, seed=5)
    sizes = {}
    for bits in (6, 8):
        codec = codecs.create("inr", steps=5, qat_steps=2, bits=bits)
        codec.encode(video, tmp_path / f"{bits}.inr", codecs.RatePoint("model", "xxs"))
        sizes[bits] = (tmp_path / f"{bits}.inr").stat().st_size
    assert sizes[6] < sizes[8]


def test_rate_points_and_options_are_validated():
    codec = codecs.create("inr")
    codec.check_rate_point(codecs.RatePoint("model", "xs"))
    with pytest.raises(CodecError, match="model= one of xxs, xs, s, m, l"):
        codec.check_rate_point(codecs.RatePoint("model", "xxl"))
    with pytest.raises(CodecError, match="'qp=30' is not allowed"):
        codec.check_rate_point(codecs.RatePoint("qp", 30))
    with pytest.raises(ConfigError, match="bits=5"):
        codecs.create("inr", bits=5)
    with pytest.raises(ConfigError, match="loss='mse'"):
        codecs.create("inr", loss="mse")
    with pytest.raises(ConfigError, match="alpha=0.3 is not allowed with loss='l1_msssim'"):
        codecs.create("inr", alpha=0.3)
    assert codecs.create("inr", loss="pt_loss", alpha=0.1).options["alpha"] == 0.1


def test_toml_config_takes_model_names(tmp_path):
    from vqabench.experiment import load_config

    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(
        'metrics = ["psnr_y"]\n[[codecs]]\nname = "inr"\n'
        'model = ["xxs", "xs", "s"]\nloss = "l1_msssim"\nsteps = 50\n'
    )
    spec = load_config(cfg_file).codecs[0]
    assert (spec.rate_param, spec.values) == ("model", ("xxs", "xs", "s"))


def test_corrupt_bitstream_is_a_codec_error(tmp_path):
    bad = tmp_path / "bad.inr"
    bad.write_bytes(b"nope")
    with pytest.raises(CodecError, match="not an inr bitstream"):
        read_bitstream(bad)
    bad.write_bytes(MAGIC + b"\x05\x00\x00\x00abcde")
    with pytest.raises(CodecError, match="corrupt"):
        read_bitstream(Path(bad))


def test_loss_weights_are_part_of_the_job_key(tmp_path):
    """A new PT-Loss checkpoint must re-run the encodes that trained with the old one."""
    from vqabench import codecs

    ckpt = tmp_path / "pt.pt"
    ckpt.write_bytes(b"one")
    first = codecs.create("inr", loss="pt_loss", loss_weights=str(ckpt)).spec
    ckpt.write_bytes(b"two")
    second = codecs.create("inr", loss="pt_loss", loss_weights=str(ckpt)).spec
    assert first != second
    plain = codecs.create("inr", loss="l1_msssim").options
    assert "loss_weights_sha256" not in plain


def test_loss_shortfall_keys_only_when_set():
    from vqabench import codecs

    plain = codecs.create("inr", loss="pt_loss", loss_weights="pretrained:v1")
    short = codecs.create("inr", loss="pt_loss", loss_weights="pretrained:v1", loss_shortfall=True)
    assert "loss_shortfall" not in plain.options  # earlier encodes keep their job keys
    assert short.options["loss_shortfall"] is True and short.spec != plain.spec
    with pytest.raises(
        ConfigError, match="loss_shortfall=true is not allowed with loss='l1_msssim'"
    ):
        codecs.create("inr", loss_shortfall=True)
    # a boolean option takes the declared spellings (vqabench/options.py) and nothing else
    assert (
        codecs.create(
            "inr", loss="pt_loss", loss_weights="pretrained:v1", loss_shortfall="yes"
        ).options
        == short.options
    )
    with pytest.raises(
        ConfigError,
        match="loss_shortfall='maybe' is not allowed: expected true/false/yes/no/on/off/1/0",
    ):
        codecs.create("inr", loss="pt_loss", loss_shortfall="maybe")


def test_a_pinned_release_keys_on_its_own_file():
    import hashlib

    from vqabench import codecs
    from vqabench.models import checkpoint_path

    opts = codecs.create("inr", loss="pt_loss", loss_weights="pretrained:v1").options
    v1 = checkpoint_path("pt_loss", "v1").read_bytes()
    assert opts["loss_weights_sha256"] == hashlib.sha256(v1).hexdigest()[:16]
    assert opts["loss_weights"] == "pretrained:v1"


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_training_sees_the_io_video_rgb_conversion(bit_depth):
    """The loss's RGB is vqabench.io.video's BT.709 limited-range conversion (numpy twin as
    the reference), from the network's normalised code values."""
    import torch

    from vqabench.codecs.inr import rgb_of_planes
    from vqabench.io.video import YuvFrame, yuv_to_rgb

    rng = np.random.default_rng(0)
    top = (1 << bit_depth) - 1
    y = rng.integers(0, top + 1, (1, 8, 12))
    u, v = (rng.integers(0, top + 1, (1, 4, 6)) for _ in range(2))
    ours = rgb_of_planes(*(torch.from_numpy(p / top) for p in (y, u, v)), bit_depth)[0]
    ref = yuv_to_rgb(YuvFrame(y[0], u[0], v[0]), bit_depth=bit_depth)
    np.testing.assert_allclose(ours.permute(1, 2, 0).numpy(), ref, atol=1e-9)
