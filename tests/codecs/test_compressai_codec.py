"""Codec ``compressai``: real CompressAI compress()/decompress() on tiny clips, randomly
initialised models (no weights are downloaded in tests), bits = 8 x file size, decode from the
file alone, colour through vqabench's one YUV<->RGB definition, padding and cropping."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tests.conftest import make_video
from vqabench import codecs
from vqabench.errors import CodecError, ConfigError, WeightsUnavailableError
from vqabench.io.video import open_video, read_all, read_frames, rgb_to_yuv, yuv_to_rgb

try:  # compressai 1.2.8 is installed separately with --no-deps (README): skip with the reason
    from vqabench.codecs.compressai_codec import _import_compressai

    _import_compressai()  # imports compressai (quiet about its torch.jit.script calls)
    import torch
    import torch.nn.functional as F
except CodecError as exc:  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.slow  # each test loads torch models (> 0.3 s on 2 cores)

Q1 = codecs.parse_rate_point("quality=1")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(
        tmp_path_factory.mktemp("cai") / "clip.y4m", width=64, height=64, frames=2, seed=3
    )


@pytest.fixture(scope="module")
def odd_clip(tmp_path_factory):
    return make_video(
        tmp_path_factory.mktemp("cai") / "odd.y4m", width=70, height=50, frames=2, seed=4
    )


def _net(model="bmshj2018-hyperprior", quality=1):
    """The zoo architecture, seeded random initialisation, its analysis transform's last
    layer scaled x100: untrained latents are all below 0.5 and round to zero (the decoded
    frames would not depend on the input); scaled, they span many integers."""
    from compressai.zoo import models

    torch.manual_seed(0)
    net = models[model](quality=quality, pretrained=False).eval()
    with torch.no_grad():
        net.g_a[-1].weight.mul_(100.0)
    return net


def _checkpoint(folder, model="bmshj2018-hyperprior", quality=1):
    path = folder / f"{model}-{quality}.pth"
    torch.save(_net(model, quality).state_dict(), path)
    return str(path)


def _model_output(video, model="bmshj2018-hyperprior", quality=1, multiple=64):
    """Independent reference: the model built here, fed the padded RGB frames, its own
    compress() -> decompress(), cropped and converted back to YUV (frames, strings)."""
    net = _net(model, quality)
    net.update(force=True)
    ph, pw = (-(-video.height // multiple) * multiple, -(-video.width // multiple) * multiple)
    out, strings = [], []
    with torch.no_grad():
        for f in read_frames(video):
            rgb = yuv_to_rgb(
                f, bit_depth=8, matrix=video.color_matrix, color_range=video.color_range
            )
            x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32))[None]
            x = F.pad(x, (0, pw - video.width, 0, ph - video.height), mode="replicate")
            c = net.compress(x)
            strings += [s for group in c["strings"] for s in group]
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
    return out, strings


@pytest.mark.parametrize("model", ["bmshj2018-hyperprior", "mbt2018-mean", "cheng2020-anchor"])
def test_round_trip_bits_file_and_psnr(clip, tmp_path, model):
    ckpt = _checkpoint(tmp_path, model)
    codec = codecs.create("compressai", model=model, checkpoint=ckpt)
    res = codecs.run_codec(codec, clip, Q1, tmp_path / "a.cai", decode_dir=tmp_path)
    data = (tmp_path / "a.cai").read_bytes()
    assert res.bits == 8 * len(data) and res.enc_s > 0 and res.dec_s > 0
    expected, strings = _model_output(clip, model)
    for s in strings:  # the entropy-coded strings of compress() are in the file as they are
        assert s in data
    assert len(data) < sum(len(s) for s in strings) + 400  # plus a small header only
    # decode from the file alone, by a fresh codec: equals the model's own decompress()
    fresh = codecs.create("compressai", model=model, checkpoint=ckpt)
    fresh.decode(tmp_path / "a.cai", tmp_path / "b.y4m", clip)
    for dec in (read_all(res.decoded), read_all(open_video(tmp_path / "b.y4m"))):
        for plane, ref in zip(dec, zip(*expected, strict=True), strict=True):
            np.testing.assert_array_equal(plane, np.stack(ref))
    # PSNR-Y of the decoded file vs the source = PSNR-Y of the model's reconstruction
    src = read_all(clip).y
    ours = np.mean(
        [
            peak_signal_noise_ratio(s, d, data_range=255)
            for s, d in zip(src, read_all(res.decoded).y, strict=True)
        ]
    )
    ref = np.mean(
        [
            peak_signal_noise_ratio(s, e.y, data_range=255)
            for s, e in zip(src, expected, strict=True)
        ]
    )
    assert ours == ref and 5 < ours < 40
    assert np.ptp(read_all(res.decoded).y) > 50  # the decoded frames depend on the input
    assert codec.coded_pix_fmt("yuv420p") == "gbrpf32le"
    os.unlink(res.decoded.path)


def test_padding_and_cropping_of_70x50(odd_clip, tmp_path):
    from vqabench.codecs.compressai_codec import read_bitstream

    codec = codecs.create(
        "compressai",
        model="bmshj2018-factorized",
        checkpoint=_checkpoint(tmp_path, "bmshj2018-factorized"),
    )
    res = codecs.run_codec(codec, odd_clip, Q1, tmp_path / "o.cai", decode_dir=tmp_path)
    header, _ = read_bitstream(tmp_path / "o.cai")
    assert (header["width"], header["height"], header["padded"]) == (70, 50, [128, 64])
    assert (res.decoded.width, res.decoded.height, res.decoded.frames) == (70, 50, 2)
    expected, _ = _model_output(odd_clip, model="bmshj2018-factorized")
    np.testing.assert_array_equal(read_all(res.decoded).u, np.stack([e.u for e in expected]))
    os.unlink(res.decoded.path)


def test_video_model_ssf2020_round_trip(clip, tmp_path):
    codec = codecs.create("compressai", model="ssf2020", checkpoint="random")
    res = codecs.run_codec(codec, clip, Q1, tmp_path / "v.cai", decode_dir=tmp_path)
    assert res.bits == 8 * (tmp_path / "v.cai").stat().st_size
    fresh = codecs.create("compressai", model="ssf2020", checkpoint="random")
    header, rgb = fresh.decode_rgb(tmp_path / "v.cai")
    assert header["padded"] == [128, 128] and len(rgb) == 2 and rgb[0].shape == (3, 64, 64)
    os.unlink(res.decoded.path)


def test_checkpoint_file_decodes_like_the_same_weights(clip, tmp_path):
    """checkpoint=PATH ({quality} in the name): the state dict of the seeded random model
    gives the same decoded frames as checkpoint=random."""
    from compressai.zoo import models

    torch.manual_seed(0)
    torch.save(
        models["mbt2018-mean"](quality=2, pretrained=False).state_dict(), tmp_path / "mine-2.pth"
    )
    by_file = codecs.create(
        "compressai", model="mbt2018-mean", checkpoint=str(tmp_path / "mine-{quality}.pth")
    )
    by_seed = codecs.create("compressai", model="mbt2018-mean", checkpoint="random")
    q2 = codecs.parse_rate_point("quality=2")
    a = codecs.run_codec(by_file, clip, q2, tmp_path / "f.cai", decode_dir=tmp_path)
    b = codecs.run_codec(by_seed, clip, q2, tmp_path / "s.cai", decode_dir=tmp_path)
    from vqabench.codecs.compressai_codec import read_bitstream

    (ha, ca), (hb, cb) = read_bitstream(a.bitstream), read_bitstream(b.bitstream)
    assert ca == cb and ha["weights"] != hb["weights"]  # same strings, weights named apart
    np.testing.assert_array_equal(read_all(a.decoded).y, read_all(b.decoded).y)
    with pytest.raises(
        CodecError,
        match=r"coded with weights random:seed=0, this decoder has "
        r"sha256:",
    ):
        by_file.decode(tmp_path / "s.cai", tmp_path / "x.y4m", clip)
    for r in (a, b):
        os.unlink(r.decoded.path)


def test_pretrained_weights_absent_are_refused_by_name(clip, tmp_path, monkeypatch):
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub" / "hub"))
    codec = codecs.create("compressai", model="cheng2020-anchor")
    with pytest.raises(
        WeightsUnavailableError,
        match=r"cheng2020-anchor-3-e49be189\.pth\.tar.*vqabench weights fetch",
    ):
        codecs.run_codec(codec, clip, codecs.parse_rate_point("quality=3"), tmp_path / "p.cai")
    assert not (tmp_path / "p.cai").exists()


def test_pretrained_is_read_from_the_weights_folder(clip, tmp_path, monkeypatch):
    """checkpoint=pretrained loads the zoo file name from the cache (a stand-in holding
    :func:`_net`'s weights: the zoo URLs are not reachable from tests)."""
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(tmp_path))
    torch.save(_net().state_dict(), tmp_path / "bmshj2018-hyperprior-1-7eb97409.pth.tar")
    a = codecs.run_codec(
        codecs.create("compressai", model="bmshj2018-hyperprior"),
        clip,
        Q1,
        tmp_path / "p.cai",
        decode_dir=tmp_path,
    )
    expected, _ = _model_output(clip)
    np.testing.assert_array_equal(read_all(a.decoded).y, np.stack([e.y for e in expected]))
    os.unlink(a.decoded.path)


