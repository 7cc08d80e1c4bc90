"""export_checkpoint: what ships is small and scores like the training checkpoint."""

from __future__ import annotations

import pytest
import torch

from tests.models.test_ranking import SMALL, make_pairs_dir
from vqabench.models import export_checkpoint, load_checkpoint
from vqabench.models.ranking import PairsDataset, train


@pytest.mark.slow
def test_export_is_smaller_and_scores_the_same(tmp_path):
    pairs = make_pairs_dir(tmp_path, n_sources=3)
    cfg = {**SMALL["model_config"], "frame_chunk": None}
    full = tmp_path / "full.pt"
    train(
        "pt_loss",
        pairs,
        full,
        epochs=1,
        steps_per_epoch=2,
        batch_size=2,
        device="cpu",
        model_config=cfg,
    )
    small = export_checkpoint(full, tmp_path / "small.pt")
    assert small.stat().st_size < 0.5 * full.stat().st_size
    ckpt = torch.load(small, weights_only=True)
    assert "optimizer" not in ckpt and "frame_chunk" not in ckpt["model_config"]
    assert ckpt["trained_sources"] == ["src0", "src1", "src2"]  # training and validation
    assert all(v.dtype == torch.float16 for v in ckpt["model"].values() if v.is_floating_point())
    ref, dist = PairsDataset(pairs).batch(list(range(6)))
    with torch.no_grad():
        a = load_checkpoint(full)(ref, dist)
        b = load_checkpoint(small)(ref, dist)
    torch.testing.assert_close(a, b, atol=2e-2, rtol=2e-2)


@pytest.mark.slow
def test_int8_export_is_smaller_still_and_close(tmp_path):
    pairs = make_pairs_dir(tmp_path, n_sources=3)
    full = tmp_path / "full.pt"
    train("pt_loss", pairs, full, epochs=1, steps_per_epoch=2, batch_size=2, device="cpu", **SMALL)
    half = export_checkpoint(full, tmp_path / "half.pt")
    int8 = export_checkpoint(full, tmp_path / "int8.pt", int8=True)
    assert int8.stat().st_size < half.stat().st_size
    ckpt = torch.load(int8, weights_only=True)
    assert all(v.dtype == torch.int8 for v in ckpt["model_int8"].values())
    ref, dist = PairsDataset(pairs).batch(list(range(6)))
    with torch.no_grad():
        a = load_checkpoint(full)(ref, dist)
        b = load_checkpoint(int8)(ref, dist)
    torch.testing.assert_close(a, b, atol=5e-2, rtol=5e-2)
