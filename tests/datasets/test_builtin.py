"""The built-in mini dataset: deterministic, distinct natural content, honest options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vqabench import datasets
from vqabench.datasets import content_hash
from vqabench.errors import ConfigError, DatasetError
from vqabench.io.video import read_all


@pytest.mark.slow
def test_mini_is_deterministic_and_varied(tmp_path, monkeypatch):
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "a"))
    first = datasets.load("mini", frames=4, size=(64, 36), work_dir=tmp_path)
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / "b"))
    second = datasets.load("mini", frames=4, size=(64, 36), work_dir=tmp_path)
    assert len(first) >= 6
    assert [content_hash(s.source.path) for s in first] == [
        content_hash(s.source.path) for s in second
    ]
    lumas = [read_all(s.source).y.astype(float) for s in first]
    for s, y in zip(first, lumas, strict=True):
        assert (s.source.width, s.source.height, s.source.frames) == (64, 36, 4)
        assert y.std() > 5, f"{s.name} is nearly flat"
        assert np.abs(np.diff(y, axis=0)).mean() > 0.2, f"{s.name} does not move"
    means = [y.mean() for y in lumas]
    assert len({round(m) for m in means}) >= 6  # different content, not copies


def test_mini_rejects_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="size='63x36' is not allowed"):
        datasets.load("mini", size=(63, 36), work_dir=tmp_path)
    with pytest.raises(ConfigError, match="frames=500"):
        datasets.load("mini", frames=500, work_dir=tmp_path)


def test_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError, match="did you mean 'mini'"):
        datasets.load("mimi", work_dir=tmp_path)


# --- natural (issue 17.2) ----------------------------------------------------------------

NATURAL = [
    "BigBuckBunny",
    "Bikes",
    "Carphone",
    "Astronaut",
    "Brick",
    "Camera",
    "Chelsea",
    "Clock",
    "Coffee",
    "Coins",
    "Grass",
    "Gravel",
    "Hubble",
    "IHC",
    "Moon",
    "Motorcycle",
    "Page",
    "Retina",
    "Rocket",
    "China",
    "Flower",
    "GraceHopper",
]


def test_natural_items_files_and_licences():
    """Every item names its package, file, licence and origin; the media are the installed
    files (SHA-256), found the way each package itself finds them."""
    import importlib.util

    import matplotlib.cbook

    from vqabench.datasets.builtin import NATURAL_SEQUENCES, _media
    from vqabench.datasets.manifest import load_manifest
    from vqabench.io.hashing import file_sha256

    entries = load_manifest("natural").sequences
    assert [e.name for e in entries] == NATURAL == [i.name for i in NATURAL_SEQUENCES]
    for e, item in zip(entries, NATURAL_SEQUENCES, strict=True):
        assert e.extra["licence"] and e.extra["origin"] and e.extra["package"]
        assert file_sha256(_media(item, "natural")) == e.sha256
    by_file = {e.file.rsplit("/", 1)[-1]: e for e in entries}
    # load_sample_images() returns every .jpg of sklearn/datasets/images (importing sklearn
    # takes seconds, so the folder is listed the same way here)
    images = Path(
        next(iter(importlib.util.find_spec("sklearn").submodule_search_locations)),
        "datasets",
        "images",
    )
    assert sorted(p.name for p in images.glob("*.jpg")) == ["china.jpg", "flower.jpg"]
    readme = (images / "README.txt").read_text()
    assert readme.count("creativecommons.org/licenses/by/2.0") == 2
    assert by_file["china.jpg"].extra["licence"].startswith("CC BY 2.0")
    assert by_file["flower.jpg"].extra["licence"].startswith("CC BY 2.0")
    hopper = _media(NATURAL_SEQUENCES[NATURAL.index("GraceHopper")], "natural")
    assert Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) == hopper
    # licences quoted from the skimage.data docstrings
    import skimage.data

    assert "CC0" in skimage.data.camera.__doc__ and "CC0" in by_file["camera.png"].extra["licence"]
    assert "public domain" in skimage.data.astronaut.__doc__
    assert by_file["astronaut.png"].extra["licence"].startswith("public domain")
    # stated by no package: marked unconfirmed
    for name in ("Bikes", "Carphone", "Moon", "Page", "GraceHopper"):
        assert not entries[NATURAL.index(name)].confirmed("licence"), name


def test_natural_defects_on_every_third_still():
    from vqabench.datasets.builtin import NATURAL_SEQUENCES, _Camera

    stills = [i for i in NATURAL_SEQUENCES if isinstance(i, _Camera)]
    assert len(stills) == 19
    defects = [(s.name, s.defect, s.defect_amount) for i, s in enumerate(stills) if i % 3 == 2]
    assert defects == [
        ("Camera", "noise", 8.0),
        ("Coffee", "under", 0.5),
        ("Gravel", "blur", 1.5),
        ("Moon", "over", 1.5),
        ("Retina", "noise", 5.0),
        ("Flower", "blur", 2.0),
    ]
    assert all(s.defect == "none" for i, s in enumerate(stills) if i % 3 != 2)


def test_natural_is_deterministic_under_its_seed(tmp_path, monkeypatch):
    from vqabench.datasets.builtin import load_natural

    names = ["Carphone", "Astronaut", "Camera"]  # a clip, a plain pan, shake + noise

    def hashes(cache: str, seed: int) -> list[str]:
        monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path / cache))
        seqs = load_natural(frames=4, size=(64, 36), names=names, seed=seed)
        for s in seqs:
            assert (s.source.width, s.source.height, s.source.frames) == (64, 36, 4)
        assert seqs[2].metadata["defect"] == "noise:8"
        return [content_hash(s.source.path) for s in seqs]

    first, again, other = hashes("a", 0), hashes("b", 0), hashes("c", 1)
    assert first == again
    assert other[:2] == first[:2]  # the seed moves only the shake and the noise
    assert other[2] != first[2]


def test_noise_sigma_is_measured_back():
    from vqabench.datasets.builtin import apply_defect

    flat = [np.full((64, 64, 3), 0.5) for _ in range(4)]
    out = apply_defect(flat, "noise", 8.0, np.random.default_rng(3))
    residual = (np.stack(out) - 0.5) * 255.0
    assert residual.std() == pytest.approx(8.0, rel=0.02)  # 49,152 samples: se 0.3 %
    assert abs(residual.mean()) < 0.15
    assert not np.array_equal(out[0], out[1])  # new noise every frame


def test_blur_sigma_is_the_second_moment_of_an_impulse():
    from vqabench.datasets.builtin import apply_defect

    impulse = np.zeros((61, 61, 3))
    impulse[30, 30] = 1.0
    (out,) = apply_defect([impulse], "blur", 2.0, np.random.default_rng(0))
    kernel = out[..., 0] / out[..., 0].sum()
    offsets = np.arange(61) - 30
    var_x = float((kernel.sum(axis=0) * offsets**2).sum())
    assert var_x == pytest.approx(4.0, rel=0.01)
    assert out[..., 0].sum() == pytest.approx(1.0, rel=1e-6)


def test_exposure_gain_on_the_mean_and_clipping():
    from vqabench.datasets.builtin import apply_defect

    ramp = np.linspace(0.0, 1.0, 101)[None, :, None].repeat(3, axis=2)
    (under,) = apply_defect([ramp], "under", 0.5, np.random.default_rng(0))
    assert under.mean() == pytest.approx(0.25)  # mean of the ramp is 0.5
    (over,) = apply_defect([ramp], "over", 2.0, np.random.default_rng(0))
    # hand-derived: k/100 -> k/50 for k = 0..50 (sum 25.5), 1.0 for the 50 values above
    assert over.mean() == pytest.approx((25.5 + 50 * 1.0) / 101)


def test_defect_reaches_the_generated_source():
    """The under-exposed Coffee is its clean animation times 0.5 (no clipping below 1)."""
    from dataclasses import replace

    from vqabench.datasets.builtin import NATURAL_SEQUENCES, _natural_frames

    coffee = NATURAL_SEQUENCES[NATURAL.index("Coffee")]
    image = np.random.default_rng(0).uniform(0.2, 0.8, (90, 160, 3))
    dark = _natural_frames(coffee, image, (64, 36), 3, seed=0)
    clean = _natural_frames(replace(coffee, defect="none"), image, (64, 36), 3, seed=0)
    np.testing.assert_allclose(np.stack(dark), 0.5 * np.stack(clean), atol=1e-12)


def test_camera_path_rotation_zoom_and_shake():
    from dataclasses import replace

    from vqabench.datasets.builtin import NATURAL_SEQUENCES, camera_path, shake_offsets

    still = replace(
        NATURAL_SEQUENCES[NATURAL.index("Brick")],
        pan_px=(0.0, 0.0),
        rotate_deg=0.5,
        zoom=0.01,
        shake_px=0.0,
    )
    maps = camera_path(still, (512, 512), (64, 36), 5, seed=0)
    angles = [np.degrees(np.arctan2(m[1, 0], m[0, 0])) for m in maps]
    scales = [np.hypot(m[0, 0], m[1, 0]) for m in maps]
    np.testing.assert_allclose(np.diff(angles), 0.5)
    np.testing.assert_allclose(np.array(scales[1:]) / scales[:-1], 1 / 1.01)
    # the centre pixel of the output looks at the photo's centre (no pan, no shake)
    centre = maps[2] @ np.array([(64 - 1) / 2, (36 - 1) / 2, 1.0])
    np.testing.assert_allclose(centre[:2], [255.5, 255.5])
    walk = shake_offsets(np.random.default_rng(1), 20000, 1.5)
    assert walk.std(axis=0) == pytest.approx([1.5, 1.5], rel=0.05)
    lag1 = np.corrcoef(walk[1:, 0], walk[:-1, 0])[0, 1]
    assert lag1 == pytest.approx(0.7, abs=0.03)


def test_natural_rejects_bad_options(tmp_path):
    from vqabench.datasets.builtin import apply_defect, load_natural

    with pytest.raises(ConfigError, match="names"):
        load_natural(names=["Lena"])
    with pytest.raises(ConfigError, match="frames=0"):
        datasets.load("natural", frames=0, work_dir=tmp_path)
    with pytest.raises(ConfigError, match="defect='rain'"):
        apply_defect([np.zeros((2, 2, 3))], "rain", 1.0, np.random.default_rng(0))
