"""Patch geometry and the manifest helpers (the pairs are made by vqabench.runner.pairs,
tested in tests/runner/test_pairs.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench import datasets
from vqabench.datasets.patches import PatchSize, sample_positions, split_by_source
from vqabench.errors import ConfigError


@pytest.fixture(scope="module")
def mini64(tmp_path_factory: pytest.TempPathFactory) -> list[datasets.Sequence]:
    return datasets.load(
        "mini", frames=12, size=(64, 64), work_dir=tmp_path_factory.mktemp("mini64")
    )


def test_patch_parse_and_positions(mini64):
    assert PatchSize.parse("256x128x12") == PatchSize(256, 128, 12)
    with pytest.raises(ConfigError, match="WIDTHxHEIGHTxFRAMES"):
        PatchSize.parse("256x256")
    rng = np.random.default_rng(0)
    pos = sample_positions(rng, mini64[0].source, PatchSize(16, 16, 4), 500)
    xs, ys, ts = np.array(pos).T
    assert xs.min() == 0 and xs.max() == 48 and set(xs % 2) == {0}
    assert ys.max() == 48 and ts.min() == 0 and ts.max() == 8


def test_split_by_source():
    rows = [{"source": f"s{i}", "file": f"{i}_{k}.npz"} for i in range(10) for k in range(3)]
    parts = split_by_source(rows, fractions=(0.7, 0.15, 0.15), seed=0)
    src = {k: {r["source"] for r in v} for k, v in parts.items()}
    assert [len(src[k]) for k in ("train", "val", "test")] == [6, 2, 2]
    assert not (src["train"] & src["val"] or src["train"] & src["test"] or src["val"] & src["test"])
    assert sum(len(v) for v in parts.values()) == 30
    assert split_by_source(rows, seed=0) == parts
    assert split_by_source(rows, seed=1) != parts
    two = split_by_source(rows[:6], fractions=(0.7, 0.15, 0.15), seed=0)
    assert [len({r["source"] for r in two[k]}) for k in ("train", "val", "test")] == [1, 1, 0]
    with pytest.raises(ConfigError, match="summing to 1"):
        split_by_source(rows, fractions=(0.5, 0.2, 0.2))


def test_split_of_the_shipped_checkpoints_is_reproduced():
    """MODEL_CARD.md: split_by_source(manifest, fractions=(0.75, 0, 0.25), seed=0) on the 8
    mini sources held out Bikes and Chelsea for the shipped checkpoints' figures."""
    names = [
        "BigBuckBunny",
        "Bikes",
        "Carphone",
        "Astronaut",
        "Coffee",
        "Chelsea",
        "Rocket",
        "Motorcycle",
    ]
    parts = split_by_source([{"source": n} for n in names], (0.75, 0, 0.25), seed=0)
    assert [r["source"] for r in parts["test"]] == ["Bikes", "Chelsea"]
    assert parts["val"] == []
