"""vqabench/codecs/compressai_format.py: the compressai codec's file format, without torch."""

from __future__ import annotations

import struct

import pytest

from vqabench.codecs.compressai_format import (
    MAGIC,
    container_bytes,
    frame_sizes,
    payload_bytes,
    read_bitstream,
    write_bitstream,
)
from vqabench.errors import CodecError

#: What an image model's compress() returns per frame: strings per entropy model, a shape.
CODED = [
    {"strings": [[b"\x01\x02\x03"], [b"\x04"]], "shape": [2, 3]},
    {"strings": [[b"\x05\x06"], [b""]], "shape": [2, 3]},
]
HEADER = {"model": "m", "qualities": [3, 5], "frames": 2}


def test_round_trip_and_every_byte_counted(tmp_path):
    path = tmp_path / "a.cai"
    write_bitstream(path, HEADER, CODED)
    header, coded = read_bitstream(path)
    assert coded == CODED and header["qualities"] == [3, 5] and header["v"] == 2
    assert path.read_bytes() == container_bytes(HEADER, CODED)
    assert payload_bytes(CODED) == 3 + 1 + 2 + 0  # the strings only
    # four strings of 4-byte length fields: the file is magic + 8 + header + strings + lengths
    head_len = struct.unpack_from("<I", path.read_bytes(), len(MAGIC))[0]
    assert path.stat().st_size == len(MAGIC) + 8 + head_len + 6 + 4 * 4


def test_frame_sizes_add_up_to_the_payload(tmp_path):
    path = tmp_path / "a.cai"
    write_bitstream(path, HEADER, CODED)
    frames, payload_bits = frame_sizes(path)
    assert frames == [(8 * (3 + 1 + 2 * 4), "I", 3), (8 * (2 + 0 + 2 * 4), "I", 5)]
    assert sum(bits for bits, _, _ in frames) == payload_bits


def test_other_files_are_refused_by_name(tmp_path):
    path = tmp_path / "a.cai"
    path.write_bytes(b"not a bitstream")
    with pytest.raises(CodecError, match="no b'VQCAI1' magic"):
        read_bitstream(path)
    write_bitstream(path, HEADER, CODED)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(CodecError, match="corrupt compressai bitstream"):
        read_bitstream(path)
