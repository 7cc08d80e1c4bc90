"""Sequences and the cache folder (vqabench/datasets/base.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vqabench.datasets.base import Sequence, cache_dir, content_hash


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("VQABENCH_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "vqabench"


def test_sequence_and_the_content_hash(tiny_video):
    seq = Sequence("tiny", tiny_video)
    assert dict(seq.metadata) == {}
    assert content_hash(seq.source.path) == hashlib.sha256(
        tiny_video.path.read_bytes()).hexdigest()
