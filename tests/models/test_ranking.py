"""Tests of vqabench.models.ranking on a tiny synthetic pairs directory."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vqabench.errors import ConfigError, DatasetError
from vqabench.models import load_checkpoint
from vqabench.models.ranking import (
    REQUIRED_COLUMNS,
    PairsDataset,
    ranking_loss,
    sample_pairs,
    split_by_source,
    train,
)

NOISE = (0, 12, 24, 48, 96)  # noise sigma of D; label vmaf_sd = 100 - 0.8 * sigma

SMALL = dict(model_config={"depth": 1, "channels": (8, 16, 16, 16), "d_models": (8, 8, 16, 16),
                          "hidden": 16})


def make_pairs_dir(root: Path, n_sources: int = 5, size: int = 32, frames: int = 4) -> Path:
    """Sources of random texture; D = R + Gaussian noise, labels decreasing with the noise."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(n_sources):
        ref = rng.integers(40, 216, (frames, size, size, 3)).astype(np.uint8)
        for k, sigma in enumerate(NOISE):
            dist = np.clip(ref + rng.normal(0, sigma, ref.shape), 0, 255).astype(np.uint8)
            name = f"src{s}_q{k}.npz"
            np.savez(root / name, reference=ref, distorted=dist)
            rows.append({"file": name, "source": f"src{s}", "reference": f"src{s}_r",
                         "codec": "x264", "qp": 22 + 5 * k, "x": 0, "y": 0, "t0": 0,
                         "vmaf_sd": 100 - 0.8 * sigma, "vmaf_rd": 100.0,
                         "psnr_sd": 50 - sigma / 4, "psnr_rd": 50.0})
    with (root / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(REQUIRED_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory) -> Path:
    return make_pairs_dir(tmp_path_factory.mktemp("pairs"))


def test_dataset_reads_npz_as_float_channels_first(pairs_dir):
    data = PairsDataset(pairs_dir)
    assert len(data) == 25
    ref, dist = data[0]
    raw = np.load(pairs_dir / "src0_q0.npz")["reference"]
    assert ref.shape == (3, 4, 32, 32) and ref.dtype == torch.float32
    assert ref[1, 2, 3, 4].item() == pytest.approx(raw[2, 3, 4, 1] / 255.0)
    torch.testing.assert_close(dist, ref)  # sigma 0


def test_dataset_errors(tmp_path, pairs_dir):
    with pytest.raises(DatasetError, match="no manifest.csv"):
        PairsDataset(tmp_path)
    (tmp_path / "manifest.csv").write_text("file,source\na.npz,s\n")
    with pytest.raises(DatasetError, match="lacks columns.*vmaf_sd"):
        PairsDataset(tmp_path)


def test_split_by_source_never_splits_a_source():
    sources = [f"s{k % 7}" for k in range(70)]
    train_idx, val_idx = split_by_source(sources, 0.3, seed=1)
    assert {sources[i] for i in train_idx}.isdisjoint({sources[i] for i in val_idx})
    assert len({sources[i] for i in val_idx}) == round(0.3 * 7) == 2
    assert sorted(train_idx + val_idx) == list(range(70))
    assert split_by_source(["a"] * 3, 0.5, seed=0) == ([0, 1, 2], [])
    with pytest.raises(ConfigError, match="val_fraction"):
        split_by_source(sources, 1.0, seed=0)


@pytest.mark.slow
def test_sample_pairs_mix_targets_and_tie_rule():
    sources = [f"s{k // 4}" for k in range(20)]
    labels = np.array([50.0, 50.2, 60.0, 70.0] * 5)
    rng = np.random.default_rng(0)
    i, j, target = sample_pairs(rng, range(20), sources, labels, 2000, cross_fraction=0.2)
    cross = np.array([sources[a] != sources[b] for a, b in zip(i, j, strict=True)])
    assert abs(cross.mean() - 0.2) < 0.03
    assert np.all(np.abs(labels[i] - labels[j]) >= 0.5)  # 50 vs 50.2 is a tie: never drawn
    np.testing.assert_array_equal(target, (labels[i] > labels[j]).astype(np.float32))
    i, j, _ = sample_pairs(rng, range(20), sources, labels, 200, cross_fraction=0.0)
    assert all(sources[a] == sources[b] for a, b in zip(i, j, strict=True))
    with pytest.raises(DatasetError, match="tie_margin"):
        sample_pairs(rng, range(20), sources, np.zeros(20), 1, cross_fraction=0.0)


def test_ranking_loss_by_hand():
    s1, s2 = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0])
    target = torch.tensor([1.0, 0.0])
    want = (-math.log(1 / (1 + math.exp(-1.0))) + math.log(2.0)) / 2
    assert ranking_loss(s1, s2, target).item() == pytest.approx(want)


