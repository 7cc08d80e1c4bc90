"""Tests of vqabench.models.rankdvqa (RankDVQA-UGC, Swin blocks) against naive attention."""

from __future__ import annotations

import pytest
import torch

from vqabench.errors import ConfigError
from vqabench.models import PTLoss
from vqabench.models.complexity import count_macs, count_params
from vqabench.models.rankdvqa import RankDVQAUGC, SwinBlock, window_attention_mask


def naive_swin_block(block: SwinBlock, x: torch.Tensor) -> torch.Tensor:
    """Token-by-token (shifted) window attention of one image x (H, W, C), float64.

    A real pixel (i, j) sits at ((i - s) mod Hp, (j - s) mod Wp) after the cyclic shift s
    of the zero-padded (Hp, Wp) map; it attends to the real pixels in the same window and,
    when shifted, the same band ([0, Hp - ws), [Hp - ws, Hp - s), [Hp - s, Hp)) on each axis.
    """
    h, w, c = x.shape
    ws = min(block.window, h, w)
    s = ws // 2 if block.shifted and min(h, w) > ws else 0
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    heads, dh = block.attn.heads, c // block.attn.heads
    qkv = block.attn.qkv(block.norm1(x))
    q, k, v = qkv[..., :c] * dh**-0.5, qkv[..., c : 2 * c], qkv[..., 2 * c :]

    def place(i, j):
        return (i - s) % hp, (j - s) % wp

    def band(p, n):
        return 0 if s == 0 or p < n - ws else (1 if p < n - s else 2)

    out = torch.zeros_like(x)
    for i in range(h):
        for j in range(w):
            pi, pj = place(i, j)
            keys = []
            for a in range(h):
                for b in range(w):
                    qa, qb = place(a, b)
                    if (qa // ws, qb // ws) == (pi // ws, pj // ws) and (
                        band(qa, hp),
                        band(qb, wp),
                    ) == (band(pi, hp), band(pj, wp)):
                        keys.append((a, b, qa, qb))
            heads_out = []
            for hd in range(heads):
                sl = slice(hd * dh, (hd + 1) * dh)
                logits = []
                for a, b, qa, qb in keys:
                    dy, dx = pi - qa, pj - qb
                    idx = (dy + block.window - 1) * (2 * block.window - 1) + dx + block.window - 1
                    logits.append(q[i, j, sl] @ k[a, b, sl] + block.attn.rel_bias[idx, hd])
                wts = torch.softmax(torch.stack(logits), 0)
                pairs = zip(wts, keys, strict=True)
                heads_out.append(sum(wt * v[a, b, sl] for wt, (a, b, _, _) in pairs))
            out[i, j] = block.attn.proj(torch.cat(heads_out))
    y = x + out
    return y + block.mlp(block.norm2(y))


@pytest.mark.parametrize(
    ("size", "window", "shifted"),
    [((8, 8), 4, False), ((8, 8), 4, True), ((6, 7), 4, True), ((3, 5), 4, True)],
)
@pytest.mark.slow
def test_swin_block_matches_naive_attention(size, window, shifted):
    torch.manual_seed(1)
    block = SwinBlock(8, heads=2, window=window, shifted=shifted).double()
    with torch.no_grad():
        block.attn.rel_bias.normal_()  # make the bias table matter
        x = torch.randn(2, *size, 8, dtype=torch.float64)
        got = block(x)
        for n in range(2):
            torch.testing.assert_close(got[n], naive_swin_block(block, x[n]))


def test_window_attention_mask_cases():
    assert window_attention_mask(8, 8, 4, 0) is None
    m = window_attention_mask(4, 4, 2, 1)
    # 4 windows of 2x2; the bottom-right window holds 4 tokens from 4 different regions.
    assert m.shape == (4, 4, 4)
    assert torch.isinf(m[3]).sum() == 12 and torch.isinf(m[0]).sum() == 0
    # height 3 padded to 4: the second row of windows has one real row of two tokens.
    m = window_attention_mask(3, 4, 2, 0)
    assert m.shape == (4, 4, 4)
    real = torch.tensor([True, True, False, False])
    assert torch.isinf(m[2][real][:, ~real]).all() and not torch.isinf(m[2][real][:, real]).any()


@pytest.mark.slow
def test_budget_near_published_and_heavier_than_ptloss():
    model = RankDVQAUGC(frames=12)
    params = count_params(model)
    macs, scan = count_macs(model, (12, 256, 256))
    # Published: about 4.6M parameters and 5.2 GMACs per 256x256x12 pair.
    assert 4.6e6 * 0.9 <= params <= 4.6e6 * 1.1
    assert 5.2e9 * 0.9 <= macs <= 5.2e9 * 1.1
    assert scan == 0
    pt = PTLoss()
    assert params > 4 * count_params(pt)
    assert macs > 3 * count_macs(pt, (12, 256, 256))[0]


@pytest.mark.slow
def test_scores_independent_per_sample_and_gradient_flows():
    torch.manual_seed(0)
    model = RankDVQAUGC(
        frames=2, channels=(8, 8, 16, 16), dims=(8, 8, 16, 16), heads=(2, 2, 2, 2), window=4
    )
    ref = torch.rand(3, 3, 2, 40, 40)  # level sizes 10, 5, 3, 2: padding and masks
    dist = (ref + 0.1 * torch.randn_like(ref)).clamp(0, 1).requires_grad_(True)
    together = model(ref, dist)
    with torch.no_grad():
        alone = torch.cat([model(ref[k : k + 1], dist[k : k + 1]) for k in range(3)])
    torch.testing.assert_close(together.detach(), alone, rtol=1e-5, atol=1e-5)
    together.sum().backward()
    assert dist.grad.abs().sum() > 0


def test_level_scores_are_summed():
    torch.manual_seed(0)
    model = RankDVQAUGC(
        frames=1, channels=(8, 8, 8, 8), dims=(8, 8, 8, 8), heads=(2, 2, 2, 2), window=2
    ).eval()
    ref, dist = torch.rand(1, 3, 1, 32, 32), torch.rand(1, 3, 1, 32, 32)
    with torch.no_grad():
        full = model(ref, dist)
        for level in model.levels:
            level.head.bias += 1.0
        assert model(ref, dist).item() == pytest.approx(full.item() + 4.0, abs=1e-5)


def test_frame_count_is_fixed():
    model = RankDVQAUGC(frames=4, channels=(8, 8, 8, 8), dims=(8, 8, 8, 8), heads=(2, 2, 2, 2))
    x = torch.rand(1, 3, 3, 32, 32)
    with pytest.raises(ConfigError, match="reference frames=3"):
        model(x, x)
    with pytest.raises(ConfigError, match="heads=3"):
        SwinBlock(8, heads=3)
