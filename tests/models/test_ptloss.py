"""Tests of vqabench.models.ptloss (PT-Loss) and the model registry / perceptual loss."""

from __future__ import annotations

import math

import pytest
import torch

from vqabench.errors import ConfigError, UnknownNameError, WeightsUnavailableError
from vqabench.models import (
    available,
    checkpoint_path,
    create_model,
    load_checkpoint,
    perceptual_loss,
)
from vqabench.models.complexity import count_macs, count_params
from vqabench.models.ptloss import PTLoss, norm_log_ratio, pool_patch_scores, tile_patches


@pytest.fixture(scope="module")
def model() -> PTLoss:
    torch.manual_seed(0)
    return PTLoss().eval()


def _pair(batch=2, frames=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(batch, 3, frames, size, size, generator=g)
    dist = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return ref, dist


def test_parameter_budget_at_published_config(model):
    # Published: about 0.8M parameters; allowed 0.6-1.0M.
    n = count_params(model)
    assert 600_000 <= n <= 1_000_000
    assert n == 801_665  # pinned: changing the architecture must update the report
    # The extractor by hand: stem 4x4 conv 3->32, then 2x2 convs, each level a residual
    # depthwise 3x3 + pointwise 1x1 block (all with bias).
    chans, prev, want = (32, 64, 128, 192), 3, 0
    for i, c in enumerate(chans):
        k = 16 if i == 0 else 4
        want += prev * c * k + c + (9 * c + c) + (c * c + c)
        prev = c
    assert count_params(model.extractor) == want


@pytest.mark.slow
def test_mac_budget_at_256x256x12(model):
    # Published: about 1.4 GMACs per 256x256x12 patch pair; allowed 1.05-1.75.
    macs, scan = count_macs(model, (12, 256, 256))
    assert 1.05e9 <= macs <= 1.75e9
    assert macs == 1_411_638_400  # pinned (count_macs at vqabench 35a3009): 1.41 G
    # Two Mamba layers per level, d_inner = 2 * d_model, N = 16, L = 12, batch 1.
    want_scan = sum(2 * (4 * 2 * d * 12 * 16 + 2 * 2 * d * 12) for d in (16, 32, 64, 144))
    assert scan == want_scan
    # The stem alone: 24 frames (R and D) x 64x64 outputs x (3*16) inputs x 32 channels.
    stem = 24 * 64 * 64 * 3 * 16 * 32
    assert stem < macs


@pytest.mark.slow
def test_macs_grow_linearly_with_frames(model):
    m12, _ = count_macs(model, (12, 64, 64))
    m24, _ = count_macs(model, (24, 64, 64))
    m48, _ = count_macs(model, (48, 64, 64))
    # Only the fusion MLP is independent of T: the cost is affine with a tiny intercept.
    assert m24 - m12 == (m48 - m24) / 2
    assert 1.99 < m24 / m12 <= 2.0


@pytest.mark.slow
def test_scores_are_independent_per_sample(model):
    ref, dist = _pair(batch=3)
    with torch.no_grad():
        together = model(ref, dist)
        alone = torch.stack([model(ref[k : k + 1], dist[k : k + 1])[0] for k in range(3)])
    assert together.shape == (3,)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("chunk", [1, 3, 4, 9, None])
@pytest.mark.slow
def test_frame_chunking_does_not_change_scores(model, chunk):
    ref, dist = _pair(batch=3, frames=4, seed=4)
    with torch.no_grad():
        want = model(ref, dist)  # default chunk of 2 frame pairs
        model.frame_chunk = chunk
        try:
            got = model(ref, dist)
        finally:
            model.frame_chunk = 2
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_reference_and_distorted_are_not_interchangeable(model):
    ref, dist = _pair(batch=1, seed=1)
    with torch.no_grad():
        assert not torch.allclose(model(ref, dist), model(dist, ref))


def test_four_d_input_is_one_frame(model):
    ref, dist = _pair(batch=2, frames=1)
    with torch.no_grad():
        torch.testing.assert_close(model(ref[:, :, 0], dist[:, :, 0]), model(ref, dist))


def test_score_depends_on_frame_order(model):
    # The temporal scan is a sequence model, not a bag of frames.
    ref, dist = _pair(batch=1, frames=4, seed=2)
    dist[:, :, 0] = ref[:, :, 0]  # one clean frame, three noisy ones
    perm = torch.tensor([3, 2, 1, 0])
    with torch.no_grad():
        assert not torch.allclose(model(ref, dist), model(ref[:, :, perm], dist[:, :, perm]))


@pytest.mark.slow
def test_gradient_reaches_distorted_input(model):
    ref, dist = _pair(batch=2)
    dist.requires_grad_(True)
    model(ref, dist).sum().backward()
    assert dist.grad is not None and dist.grad.abs().sum() > 0
    model.zero_grad()


def test_too_small_input_raises(model):
    ref = torch.rand(1, 3, 2, 16, 16)
    with pytest.raises(ConfigError, match="height and width >= 32"):
        model(ref, ref)
    with pytest.raises(ConfigError, match="distorted.shape"):
        model(ref, torch.rand(1, 3, 2, 16, 15))


def test_pool_patch_scores_hand_case_and_limits():
    # softmax(-[0, ln 3]) = [3/4, 1/4]  ->  pooled = ln(3) / 4
    s = torch.tensor([0.0, math.log(3.0)])
    assert pool_patch_scores(s).item() == pytest.approx(math.log(3.0) / 4)
    s = torch.tensor([[1.0, 2.0, 6.0]])
    assert pool_patch_scores(s, temperature=1e4).item() == pytest.approx(3.0, abs=1e-3)
    assert pool_patch_scores(s, temperature=1e-3).item() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ConfigError, match="temperature"):
        pool_patch_scores(s, temperature=0)


