"""The temporal alignment probe: probe positions by hand, lag PSNRs against scikit-image,
and a leading duplicate / dropped frame caught on moving content but not on aligned or
static content."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from tests.conftest import moving_texture
from vqabench.errors import AlignmentError
from vqabench.metrics.functional.alignment import AlignmentProbe, lag_psnrs, probe_indices


def _luma(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [np.rint(16 + 219 * f.mean(axis=2)).astype(np.uint8) for f in frames]


@pytest.fixture(scope="module")
def moving():
    return _luma(moving_texture(48, 32, 12, speed_px=3.0))


def test_probe_indices_by_hand():
    # 1 + round(k * (frames - 2) / (count - 1)), k = 0..4: 30/4 = 7.5 rounds to 8, 22.5 to 22
    assert probe_indices(32) == (1, 9, 16, 23, 31)
    assert probe_indices(3) == (1, 2)
    assert probe_indices(2) == (1,)
    assert probe_indices(1) == () and probe_indices(0) == ()
    assert probe_indices(100, count=1) == (50,)


def test_lag_psnrs_equal_skimage(moving):
    rng = np.random.default_rng(0)
    dis = [np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8) for f in moving]
    got = lag_psnrs(moving[3], moving[4], dis[3], dis[4], bit_depth=8)

    def sk(a, b):
        return peak_signal_noise_ratio(a, b, data_range=255)

    assert got == pytest.approx(
        {
            "aligned": sk(moving[4], dis[4]),
            "aligned_prev": sk(moving[3], dis[3]),
            "late": sk(moving[3], dis[4]),
            "early": sk(moving[4], dis[3]),
        },
        rel=1e-12,
    )


def _probe(ref, dis):
    probe = AlignmentProbe(len(ref), 8)
    for i, (r, d) in enumerate(zip(ref, dis, strict=True)):
        probe.update(i, r, d)
    return probe


def test_leading_duplicate_is_late(moving):
    late = [moving[0], *moving[:-1]]
    probe = _probe(moving, late)
    assert [shift for _, shift, _ in probe.found] == ["late"] * 5
    with pytest.raises(AlignmentError, match=r"one frame late .* at lag \+1, not 0, at 5 of 5"):
        probe.check()


def test_dropped_frame_is_early(moving):
    early = [*moving[1:], moving[-1]]
    with pytest.raises(AlignmentError, match="decoded x is one frame early"):
        _probe(moving, early).check("decoded x")


def test_aligned_and_static_content_pass(moving):
    rng = np.random.default_rng(1)
    noisy = [np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in moving]
    probe = _probe(moving, noisy)
    assert [shift for _, shift, _ in probe.found] == [""] * 5
    probe.check()
    static = [moving[0]] * 12
    _probe(static, [static[0], *static[:-1]]).check()  # a shift of a still image is no shift


def test_one_shifted_probe_of_five_is_not_a_verdict(moving):
    one_swap = list(moving)
    one_swap[9] = moving[8]  # a single repeated frame at probe 9
    probe = _probe(moving, one_swap)
    assert [i for i, shift, _ in probe.found if shift] == [9]
    probe.check()
