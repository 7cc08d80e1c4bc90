"""Frames of a run for its visual-comparison figure (``vqabench report RUN --compare A,B``).

The report layer picks the sequence and the two rate points
(:func:`vqabench.reports.compare.pick_points`); this decodes their bitstreams again with the
run's codec options, reads the chosen frame of the source (loaded as the run loaded it,
:func:`vqabench.runner.run.load_sequences`) and of both decoded videos through
:mod:`vqabench.io.video`, and hands them to :func:`vqabench.reports.compare.compared`. A
bitstream or source that cannot be read is an error naming it, never a guess.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from vqabench.errors import ConfigError, invalid
from vqabench.io.video import open_video, read_frames
from vqabench.reports.compare import ComparedFrames, CompareRequest, compared, pick_points

__all__ = ["compared_frames"]


def compared_frames(
    run_dir: Path, results: pd.DataFrame, request: CompareRequest
) -> ComparedFrames:
    """The frames of the comparison ``request`` asks for (module docstring).

    Raises:
        ConfigError: no config.toml, a codec not in it, a frame outside the sequence, a
            missing bitstream or source (and what :func:`pick_points` refuses).
    """
    from vqabench import codecs
    from vqabench.experiment import load_config
    from vqabench.runner.run import load_sequences

    pick = pick_points(results, request)
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise ConfigError(
            f"--compare needs the run's config.toml (to decode its bitstreams "
            f"as the run did); {str(config_path)!r} does not exist"
        )
    cfg = load_config(config_path)
    sources = {s.name: s.source for s in load_sequences(cfg, run_dir)}
    if pick.sequence not in sources:
        raise invalid(
            "sequence", pick.sequence, f"a sequence of the run's dataset ({', '.join(sources)})"
        )
    source = sources[pick.sequence]
    frame = source.frames // 2 if request.frame is None else request.frame
    if not 0 <= frame < source.frames:
        raise invalid("frame", frame, f"0..{source.frames - 1} (the frames of {pick.sequence!r})")
    src_frame = next(read_frames(source, start=frame, count=1))
    decoded = []
    with tempfile.TemporaryDirectory(prefix="vqabench-compare-") as tmp:
        for i, point in enumerate(pick.points):
            spec = next((s for s in cfg.codecs if s.display == point.codec), None)
            if spec is None:
                raise invalid(
                    "compare",
                    point.codec,
                    "a codec of the run's config.toml "
                    f"({', '.join(s.display for s in cfg.codecs)})",
                )
            bitstream = run_dir / point.bitstream
            if not point.bitstream or not bitstream.is_file():
                raise ConfigError(
                    f"bitstream {str(bitstream)!r} of {point.label} on "
                    f"{pick.sequence!r} does not exist: cannot compare"
                )
            out = Path(tmp) / f"decoded{i}.y4m"
            codecs.create(spec.name, **dict(spec.options)).decode(bitstream, out, source)
            video = open_video(out)
            if video.frames != source.frames:
                raise ConfigError(
                    f"{point.label} decodes {video.frames} frames, the source "
                    f"{pick.sequence!r} has {source.frames}: cannot compare"
                )
            decoded.append((video, next(read_frames(video, start=frame, count=1))))
    return compared(pick, frame=frame, source=(source, src_frame), decoded=decoded)
