"""``kbps=`` rate points of the ``compressai`` codec: RQ-LVC rate control and its baseline.

The target is the whole file: ``budget = kbps x 1000 x frames / fps`` bits, the
container's header and length fields included (``bits = 8 x file size`` as for every
codec). The container's share is estimated before coding, from the header of the sequence
with the first frame's ``compress()`` structure repeated for every frame (``overhead_bits``
in the rate-control record); the entropy-coded strings get the rest.

* ``rc=model`` (image models): each frame gets its own quality from the R-Q model
  ``Q = alpha ln R + beta`` fitted by least squares to the probes of the first frame and
  every frame coded so far (:func:`vqabench.codecs.rq_control.control_frames`). The frames
  are coded once each, plus the probes of frame 0 (at most two more ``compress()`` calls
  than frames); ``enc_s`` counts them.
* ``rc=multipass``: the whole sequence at one quality, found by bisection on the totals of
  full encodes (:func:`vqabench.codecs.rq_control.bisect_level`); ``enc_s`` counts every
  pass. Works for the video model ``ssf2020`` too.

The bitstream's header records each frame's quality and a ``rate_control`` record: the
mode, the target, the overhead estimate, and the probe points (model) or the totals of every
pass (multipass). Networks are loaded when a level is first used; their loading time is
taken out of ``enc_s``.

Example:
    >>> codec = create("compressai", checkpoint="random", rc="model")
    >>> codec.encode(video, Path("a.cai"), parse_rate_point("kbps=300"))
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vqabench.codecs.compressai_format import (
    container_bytes,
    payload_bytes,
    torch_threads,
    write_bitstream,
)
from vqabench.codecs.rq_control import bisect_level, control_frames, probe_levels
from vqabench.errors import CodecError
from vqabench.io.video import Video

__all__ = ["budget_bits", "overhead_bits", "encode_kbps"]


def budget_bits(target_kbps: float, source: Video) -> float:
    """Bits of the whole file at ``target_kbps``: ``kbps x 1000 x frames / fps``."""
    return target_kbps * 1000.0 * source.frames / float(source.fps)


def overhead_bits(
    codec: Any, source: Video, coded: object, qualities: list[int], rate_control: dict
) -> int:
    """Bits of the file that are not entropy-coded strings (magic, header, length fields),
    for ``coded`` (a structure like the final one) with that header."""
    data = container_bytes(codec.header(source, qualities, rate_control), coded)
    return 8 * (len(data) - payload_bytes(coded))


def encode_kbps(codec: Any, source: Video, bitstream: Path, target_kbps: float) -> float:
    """Code ``source`` into ``bitstream`` at ``target_kbps`` by ``codec.rc`` (module
    docstring); wall seconds, loading the networks excluded. ``codec`` is a
    :class:`~vqabench.codecs.compressai_codec.CompressAICodec` (not imported here: that
    module imports this one).

    Raises:
        CodecError: ``rc=model`` with the video model.
    """
    lo, hi = codec.rate_params["quality"]
    budget = budget_bits(target_kbps, source)
    loaded_s = codec.load_s
    start = time.perf_counter()
    with torch_threads(codec.threads):
        frames = codec.padded_frames(source)
        if codec.rc == "model":
            if codec.is_video:
                raise CodecError(
                    f"{codec.name}: rc=model needs an image model; {codec.model} "
                    "codes the sequence as one group of pictures (rc=multipass)"
                )
            qualities, coded, record = _per_frame(codec, source, frames, budget, lo, hi)
        else:
            qualities, coded, record = _multipass(codec, source, frames, budget, lo, hi)
        write_bitstream(bitstream, codec.header(source, qualities, record), coded)
    return time.perf_counter() - start - (codec.load_s - loaded_s)


def _record(mode: str, target_kbps: float, overhead: int, **points: list) -> dict:
    return {"mode": mode, "target_kbps": target_kbps, "overhead_bits": overhead, **points}


def _per_frame(
    codec: Any, source: Video, frames: list[Any], budget: float, lo: int, hi: int
) -> tuple[list[int], list[object], dict]:
    cache: dict[tuple[int, int], object] = {}

    def coded(t: int, q: int) -> object:
        if (t, q) not in cache:
            cache[(t, q)] = codec.compress([frames[t]], q)[0]  # type: ignore[index]
        return cache[(t, q)]

    probes = probe_levels(lo, hi)
    kbps = budget * float(source.fps) / source.frames / 1000.0
    guess = _record("model", kbps, 0, probes=[[q, 99999] for q in probes])
    overhead = overhead_bits(codec, source, [coded(0, lo)] * len(frames), [hi] * len(frames), guess)
    levels, _, prior = control_frames(
        lambda t, q: 8 * payload_bytes(coded(t, q)),
        frames=len(frames),
        budget_bits=budget - overhead,
        lo=lo,
        hi=hi,
        probes=probes,
    )
    record = _record("model", kbps, overhead, probes=[[q, int(b)] for q, b in prior])
    return levels, [coded(t, q) for t, q in enumerate(levels)], record


def _multipass(
    codec: Any, source: Video, frames: list[Any], budget: float, lo: int, hi: int
) -> tuple[list[int], object, dict]:
    passes: dict[int, object] = {lo: codec.compress(frames, lo)}

    def total(q: int) -> int:
        if q not in passes:
            passes[q] = codec.compress(frames, q)
        return 8 * payload_bytes(passes[q])

    kbps = budget * float(source.fps) / source.frames / 1000.0
    n = len(frames)
    guess = _record("multipass", kbps, 0, passes=[[q, 99999] for q in range(lo, lo + 4)])
    overhead = overhead_bits(codec, source, passes[lo], [hi] * n, guess)
    level, tried = bisect_level(total, budget - overhead, lo, hi)
    record = _record("multipass", kbps, overhead, passes=[[q, int(b)] for q, b in tried.items()])
    return [level] * n, passes[level], record
