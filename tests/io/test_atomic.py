"""Atomic writes: all or nothing, no temp file left, permissions as a plain open() gives."""

from __future__ import annotations

import os

import pytest

from vqabench.io.atomic import atomic_path, atomic_write_text


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a" / "results.csv", "x\n")
    finally:
        os.umask(old)
    assert path.read_text() == "x\n"
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = atomic_write_text(tmp_path / "config.toml", "old\n")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
