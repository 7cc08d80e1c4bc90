"""PT-Loss: a Mamba-based perceptual quality model for UGC transcoding.

The model sees only a non-pristine reference patch ``R`` (compressed user-generated content)
and its transcoded version ``D``, and is trained (see :mod:`vqabench.models.ranking`) to rank
pairs by quality relative to the absent pristine source ``S`` (labels ``VMAF(S, D)``).

Architecture (one patch pair, ``T`` frames):

1. **Spatial features**, per frame, shared weights for ``R`` and ``D``: a patchify stem
   (4x4, stride 4) and four levels (strides 4, 8, 16, 32); each level after the first
   halves the resolution with a 2x2 stride-2 convolution, then applies a residual
   depthwise-separable block.
2. **Per level**: ``R`` and ``D`` features are unit-normalised along channels (as in LPIPS),
   ``e = R̂ − D̂``; a 1x1 convolution of ``[R̂, D̂, e]`` is averaged over space and joined
   with the per-channel error energy ``mean(e²)`` into one token per frame. Unit
   normalisation hides a loss of feature energy (blur, lost contrast: ``D = k R`` gives
   ``e = 0``), so with ``magnitude=True`` the token also gets the spatial mean and mean
   square of ``log(|D| / |R|)``, the log ratio of the feature norms (:func:`norm_log_ratio`).
3. **Temporal selective scan**: pre-norm residual :class:`~vqabench.models.mamba.MambaBlock`
   layers over the ``T`` tokens of each level, then a mean over time. Spatial extraction is
   per frame and the scan is linear in ``T``, so the cost grows linearly with the frames.
4. **Fusion**: the level vectors are concatenated and an MLP gives one patch score
   (higher is better; a logit-like value whose scale is set by the ranking loss).

:func:`pool_patch_scores` turns patch scores into a clip score (a differentiable soft
minimum), and :meth:`PTLoss.score_clip` tiles a clip into patches and pools them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.errors import invalid
from vqabench.models.mamba import MambaBlock, ScanMethod

__all__ = [
    "PTLoss",
    "FeatureExtractor",
    "pool_patch_scores",
    "check_patch_pair",
    "tile_patches",
    "unit_normalise",
    "norm_log_ratio",
]


def check_patch_pair(
    reference: Tensor, distorted: Tensor, *, min_size: int = 1
) -> tuple[Tensor, Tensor]:
    """Validate a (reference, distorted) pair and return it as (B, 3, T, H, W).

    A 4-D pair (B, 3, H, W) is taken as single frames (T = 1).

    Args:
        reference: R.
        distorted: D.
        min_size: smallest height and width allowed.

    Raises:
        ConfigError: shapes differ, are not (B, 3, T, H, W) / (B, 3, H, W), or are smaller
            than ``min_size``.
    """
    if tuple(reference.shape) != tuple(distorted.shape):
        raise invalid(
            "distorted.shape",
            tuple(distorted.shape),
            f"the shape of reference, {tuple(reference.shape)}",
        )
    if reference.dim() == 4:
        reference, distorted = reference.unsqueeze(2), distorted.unsqueeze(2)
    if reference.dim() != 5 or reference.shape[1] != 3:
        raise invalid(
            "reference.shape",
            tuple(reference.shape),
            "(batch, 3, frames, height, width) RGB in [0, 1]",
        )
    if min(reference.shape[-2:]) < min_size:
        raise invalid(
            "reference.shape",
            tuple(reference.shape),
            f"height and width >= {min_size} (the coarsest level's stride)",
        )
    return reference, distorted


def pool_patch_scores(scores: Tensor, *, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """Differentiable soft-minimum pooling of patch scores into a clip score.

    ``sum_i w_i s_i`` with ``w = softmax(-s / temperature)``: the worst patches weigh most,
    as viewers judge a clip by its worst regions. ``temperature -> inf`` gives the mean,
    ``temperature -> 0`` the minimum.

    Args:
        scores: patch scores; pooled along ``dim``.
        temperature: > 0, in score units.

    Raises:
        ConfigError: ``temperature`` <= 0.

    Example:
        >>> pool_patch_scores(torch.tensor([1.0, 1.0, 1.0]))
        tensor(1.)
    """
    if not temperature > 0:
        raise invalid("temperature", temperature, "a number > 0")
    weights = torch.softmax(-scores / temperature, dim=dim)
    return (weights * scores).sum(dim=dim)


def tile_patches(video: Tensor, patch: tuple[int, int, int]) -> Tensor:
    """Cut (B, 3, T, H, W) into non-overlapping (frames, height, width) patches.

    The remainder at the end of each axis is dropped.

    Returns:
        (B, P, 3, frames, height, width), P patches per clip.

    Raises:
        ConfigError: the clip is smaller than one patch.
    """
    pt, ph, pw = patch
    _, _, t, h, w = video.shape
    if t < pt or h < ph or w < pw:
        raise invalid("patch", patch, f"at most the clip size (T, H, W) = {(t, h, w)}")
    v = video[:, :, : t // pt * pt, : h // ph * ph, : w // pw * pw]
    b, c = v.shape[:2]
    v = v.reshape(b, c, t // pt, pt, h // ph, ph, w // pw, pw)
    v = v.permute(0, 2, 4, 6, 1, 3, 5, 7)
    return v.reshape(b, -1, c, pt, ph, pw)


class _ResBlock(nn.Module):
    """Residual block: 3x3 conv (depthwise if ``depthwise``) -> GELU -> 1x1 -> GELU, + input."""

    def __init__(self, channels: int, depthwise: bool = True):
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, 3, padding=1, groups=channels if depthwise else 1)
        self.pw = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.gelu(self.pw(F.gelu(self.dw(x))))


class FeatureExtractor(nn.Module):
    """Multi-level feature extractor (strides 4, 8, 16, ...); also used by RankDVQA-UGC.

    Args:
        in_channels: input channels (3 for RGB frames, 3T with frames folded in).
        channels: output channels per level; level ``i`` has stride ``4 * 2**i``.
        depthwise: depthwise (True) or full (False) 3x3 convolution in the residual blocks.

    Returns (forward):
        One feature map per level.
    """

    def __init__(self, in_channels: int, channels: Sequence[int], depthwise: bool = True):
        super().__init__()
        stages: list[nn.Module] = []
        prev = in_channels
        for i, ch in enumerate(channels):
            down = nn.Conv2d(prev, ch, 4, stride=4) if i == 0 else nn.Conv2d(prev, ch, 2, stride=2)
            stages.append(nn.Sequential(down, nn.GELU(), _ResBlock(ch, depthwise)))
            prev = ch
        self.stages = nn.ModuleList(stages)
        self.min_size = 4 * 2 ** (len(channels) - 1)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def unit_normalise(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Divide features (B, C, ...) by their L2 norm along channels (LPIPS-style)."""
    return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + eps)


