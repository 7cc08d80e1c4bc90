"""RankDVQA-UGC: a Swin-transformer quality model for UGC transcoding (the baseline of PT-Loss).

Like :class:`~vqabench.models.ptloss.PTLoss` it scores a (non-pristine reference ``R``,
distorted ``D``) patch pair relative to the absent source, but it has no temporal model:

1. **Frames folded into channels**: ``R`` and ``D`` (B, 3, T, H, W) become (B, 3T, H, W);
   the number of frames is fixed at construction.
2. **Multi-level features**: the extractor of PT-Loss (strides 4, 8, 16, 32) with full
   3x3 convolutions in its residual blocks.
3. **Per level**: unit-normalised ``R̂``, ``D̂`` and ``R̂ − D̂`` are mixed by a 1x1
   convolution, then a Swin stage (window attention, then shifted-window attention, each
   followed by an MLP; relative position bias) and a linear head on the mean token.
4. **Score**: the sum of the level scores (higher is better).

Windows shrink to the feature size when the map is smaller than a window (no shift then);
maps that are not a multiple of the window are zero-padded and padded keys are masked.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.errors import invalid
from vqabench.models.ptloss import FeatureExtractor, check_patch_pair, unit_normalise

__all__ = ["RankDVQAUGC", "SwinBlock", "window_attention_mask"]


def window_attention_mask(height: int, width: int, window: int, shift: int) -> Tensor | None:
    """Additive attention mask (n_windows, window², window²) for a padded, shifted map.

    Tokens attend to each other only within the same region: the three bands per axis of
    a cyclic shift (as in Swin) and, separately, the zero padding added to reach a multiple
    of ``window``. Returns None when no token needs masking.

    Args:
        height, width: the feature map before padding.
        window: window side.
        shift: cyclic shift (0 for plain window attention).
    """
    hp, wp = -(-height // window) * window, -(-width // window) * window
    if shift == 0 and hp == height and wp == width:
        return None
    ids = torch.zeros(hp, wp, dtype=torch.long)
    if shift:
        bands = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
        n = 0
        for hs in bands:
            for ws in bands:
                ids[hs, ws] = n
                n += 1
    pad = torch.zeros(hp, wp, dtype=torch.bool)
    pad[height:, :] = True
    pad[:, width:] = True
    if shift:  # padding is shifted with the map
        pad = torch.roll(pad, shifts=(-shift, -shift), dims=(0, 1))
    ids = ids + 100 * pad.long()
    win = ids.reshape(hp // window, window, wp // window, window).transpose(1, 2)
    win = win.reshape(-1, window * window)
    mask = torch.zeros(win.shape[0], window * window, window * window)
    return mask.masked_fill(win[:, :, None] != win[:, None, :], float("-inf"))


class _WindowAttention(nn.Module):
    """Multi-head self-attention inside windows, with a relative position bias table."""

    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads, self.window, self.scale = heads, window, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rel_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.rel_bias, std=0.02)

    def _bias(self, ws: int) -> Tensor:
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        coords = coords.flatten(1).to(self.rel_bias.device)  # (2, ws²)
        rel = coords[:, :, None] - coords[:, None, :] + self.window - 1
        index = rel[0] * (2 * self.window - 1) + rel[1]  # (ws², ws²)
        return self.rel_bias[index].permute(2, 0, 1)  # (heads, ws², ws²)

    def forward(self, x: Tensor, ws: int, mask: Tensor | None) -> Tensor:
        """x: (n_windows * B, ws², C); mask: (n_windows, ws², ws²) or None."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1) + self._bias(ws)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.reshape(bw // nw, nw, self.heads, n, n) + mask[None, :, None]
            attn = attn.reshape(bw, self.heads, n, n)
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    """Swin-transformer block: (shifted) window attention and an MLP, both pre-norm residual.

    Args:
        dim: token width.
        heads: attention heads (must divide ``dim``).
        window: window side.
        shifted: shift the windows by ``window // 2`` (when the map is larger than a window).
        mlp_ratio: hidden width of the MLP over ``dim``.

    Example:
        >>> SwinBlock(64, 4, 8, shifted=True)(torch.randn(2, 16, 16, 64)).shape
        torch.Size([2, 16, 16, 64])
    """

    def __init__(
        self, dim: int, heads: int, window: int = 8, shifted: bool = False, mlp_ratio: float = 4.0
    ):
        super().__init__()
        if dim % heads:
            raise invalid("heads", heads, f"a divisor of dim={dim}")
        self.window, self.shifted = window, shifted
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        b, h, w, c = x.shape
        ws = min(self.window, h, w)
        shift = ws // 2 if self.shifted and min(h, w) > ws else 0
        hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
        y = F.pad(self.norm1(x), (0, 0, 0, wp - w, 0, hp - h))
        if shift:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
        y = y.reshape(b, hp // ws, ws, wp // ws, ws, c).transpose(2, 3).reshape(-1, ws * ws, c)
        mask = window_attention_mask(h, w, ws, shift)
        y = self.attn(y, ws, None if mask is None else mask.to(y))
        y = y.reshape(b, hp // ws, wp // ws, ws, ws, c).transpose(2, 3).reshape(b, hp, wp, c)
        if shift:
            y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
        x = x + y[:, :h, :w]
        return x + self.mlp(self.norm2(x))


class _LevelSwin(nn.Module):
    """One level: R/D comparison map, a W-MSA + SW-MSA Swin stage, a level score."""

    def __init__(self, channels: int, dim: int, heads: int, window: int, depth: int):
        super().__init__()
        self.compare = nn.Conv2d(3 * channels, dim, 1)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, shifted=bool(i % 2)) for i in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 1)

    def forward(self, ref: Tensor, dist: Tensor) -> Tensor:
        r, d = unit_normalise(ref), unit_normalise(dist)
        x = self.compare(torch.cat([r, d, r - d], dim=1)).permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=(1, 2))).squeeze(1)


