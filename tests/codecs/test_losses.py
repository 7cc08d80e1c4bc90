"""Training losses of learned codecs: definitions, typed errors, gradients into an INR."""

from __future__ import annotations

import pytest
import torch

from vqabench.codecs.inr import InrArch, InrNet, split_planes
from vqabench.codecs.losses import (
    LOSS_NAMES,
    L1MsSsimLoss,
    MixedLoss,
    create_loss,
    ms_ssim_scales,
)
from vqabench.errors import ConfigError, WeightsUnavailableError
from vqabench.io.video import yuv_to_rgb_torch
from vqabench.models import checkpoint_path


def _clip(frames: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(frames, 3, size, size, generator=g)


def test_ms_ssim_scales_fit_the_frame():
    # min side >= 10 * 2**(scales - 1) + 1 (piq's 11-pixel window at the coarsest scale)
    assert [ms_ssim_scales(s, s) for s in (11, 20, 21, 41, 81, 144, 161, 1080)] == [
        1,
        1,
        2,
        3,
        4,
        4,
        5,
        5,
    ]
    with pytest.raises(ConfigError, match="at least 11x11"):
        ms_ssim_scales(10, 64)


def test_l1_msssim_is_the_hinerv_combination():
    import piq

    ref, dis = _clip(), _clip(seed=1)
    expected = 0.7 * (dis - ref).abs().mean() + 0.3 * (
        1
        - piq.multi_scale_ssim(
            dis, ref, data_range=1.0, scale_weights=torch.tensor([0.0448, 0.2856])
        )
    )
    assert torch.allclose(L1MsSsimLoss()(ref, dis), expected)
    assert float(L1MsSsimLoss()(ref, ref)) == pytest.approx(0.0, abs=1e-6)


def test_mixed_loss_aligns_magnitudes_over_the_first_steps():
    ref, dis = _clip(), _clip(seed=1)
    calls = iter([4.0, 2.0, 100.0])
    loss = MixedLoss(
        "toy",
        lambda r, d: torch.tensor(next(calls)),
        torch.nn.Identity(),
        alpha=0.25,
        align_steps=2,
    )
    l1 = float((dis - ref).abs().mean())
    loss(ref, dis)
    loss(ref, dis)
    assert loss.ratio == pytest.approx(2 * l1 / 6.0)  # frozen after two calls
    out = loss(ref, dis)
    assert float(out) == pytest.approx(0.75 * l1 + 0.25 * (2 * l1 / 6.0) * 100.0, rel=1e-5)


def test_shortfall_is_the_shortfall_against_r_itself():
    """P = max(0, term(R, D) - term(R, R)), term(R, R) without gradient: hand-derived with a
    toy term whose value is known."""
    ref, dis = _clip(), _clip(seed=1)

    def term(r, d):  # noqa: ANN001, ANN202 - lower is better, best (2.0) far from r == d
        return 2.0 + (d - r - 0.25).abs().mean()

    l1 = float((dis - ref).abs().mean())
    plain = MixedLoss("toy", term, torch.nn.Identity(), alpha=0.25, align_steps=0)
    short = MixedLoss("toy", term, torch.nn.Identity(), alpha=0.25, align_steps=0, shortfall=True)
    best = 2.0 + 0.25  # term(R, R)
    assert float(plain(ref, dis)) == pytest.approx(0.75 * l1 + 0.25 * float(term(ref, dis)))
    assert float(short(ref, dis)) == pytest.approx(
        0.75 * l1 + 0.25 * max(0.0, float(term(ref, dis)) - best), rel=1e-6
    )
    # D = R: zero loss; a D the term scores better than R: the term adds nothing
    assert float(short(ref, ref)) == 0.0
    better = (ref + 0.25).clamp(0, 1)
    assert float(term(ref, better)) < best
    assert float(short(ref, better)) == pytest.approx(0.75 * float((better - ref).abs().mean()))
    d = dis.clone().requires_grad_(True)
    short(ref, d).backward()  # the gradient flows through term(R, D) only
    assert d.grad is not None and float(d.grad.abs().sum()) > 0


def test_shortfall_with_the_pt_loss_checkpoint_matches_the_model_called_directly():
    from vqabench.models import load_checkpoint

    ref, dis = _clip(frames=2, size=64), _clip(frames=2, size=64, seed=1)
    weights = "pretrained:v1"
    loss = create_loss("pt_loss", weights=weights, shortfall=True, align_steps=0)
    model = load_checkpoint(checkpoint_path("pt_loss", "v1")).eval()
    five = [x.permute(1, 0, 2, 3)[None] for x in (ref, dis)]
    with torch.no_grad():
        s_rd, s_rr = float(model(five[0], five[1])), float(model(five[0], five[0]))
    l1 = float((dis - ref).abs().mean())
    assert s_rr > s_rd  # release 1 scores R itself above this noise
    assert float(loss(ref, dis)) == pytest.approx(0.8 * l1 + 0.2 * (s_rr - s_rd), rel=1e-4)


def test_option_errors():
    with pytest.raises(ConfigError, match="loss='nope' is not allowed"):
        create_loss("nope")
    with pytest.raises(ConfigError, match="alpha=0.2 is not allowed with loss='l1_msssim'"):
        create_loss("l1_msssim", alpha=0.2)
    with pytest.raises(ConfigError, match="alpha=1.5"):
        create_loss("pt_loss", alpha=1.5, weights="random")
    with pytest.raises(ConfigError, match="weights='x.pt'"):
        create_loss("lpips", weights="x.pt")
    with pytest.raises(ConfigError, match="shortfall=True is not allowed with loss='l1_msssim'"):
        create_loss("l1_msssim", shortfall=True)


def test_pt_loss_with_missing_weights_fails_clearly(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="missing.pt"):
        create_loss("pt_loss", weights=str(tmp_path / "missing.pt"))


@pytest.mark.slow
def test_pt_loss_uses_the_shipped_weights():
    from vqabench.models import load_checkpoint

    assert checkpoint_path("pt_loss").is_file()
    loss = create_loss("pt_loss")
    shipped = load_checkpoint("pt_loss").state_dict()
    used = loss.network.model.state_dict()
    assert used.keys() == shipped.keys()
    assert all(torch.equal(used[k], shipped[k]) for k in shipped)


def _lpips_backbone_missing() -> bool:
    from vqabench.metrics.weights import locate

    return locate("alexnet-owt-7be5be79.pth") is None


@pytest.mark.skipif(not _lpips_backbone_missing(), reason="AlexNet weights are cached")
def test_lpips_without_cached_backbone_fails_clearly():
    with pytest.raises(WeightsUnavailableError, match="alexnet"):
        create_loss("lpips")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n == "perceptual_ensemble" else n
        for n in LOSS_NAMES
    ],
)
@pytest.mark.slow
def test_gradients_reach_the_inr_parameters(name):
    """Every loss (random network weights where it has a network) back-propagates into
    each INR tensor: feature grid, every stage and the head."""
    frames = 12 if name == "rankdvqa_ugc" else 4  # RankDVQA-UGC folds 12 frames
    torch.manual_seed(0)
    arch = InrArch(32, 32, frames, "yuv420p", 25, 1, 4, (8, 8, 6, 4), 2)
    net = InrNet(arch)
    loss_fn = create_loss(name, weights="random") if name != "l1_msssim" else create_loss(name)
    y, u, v = split_planes(net(torch.arange(frames)), "yuv420p")
    loss = loss_fn(_clip(frames), yuv_to_rgb_torch(y * 255, u * 255, v * 255))
    loss.backward()
    assert torch.isfinite(loss)
    for pname, p in net.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, pname
    if loss_fn.perceptual is not None:  # the loss network stays frozen
        assert all(p.grad is None for p in loss_fn.perceptual.parameters())