def norm_log_ratio(ref: Tensor, dist: Tensor, eps: float = 1e-6) -> Tensor:
    """Spatial mean and mean square of ``log((|D| + eps) / (|R| + eps))``, ``|.|`` the L2
    norm along channels: (n, C, h, w) features -> (n, 2)."""
    ratio = torch.log(torch.sqrt((dist * dist).sum(dim=1)) + eps) - torch.log(
        torch.sqrt((ref * ref).sum(dim=1)) + eps
    )
    return torch.stack([ratio.mean(dim=(1, 2)), (ratio * ratio).mean(dim=(1, 2))], dim=1)


class _LevelTemporal(nn.Module):
    """One level: R/D comparison tokens per frame, then Mamba layers across frames."""

    def __init__(
        self,
        channels: int,
        d_model: int,
        depth: int,
        d_state: int,
        scan_method: ScanMethod,
        magnitude: bool = False,
    ):
        super().__init__()
        self.magnitude = magnitude
        self.compare = nn.Conv2d(3 * channels, d_model, 1)
        self.token = nn.Linear(d_model + channels + (2 if magnitude else 0), d_model)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(depth))
        self.mambas = nn.ModuleList(
            MambaBlock(d_model, d_state=d_state, scan_method=scan_method) for _ in range(depth)
        )
        self.out_norm = nn.LayerNorm(d_model)

    def tokens(self, ref: Tensor, dist: Tensor) -> Tensor:
        """Per-frame features (n, C, h, w) of R and D -> comparison tokens (n, d_model)."""
        r, d = unit_normalise(ref), unit_normalise(dist)
        e = r - d
        x = F.gelu(self.compare(torch.cat([r, d, e], dim=1))).mean(dim=(2, 3))
        energy = (e * e).mean(dim=(2, 3))
        extra = [norm_log_ratio(ref, dist)] if self.magnitude else []
        return self.token(torch.cat([x, energy, *extra], dim=1))

    def forward(self, tok: Tensor) -> Tensor:
        """Tokens (batch, frames, d_model) -> level vector (batch, d_model)."""
        for norm, mamba in zip(self.norms, self.mambas, strict=True):
            tok = tok + mamba(norm(tok))
        return self.out_norm(tok).mean(dim=1)


def _chunks(batch: int, frames: int, chunk: int | None) -> list[tuple[slice, slice]]:
    """(batch slice, frame slice) blocks of at most ``chunk`` frame pairs (None: one block).

    Whole clips are grouped when ``chunk`` holds one or more of them; otherwise each clip
    is cut into runs of ``chunk`` frames.
    """
    if chunk is None or chunk >= batch * frames:
        return [(slice(0, batch), slice(0, frames))]
    if chunk >= frames:
        per = chunk // frames
        return [(slice(b, min(b + per, batch)), slice(0, frames)) for b in range(0, batch, per)]
    return [
        (slice(b, b + 1), slice(t, min(t + chunk, frames)))
        for b in range(batch)
        for t in range(0, frames, chunk)
    ]


