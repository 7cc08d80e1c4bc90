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
    AUGMENTATIONS,
    REQUIRED_COLUMNS,
    PairsDataset,
    dihedral,
    ranking_loss,
    sample_pairs,
    split_by_source,
    train,
)

NOISE = (0, 12, 24, 48, 96)  # noise sigma of D; label vmaf_sd = 100 - 0.8 * sigma

SMALL = dict(
    model_config={"depth": 1, "channels": (8, 16, 16, 16), "d_models": (8, 8, 16, 16), "hidden": 16}
)


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
            rows.append(
                {
                    "file": name,
                    "source": f"src{s}",
                    "reference": f"src{s}_r",
                    "codec": "x264",
                    "qp": 22 + 5 * k,
                    "x": 0,
                    "y": 0,
                    "t0": 0,
                    "vmaf_sd": 100 - 0.8 * sigma,
                    "vmaf_rd": 100.0,
                    "psnr_sd": 50 - sigma / 4,
                    "psnr_rd": 50.0,
                }
            )
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
    result = train(
        "pt_loss",
        pairs_dir,
        out,
        epochs=3,
        steps_per_epoch=6,
        batch_size=4,
        lr=3e-3,
        seed=0,
        finetune_epochs=1,
        device="cpu",
        **SMALL,
    )
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
    kw = dict(
        steps_per_epoch=2, batch_size=2, lr=1e-3, seed=3, finetune_epochs=0, device="cpu", **SMALL
    )
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
    kw = dict(epochs=2, steps_per_epoch=2, batch_size=2, lr=1e-3, seed=5, device="cpu", **SMALL)
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
    result = train(
        "rankdvqa_ugc",
        pairs_dir,
        out,
        epochs=1,
        steps_per_epoch=1,
        batch_size=2,
        lr=1e-3,
        device="cpu",
        model_config=small_rank,
    )
    assert result.model.frames == 4  # taken from the patches
    with pytest.raises(ConfigError, match="rankdvqa_ugc.*not 'pt_loss'"):
        train(
            "pt_loss",
            pairs_dir,
            out,
            epochs=1,
            steps_per_epoch=1,
            batch_size=2,
            lr=1e-3,
            device="cpu",
        )
    with pytest.raises(ConfigError, match="finetune_epochs"):
        train(
            "pt_loss",
            pairs_dir,
            tmp_path / "x.pt",
            epochs=1,
            finetune_epochs=2,
            steps_per_epoch=1,
            batch_size=2,
            lr=1e-3,
        )


@pytest.mark.slow
def test_one_epoch_is_the_ranking_stage_and_reports_progress(pairs_dir, tmp_path):
    """Issue 18 item 6: ``--epochs 1`` used to run only the 0.1x-LR fine-tune."""
    seen = []
    result = train(
        "pt_loss",
        pairs_dir,
        tmp_path / "one.pt",
        epochs=1,
        steps_per_epoch=3,
        batch_size=2,
        lr=1e-3,
        seed=0,
        finetune_epochs=1,
        device="cpu",
        progress=lambda done, total: seen.append((done, total)),
        **SMALL,
    )
    assert [h["stage"] for h in result.history] == ["mixed"]
    assert result.history[0]["lr"] == pytest.approx(1e-3)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_dihedral_codes_are_numpys_eight_square_symmetries():
    clip = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(1, 2, 3, 4, 4)
    a = clip[0].numpy()
    by_numpy = {  # rotations act on the last two axes (H, W); time and channels stay
        0: a,
        1: a[..., ::-1],
        2: a[..., ::-1, :],
        3: np.rot90(a, 2, axes=(-2, -1)),
        4: np.swapaxes(a, -1, -2),
        5: np.rot90(a, -1, axes=(-2, -1)),
        6: np.rot90(a, 1, axes=(-2, -1)),
        7: np.rot90(np.swapaxes(a, -1, -2), 2, axes=(-2, -1)),
    }
    for code, want in by_numpy.items():
        np.testing.assert_array_equal(dihedral(clip, [code])[0].numpy(), want, err_msg=code)
    assert len({dihedral(clip, [c]).numpy().tobytes() for c in range(8)}) == 8
    batch = torch.cat([clip, clip + 1])
    np.testing.assert_array_equal(
        dihedral(batch, [1, 4]).numpy(), np.stack([by_numpy[1], by_numpy[4] + 1])
    )


def test_dihedral_and_augment_refuse_what_they_cannot_do(pairs_dir, tmp_path):
    clip = torch.zeros(1, 3, 2, 4, 6)
    with pytest.raises(ConfigError, match="codes"):
        dihedral(clip, [8])
    with pytest.raises(ConfigError, match="non-square"):
        dihedral(clip, [4])
    with pytest.raises(ConfigError, match="one per clip"):
        dihedral(clip, [0, 0])
    assert dihedral(clip, [3]).shape == clip.shape  # flips alone suit any shape
    with pytest.raises(ConfigError, match="augment"):
        train(
            "pt_loss",
            pairs_dir,
            tmp_path / "x.pt",
            epochs=1,
            steps_per_epoch=1,
            augment="flip",
            device="cpu",
            **SMALL,
        )
    assert set(AUGMENTATIONS) == {"none", "transpose", "dihedral"}


