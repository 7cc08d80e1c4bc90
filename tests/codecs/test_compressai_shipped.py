"""The shipped learned codec ``compressai:model=vqabench-small`` (the codec's default): its
checkpoints are pinned by the model card, load with no cache and no download, code real
bitstreams (bits = 8 x file size), decode from the file alone to the model's own output, and
reproduce one pinned PSNR-Y on a built-in clip."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tests.conftest import make_video
from vqabench import codecs
from vqabench.codecs.ffmpeg import KBPS_RANGE
from vqabench.errors import CodecError
from vqabench.io.video import open_video, read_all, read_frames, rgb_to_yuv, yuv_to_rgb

FOLDER = Path(__file__).resolve().parents[2] / "vqabench" / "models" / "weights" / "vqabench_small"
QUALITIES = (1, 2, 3, 4)


def _card_hashes() -> dict[str, str]:
    text = (FOLDER / "MODEL_CARD.md").read_text()
    return dict(re.findall(r"^\| `(q\d\.pt)` \|.*\| `([0-9a-f]{64})` \|$", text, re.M))


def test_shipped_files_are_pinned_by_the_model_card_and_small():
    """Every q{quality}.pt hashes to the SHA-256 its model card states; 10.5 MB in all
    (release 2, N=64 M=96; the model card says why): a bigger export fails here."""
    pinned = _card_hashes()
    assert sorted(pinned) == [f"q{q}.pt" for q in QUALITIES]
    for name, digest in pinned.items():
        assert hashlib.sha256((FOLDER / name).read_bytes()).hexdigest() == digest, name
    assert sum((FOLDER / n).stat().st_size for n in pinned) < 10_600_000


def test_default_model_is_the_shipped_one_in_the_options():
    from vqabench.codecs.compressai_codec import DEFAULT_MODEL, shipped_folder

    codec = codecs.create("compressai")
    assert codec.model == DEFAULT_MODEL == "vqabench-small"
    assert shipped_folder(codec.model) == FOLDER.resolve()
    assert codec.options["model"] == "vqabench-small"
    assert codec.options["checkpoint"] == "pretrained"
    assert codec.options["architecture"] == "bmshj2018-hyperprior N=64 M=96"
    assert "vqabench_small/q{quality}.pt, release 2 " in codec.options["weights"]
    assert codec.rate_params == {"quality": (1, 4), "kbps": KBPS_RANGE}
    with pytest.raises(CodecError, match=r"vqabench-small takes quality= an integer in 1\.\.4"):
        codec.check_rate_point(codecs.parse_rate_point("quality=5"))


try:
    from vqabench.codecs.compressai_codec import _import_compressai

    _import_compressai()
    import torch
    import torch.nn.functional as F

    HAVE_COMPRESSAI = True
except CodecError:  # pragma: no cover - CI installs it (.ci/run)
    HAVE_COMPRESSAI = False
needs_compressai = pytest.mark.skipif(not HAVE_COMPRESSAI, reason="compressai not installed")


def _reference(video, quality):
    """Independent reference: the shipped state dict loaded here into CompressAI's own
    ScaleHyperprior, fed the padded RGB frames, compress() -> decompress(), cropped, to YUV."""
    from compressai.models import ScaleHyperprior

    state = torch.load(FOLDER / f"q{quality}.pt", map_location="cpu", weights_only=True)
    net = ScaleHyperprior.from_state_dict(state).eval()
    net.update(force=True)
    ph, pw = -(-video.height // 64) * 64, -(-video.width // 64) * 64
    out = []
    with torch.no_grad():
        for f in read_frames(video):
            rgb = yuv_to_rgb(
                f, bit_depth=8, matrix=video.color_matrix, color_range=video.color_range
            )
            x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32))[None]
            x = F.pad(x, (0, pw - video.width, 0, ph - video.height), mode="replicate")
            c = net.compress(x)
            x_hat = net.decompress(c["strings"], c["shape"])["x_hat"][
                0, :, : video.height, : video.width
            ]
            out.append(
                rgb_to_yuv(
                    x_hat.numpy().transpose(1, 2, 0).astype(np.float64),
                    pix_fmt=video.pix_fmt,
                    matrix=video.color_matrix,
                    color_range=video.color_range,
                )
            )
    return out


@needs_compressai
@pytest.mark.slow
def test_default_codes_offline_every_level(tmp_path, monkeypatch, network_attempts):
    """With empty weight caches and no network, the default model codes every level; bits =
    8 x file size; a fresh codec decodes the file alone to the model's own reconstruction;
    the rate grows with the level on this clip."""
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    clip = make_video(tmp_path / "clip.y4m", width=96, height=64, frames=1, seed=5)
    src = read_all(clip).y
    bits = []
    for q in QUALITIES:
        rate = codecs.parse_rate_point(f"quality={q}")
        res = codecs.run_codec(
            codecs.create("compressai"), clip, rate, tmp_path / f"{q}.cai", decode_dir=tmp_path
        )
        assert res.bits == 8 * (tmp_path / f"{q}.cai").stat().st_size
        bits.append(res.bits)
        fresh = codecs.create("compressai")
        fresh.decode(tmp_path / f"{q}.cai", tmp_path / f"{q}b.y4m", clip)
        expected = _reference(clip, q)
        for dec in (read_all(res.decoded), read_all(open_video(tmp_path / f"{q}b.y4m"))):
            for plane, ref in zip(dec, zip(*expected, strict=True), strict=True):
                np.testing.assert_array_equal(plane, np.stack(ref))
        psnr = np.mean(
            [
                peak_signal_noise_ratio(s, d, data_range=255)
                for s, d in zip(src, read_all(res.decoded).y, strict=True)
            ]
        )
        assert 15 < psnr < 60
        os.unlink(res.decoded.path)
    assert bits == sorted(bits) and len(set(bits)) == len(bits)
    assert network_attempts == []


# Golden number: PSNR-Y (mean over frames) of the shipped quality=4 on the built-in natural
# clip Bikes (held out from training), 256x144, 2 frames. Source, the run's results.csv:
#   vqabench run --dataset natural --sequences Bikes --frames 2 --size 256x144 \
#       --codec compressai:quality=4 --metrics psnr_y --jobs 1 --out /tmp/golden
GOLDEN_PSNR_Y_Q4_BIKES = 38.9897  # release 2 (release 1, N=32 M=48: 35.0507)


@needs_compressai
@pytest.mark.slow
def test_pinned_psnr_on_a_builtin_clip(tmp_path):
    from vqabench.datasets.builtin import load_natural

    (seq,) = load_natural(frames=2, size=(256, 144), names=["Bikes"])
    res = codecs.run_codec(
        codecs.create("compressai"),
        seq.source,
        codecs.parse_rate_point("quality=4"),
        tmp_path / "b.cai",
        decode_dir=tmp_path,
    )
    psnr = np.mean(
        [
            peak_signal_noise_ratio(s, d, data_range=255)
            for s, d in zip(read_all(seq.source).y, read_all(res.decoded).y, strict=True)
        ]
    )
    assert psnr == pytest.approx(GOLDEN_PSNR_Y_Q4_BIKES, abs=0.01)


@needs_compressai
@pytest.mark.slow
def test_random_init_of_the_shipped_architecture_is_small():
    codec = codecs.create("compressai", checkpoint="random")
    net, ident = codec.network(1)
    assert ident == "random:seed=0"
    assert net.g_a[0].weight.shape[0] == 64 and net.g_a[6].weight.shape[0] == 96
