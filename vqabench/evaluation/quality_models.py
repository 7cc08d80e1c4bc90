"""How well a quality model ranks distorted patches by VMAF(S, D), next to baselines that
see only the non-pristine reference: PSNR(R, D), SSIM(R, D) and VMAF(R, D).

All are Spearman rank correlations (SROCC) with the label ``vmaf_sd`` over the pairs of a
pairs directory (optionally only some sources, e.g. ones held out of training). SSIM(R, D)
is the registry's ``ssim`` (luma, piq, full resolution) on the patches' RGB, converted to
YUV by the project's one RGB -> YUV definition (BT.709, limited range).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from vqabench import metrics
from vqabench.models.ranking import PairsDataset, score_pairs

__all__ = ["ranking_srocc", "ssim_rd"]


def ssim_rd(data: PairsDataset, index: int) -> float:
    """The ``ssim`` metric of D against R of one pair (mean over frames)."""
    with np.load(data.root / data.rows[index]["file"]) as npz:
        ref, dist = npz["reference"], npz["distorted"]  # uint8 (T, H, W, 3) RGB
    return metrics.create("ssim").compute(ref, dist, fmt="rgb", pix_fmt="yuv444p").value


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
        scores = score_pairs(model, data, list(range(len(data))), batch_size, torch.device(device))
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
