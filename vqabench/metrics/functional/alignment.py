"""A cheap temporal alignment probe: do the decoded frames line up with the anchor's?

A decoder that outputs a leading duplicate frame, or drops one and repeats another to keep
the count, yields frame-shifted metrics without any error. At a few frames spread over the
video the probe compares luma PSNR at lags -1, 0 and +1:

- ``late`` (lag +1): decoded frame ``i`` against anchor frame ``i - 1`` (a leading duplicate
  makes the decoded video late by one frame);
- ``early`` (lag -1): decoded frame ``i - 1`` against anchor frame ``i`` (a dropped frame
  makes it early).

A lag is a clear shift at a probe when it beats lag 0 by more than ``margin_db`` (3 dB):
static content gives equal PSNRs at every lag and never trips it; aligned moving content has
its best PSNR at lag 0. The video is misaligned when at least two probes (or every probe,
when there are fewer) show the same shift.

Example:
    >>> probe = AlignmentProbe(frames=32, bit_depth=8)
    >>> for i, (ref, dis) in enumerate(pairs):
    ...     probe.update(i, ref.y, dis.y)
    >>> probe.check()  # raises AlignmentError on a clear shift
"""

from __future__ import annotations

import numpy as np

from vqabench.errors import AlignmentError
from vqabench.metrics.functional.pixel import mse, psnr_from_mse

__all__ = ["probe_indices", "lag_psnrs", "AlignmentProbe", "MARGIN_DB"]

MARGIN_DB = 3.0


def probe_indices(frames: int, count: int = 5) -> tuple[int, ...]:
    """Up to ``count`` frame indices in 1..frames-1, spread evenly (each has a predecessor)."""
    if frames < 2:
        return ()
    count = min(count, frames - 1)
    if count == 1:
        return (frames // 2,)
    return tuple(sorted({1 + round(k * (frames - 2) / (count - 1)) for k in range(count)}))


def lag_psnrs(
    prev_ref: np.ndarray, ref: np.ndarray, prev_dis: np.ndarray, dis: np.ndarray, *, bit_depth: int
) -> dict[str, float]:
    """Luma PSNRs at one probe: ``aligned`` (frame i), ``aligned_prev`` (frame i-1),
    ``late`` (decoded i vs anchor i-1) and ``early`` (decoded i-1 vs anchor i)."""

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return psnr_from_mse(mse(a, b), bit_depth=bit_depth)

    return {
        "aligned": psnr(ref, dis),
        "aligned_prev": psnr(prev_ref, prev_dis),
        "late": psnr(prev_ref, dis),
        "early": psnr(ref, prev_dis),
    }


class AlignmentProbe:
    """Folds luma planes frame by frame (keeping only the previous pair) and judges.

    Args:
        frames: number of frames of both videos.
        bit_depth: bits per sample.
        margin_db: how much better a shifted lag must be to count as a shift.
    """

    def __init__(self, frames: int, bit_depth: int, *, margin_db: float = MARGIN_DB):
        self.indices = set(probe_indices(frames))
        self.bit_depth, self.margin_db = bit_depth, margin_db
        self.found: list[tuple[int, str, dict[str, float]]] = []
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, index: int, ref_luma: np.ndarray, dis_luma: np.ndarray) -> None:
        """Fold frame ``index`` (frames must come in order)."""
        if index in self.indices and self._prev is not None:
            p = lag_psnrs(
                self._prev[0], ref_luma, self._prev[1], dis_luma, bit_depth=self.bit_depth
            )
            shift = (
                "late"
                if p["late"] > p["aligned"] + self.margin_db
                else "early"
                if p["early"] > p["aligned_prev"] + self.margin_db
                else ""
            )
            self.found.append((index, shift, p))
        self._prev = (ref_luma, dis_luma) if index + 1 in self.indices else None

    def check(self, what: str = "decoded video") -> None:
        """Raise AlignmentError when the probes show a clear shift.

        Raises:
            AlignmentError: naming the shift, the frames and the PSNRs at each lag.
        """
        for shift, meaning in (
            ("late", "one frame late (a leading duplicate frame?)"),
            ("early", "one frame early (a dropped frame?)"),
        ):
            hits = [(i, p) for i, s, p in self.found if s == shift]
            if hits and len(hits) >= min(2, len(self.found)):
                lag = "+1" if shift == "late" else "-1"
                detail = "; ".join(
                    f"frame {i}: lag {lag} {p[shift]:.1f} dB vs lag 0 "
                    f"{p['aligned' if shift == 'late' else 'aligned_prev']:.1f} dB"
                    for i, p in hits
                )
                raise AlignmentError(
                    f"{what} is {meaning}: its frames match the anchor's at lag {lag}, not 0, "
                    f"at {len(hits)} of {len(self.found)} probed frames ({detail}); fix the "
                    "decoder's output (frame count and order) before measuring"
                )
