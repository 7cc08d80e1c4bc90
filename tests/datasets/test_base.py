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
    assert content_hash(seq.source.path) == hashlib.sha256(tiny_video.path.read_bytes()).hexdigest()


def test_conversion_steps_drop_what_changes_nothing(tmp_path):
    """Size and frame count equal to the file's own (from ``start``) are no step; a container
    is probed (its packet count is its frame count)."""
    from tests.conftest import make_video
    from vqabench.datasets.base import conversion_steps
    from vqabench.io.ffmpeg import run_ffmpeg

    video = make_video(tmp_path / "c.y4m", width=64, height=48, frames=5)
    run_ffmpeg(["-i", video.path, "-c:v", "ffv1", tmp_path / "c.mkv"])
    for path, as_is in ((video.path, video), (tmp_path / "c.mkv", None)):
        assert conversion_steps(path, as_is, size=(64, 48), frames=5) == (None, None)
        assert conversion_steps(path, as_is, size=(32, 24), frames=4) == ((32, 24), 4)
        assert conversion_steps(path, as_is, size=(64, 48), frames=3, start=2) == (None, None)
        assert conversion_steps(path, as_is, size=None, frames=5, start=1) == (None, 5)
