"""Patch geometry of the learned quality models: a patch is ``width x height x frames``.

The models are trained on, and score, co-located (R, D) patches of this size
(:mod:`vqabench.models.ptloss` tiles whole videos into them); the pairs data
(:mod:`vqabench.datasets.patches`) and the learned metrics use the same type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vqabench.errors import invalid

__all__ = ["PatchSize"]


@dataclass(frozen=True)
class PatchSize:
    """Patch size: ``width`` x ``height`` pixels x ``frames``."""

    width: int
    height: int
    frames: int

    @classmethod
    def parse(cls, text: str) -> PatchSize:
        """Parse ``WIDTHxHEIGHTxFRAMES`` (``256x256x12``).

        Raises:
            ConfigError: not three positive integers separated by ``x``.
        """
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
        if not m or min(int(g) for g in m.groups()) < 1:
            raise invalid("patch", text, "WIDTHxHEIGHTxFRAMES with positive integers, "
                          "e.g. 256x256x12")
        return cls(*(int(g) for g in m.groups()))

    @property
    def label(self) -> str:
        """``WIDTHxHEIGHTxFRAMES``."""
        return f"{self.width}x{self.height}x{self.frames}"
