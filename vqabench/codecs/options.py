"""Allowed values of codec options, checked before any work starts.

One table per encoder of what its ``preset`` may be, as the bundled ffmpeg (9.0.2, from
imageio-ffmpeg) states it in ``ffmpeg -h encoder=NAME``:

=========  ==================  ===============================================================
codec      ``preset`` becomes  allowed values
=========  ==================  ===============================================================
x264       ``-preset``         ultrafast superfast veryfast faster fast medium slow slower
                               veryslow placebo (x264 --fullhelp)
x265       ``-preset``         the same ten names (x265 --help)
vp9        ``-cpu-used``       integers -8..8 (libvpx-vp9, ``-deadline good``)
aom-av1    ``-cpu-used``       integers 0..8 (libaom-av1 as wrapped by this ffmpeg)
svt-av1    ``-preset``         integers -2..13 (libsvtav1)
vvenc      ``-preset``         0..4 or faster fast medium slow slower (libvvenc)
=========  ==================  ===============================================================

A wrong value is refused with close matches (:mod:`difflib`), so that ``preset=fastest``
is one line before the first job instead of one cryptic ffmpeg failure per job.

Example:
    >>> check_preset("x264", "veryfast")
    'veryfast'
    >>> check_preset("svt-av1", "8")
    8
"""

from __future__ import annotations

import difflib

from vqabench.errors import ConfigError

__all__ = ["X26X_PRESETS", "VVENC_PRESETS", "PRESET_RANGES", "check_preset", "allowed_presets"]

#: x264 and x265 preset names, fastest first.
X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
#: libvvenc preset names; ffmpeg maps them to 0..4.
VVENC_PRESETS = ("faster", "fast", "medium", "slow", "slower")

#: codec -> (names allowed, inclusive integer range or None)
PRESET_RANGES: dict[str, tuple[tuple[str, ...], tuple[int, int] | None]] = {
    "x264": (X26X_PRESETS, None),
    "x265": (X26X_PRESETS, None),
    "vp9": ((), (-8, 8)),
    "aom-av1": ((), (0, 8)),
    "svt-av1": ((), (-2, 13)),
    "vvenc": (VVENC_PRESETS, (0, 4)),
}


def allowed_presets(codec: str) -> str:
    """Text of what ``preset`` may be for ``codec``, e.g. ``"integers -2..13"``."""
    names, span = PRESET_RANGES[codec]
    parts = [", ".join(names)] if names else []
    if span is not None:
        parts.append(f"integers {span[0]}..{span[1]}")
    return " or ".join(parts)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return None


def check_preset(codec: str, value: str | int) -> str | int:
    """``value`` normalised (integers as ``int``) if ``codec`` accepts it as its preset.

    Codecs without a table (plugins) get ``value`` back unchanged.

    Raises:
        ConfigError: naming the codec, the value, what is allowed and close matches.
    """
    if codec not in PRESET_RANGES:
        return value
    names, span = PRESET_RANGES[codec]
    number = _as_int(value)
    if span is not None and number is not None and span[0] <= number <= span[1]:
        return number
    if isinstance(value, str) and value in names:
        return value
    close = difflib.get_close_matches(str(value), names, n=3, cutoff=0.5) if names else []
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(
        f"codec {codec!r}: preset={value!r} is not allowed: expected {allowed_presets(codec)}{hint}"
    )