@pytest.mark.slow
def test_loss_complexity_counts_the_network_per_training_window():
    from vqabench.codecs.losses import loss_complexity
    from vqabench.models import perceptual_loss
    from vqabench.models.complexity import count_macs, count_params

    assert loss_complexity("l1_msssim", frames=2, height=72, width=128) == (0, 0)
    pt = perceptual_loss("pt_loss", checkpoint=None).model
    assert loss_complexity("pt_loss", frames=2, height=72, width=128) == (
        count_params(pt),
        count_macs(pt, (2, 72, 128))[0],
    )  # the counter called directly
    rank = perceptual_loss("rankdvqa_ugc", checkpoint=None).model
    one = count_macs(rank, (12, 72, 128))[0]
    # 12 frames: one window; 13: windows at 0 and 1 (the last one aligned to the end); 24: two
    assert [
        loss_complexity("rankdvqa_ugc", frames=t, height=72, width=128)[1] for t in (12, 13, 24)
    ] == [one, 2 * one, 2 * one]
    with pytest.raises(ConfigError, match="frames=8 is not allowed: expected >= 12"):
        loss_complexity("rankdvqa_ugc", frames=8, height=72, width=128)
    with pytest.raises(ConfigError, match="loss='lpips' is not allowed"):
        loss_complexity("lpips", frames=2, height=72, width=128)


