"""Fine-tuning a CompressAI codec with (1 - alpha) MSE + alpha k PT-Loss: the alignment
factor against a hand computation, alpha = 0 against plain MSE fine-tuning, and the
checkpoint coding a clip through the ``compressai`` codec. Randomly initialised models (no
download); the PT-Loss term is the shipped checkpoint's."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench import codecs
from vqabench.errors import CodecError, ConfigError

try:
    from vqabench.codecs.compressai_codec import _import_compressai

    _import_compressai()
    import torch
    import torch.nn.functional as F
except CodecError as exc:  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip(str(exc), allow_module_level=True)

from vqabench.codecs.finetune import (
    FinetuneOptions,
    alignment_factor,
    default_lambda,
    finetune,
    finetune_checkpoint,
)
from vqabench.io.hashing import file_sha256

MODEL = "bmshj2018-factorized"


def _clips(n=2, t=2, size=32, seed=0):
    """S clips and R = S plus a little noise (the codec's compressed input stands in)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, t, 3, size, size, generator=g)
    r = (s + 0.05 * torch.randn(s.shape, generator=g)).clamp(0, 1)
    return s, r


def _net(quality=1):
    from compressai.zoo import models

    torch.manual_seed(0)
    return models[MODEL](quality=quality, pretrained=False)


def test_alignment_factor_is_the_ratio_of_the_means():
    # hand-derived: means 0.3 / 2.0
    assert alignment_factor([0.2, 0.4], [-1.0, -3.0]) == pytest.approx(0.15)
    with pytest.raises(ConfigError, match="quality term is 0"):
        alignment_factor([0.2], [0.0])


def test_lambda_is_compressai_s():
    assert default_lambda(1) == 0.0018 and default_lambda(8) == 0.18
    # the shipped model's own lambdas, from vqabench/models/weights/vqabench_small/MODEL_CARD.md
    assert [default_lambda(q, "vqabench-small") for q in (1, 2, 3, 4)] == [
        0.001,
        0.0035,
        0.013,
        0.0483,
    ]
    with pytest.raises(ConfigError, match="quality=9"):
        default_lambda(9)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"loss": "ptloss"}, "loss='ptloss'"),
        ({"alpha": 1.5}, "alpha=1.5"),
        ({"loss": "mse", "alpha": 0.2}, "alpha=0.2 is not allowed with loss='mse'"),
        ({"iterations": 0}, "iterations=0"),
        ({"target": "S"}, "target='S'"),
        ({"device": "gpu"}, "device='gpu' is not allowed: expected auto | cpu | cuda"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        FinetuneOptions(**kwargs)


@pytest.mark.slow
def test_alignment_factor_equals_the_hand_computed_ratio():
    """Iteration 1 recomputed independently (same seed, same batch, the metric's own
    PT-Loss): with one alignment iteration k = MSE_1 / |P_1|; with five, k is the ratio of
    the logged means and stays frozen after them; every logged loss follows the formula."""
    from vqabench import metrics

    s, r = _clips()
    opts = FinetuneOptions(
        loss="pt_loss", alpha=0.3, iterations=2, batch=1, lr=1e-4, align_iterations=1
    )
    base = _net()
    result = finetune(copy.deepcopy(base), s, r, opts, lmbda=0.0018)

    torch.manual_seed(opts.seed)  # the reference: first batch, first forward, by hand
    idx = int(np.random.default_rng(opts.seed).choice(2, 1, replace=False)[0])
    x_hat = base.train()(r[idx])["x_hat"]
    mse_1 = F.mse_loss(x_hat, s[idx]).item()
    pt = metrics.create("pt_loss").as_loss()
    p_1 = pt(r[idx].permute(1, 0, 2, 3)[None], x_hat.clamp(0, 1).permute(1, 0, 2, 3)[None])
    assert result.history[0]["mse"] == pytest.approx(mse_1, rel=1e-5)
    assert result.history[0]["quality"] == pytest.approx(p_1.item(), rel=1e-5)
    assert result.alignment_factor == pytest.approx(mse_1 / abs(p_1.item()), rel=1e-5)

    opts5 = FinetuneOptions(loss="pt_loss", alpha=0.3, iterations=7, batch=1)
    result5 = finetune(copy.deepcopy(base), s, r, opts5, lmbda=0.0018)
    h = result5.history
    k = sum(x["mse"] for x in h[:5]) / sum(abs(x["quality"]) for x in h[:5])
    assert result5.alignment_factor == pytest.approx(k, rel=1e-9)
    assert h[4]["k"] == h[5]["k"] == h[6]["k"] == result5.alignment_factor
    assert h[0]["k"] == pytest.approx(h[0]["mse"] / abs(h[0]["quality"]))
    for row in h:
        mixed = 0.7 * row["mse"] + 0.3 * row["k"] * row["quality"]
        assert row["loss"] == pytest.approx(0.0018 * 255**2 * mixed + row["bpp"], rel=1e-4)


@pytest.mark.slow
def test_alpha_zero_equals_plain_mse_finetuning():
    s, r = _clips()
    base = _net()
    runs = {}
    for name, loss, alpha in (
        ("mse", "mse", 0.0),
        ("pt0", "pt_loss", 0.0),
        ("pt5", "pt_loss", 0.5),
    ):
        opts = FinetuneOptions(loss=loss, alpha=alpha, iterations=3, batch=1, lr=1e-3)
        runs[name] = finetune(copy.deepcopy(base), s, r, opts, lmbda=0.0018).state_dict
    assert runs["mse"].keys() == runs["pt0"].keys()
    assert all(torch.equal(runs["mse"][k], runs["pt0"][k]) for k in runs["mse"])
    # the comparison can fail: a quality term changes the weights
    assert not all(torch.equal(runs["mse"][k], runs["pt5"][k]) for k in runs["mse"])
    assert not torch.equal(runs["mse"]["g_a.0.weight"], base.state_dict()["g_a.0.weight"])


@pytest.mark.slow
def test_finetuned_checkpoint_codes_a_clip(tmp_path):
    start = codecs.create("compressai", model=MODEL, checkpoint="random")
    s, r = _clips(t=2, size=64)
    path = finetune_checkpoint(
        start,
        2,
        s,
        r,
        FinetuneOptions(loss="mse", alpha=0.0, iterations=2, batch=1),
        tmp_path / "ft",
        command="test",
    )
    assert path == tmp_path / "ft" / "2.pth"
    card = json.loads((tmp_path / "ft" / "2.json").read_text())
    assert card["sha256"] == file_sha256(path)
    assert card["base"]["weights"] == "random:seed=0" and card["lmbda"] == 0.0035
    assert card["alignment_factor"] is None and card["options"]["iterations"] == 2
    assert "mechanism, not the PT-Loss paper's numbers" in (tmp_path / "ft" / "2.md").read_text()
    state = torch.load(path, weights_only=True)
    assert not any("optim" in k for k in state)

    tuned = codecs.create(
        "compressai", model=MODEL, checkpoint=str(tmp_path / "ft" / "{quality}.pth")
    )
    net, ident = tuned.network(2)
    assert ident == "sha256:" + file_sha256(path)[:16]
    assert torch.equal(net.state_dict()["g_s.0.weight"], state["g_s.0.weight"])
    base_net, _ = start.network(2)
    assert not torch.equal(net.state_dict()["g_s.0.weight"], base_net.state_dict()["g_s.0.weight"])

    clip = make_video(tmp_path / "clip.y4m", width=64, height=64, frames=2, seed=5)
    enc = codecs.run_codec(
        tuned,
        clip,
        codecs.parse_rate_point("quality=2"),
        tmp_path / "clip.cai",
        decode_dir=tmp_path,
    )
    assert enc.bits == 8 * (tmp_path / "clip.cai").stat().st_size
    assert (enc.decoded.width, enc.decoded.height, enc.decoded.frames) == (64, 64, 2)
    # the decoded frames are the fine-tuned network's, not the base's: decode with the base
    with pytest.raises(CodecError, match="coded with weights"):
        start.decode_rgb(tmp_path / "clip.cai")
    assert math.isfinite(enc.bits)