def _join(blocks: list[Tensor], batch: int, frames: int) -> Tensor:
    """Reassemble (b, t, d) blocks from :func:`_chunks` into (batch, frames, d)."""
    if blocks[0].shape[1] == frames:  # whole clips
        return torch.cat(blocks, dim=0)
    per_clip = -(-frames // blocks[0].shape[1])
    rows = [torch.cat(blocks[k : k + per_clip], dim=1) for k in range(0, len(blocks), per_clip)]
    return torch.cat(rows, dim=0)


class PTLoss(nn.Module):
    """PT-Loss quality model: ``score = model(reference, distorted)``, higher is better.

    Args:
        channels: feature channels of the four extractor levels.
        d_models: Mamba width per level.
        depth: Mamba layers per level.
        d_state: Mamba state size.
        hidden: width of the fusion MLP.
        scan_method: selective-scan implementation (see :func:`selective_scan`).
        frame_chunk: frame pairs sent through the spatial extractor at once (None: all).
            Results do not depend on it; small chunks keep the working set in cache, so
            the time stays linear in the number of frames.
        magnitude: add the feature-norm log ratio of D to R to every level's tokens (see
            the module docstring); False is the architecture of checkpoints without it.

    Example:
        >>> model = PTLoss()
        >>> r = torch.rand(2, 3, 12, 256, 256); d = (r + 0.05 * torch.randn_like(r)).clamp(0, 1)
        >>> model(r, d).shape
        torch.Size([2])
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 192),
        d_models: Sequence[int] = (16, 32, 64, 144),
        depth: int = 2,
        d_state: int = 16,
        hidden: int = 128,
        *,
        scan_method: ScanMethod = "auto",
        frame_chunk: int | None = 2,
        magnitude: bool = False,
    ):
        super().__init__()
        if frame_chunk is not None and frame_chunk < 1:
            raise invalid("frame_chunk", frame_chunk, "None or an integer >= 1")
        self.frame_chunk = frame_chunk
        if len(channels) != len(d_models) or not channels:
            raise invalid(
                "d_models", tuple(d_models), f"one width per level ({len(channels)} levels)"
            )
        if depth < 1:
            raise invalid("depth", depth, "an integer >= 1")
        self.config = dict(
            channels=tuple(channels),
            d_models=tuple(d_models),
            depth=depth,
            d_state=d_state,
            hidden=hidden,
            magnitude=magnitude,
        )
        self.extractor = FeatureExtractor(3, channels)
        self.levels = nn.ModuleList(
            _LevelTemporal(c, m, depth, d_state, scan_method, magnitude)
            for c, m in zip(channels, d_models, strict=True)
        )
        self.head = nn.Sequential(nn.Linear(sum(d_models), hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, reference: Tensor, distorted: Tensor) -> Tensor:
        """Patch scores of (reference, distorted) pairs.

        Args:
            reference: R, (B, 3, T, H, W) or (B, 3, H, W), RGB in [0, 1].
            distorted: D, same shape.

        Returns:
            (B,) scores, higher is better.
        """
        reference, distorted = check_patch_pair(
            reference, distorted, min_size=self.extractor.min_size
        )
        b, _, t, h, w = reference.shape
        tokens: list[list[Tensor]] = [[] for _ in self.levels]
        # Frame pairs (b, t) in order b-major; chunks never copy the whole clip.
        for bs, ts in _chunks(b, t, self.frame_chunk):
            ref = reference[bs, :, ts].transpose(1, 2).reshape(-1, 3, h, w)
            dist = distorted[bs, :, ts].transpose(1, 2).reshape(-1, 3, h, w)
            n = ref.shape[0]
            feats = self.extractor(torch.cat([ref, dist]))
            for k, (level, f) in enumerate(zip(self.levels, feats, strict=True)):
                tokens[k].append(
                    level.tokens(f[:n], f[n:]).reshape(bs.stop - bs.start, ts.stop - ts.start, -1)
                )
        vecs = [level(_join(tok, b, t)) for level, tok in zip(self.levels, tokens, strict=True)]
        return self.head(torch.cat(vecs, dim=1)).squeeze(1)

    def score_clip(
        self,
        reference: Tensor,
        distorted: Tensor,
        *,
        patch: tuple[int, int, int] = (12, 256, 256),
        temperature: float = 1.0,
    ) -> Tensor:
        """Clip scores: tile into patches, score each, pool with :func:`pool_patch_scores`.

        Args:
            reference: R, (B, 3, T, H, W) RGB in [0, 1].
            distorted: D, same shape.
            patch: (frames, height, width) of the tiles.
            temperature: soft-minimum temperature.

        Returns:
            (B,) clip scores.
        """
        reference, distorted = check_patch_pair(reference, distorted)
        r, d = tile_patches(reference, patch), tile_patches(distorted, patch)
        b, p = r.shape[:2]
        scores = self(r.flatten(0, 1), d.flatten(0, 1)).reshape(b, p)
        return pool_patch_scores(scores, temperature=temperature)