@pytest.mark.slow
def test_training_learns_and_checkpoint_reloads(pairs_dir, tmp_path):
    out = tmp_path / "pt.pt"
    result = train("pt_loss", pairs_dir, out, epochs=3, steps_per_epoch=6, batch_size=4,
                   lr=3e-3, seed=0, finetune_epochs=1, device="cpu", **SMALL)
    losses = [h["train_loss"] for h in result.history]
    assert [h["stage"] for h in result.history] == ["mixed", "mixed", "finetune"]
    assert result.history[-1]["lr"] == pytest.approx(3e-4)
    assert losses[-1] < losses[0] < 0.8  # chance level is ln 2 = 0.69 at the start
    assert result.history[-1]["val_srocc"] > 0.8  # noise level is trivially learnable
    assert [p.name for p in tmp_path.iterdir()] == ["pt.pt"]  # no temporary files left

    reloaded = load_checkpoint(out)
    data = PairsDataset(pairs_dir)
    ref, dist = data.batch(range(10))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ref, dist), result.model(ref, dist))
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["epoch"] == 3 and ckpt["train_config"]["batch_size"] == 4
    assert "state" in ckpt["optimizer"]


@pytest.mark.slow
def test_resume_continues_from_stored_epoch(pairs_dir, tmp_path):
    kw = dict(steps_per_epoch=2, batch_size=2, lr=1e-3, seed=3, finetune_epochs=0,
              device="cpu", **SMALL)
    straight = train("pt_loss", pairs_dir, tmp_path / "a.pt", epochs=2, **kw)
    first = train("pt_loss", pairs_dir, tmp_path / "b.pt", epochs=1, **kw)
    assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 1
    resumed = train("pt_loss", pairs_dir, tmp_path / "b.pt", epochs=2, **kw)
    assert resumed.history[0] == first.history[0]  # epoch 1 was not run again
    assert resumed.history == straight.history
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, msg=name)
    # A finished run resumes to itself without training.
    again = train("pt_loss", pairs_dir, tmp_path / "b.pt", epochs=2, **kw)
    assert again.history == resumed.history
    for name, value in resumed.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[name], value), name


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(pairs_dir, tmp_path, monkeypatch):
    kw = dict(epochs=2, steps_per_epoch=2, batch_size=2, lr=1e-3, seed=5, device="cpu",
              **SMALL)
    straight = train("pt_loss", pairs_dir, tmp_path / "a.pt", **kw)

    import vqabench.models.ranking as ranking

    saves = []
    real_save = ranking._atomic_save

    def crash_after_first_epoch(obj, path):
        real_save(obj, path)
        saves.append(obj["epoch"])
        raise KeyboardInterrupt

    monkeypatch.setattr(ranking, "_atomic_save", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        train("pt_loss", pairs_dir, tmp_path / "b.pt", **kw)
    monkeypatch.setattr(ranking, "_atomic_save", real_save)
    assert saves == [1]
    resumed = train("pt_loss", pairs_dir, tmp_path / "b.pt", **kw)
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    assert resumed.history[1] == straight.history[1]
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, msg=name)


@pytest.mark.slow
def test_resume_refuses_another_model(pairs_dir, tmp_path):
    out = tmp_path / "r.pt"
    small_rank = {"channels": (8, 8, 8, 8), "dims": (8, 8, 8, 8), "heads": (2, 2, 2, 2)}
    result = train("rankdvqa_ugc", pairs_dir, out, epochs=1, steps_per_epoch=1, batch_size=2,
                   lr=1e-3, device="cpu", model_config=small_rank)
    assert result.model.frames == 4  # taken from the patches
    with pytest.raises(ConfigError, match="rankdvqa_ugc.*not 'pt_loss'"):
        train("pt_loss", pairs_dir, out, epochs=1, steps_per_epoch=1, batch_size=2,
              lr=1e-3, device="cpu")
    with pytest.raises(ConfigError, match="finetune_epochs"):
        train("pt_loss", pairs_dir, tmp_path / "x.pt", epochs=1, finetune_epochs=2,
              steps_per_epoch=1, batch_size=2, lr=1e-3)


@pytest.mark.slow
def test_one_epoch_is_the_ranking_stage_and_reports_progress(pairs_dir, tmp_path):
    """Issue 18 item 6: ``--epochs 1`` used to run only the 0.1x-LR fine-tune."""
    seen = []
    result = train("pt_loss", pairs_dir, tmp_path / "one.pt", epochs=1, steps_per_epoch=3,
                   batch_size=2, lr=1e-3, seed=0, finetune_epochs=1, device="cpu",
                   progress=lambda done, total: seen.append((done, total)), **SMALL)
    assert [h["stage"] for h in result.history] == ["mixed"]
    assert result.history[0]["lr"] == pytest.approx(1e-3)
    assert seen == [(1, 3), (2, 3), (3, 3)]
