"""Codecs: one registry, explicit rate points, real bitstreams.

Example:
    >>> from vqabench import codecs
    >>> x264 = codecs.create("x264", preset="veryfast")
    >>> result = codecs.run_codec(x264, source, codecs.parse_rate_point("qp=32"), Path("a.264"))
    >>> result.bits, result.enc_s
"""

from __future__ import annotations

from vqabench.codecs import ffmpeg  # noqa: F401  (registers the ffmpeg codecs)
from vqabench.codecs.base import (
    CODECS,
    Codec,
    EncodeResult,
    RatePoint,
    keep_decoded,
    parse_rate_point,
    run_codec,
)
from vqabench.options import parse_options

__all__ = [
    "create",
    "available",
    "get_class",
    "Codec",
    "RatePoint",
    "EncodeResult",
    "parse_rate_point",
    "run_codec",
    "keep_decoded",
    "CODECS",
]

#: Codecs whose modules load on first use: listing names imports neither torch (inr), the
#: adapter (external) nor compressai's wrapper.
_LAZY = {
    "inr": "vqabench.codecs.inr_codec:InrCodec",
    "external": "vqabench.codecs.external:ExternalCodec",
    "compressai": "vqabench.codecs.compressai_codec:CompressAICodec",
}
for _name, _target in _LAZY.items():
    CODECS.add_lazy(_name, _target)


def get_class(name: str) -> type[Codec]:
    """The codec class registered as ``name`` (UnknownNameError with close matches)."""
    return CODECS.get(name)


def create(name: str, **options: object) -> Codec:
    """Create codec ``name``, its options (preset, gop, threads...) checked by name and
    parsed to their declared types (:mod:`vqabench.options`).

    Raises:
        UnknownNameError: no such codec. ConfigError: an unknown option or a bad value.
    """
    cls = get_class(name)
    return cls(**parse_options(cls, options, f"codec {name!r}"))


def available() -> list[str]:
    """Names of all registered codecs (no codec module is imported to list them)."""
    return CODECS.names()