@pytest.mark.slow
def test_pretrained_release_loads_the_archived_checkpoint():
    """``pretrained:v1`` is the first shipped PT-Loss, the one the committed PT-Loss
    experiment (experiments/ptloss/report.md) trained its codecs with."""
    import hashlib

    from vqabench.models import load_checkpoint

    path = checkpoint_path("pt_loss", "v1")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "d6bafaa188faf52424404c0f4c0f704f9734481968b25dd2eac1f489f966bb1a"
    )
    used = create_loss("pt_loss", weights="pretrained:v1").network.model.state_dict()
    archived = load_checkpoint(path).state_dict()
    assert all(torch.equal(used[k], archived[k]) for k in archived)


def test_the_current_release_name_is_the_top_level_checkpoint():
    """A config that pins the current release (``pretrained:v2`` for PT-Loss) reads
    ``weights/pt_loss.pt`` while it is current; the hash is release 2's (the model card)."""
    import hashlib

    from vqabench.models import CURRENT_RELEASES

    assert CURRENT_RELEASES["pt_loss"] == "v2"
    path = checkpoint_path("pt_loss", "v2")
    assert path == checkpoint_path("pt_loss")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "a9e5408a11f7d9d70a5b31aad1ff05ba7c63b76ae1d9ddbb001a193ebe028df0"
    )


def test_loss_weights_file_is_the_file_each_weights_option_loads(tmp_path):
    from vqabench.codecs.losses import loss_weights_file

    assert loss_weights_file("pt_loss", "random") is None
    assert loss_weights_file("pt_loss", "pretrained") == checkpoint_path("pt_loss")
    assert loss_weights_file("rankdvqa_ugc", "pretrained:v1") == checkpoint_path(
        "rankdvqa_ugc", "v1"
    )
    assert loss_weights_file("pt_loss", str(tmp_path / "x.pt")) == tmp_path / "x.pt"


def test_release_names_are_checked():
    with pytest.raises(ConfigError, match="release='../x'"):
        checkpoint_path("pt_loss", "../x")
    with pytest.raises(WeightsUnavailableError, match="v0"):
        create_loss("pt_loss", weights="pretrained:v0")
    with pytest.raises(ConfigError, match="pretrained:RELEASE"):
        create_loss("pt_loss", weights="pretrained:")
    with pytest.raises(ConfigError, match="'pretrained' or 'random' for loss='lpips'"):
        create_loss("lpips", weights="pretrained:v1")
