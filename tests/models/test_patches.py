"""Patch geometry and the one source split (vqabench/models/patches.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.errors import ConfigError
from vqabench.models.patches import PatchSize, split_sources
from vqabench.models.ranking import split_by_source


def test_patch_size_parse_and_label():
    assert PatchSize.parse(" 64 x 32X12 ") == PatchSize(64, 32, 12)
    assert PatchSize(256, 256, 12).label == "256x256x12"
    with pytest.raises(ConfigError, match="positive integers"):
        PatchSize.parse("0x64x12")


def test_split_sources_by_hand():
    """n = 10, fractions (0.7, 0.15, 0.15): round(1.5) = 2 sources each for val and test
    (Python rounds half to even), the shuffle is numpy's default_rng(seed).permutation."""
    names = [f"s{i}" for i in range(10)]
    train, val, test = split_sources(names * 2, (0.7, 0.15, 0.15), seed=4)
    order = [sorted(names)[i] for i in np.random.default_rng(4).permutation(10)]
    assert val == set(order[:2]) and test == set(order[2:4]) and train == set(order[4:])
    # one source: it stays in training whatever the fractions
    assert split_sources(["a", "a"], (0.2, 0.4, 0.4), seed=0) == [{"a"}, set(), set()]
    # two sources: a non-zero fraction gets at least one, training keeps one, test gives first
    assert [len(g) for g in split_sources(["a", "b"], (0.2, 0.4, 0.4), seed=0)] == [1, 1, 0]


def test_training_split_is_the_same_split():
    sources = [f"s{i % 7}" for i in range(40)]
    train_idx, val_idx = split_by_source(sources, 0.3, seed=2)
    _, val = split_sources(sources, (0.7, 0.3), seed=2)
    assert {sources[i] for i in val_idx} == val and len(val) == round(0.3 * 7)
    assert sorted(train_idx + val_idx) == list(range(40))
