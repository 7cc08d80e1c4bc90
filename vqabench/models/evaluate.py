"""How well a quality model ranks distorted patches by VMAF(S, D), next to baselines that
see only the non-pristine reference: PSNR(R, D), SSIM(R, D) and VMAF(R, D).

All are Spearman rank correlations (SROCC) with the label ``vmaf_sd`` over the pairs of a
pairs directory (optionally only some sources, e.g. ones held out of training).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from vqabench.models.ranking import PairsDataset, _scores

__all__ = ["ranking_srocc", "ssim_rd"]

_BT709 = torch.tensor([0.2126, 0.7152, 0.0722])


def ssim_rd(data: PairsDataset, index: int) -> float:
    """SSIM (piq, Gaussian window 11) of the luma of R and D of one pair, mean over frames."""
    import piq

    ref, dist = data[index]  # (3, T, H, W) in [0, 1]
    luma = [(_BT709[:, None, None, None] * x).sum(0)[:, None] for x in (ref, dist)]
    return float(piq.ssim(luma[1], luma[0], data_range=1.0, downsample=False,
                          reduction="mean"))


def ranking_srocc(pairs_dir: str | Path, *, model: torch.nn.Module | None = None,
                  sources: Sequence[str] | None = None, batch_size: int = 16,
                  device: str = "cpu",
                  progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """SROCC against ``vmaf_sd`` of the model (if given) and of the (R, D) baselines.

    ``progress(done, total)`` is called as pairs are scored (the model, then SSIM).

    Returns:
        ``{"model": ..., "psnr_rd": ..., "ssim_rd": ..., "vmaf_rd": ..., "pairs": n,
        "sources": k}`` (``model`` only when a model is given).
    """
    data = PairsDataset(pairs_dir, sources=sources)
    labels = data.vmaf_sd
    out: dict[str, float] = {"pairs": float(len(data)), "sources": float(len(set(data.sources)))}
    total = len(data) * (2 if model is not None else 1)
    done = 0
    if model is not None:
        model.eval()
        scores = _scores(model, data, list(range(len(data))), batch_size, torch.device(device))
        out["model"] = float(spearmanr(scores, labels).statistic)
        done = len(data)
        if progress is not None:
            progress(done, total)
    for column in ("psnr_rd", "vmaf_rd"):
        values = np.array([float(r[column]) for r in data.rows])
        out[column] = float(spearmanr(values, labels).statistic)
    ssim_values = []
    for i in range(len(data)):
        ssim_values.append(ssim_rd(data, i))
        if progress is not None:
            progress(done + i + 1, total)
    ssim = np.array(ssim_values)
    out["ssim_rd"] = float(spearmanr(ssim, labels).statistic)
    return out
