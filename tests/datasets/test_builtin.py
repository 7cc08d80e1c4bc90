"""The built-in mini dataset: deterministic, distinct natural content, honest options."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench import datasets
from vqabench.datasets import content_hash
from vqabench.errors import ConfigError, DatasetError
from vqabench.io.video import read_all


@pytest.mark.slow
def test_mini_is_deterministic_and_varied(tmp_path, monkeypatch):
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "a"))
    first = datasets.load("mini", frames=4, size=(64, 36), work_dir=tmp_path)
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "b"))
    second = datasets.load("mini", frames=4, size=(64, 36), work_dir=tmp_path)
    assert len(first) >= 6
    assert [content_hash(s.source.path) for s in first] == [
        content_hash(s.source.path) for s in second]
    lumas = [read_all(s.source).y.astype(float) for s in first]
    for s, y in zip(first, lumas, strict=True):
        assert (s.source.width, s.source.height, s.source.frames) == (64, 36, 4)
        assert y.std() > 5, f"{s.name} is nearly flat"
        assert np.abs(np.diff(y, axis=0)).mean() > 0.2, f"{s.name} does not move"
    means = [y.mean() for y in lumas]
    assert len({round(m) for m in means}) >= 6  # different content, not copies


def test_mini_rejects_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="size='63x36' is not allowed"):
        datasets.load("mini", size=(63, 36), work_dir=tmp_path)
    with pytest.raises(ConfigError, match="frames=500"):
        datasets.load("mini", frames=500, work_dir=tmp_path)


def test_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError, match="did you mean 'mini'"):
        datasets.load("mimi", work_dir=tmp_path)