@pytest.mark.parametrize(
    "pix_fmt, size, match",
    [
        (
            "yuv420p10le",
            (64, 64),
            r"compressai cannot code yuv420p10le as it is \(it codes 8-bit "
            r"yuv420p, yuv422p, yuv444p",
        ),
        ("yuv420p", (66, 51), r"compressai cannot code 66x51: yuv420p needs .* height by 2"),
    ],
)
def test_refused_formats_by_name(tmp_path, pix_fmt, size, match):
    from dataclasses import replace

    video = make_video(tmp_path / "r.y4m", frames=1, pix_fmt=pix_fmt)
    video = replace(video, width=size[0], height=size[1])  # refused before any read
    codec = codecs.create("compressai", checkpoint="random")
    with pytest.raises(CodecError, match=match):
        codecs.run_codec(codec, video, Q1, tmp_path / "r.cai")
    assert not (tmp_path / "r.cai").exists()


def test_bitstream_layout_and_corrupt_files(tmp_path):
    from vqabench.codecs.compressai_codec import MAGIC, read_bitstream, write_bitstream

    coded = [{"strings": [[b"\x01\x02"], [b"xyz"]], "shape": torch.Size([1, 2])}]
    write_bitstream(tmp_path / "b.cai", {"model": "m"}, coded)
    data = (tmp_path / "b.cai").read_bytes()
    head_len, count = int.from_bytes(data[6:10], "little"), int.from_bytes(data[10:14], "little")
    assert data.startswith(MAGIC) and count == 2
    assert data[14 + head_len :] == b"\x02\x00\x00\x00\x01\x02\x03\x00\x00\x00xyz"
    header, back = read_bitstream(tmp_path / "b.cai")
    assert header["model"] == "m" and back == [
        {"strings": [[b"\x01\x02"], [b"xyz"]], "shape": [1, 2]}
    ]
    (tmp_path / "t.cai").write_bytes(data[:-1])
    with pytest.raises(CodecError, match=r"t\.cai: corrupt compressai bitstream.*truncated"):
        read_bitstream(tmp_path / "t.cai")
    (tmp_path / "x.cai").write_bytes(b"\x00" + data)
    with pytest.raises(CodecError, match=r"not a compressai bitstream"):
        read_bitstream(tmp_path / "x.cai")


