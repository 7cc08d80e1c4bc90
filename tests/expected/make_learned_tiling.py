"""Regenerate tests/expected/learned_tiling.json: pt_loss and rankdvqa_ugc (bundled weights) on
tiny deterministic clips from tests.conftest, pinned before whole-video coverage (issue 12.4).

Run from the repository root (only on purpose; the values were pinned on commit e889f54, before
the tiling changed):

    PYTHONPATH=$PWD python tests/expected/make_learned_tiling.py tests/expected/learned_tiling.json

``divisible`` cases (every axis a multiple of the patch) were fully covered by the old tiling
and must keep their values; the others left frames and pixels out and are expected to change.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.conftest import add_noise, make_video
from vqabench import metrics

COMMAND = (
    "PYTHONPATH=$PWD python tests/expected/make_learned_tiling.py "
    "tests/expected/learned_tiling.json"
)
# (width, height, frames, patch): two divisible clips and one with a remainder on every axis.
CASES = ((128, 64, 12, "64x64x12"), (128, 96, 24, "64x32x12"), (96, 80, 14, "64x64x12"))


def _divides(size: tuple[int, int, int], patch: str) -> bool:
    p = tuple(int(v) for v in patch.split("x"))
    return all(s % q == 0 for s, q in zip(size, p, strict=True))


def main(out: str) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, height, frames, patch in CASES:
            ref = make_video(
                Path(tmp) / f"r{width}x{height}x{frames}.y4m",
                width=width,
                height=height,
                frames=frames,
            )
            dis = add_noise(ref, Path(tmp) / f"d{width}x{height}x{frames}.y4m", sigma=6)
            for name in ("pt_loss", "rankdvqa_ugc"):
                value = metrics.create(name, patch=patch).compute(ref, dis).value
                rows.append(
                    {
                        "metric": name,
                        "width": width,
                        "height": height,
                        "frames": frames,
                        "patch": patch,
                        "noise_sigma": 6,
                        "divisible": _divides((width, height, frames), patch),
                        "value": value,
                    }
                )
    doc = {
        "command": COMMAND,
        "clips": "tests.conftest.make_video(width, height, frames) as reference; "
        "add_noise(reference, sigma=6) as distorted",
        "cases": rows,
    }
    Path(out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
