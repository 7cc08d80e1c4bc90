"""Result tables: results.csv and per_frame.csv (and references*.csv) from the store.

The tables are rebuilt from the store after every run and written atomically; their columns
are the tidy ones of DESIGN.md (:data:`RESULT_COLUMNS`, :data:`PER_FRAME_COLUMNS`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from vqabench import codecs
from vqabench.errors import VqabenchError
from vqabench.io.atomic import atomic_write_text
from vqabench.io.store import Store
from vqabench.runner.jobs import Job

__all__ = ["RESULT_COLUMNS", "PER_FRAME_COLUMNS", "write_results"]


RESULT_COLUMNS = (
    "sequence",
    "reference",
    "codec",
    "rate_point",
    "bits",
    "bpp",
    "kbps",
    "enc_s",
    "dec_s",
    "metric",
    "value",
    "anchor",
    "bitstream",
    "group",
    "coded_pix_fmt",
    "native_rate_point",
    "target_kbps",
)


PER_FRAME_COLUMNS = (
    "sequence",
    "reference",
    "codec",
    "rate_point",
    "metric",
    "anchor",
    "frame",
    "value",
    "frame_bits",
    "frame_type",
    "frame_qp",
)


def _atomic_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    atomic_write_text(path, buf.getvalue())
    return count


def _fmt(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else str(value)


def write_results(
    jobs: list[Job],
    store: Store,
    out_dir: Path,
    *,
    name: str = "results",
) -> int:
    """Write ``<name>.csv`` and its per-frame table from the store, atomically.

    ``results`` writes results.csv and per_frame.csv; ``references`` writes references.csv
    and references_per_frame.csv.

    Returns:
        The number of rows in results.csv.
    """
    rows, frame_rows = [], []
    made: dict[tuple, codecs.Codec] = {}
    for job in jobs:
        enc = store.encode(job.key)
        if enc is None:
            continue
        if (job.codec_name, job.codec_options) not in made:
            made[job.codec_name, job.codec_options] = codecs.create(
                job.codec_name, **dict(job.codec_options)
            )
        codec = made[job.codec_name, job.codec_options]
        coded = codec.coded_pix_fmt(job.input.pix_fmt)
        native = codec.native_rate(codecs.RatePoint(job.rate_param, job.rate_value), coded)
        fps = Fraction(enc.fps)
        pixels = enc.frames * enc.width * enc.height
        bpp = enc.bits / pixels
        kbps = enc.bits * float(fps) / enc.frames / 1000.0
        frames_info: list[tuple[object, object, object]] | None = None
        for task in job.metrics:
            m = store.measurement(task.key)
            if m is None:
                continue
            rows.append(
                (
                    job.sequence,
                    job.reference,
                    job.codec,
                    job.rate_label,
                    enc.bits,
                    _fmt(bpp),
                    _fmt(kbps),
                    _fmt(enc.enc_s),
                    _fmt(enc.dec_s),
                    task.name,
                    _fmt(m.value),
                    task.anchor,
                    enc.bitstream,
                    job.group,
                    coded,
                    native.label,
                    _fmt(job.rate_value) if job.rate_param == "kbps" else "",
                )
            )
            if frames_info is None or len(frames_info) != len(m.per_frame):
                frames_info = _coded_frames(job, len(m.per_frame))
            frame_rows.extend(
                (
                    job.sequence,
                    job.reference,
                    job.codec,
                    job.rate_label,
                    task.name,
                    task.anchor,
                    i,
                    _fmt(v),
                    *frames_info[i],
                )
                for i, v in enumerate(m.per_frame)
            )
    frames_name = "per_frame.csv" if name == "results" else f"{name}_per_frame.csv"
    _atomic_csv(out_dir / frames_name, PER_FRAME_COLUMNS, frame_rows)
    return _atomic_csv(out_dir / f"{name}.csv", RESULT_COLUMNS, rows)


def _coded_frames(job: Job, n: int) -> list[tuple[object, object, object]]:
    """(bits, type, qp) of each of ``n`` frames in display order; empty cells where the
    bitstream's format has no frame reader or the frame counts differ."""
    from vqabench.codecs.framesizes import bitstream_format, cached_frames

    fmt = bitstream_format(codecs.get_class(job.codec_name))
    blank = [("", "", "")] * n
    if fmt is None or not job.bitstream.is_file():
        return blank
    try:
        coded = cached_frames(job.bitstream, fmt)
    except (VqabenchError, OSError):
        return blank
    if len(coded) != n:
        return blank
    return [(f.bits, f.type, "" if f.qp is None else f.qp) for f in coded]
