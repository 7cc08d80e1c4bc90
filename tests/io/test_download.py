"""vqabench.io.download against a local HTTP server (the ``file_server`` fixture)."""

from __future__ import annotations

import hashlib

import pytest

from vqabench.errors import DownloadError
from vqabench.io.download import download, part_path, sha256_matches


def test_a_whole_part_is_verified_after_a_416(file_server, tmp_path):
    data = b"0123456789" * 100
    file_server.files["w.bin"] = data
    dest = tmp_path / "w.bin"
    part_path(dest).write_bytes(data)  # a transfer that ended just before the move
    digest = download(
        file_server.url + "w.bin", dest, expected_sha256=hashlib.sha256(data).hexdigest()
    )
    assert file_server.seen == [("w.bin", "bytes=1000-")]  # 416: nothing after byte 1000
    assert digest == hashlib.sha256(data).hexdigest() and dest.read_bytes() == data
    assert not part_path(dest).exists()


def test_a_404_keeps_an_existing_destination(file_server, tmp_path):
    dest = tmp_path / "w.bin"
    dest.write_bytes(b"old")
    with pytest.raises(DownloadError, match=r"w\.bin: the server answered HTTP 404"):
        download(file_server.url + "w.bin", dest, expected_sha256="00")
    assert dest.read_bytes() == b"old" and not part_path(dest).exists()


def test_sha256_matches_prefix_full_and_never_empty():
    digest = hashlib.sha256(b"x").hexdigest()
    assert sha256_matches(digest, digest[:8]) and sha256_matches(digest, digest.upper())
    assert not sha256_matches(digest, "") and not sha256_matches(digest, "0" * 8)
