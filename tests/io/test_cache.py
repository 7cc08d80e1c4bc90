"""vqabench/io/cache.py: where generated files are cached."""

from __future__ import annotations

from pathlib import Path

from vqabench.datasets.base import cache_dir as datasets_cache_dir
from vqabench.io.cache import cache_dir


def test_cache_dir_is_the_environment_folder_else_under_home(monkeypatch, tmp_path):
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("VQABENCH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == Path(tmp_path / "home" / ".cache" / "vqabench")
    assert datasets_cache_dir is cache_dir  # one definition, re-exported for datasets
