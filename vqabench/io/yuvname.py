"""Read a raw ``.yuv`` file's format from its name, token by token.

Conventions in use, all read by one tokeniser (the stem is split at ``_`` and ``-``):

================  ==============================================  ============================
convention        example                                         reads
================  ==============================================  ============================
JCT-VC/JVET CTC   ``BasketballDrive_1920x1080_50.yuv``            bare number after WxH = fps
JVET CTC          ``Campfire_3840x2160_30fps_bt709_420_videoRange``  matrix and range tokens
UVG               ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``    ``fps``, chroma, ``bit``
MCL-JCV           ``videoSRC01_1920x1080_30.yuv``                 as JCT-VC
BVI               ``..._1920x1080_60fps_10bit_420.yuv``, ``_420p10``  ``420p10`` = chroma + depth
Vooya             ``_1920x1080_50_420_10bit``                     as above
================  ==============================================  ============================

Tokens: ``WxH`` (size), ``50fps`` / ``50Hz`` / ``29.97fps`` (frame rate), a bare number of 1..300
right after ``WxH`` (frame rate, CTC style), ``420`` / ``422`` / ``444`` / ``400`` (chroma),
``yuv420p`` / ``420p`` / ``420p10`` / ``yuv420p10le`` (chroma and depth), ``8bit`` / ``10bit``
/ ``10b`` (depth), ``300frames`` / ``300f`` (frame count), ``bt709`` / ``bt601`` / ``bt2020``
(matrix), ``videoRange`` / ``tv`` / ``limited`` and ``fullRange`` / ``full`` / ``pc`` (range).
Other tokens (words, ``crop``, ``YUV``) are ignored. Two tokens that disagree (``_8bit_..._10bit``,
``_420_..._444``, two sizes, two frame rates) make the name an error, not a guess.

Example:
    >>> parse_name("Foo_1920x1080_420p10.yuv").pix_fmt
    'yuv420p10le'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vqabench.errors import VideoFormatError

__all__ = ["YuvName", "parse_name"]

_SIZE = re.compile(r"(\d{2,5})[xX](\d{2,5})")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(?:fps|hz)", re.IGNORECASE)
_FPS_P = re.compile(r"(\d+)p")  # "50p": only right after the size, never a chroma value
_BARE = re.compile(r"\d+(?:\.\d+)?")
_CHROMA = re.compile(r"(?:yuv|i|p)?(400|420|422|444)(?:p(?:(8|10|12|16)(?:le)?)?)?", re.IGNORECASE)
_BITS = re.compile(r"(8|10|12|16)(?:bits?|b|bpp)", re.IGNORECASE)
_FRAMES = re.compile(r"(\d+)(?:frames?|f|fr)", re.IGNORECASE)
_MATRIX = {
    "bt709": "bt709",
    "rec709": "bt709",
    "709": "bt709",
    "bt601": "bt601",
    "rec601": "bt601",
    "601": "bt601",
    "bt2020": "bt2020",
    "rec2020": "bt2020",
    "2020": "bt2020",
    "bt2020nc": "bt2020",
}
_RANGE = {
    "videorange": "limited",
    "tv": "limited",
    "limited": "limited",
    "limitedrange": "limited",
    "fullrange": "full",
    "full": "full",
    "pc": "full",
}
_MAX_BARE_FPS = 300


@dataclass(frozen=True)
class YuvName:
    """What a file name says; None where it says nothing.

    Attributes:
        width, height: luma size.
        fps: frame rate.
        chroma: ``"420"``, ``"422"``, ``"444"`` or ``"400"``.
        bit_depth: bits per sample.
        frames: frame count the name states.
        matrix: ``"bt709"``, ``"bt601"`` or ``"bt2020"``.
        color_range: ``"limited"`` or ``"full"``.
    """

    width: int
    height: int
    fps: Fraction | None = None
    chroma: str | None = None
    bit_depth: int | None = None
    frames: int | None = None
    matrix: str | None = None
    color_range: str | None = None

    @property
    def pix_fmt(self) -> str:
        """ffmpeg pixel format, with 4:2:0 and 8 bits where the name says nothing."""
        bits = self.bit_depth or 8
        return f"yuv{self.chroma or '420'}p" + ("" if bits == 8 else f"{bits}le")


def _rate(text: str) -> Fraction:
    """``29.97`` -> 30000/1001 (the NTSC rates are N*1000/1001); other text exactly."""
    value = Fraction(text)
    for n in (24, 30, 48, 60, 120):
        if value != n and abs(value - Fraction(n * 1000, 1001)) < Fraction(1, 100):
            return Fraction(n * 1000, 1001)
    return value.limit_denominator(1001)


def _set(found: dict, key: str, value: object, token: str, file: str) -> None:
    if key in found and found[key][0] != value:
        raise VideoFormatError(
            f"file name {file!r} contradicts itself: {found[key][1]!r} and {token!r} give "
            f"different {key.replace('_', ' ')}; rename the file so that one token states it"
        )
    found.setdefault(key, (value, token))


def _tokens(stem: str) -> list[str]:
    # "10-bit" and "10_bit" are one token; then split at separators.
    stem = re.sub(r"(\d)[-_](bits?\b)", r"\1\2", stem, flags=re.IGNORECASE)
    return [t for t in re.split(r"[_\-\s]+", stem) if t]


def parse_name(name: str) -> YuvName:
    """Parse a raw YUV file name (see the module docstring for the conventions).

    Raises:
        VideoFormatError: no ``WxH`` token, or tokens that contradict each other.
    """
    file = Path(name).name
    stem = file
    for suffix in (".yuv", ".raw", ".YUV", ".RAW"):
        stem = stem.removesuffix(suffix)
    found: dict[str, tuple[object, str]] = {}
    after_size = False
    for token in _tokens(stem):
        low = token.lower()
        if m := _SIZE.fullmatch(token):
            _set(found, "size", (int(m.group(1)), int(m.group(2))), token, file)
            after_size = True
            continue
        if m := _FPS.fullmatch(token):
            _set(found, "fps", _rate(m.group(1)), token, file)
        elif m := _CHROMA.fullmatch(token):
            _set(found, "chroma", m.group(1), token, file)
            if m.group(2):
                _set(found, "bit_depth", int(m.group(2)), token, file)
            elif low.endswith("p"):  # "yuv420p", "420p": 8 bits, as ffmpeg names it
                _set(found, "bit_depth", 8, token, file)
        elif m := _BITS.fullmatch(token):
            _set(found, "bit_depth", int(m.group(1)), token, file)
        elif m := _FRAMES.fullmatch(token):
            _set(found, "frames", int(m.group(1)), token, file)
        elif low in _MATRIX:
            _set(found, "matrix", _MATRIX[low], token, file)
        elif low in _RANGE:
            _set(found, "color_range", _RANGE[low], token, file)
        elif after_size and (m := _FPS_P.fullmatch(token) or _BARE.fullmatch(token)):
            value = _rate(m.group(1) if m.re is _FPS_P else token)
            if 0 < value <= _MAX_BARE_FPS:
                _set(found, "fps", value, token, file)
        after_size = False
    if "size" not in found:
        raise VideoFormatError(
            f"file name {file!r} carries no frame size: rename it to a pattern like "
            "Name_1920x1080_50fps_420_8bit.yuv, or convert it to .y4m first (ffmpeg -f rawvideo "
            "-pix_fmt yuv420p -s 1920x1080 -r 50 -i in.yuv out.y4m)"
        )
    (width, height), _ = found["size"]
    value = {k: v for k, (v, _) in found.items() if k != "size"}
    return YuvName(width, height, **value)
