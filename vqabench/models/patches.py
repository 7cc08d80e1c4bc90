"""Patch geometry of the learned quality models: a patch is ``width x height x frames``.

The models are trained on, and score, co-located (R, D) patches of this size
(:mod:`vqabench.models.ptloss` tiles whole videos into them); the pairs data
(:mod:`vqabench.datasets.patches`) and the learned metrics use the same type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vqabench.errors import invalid

__all__ = ["PatchSize", "split_sources"]


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
            raise invalid(
                "patch", text, "WIDTHxHEIGHTxFRAMES with positive integers, e.g. 256x256x12"
            )
        return cls(*(int(g) for g in m.groups()))

    @property
    def label(self) -> str:
        """``WIDTHxHEIGHTxFRAMES``."""
        return f"{self.width}x{self.height}x{self.frames}"


def split_sources(sources: Iterable[str], fractions: Sequence[float], seed: int) -> list[set[str]]:
    """Partition the distinct ``sources`` into groups, one per fraction, never splitting a
    source: the one source split of vqabench (patch pairs, training/validation).

    Sources are sorted by name and shuffled by ``np.random.default_rng(seed)``. Every group
    but the first takes ``round(f * n)`` sources, at least one when ``f > 0`` and there are
    two sources or more; the first group (training) keeps at least one source (the last
    groups give first) and takes the rest.

    Args:
        sources: source names (repeats allowed: one per row).
        fractions: one non-negative number per group (callers check they sum to 1).
        seed: shuffling seed; the same seed gives the same split.

    Returns:
        One set of source names per fraction.

    Example:
        >>> split_sources(["a", "b", "c", "d"], (0.5, 0.5), seed=0)
    """
    names = sorted(set(sources))
    n = len(names)
    counts = []
    for f in fractions[1:]:
        k = round(f * n)
        counts.append(max(k, 1) if f > 0 and n >= 2 else k)
    while sum(counts) > max(n - 1, 0):  # the first group keeps at least one source
        i = max(range(len(counts)), key=lambda j: (counts[j], j))  # the last gives first
        counts[i] -= 1
    order = [names[i] for i in np.random.default_rng(seed).permutation(n)]
    groups, start = [], 0
    for k in counts:
        groups.append(set(order[start : start + k]))
        start += k
    return [set(order[start:]), *groups]
