"""Held-out evaluation: SROCC of baselines against VMAF(S, D), checked with scipy/skimage."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

from tests.models.test_ranking import SMALL, make_pairs_dir
from vqabench.errors import ConfigError, DatasetError
from vqabench.evaluation.quality_models import ranking_srocc, ssim_rd
from vqabench.models import create_model
from vqabench.models.ranking import PairsDataset


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = make_pairs_dir(tmp_path_factory.mktemp("pairs"), n_sources=3)
    # give the baselines values that are not constant: psnr_rd falls with the label's rank
    rows = list(csv.DictReader(open(root / "manifest.csv")))
    for i, row in enumerate(rows):
        row["psnr_rd"] = str(50 - float(row["qp"]) / 2 + (i % 3) * 0.1)
        row["vmaf_rd"] = str(90 - i % 5)
        if i % 5 == 4:  # the noisiest D of each source stands for an off-codec D
            row["codec"] = "noise"
    with open(root / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.mark.slow
def test_baselines_equal_scipy_on_the_manifest(pairs):
    got = ranking_srocc(pairs)
    rows = list(csv.DictReader(open(pairs / "manifest.csv")))
    labels = [float(r["vmaf_sd"]) for r in rows]
    for column in ("psnr_rd", "vmaf_rd"):
        expected = spearmanr([float(r[column]) for r in rows], labels).statistic
        assert got[column] == pytest.approx(expected, abs=1e-12)
    assert got["pairs"] == 15 and got["sources"] == 3


def test_ssim_rd_is_the_ssim_metric_and_matches_skimage(pairs):
    """SSIM(R, D) is the registry's ssim on the patch (luma of the project's RGB -> YUV),
    checked against scikit-image's SSIM (Gaussian 11x11, sigma 1.5) on the same luma."""
    from vqabench.io.video import rgb_to_yuv

    data = PairsDataset(pairs)
    with np.load(pairs / data.rows[7]["file"]) as npz:
        ry, dy = (
            [rgb_to_yuv(f / 255.0, pix_fmt="yuv444p").y.astype(float) for f in npz[k]]
            for k in ("reference", "distorted")
        )
    expected = np.mean(
        [
            structural_similarity(
                a,
                b,
                data_range=255.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for a, b in zip(ry, dy, strict=True)
        ]
    )
    assert ssim_rd(data, 7) == pytest.approx(expected, abs=2e-3)


@pytest.mark.slow
def test_model_score_and_source_filter(pairs):
    model = create_model("pt_loss", **SMALL["model_config"])
    seen = []
    got = ranking_srocc(
        pairs, model=model, sources=["src0", "src2"], progress=lambda d, t: seen.append((d, t))
    )
    assert got["pairs"] == 10 and got["sources"] == 2
    assert seen == [(10, 20), *[(10 + i, 20) for i in range(1, 11)]]  # model, then SSIM
    # the model's SROCC is scipy's on the model's own scores of those pairs
    import torch

    data = PairsDataset(pairs, sources=["src0", "src2"])
    with torch.no_grad():
        scores = [float(model(*(x[None] for x in data[i]))) for i in range(len(data))]
    assert got["model"] == pytest.approx(spearmanr(scores, data.vmaf_sd).statistic, abs=1e-9)
    with pytest.raises(DatasetError, match=r"sources=\['nope'\] are not in"):
        ranking_srocc(pairs, sources=["nope"])


def test_codec_filter_scores_only_those_d(pairs):
    got = ranking_srocc(pairs, codecs=["x264"])
    rows = [r for r in csv.DictReader(open(pairs / "manifest.csv")) if r["codec"] == "x264"]
    labels = [float(r["vmaf_sd"]) for r in rows]
    assert got["pairs"] == len(rows) == 12
    for column in ("psnr_rd", "vmaf_rd"):
        expected = spearmanr([float(r[column]) for r in rows], labels).statistic
        assert got[column] == pytest.approx(expected, abs=1e-12)
    assert len(PairsDataset(pairs, codecs=["noise"], sources=["src1"])) == 1
    with pytest.raises(
        DatasetError,
        match=r"codecs=\['fog'\] are not in .*present: noise, "
        "x264",
    ):
        PairsDataset(pairs, codecs=["fog", "x264"])


@pytest.mark.slow
def test_source_bootstrap_is_correlations_and_compare_metrics_by_source(pairs):
    import torch

    from vqabench.evaluation.correlation import compare_metrics, correlation

    model = create_model("pt_loss", **SMALL["model_config"])
    got = ranking_srocc(pairs, model=model, bootstrap=200, seed=3)
    data = PairsDataset(pairs)
    with torch.no_grad():
        scores = np.array([float(model(*(x[None] for x in data[i]))) for i in range(len(data))])
    vmaf_rd = [float(r["vmaf_rd"]) for r in data.rows]
    want = correlation(scores, data.vmaf_sd, bootstrap=200, seed=3, groups=data.sources)
    np.testing.assert_allclose(got["intervals"]["model"], want.ci["srocc"], atol=1e-6)
    want_rd = correlation(vmaf_rd, data.vmaf_sd, bootstrap=200, seed=3, groups=data.sources)
    assert got["intervals"]["vmaf_rd"] == list(want_rd.ci["srocc"])
    diff = compare_metrics(
        scores, vmaf_rd, data.vmaf_sd, bootstrap=200, seed=3, groups=data.sources
    )
    assert got["differences"]["vmaf_rd"]["difference"] == pytest.approx(diff.difference, abs=1e-6)
    assert set(got["differences"]) == {"psnr_rd", "ssim_rd", "vmaf_rd"}
    assert "differences" not in ranking_srocc(pairs, bootstrap=50)  # no model, no differences
    with pytest.raises(ConfigError, match="resamples whole sources"):
        ranking_srocc(pairs, sources=["src0"], bootstrap=50)
    with pytest.raises(ConfigError, match="bootstrap=-1"):
        ranking_srocc(pairs, bootstrap=-1)