class RankDVQAUGC(nn.Module):
    """RankDVQA-UGC quality model: ``score = model(reference, distorted)``, higher is better.

    Args:
        frames: frames per patch (folded into channels, so fixed).
        channels: extractor channels of the four levels.
        dims: Swin width per level.
        heads: attention heads per level.
        window: Swin window side.
        depth: Swin blocks per level (alternating plain and shifted windows).

    Example:
        >>> model = RankDVQAUGC(frames=12)
        >>> r = torch.rand(1, 3, 12, 256, 256)
        >>> model(r, r).shape
        torch.Size([1])
    """

    def __init__(
        self,
        frames: int = 12,
        channels: Sequence[int] = (120, 128, 192, 224),
        dims: Sequence[int] = (128, 128, 192, 192),
        heads: Sequence[int] = (4, 4, 6, 6),
        window: int = 8,
        depth: int = 2,
    ):
        super().__init__()
        if frames < 1:
            raise invalid("frames", frames, "an integer >= 1")
        if not len(channels) == len(dims) == len(heads) or not channels:
            raise invalid(
                "dims, heads",
                (tuple(dims), tuple(heads)),
                f"one value per level ({len(channels)} levels)",
            )
        self.frames = frames
        self.config = dict(
            frames=frames,
            channels=tuple(channels),
            dims=tuple(dims),
            heads=tuple(heads),
            window=window,
            depth=depth,
        )
        self.extractor = FeatureExtractor(3 * frames, channels, depthwise=False)
        self.levels = nn.ModuleList(
            _LevelSwin(c, d, h, window, depth)
            for c, d, h in zip(channels, dims, heads, strict=True)
        )

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Patch scores of (reference, distorted) pairs.

        Args:
            reference: R, (B, 3, T, H, W) RGB in [0, 1] with ``T == frames``.
            distorted: D, same shape.

        Returns:
            (B,) scores, higher is better.

        Raises:
            ConfigError: wrong shape or number of frames.
        """
        reference, distorted = check_patch_pair(
            reference, distorted, min_size=self.extractor.min_size
        )
        b, _, t, h, w = reference.shape
        if t != self.frames:
            raise invalid(
                "reference frames",
                t,
                f"{self.frames} (RankDVQA-UGC folds frames "
                "into channels, so the frame count is fixed)",
            )
        x = torch.cat([reference, distorted]).reshape(2 * b, 3 * t, h, w)
        feats = self.extractor(x)
        scores = [level(f[:b], f[b:]) for level, f in zip(self.levels, feats, strict=True)]
        return torch.stack(scores).sum(0)
