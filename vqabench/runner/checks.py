"""Checks before any job runs: what a codec or metric cannot do with these sequences is
refused (or warned about) once, by name, instead of failing job after job."""

from __future__ import annotations

import warnings

from vqabench import codecs, metrics
from vqabench.config import RunConfig
from vqabench.datasets import Sequence
from vqabench.errors import CodecError, ConfigError

__all__ = ["INR_MIN_PIXELS", "check_formats", "check_size", "check_metrics_fit", "warn_small_inr"]


def check_metrics_fit(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Refuse, once and before any job, a metric whose patch (``WxHxT``) exceeds a sequence."""
    for spec in cfg.metrics:
        patch = getattr(metrics.create(spec.name, **dict(spec.options)), "patch", None)
        if patch is None:
            continue
        for seq in sequences:
            src = seq.source
            if src.width < patch.width or src.height < patch.height or src.frames < patch.frames:
                raise ConfigError(
                    f"metric {spec.name!r}: patch={patch.label!r} is larger than sequence "
                    f"{seq.name!r} ({src.width}x{src.height}, {src.frames} frames); expected a "
                    f"patch that fits every sequence, e.g. {spec.name}:patch="
                    f"{min(patch.width, src.width)}x{min(patch.height, src.height)}x"
                    f"{min(patch.frames, src.frames)}"
                )


#: Smallest clip (pixels x frames) at which the ``inr`` defaults were characterised
#: (128x72, 8 frames; reports/performance.md, "INR baseline").
INR_MIN_PIXELS = 128 * 72 * 8


def warn_small_inr(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Warn, before any job, when ``inr`` meets a clip too small for meaningful RD points."""
    if not any(c.name == "inr" for c in cfg.codecs) or not sequences:
        return
    small = min(sequences, key=lambda s: s.source.frames * s.source.width * s.source.height)
    src = small.source
    if src.frames * src.width * src.height < INR_MIN_PIXELS:
        warnings.warn(
            f"codec 'inr' on {small.name} ({src.width}x{src.height}, {src.frames} "
            "frames): its defaults were characterised at 128x72 x 8 frames; on a "
            "smaller clip the header and training noise dominate and its RD points "
            "may be meaningless (check that bpp and quality rise together)",
            UserWarning,
            stacklevel=3,
        )


def _refuse(refusals: list[str]) -> None:
    """Raise CodecError listing ``refusals`` (one line when there is one), if any."""
    if len(refusals) == 1:
        raise CodecError(f"nothing was run: {refusals[0]}")
    if refusals:
        raise CodecError(f"{len(refusals)} refusal(s), nothing was run:\n" + "\n".join(refusals))


def check_formats(cfg: RunConfig, sequences: list[Sequence]) -> None:
    """Refuse, before any job, every (sequence, codec) whose format or picture size the codec
    cannot code.

    Raises:
        CodecError: one line per refusal, naming the file, the codec and the reason.
    """
    specs = [*cfg.codecs, *([cfg.reference.codec] if cfg.reference else [])]
    refusals = []
    for seq in sequences:
        for spec in specs:
            try:
                codec = codecs.create(spec.name, **dict(spec.options))
                src = seq.source
                codec.check_size(src.width, src.height, codec.coded_pix_fmt(src.pix_fmt))
            except CodecError as exc:
                file = seq.metadata.get("file") or seq.source.path.name
                refusals.append(f"{file}: {spec.display}: {exc}")
    _refuse(refusals)


def check_size(cfg: RunConfig) -> None:
    """Refuse, before any source is converted, a ``size`` that a configured codec cannot
    code (a folder scaled to 100000x100000 would fill the disk before the first encode).

    Raises:
        CodecError: one line per codec that refuses the size, naming it and the rule.
    """
    if cfg.size is None:
        return
    refusals = []
    for spec in [*cfg.codecs, *([cfg.reference.codec] if cfg.reference else [])]:
        try:
            codecs.create(spec.name, **dict(spec.options)).check_size(*cfg.size)
        except CodecError as exc:
            refusals.append(str(exc))
    _refuse(list(dict.fromkeys(refusals)))
