"""The one content hasher (vqabench/io/hashing.py), checked against coreutils' sha256sum."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from vqabench.io.hashing import content_hash, file_sha256, text_sha256


def test_file_sha256_equals_sha256sum(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(3 << 20) + b"tail")  # several read blocks
    if shutil.which("sha256sum"):
        expected = subprocess.run(
            ["sha256sum", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    else:  # pragma: no cover - coreutils missing
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_sha256(path) == expected == content_hash(path)


def test_content_hash_follows_the_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one")
    first = content_hash(path)
    path.write_text("two!")  # new size and mtime: hashed again, not served from the memo
    assert content_hash(path) == hashlib.sha256(b"two!").hexdigest() != first
    with pytest.raises(FileNotFoundError):
        content_hash(tmp_path / "missing")


def test_text_sha256_joins_with_the_unit_separator():
    assert text_sha256("a", "b") == hashlib.sha256(b"a\x1fb").hexdigest()
    assert text_sha256("ab") != text_sha256("a", "b")
    # the empty input, from the SHA-256 test vectors (FIPS 180-2)
    assert text_sha256() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