@pytest.mark.slow
def test_augmented_training_samples_the_same_pairs_and_is_stored(pairs_dir, tmp_path):
    kw = dict(
        epochs=1,
        steps_per_epoch=3,
        batch_size=4,
        lr=1e-3,
        seed=1,
        finetune_epochs=0,
        device="cpu",
        **SMALL,
    )
    seen: dict[str, list] = {"none": [], "dihedral": []}
    original = PairsDataset.batch

    def spy(mode):
        def batch(self, indices):
            seen[mode].append(list(indices))
            return original(self, indices)

        return batch

    for mode in seen:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(PairsDataset, "batch", spy(mode))
            train("pt_loss", pairs_dir, tmp_path / f"{mode}.pt", augment=mode, **kw)
    train_calls = slice(0, 3)  # the validation scoring follows the 3 steps
    assert seen["none"][train_calls] == seen["dihedral"][train_calls]
    a = torch.load(tmp_path / "none.pt", weights_only=True)
    b = torch.load(tmp_path / "dihedral.pt", weights_only=True)
    assert (a["train_config"]["augment"], b["train_config"]["augment"]) == ("none", "dihedral")
    assert any(not torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_transpose_keeps_the_vmaf_label_and_a_flip_does_not(tmp_path):
    """Why ``augment="transpose"`` is label-exact and ``"dihedral"`` is not (libvmaf itself)."""
    import cv2
    from skimage import data

    from vqabench.io.video import YuvFrame, write_y4m
    from vqabench.runner.ugc import video_quality

    luma = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2YUV_I420)[:512]
    rng = np.random.default_rng(0)
    s = np.stack([luma[100 + 2 * t : 164 + 2 * t, 150 + 3 * t : 214 + 3 * t] for t in range(6)])
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.2) for f in s])
    d = np.clip(blurred + rng.normal(0, 3, s.shape), 0, 255).astype(np.uint8)
    grey = np.full((32, 32), 128, np.uint8)

    def vmaf_sd(code: int) -> float:
        def write(name, planes):
            clip = dihedral(torch.from_numpy(planes)[None, None], [code])[0, 0].numpy()
            return write_y4m(
                tmp_path / f"{name}{code}.y4m",
                [YuvFrame(f, grey, grey) for f in clip],
                width=64,
                height=64,
                fps=25,
            )

        return video_quality(write("s", s), write("r", s), write("d", d))["vmaf_sd"]

    upright, transposed, mirrored = vmaf_sd(0), vmaf_sd(4), vmaf_sd(1)
    assert abs(transposed - upright) < 0.05  # measured 0.003
    assert abs(mirrored - upright) > 1.0  # measured 3.4: the decimation phase moves


def test_cosine_schedule_by_hand():
    from vqabench.models.ranking import _cosine_lr

    assert _cosine_lr(0, 5, 1.0, 0.1) == pytest.approx(1.0)
    assert _cosine_lr(2, 5, 1.0, 0.1) == pytest.approx(0.55)  # half way: the mean
    assert _cosine_lr(4, 5, 1.0, 0.1) == pytest.approx(0.1)
    assert _cosine_lr(1, 5, 1.0, 0.1) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 4)))


@pytest.mark.slow
def test_cosine_training_ends_the_ranking_stage_at_the_fine_tuning_rate(pairs_dir, tmp_path):
    seen = []

    def progress(done, total):
        seen.append(done)

    result = train(
        "pt_loss",
        pairs_dir,
        tmp_path / "c.pt",
        epochs=3,
        steps_per_epoch=2,
        batch_size=2,
        lr=1e-3,
        seed=0,
        finetune_epochs=1,
        device="cpu",
        lr_schedule="cosine",
        progress=progress,
        **SMALL,
    )
    # ranking stage: 4 steps from 1e-3 to 1e-4; epoch 1 ends at step 1, epoch 2 at step 3
    lrs = [h["lr"] for h in result.history]
    assert lrs == pytest.approx([1e-4 + 4.5e-4 * (1 + math.cos(math.pi / 3)), 1e-4, 1e-4])
    assert (
        torch.load(tmp_path / "c.pt", weights_only=True)["train_config"]["lr_schedule"] == "cosine"
    )
    with pytest.raises(ConfigError, match="lr_schedule='step'"):
        train(
            "pt_loss",
            pairs_dir,
            tmp_path / "x.pt",
            epochs=1,
            steps_per_epoch=1,
            lr_schedule="step",
            device="cpu",
            **SMALL,
        )
