"""The file format of the ``compressai`` codec (:mod:`vqabench.codecs.compressai_codec`).

Magic, header length, a zlib-compressed JSON header (the structure ``compress()`` returned,
its byte strings replaced by indices), then each byte string with its length: so
``bits = 8 x file size`` counts every bit. Pure functions of bytes and files; no torch
except :func:`torch_threads`.
"""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from vqabench.errors import CodecError

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "READ_VERSIONS",
    "container_bytes",
    "payload_bytes",
    "frame_sizes",
    "write_bitstream",
    "read_bitstream",
    "torch_threads",
]

MAGIC = b"VQCAI1"
#: Version written; 1 (one ``quality`` for all frames) and 2 (``qualities``) are read.
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)


# --- the bitstream -----------------------------------------------------------------------------


def _pack(obj: object, blobs: list[bytes]) -> object:
    """``compress()``'s nested strings and shapes as JSON, byte strings moved to ``blobs``."""
    import numpy as np

    if isinstance(obj, bytes | bytearray):
        blobs.append(bytes(obj))
        return {"#": len(blobs) - 1}
    if isinstance(obj, dict):
        return {str(k): _pack(v, blobs) for k, v in obj.items()}
    if isinstance(obj, list | tuple):  # torch.Size is a tuple
        return [_pack(v, blobs) for v in obj]
    if isinstance(obj, int | np.integer):
        return int(obj)
    raise CodecError(f"compressai codec: unexpected {type(obj).__name__} in compress() output")


def _unpack(obj: object, blobs: list[bytes]) -> object:
    if isinstance(obj, dict):
        if set(obj) == {"#"}:
            return blobs[obj["#"]]
        return {k: _unpack(v, blobs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v, blobs) for v in obj]
    return obj


def container_bytes(header: dict, coded: object) -> bytes:
    """The file :func:`write_bitstream` writes: magic, header length, zlib(JSON header incl.
    the packed structure), then each string with its length."""
    blobs: list[bytes] = []
    head = zlib.compress(
        json.dumps(
            {**header, "v": FORMAT_VERSION, "coded": _pack(coded, blobs)}, separators=(",", ":")
        ).encode(),
        9,
    )
    body = b"".join(struct.pack("<I", len(b)) + b for b in blobs)
    return MAGIC + struct.pack("<II", len(head), len(blobs)) + head + body


def payload_bytes(coded: object) -> int:
    """Bytes of the entropy-coded strings in ``coded`` (a ``compress()`` result or a list of
    them), without the container's header and length fields."""
    blobs: list[bytes] = []
    _pack(coded, blobs)
    return sum(len(b) for b in blobs)


def frame_sizes(path: Path) -> tuple[list[tuple[int, str, int]], int]:
    """Per frame of a compressai bitstream, in display order: (bits, type, quality), and the
    payload bits they add up to (the file less magic, lengths and header).

    A frame's bits are its entropy-coded strings with their 4-byte length fields; its type
    is ``I`` for image models and for ssf2020's first frame, ``P`` for ssf2020's others.
    """
    header, coded = read_bitstream(path)
    per_frame = coded["strings"] if isinstance(coded, dict) else coded
    video = isinstance(coded, dict)
    out = []
    for t, (q, frame) in enumerate(zip(header["qualities"], per_frame, strict=True)):
        blobs: list[bytes] = []
        _pack(frame, blobs)
        out.append((8 * sum(4 + len(b) for b in blobs), "P" if video and t else "I", int(q)))
    data = Path(path).read_bytes()
    head_len = struct.unpack_from("<I", data, len(MAGIC))[0]
    return out, 8 * (len(data) - len(MAGIC) - 8 - head_len)


def write_bitstream(path: Path, header: dict, coded: object) -> None:
    """Write :func:`container_bytes` of ``header`` and ``coded`` to ``path``."""
    Path(path).write_bytes(container_bytes(header, coded))


def read_bitstream(path: Path) -> tuple[dict, object]:
    """Parse a file of :func:`write_bitstream`: (header, the structure ``compress()`` returned).

    Raises:
        CodecError: not a compressai bitstream, another format version, or a corrupt one.
    """
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise CodecError(f"{path}: not a compressai bitstream (no {MAGIC!r} magic)")
    try:
        hlen, count = struct.unpack_from("<II", data, len(MAGIC))
        pos = len(MAGIC) + 8
        header = json.loads(zlib.decompress(data[pos : pos + hlen]))
        pos += hlen
        blobs = []
        for _ in range(count):
            (n,) = struct.unpack_from("<I", data, pos)
            if pos + 4 + n > len(data):
                raise ValueError("truncated")
            blobs.append(data[pos + 4 : pos + 4 + n])
            pos += 4 + n
        if pos != len(data):
            raise ValueError(f"{len(data) - pos} bytes after the last string")
        if header.get("v") not in READ_VERSIONS:
            raise CodecError(
                f"{path}: compressai bitstream version {header.get('v')} is not "
                f"supported (this decoder reads versions "
                f"{', '.join(map(str, READ_VERSIONS))})"
            )
        coded = _unpack(header.pop("coded"), blobs)
        if header["v"] == 1 and "quality" in header:  # one quality and weights for all
            header["qualities"] = [header["quality"]] * int(header.get("frames", 1))
            header["weights"] = {str(header.pop("quality")): header["weights"]}
    except (struct.error, zlib.error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise CodecError(f"{path}: corrupt compressai bitstream: {exc!r}") from exc
    return header, coded


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch with ``threads`` CPU threads and no autograd, restored on exit."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(old)