def test_tile_patches_takes_the_right_crops():
    v = torch.arange(1 * 3 * 5 * 7 * 9, dtype=torch.float32).reshape(1, 3, 5, 7, 9)
    tiles = tile_patches(v, (2, 3, 4))  # 2 x 2 x 2 tiles, remainder dropped
    assert tiles.shape == (1, 8, 3, 2, 3, 4)
    # tile index = (t, y, x) in row-major order; (1, 0, 1) -> 4 + 0 + 1 = 5
    torch.testing.assert_close(tiles[0, 5], v[0, :, 2:4, 0:3, 4:8])


@pytest.mark.slow
def test_score_clip_pools_patch_scores(model):
    ref, dist = _pair(batch=1, frames=4, size=64, seed=3)
    with torch.no_grad():
        clip = model.score_clip(ref, dist, patch=(4, 32, 32), temperature=0.5)
        patches = [
            model(ref[..., y : y + 32, x : x + 32], dist[..., y : y + 32, x : x + 32])
            for y in (0, 32)
            for x in (0, 32)
        ]
        want = pool_patch_scores(torch.cat(patches), temperature=0.5)
    assert clip.item() == pytest.approx(want.item(), rel=1e-5)


def test_registry_names_and_unknown_name():
    assert {"pt_loss", "rankdvqa_ugc"} <= set(available())
    assert isinstance(create_model("pt_loss", depth=1), PTLoss)
    with pytest.raises(UnknownNameError, match="did you mean 'pt_loss'"):
        create_model("pt_los")


@pytest.mark.slow
def test_perceptual_loss_is_minus_score_and_trains_only_its_input():
    torch.manual_seed(0)
    loss_fn = perceptual_loss("pt_loss", checkpoint=None, depth=1)
    ref, _ = _pair(batch=2)
    codec_out = torch.nn.Parameter(ref.clone() * 0.9)  # stands for a learned codec's output
    loss = loss_fn(ref, codec_out)
    with torch.no_grad():
        assert loss.item() == pytest.approx(-loss_fn.model(ref, codec_out).mean().item())
    loss.backward()
    assert codec_out.grad is not None and codec_out.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss_fn.model.parameters())
    loss_fn.train()
    assert not loss_fn.model.training
    # one gradient step on the codec output raises the predicted quality
    with torch.no_grad():
        codec_out -= 1e-2 * codec_out.grad / codec_out.grad.norm()
        assert loss_fn(ref, codec_out).item() < loss.item()


def test_missing_bundled_checkpoint_names_file_and_command(monkeypatch, tmp_path):
    path = checkpoint_path("pt_loss")
    assert path.parent.name == "weights" and path.parent.parent.name == "models"
    import vqabench.models.checkpoints as checkpoints_mod

    monkeypatch.setattr(checkpoints_mod, "checkpoint_path", lambda name: tmp_path / f"{name}.pt")
    with pytest.raises(WeightsUnavailableError, match=r"pt_loss\.pt.*vqabench train pt_loss"):
        load_checkpoint("pt_loss")
    with pytest.raises(WeightsUnavailableError):
        perceptual_loss("pt_loss")
    with pytest.raises(ConfigError, match="checkpoint fixes them"):
        perceptual_loss("pt_loss", checkpoint="x.pt", depth=1)


def test_norm_log_ratio_by_hand_and_what_unit_normalisation_hides():
    torch.manual_seed(0)
    ref = torch.rand(3, 8, 4, 4) + 0.5
    got = norm_log_ratio(ref, 2.0 * ref, eps=0.0)  # D = 2 R: log 2 at every position
    torch.testing.assert_close(got, torch.tensor([[math.log(2), math.log(2) ** 2]] * 3))
    half = torch.cat([ref[..., :2], 0.5 * ref[..., 2:]], dim=-1)  # half the map at 1/2
    torch.testing.assert_close(
        norm_log_ratio(ref, half, eps=0.0)[0],
        torch.tensor([-math.log(2) / 2, math.log(2) ** 2 / 2]),
    )
    plain = PTLoss(magnitude=False).levels[0]
    with_norm = PTLoss(magnitude=True).levels[0]
    f = torch.rand(2, 32, 16, 16)
    # a pure loss of energy (D = R / 2) is invisible to the unit-normalised comparison...
    torch.testing.assert_close(plain.tokens(f, 0.5 * f), plain.tokens(f, f))
    # ...and seen through the norm ratio
    assert not torch.allclose(with_norm.tokens(f, 0.5 * f), with_norm.tokens(f, f))


def test_magnitude_option_keeps_the_default_architecture():
    plain, extra = PTLoss(), PTLoss(magnitude=True)
    assert count_params(extra) - count_params(plain) == 2 * sum(plain.config["d_models"])
    assert plain.config["magnitude"] is False and extra.config["magnitude"] is True
    from vqabench.models import load_checkpoint

    load_checkpoint("pt_loss")  # the shipped checkpoint still loads (strict state dict)
