"""The frame format pixel metrics need explicitly: bit depth and chroma layout."""

from __future__ import annotations

from dataclasses import dataclass

from vqabench.errors import invalid
from vqabench.io.video import PIX_FMTS, Video

__all__ = ["FrameFormat"]


@dataclass(frozen=True)
class FrameFormat:
    """Bit depth and chroma subsampling of a YUV frame.

    Attributes:
        bit_depth: bits per sample (8, 10, ... 16); the peak sample value is ``2**bit_depth - 1``.
        subsampling: chroma subsampling (x, y): (2, 2) for 4:2:0, (2, 1) for 4:2:2, (1, 1)
            for 4:4:4.
    """

    bit_depth: int
    subsampling: tuple[int, int] = (2, 2)

    def __post_init__(self) -> None:
        if not 8 <= int(self.bit_depth) <= 16:
            raise invalid("bit_depth", self.bit_depth, "an integer in 8..16")
        if tuple(self.subsampling) not in ((2, 2), (2, 1), (1, 1)):
            raise invalid("subsampling", self.subsampling, "(2, 2), (2, 1) or (1, 1)")

    @classmethod
    def from_pix_fmt(cls, pix_fmt: str) -> FrameFormat:
        """The format of an ffmpeg pixel format name (one of ``vqabench.io.video.PIX_FMTS``)."""
        if pix_fmt not in PIX_FMTS:
            raise invalid("pix_fmt", pix_fmt, " | ".join(PIX_FMTS))
        sx, sy, bits = PIX_FMTS[pix_fmt]
        return cls(bits, (sx, sy))

    @classmethod
    def of(cls, video: Video) -> FrameFormat:
        """The format of a video."""
        return cls.from_pix_fmt(video.pix_fmt)