def test_rate_points_and_options_are_checked():
    codec = codecs.create("compressai", model="cheng2020-anchor", checkpoint="random")
    with pytest.raises(
        CodecError,
        match=r"model cheng2020-anchor takes quality= an integer "
        r"in 1\.\.6",
    ):
        codec.check_rate_point(codecs.parse_rate_point("quality=7"))
    with pytest.raises(ConfigError, match=r"model.*'nope'.*bmshj2018-factorized"):
        codecs.create("compressai", model="nope")
    assert "compressai 1.2.8" in codec.version()


def test_run_with_x264_inr_and_compressai(tmp_path):
    """The issue's acceptance on a tiny clip, with random-init CompressAI weights (no
    pretrained weights here): one results table with all three codecs, bits = 8 x size."""
    from vqabench.experiment import load_config
    from vqabench.runner.run import run

    data = tmp_path / "data"
    make_video(data / "Alpha.y4m", frames=2, seed=1)
    cfg = load_config(
        None,
        dataset=str(data),
        out=str(tmp_path / "run"),
        jobs=1,
        metrics="psnr_y",
        codecs=[
            "x264:qp=22,30,38",
            "inr:model=xxs,s,m:steps=20",
            "compressai:quality=1,2,3:model=bmshj2018-hyperprior:checkpoint=random",
        ],
    )
    with pytest.warns(UserWarning, match="codec 'inr' on Alpha"):  # a tiny clip, on purpose
        summary = run(cfg)
    assert summary.complete
    with open(tmp_path / "run" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted({r["codec"] for r in rows}) == ["compressai", "inr", "x264"]
    cai = [r for r in rows if r["codec"] == "compressai"]
    assert len(cai) == 3 and {r["coded_pix_fmt"] for r in cai} == {"gbrpf32le"}
    for r in cai:
        assert int(r["bits"]) == 8 * (tmp_path / "run" / r["bitstream"]).stat().st_size


def test_codecs_list_shows_it_with_its_version():
    from vqabench.cli.codecs import codec_facts

    facts = codec_facts("compressai")
    assert facts["version"].startswith("compressai 1.2.8")
    assert facts["rate_params"] == {"quality": [1, 9], "kbps": [1, 200000]}
    assert facts["native_pix_fmts"] == ["yuv420p", "yuv422p", "yuv444p"]


def test_codecs_list_does_not_import_compressai():
    import subprocess
    import sys

    code = (
        "import sys; from vqabench.cli.codecs import codec_facts; "
        "v = codec_facts('compressai')['version']; "
        "print(v, 'compressai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("compressai 1.2.8") and out.split()[-1] == "False"
