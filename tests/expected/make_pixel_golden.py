"""Pin the values of every pixel metric on the tests' videos (tests/expected/pixel_golden.json).

Made before the measurement engine was rewritten (issue 11), with the code of commit
e889f54 (PSNR in numpy float64, SSIM / MS-SSIM through piq 0.8.0 on float32 tensors):

    PYTHONPATH=$PWD python tests/expected/make_pixel_golden.py

tests/metrics/test_pixel.py rebuilds the same videos (tests.conftest.make_video / add_noise
are deterministic) and checks today's code against these numbers: PSNR within 1e-6 dB,
SSIM and MS-SSIM within 1e-5. Regenerate only on purpose, and say why in the commit.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import add_noise, make_video  # noqa: E402
from vqabench import metrics  # noqa: E402

# (case name, width, height, frames, pix_fmt, noise sigma in code values)
CASES = [
    ("420p8_64x64", 64, 64, 4, "yuv420p", 4.0),
    ("420p10_64x64", 64, 64, 4, "yuv420p10le", 16.0),
    ("444p8_64x64", 64, 64, 4, "yuv444p", 4.0),
    ("444p10_64x64", 64, 64, 4, "yuv444p10le", 16.0),
    ("420p8_192x176", 192, 176, 2, "yuv420p", 6.0),
    ("444p10_171x165", 171, 165, 2, "yuv444p10le", 12.0),  # odd sizes: MS-SSIM padding
    ("420p8_400x384", 400, 384, 2, "yuv420p", 5.0),  # ssim downsample factor 2
]

# (label, metric name, options, which cases): every option that changes a number
METRICS = [
    ("psnr_y", "psnr_y", {}, None),
    ("psnr_u", "psnr_u", {}, None),
    ("psnr_v", "psnr_v", {}, None),
    ("psnr_yuv", "psnr_yuv", {}, None),
    ("psnr_yuv_8_1_1", "psnr_yuv", {"weights": "8:1:1"}, None),
    ("ssim", "ssim", {}, None),
    ("ssim_downsample", "ssim", {"downsample": True}, None),
    ("ms_ssim_3", "ms_ssim", {"scales": 3}, None),
    ("ms_ssim_5", "ms_ssim", {}, {"420p8_192x176", "444p10_171x165", "420p8_400x384"}),
]


def video_pair(case: tuple, folder: Path):
    """The (reference, distorted) pair of one case, as the tests build it."""
    name, width, height, frames, pix_fmt, sigma = case
    ref = make_video(
        folder / f"{name}_ref.y4m", width=width, height=height, frames=frames, pix_fmt=pix_fmt
    )
    dis = add_noise(ref, folder / f"{name}_dis.y4m", sigma=sigma)
    return ref, dis


def main() -> None:
    out: dict = {
        "command": "PYTHONPATH=$PWD python tests/expected/make_pixel_golden.py",
        "made_with": "vqabench e889f54 (piq 0.8.0, numpy float64 PSNR)",
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            ref, dis = video_pair(case, Path(tmp))
            values = {}
            for label, name, options, only in METRICS:
                if only is not None and case[0] not in only:
                    continue
                result = metrics.create(name, **options).compute(ref, dis)
                values[label] = {
                    "metric": name,
                    "options": options,
                    "value": result.value,
                    "per_frame": list(result.per_frame),
                }
            out["cases"][case[0]] = {
                "size": [case[1], case[2]],
                "frames": case[3],
                "pix_fmt": case[4],
                "sigma": case[5],
                "metrics": values,
            }
    path = Path(__file__).with_name("pixel_golden.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
