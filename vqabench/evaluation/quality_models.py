"""How well a quality model ranks distorted patches by VMAF(S, D), next to baselines that
see only the non-pristine reference: PSNR(R, D), SSIM(R, D) and VMAF(R, D).

All are Spearman rank correlations (SROCC) with the label ``vmaf_sd`` over the pairs of a
pairs directory (optionally only some sources, e.g. ones held out of training). SSIM(R, D)
is the registry's ``ssim`` (luma, piq, full resolution) on the patches' RGB, converted to
YUV by the project's one RGB -> YUV definition (BT.709, limited range).

With ``bootstrap``, each SROCC gets a 95 % interval and the model's SROCC minus each
baseline's a paired interval and p-value, by resampling whole sources (patches cut from one
source are not independent; see :mod:`vqabench.evaluation.correlation`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from vqabench import metrics
from vqabench.errors import invalid
from vqabench.evaluation.correlation import compare_metrics, correlation
from vqabench.models.ranking import PairsDataset, score_pairs

__all__ = ["ranking_srocc", "ssim_rd"]


def ssim_rd(data: PairsDataset, index: int) -> float:
    """The ``ssim`` metric of D against R of one pair (mean over frames)."""
    with np.load(data.root / data.rows[index]["file"]) as npz:
        ref, dist = npz["reference"], npz["distorted"]  # uint8 (T, H, W, 3) RGB
    return metrics.create("ssim").compute(ref, dist, fmt="rgb", pix_fmt="yuv444p").value


def ranking_srocc(
    pairs_dir: str | Path,
    *,
    model: torch.nn.Module | None = None,
    sources: Sequence[str] | None = None,
    batch_size: int = 16,
    device: str = "cpu",
    codecs: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> dict:
    """SROCC against ``vmaf_sd`` of the model (if given) and of the (R, D) baselines.

    ``progress(done, total)`` is called as pairs are scored (the model, then SSIM).

    Args:
        sources, codecs: score only these sources / the D of these codecs (or defects),
            as :class:`~vqabench.models.ranking.PairsDataset` selects them.
        bootstrap: resamples of the source-level bootstrap (0: no intervals); needs two
            sources or more.
        seed: seed of the resampling.

    Returns:
        ``{"model": ..., "psnr_rd": ..., "ssim_rd": ..., "vmaf_rd": ..., "pairs": n,
        "sources": k}`` (``model`` only when a model is given). With ``bootstrap`` also
        ``"intervals": {predictor: [low, high]}`` and, with a model,
        ``"differences": {baseline: {"difference", "ci": [low, high], "p_bootstrap"}}``
        of the model's SROCC minus the baseline's.
    """
    if not isinstance(bootstrap, int) or bootstrap < 0:
        raise invalid("bootstrap", bootstrap, "an integer >= 0 (number of resamples)")
    data = PairsDataset(pairs_dir, sources=sources, codecs=codecs)
    if bootstrap and len(set(data.sources)) < 2:
        raise invalid(
            "bootstrap",
            bootstrap,
            "0 for pairs of one source (the bootstrap resamples whole sources)",
        )
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
    baselines = {
        column: np.array([float(r[column]) for r in data.rows]) for column in ("psnr_rd", "vmaf_rd")
    }
    for column, values in baselines.items():
        out[column] = float(spearmanr(values, labels).statistic)
    ssim_values = []
    for i in range(len(data)):
        ssim_values.append(ssim_rd(data, i))
        if progress is not None:
            progress(done + i + 1, total)
    baselines["ssim_rd"] = np.array(ssim_values)
    out["ssim_rd"] = float(spearmanr(baselines["ssim_rd"], labels).statistic)
    if bootstrap:
        predictors = {
            "psnr_rd": baselines["psnr_rd"],
            "ssim_rd": baselines["ssim_rd"],
            "vmaf_rd": baselines["vmaf_rd"],
        }
        if model is not None:
            predictors = {"model": scores, **predictors}
        out["intervals"] = {
            name: list(
                correlation(values, labels, bootstrap=bootstrap, seed=seed, groups=data.sources).ci[
                    "srocc"
                ]
            )
            for name, values in predictors.items()
        }
        if model is not None:
            out["differences"] = {}
            for name in ("psnr_rd", "ssim_rd", "vmaf_rd"):
                c = compare_metrics(
                    scores,
                    predictors[name],
                    labels,
                    bootstrap=bootstrap,
                    seed=seed,
                    groups=data.sources,
                )
                out["differences"][name] = {
                    "difference": c.difference,
                    "ci": list(c.ci),
                    "p_bootstrap": c.p_bootstrap,
                }
    return out
