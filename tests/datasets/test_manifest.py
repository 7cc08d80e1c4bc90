"""Tests for vqabench.datasets.manifest: every shipped manifest loads and is the loaders'
source of truth; unconfirmed facts stay marked."""

from __future__ import annotations

import pytest

from vqabench.datasets import builtin, named
from vqabench.datasets.manifest import (
    load_manifest,
    manifest_names,
    parse_manifest,
    raw_size_bytes,
)
from vqabench.errors import DatasetError, UnknownNameError

NAMED = ["bvi-dvc", "bvi-ugc", "hevc-ctc", "mcl-jcv", "uvg", "youtube-ugc"]


def test_every_dataset_has_a_manifest():
    assert manifest_names() == sorted([*NAMED, "mini", "natural"])


@pytest.mark.parametrize("name", [*NAMED, "mini", "natural"])
def test_manifest_loads_and_is_consistent(name):
    m = load_manifest(name)
    assert m.name == name and m.source and m.licence and m.protocols
    for p in m.protocols:
        assert p["frames"] == "all" or p["frames"] > 0
    for e in m.sequences:  # every listed file follows the dataset's own naming pattern
        if m.pattern is not None:
            for file in (e.file, *e.aliases):
                assert m.pattern.fullmatch(file), file
        assert {"width", "height", "bit_depth", "chroma"} <= set(e.facts)
    assert m.enumerated == bool(m.sequences)


def test_published_facts():
    """Values from the sources cited in the manifests (see their comments)."""
    uvg = load_manifest("uvg")
    assert [e.name for e in uvg.sequences] == [
        "Beauty",
        "Bosphorus",
        "HoneyBee",
        "Jockey",
        "ReadySteadyGo",
        "ShakeNDry",
        "YachtRide",
    ]
    assert uvg.sequence("ShakeNDry").facts["frames"] == 300
    assert uvg.sequence("Jockey").facts["frames"] == 600
    assert {p["name"]: p.get("intra_period") for p in uvg.protocols}["first-96-ip32"] == 32
    mcl = load_manifest("mcl-jcv")
    assert len(mcl.sequences) == 30
    assert mcl.sequence("videoSRC17").facts["fps"] == 24
    assert mcl.sequence("videoSRC17").facts["frames"] == 120
    ctc = load_manifest("hevc-ctc")
    classes = {
        c: sorted(e.name for e in ctc.sequences if e.facts["class"] == c and not e.optional)
        for c in "BCDEF"
    }
    assert classes["B"] == ["BQTerrace", "BasketballDrive", "Cactus", "Kimono1", "ParkScene"]
    assert len(classes["C"]) == len(classes["D"]) == 4 and len(classes["E"]) == 3
    # an 8-bit 4:2:0 raw file: width * height * 1.5 bytes per frame
    assert raw_size_bytes(ctc.sequence("BQSquare")) == 416 * 240 * 3 // 2 * 600


def test_unconfirmed_facts_are_marked_not_guessed():
    ctc = load_manifest("hevc-ctc")
    f = ctc.sequence("ChinaSpeed")
    assert not f.confirmed("frames") and ctc.sequence("Cactus").confirmed("frames")
    assert raw_size_bytes(f) is None  # no size check from unconfirmed facts
    assert "licence" in ctc.unconfirmed
    dvc = load_manifest("bvi-dvc")
    assert {"naming", "frames"} <= dvc.unconfirmed
    ugc = parse_manifest(
        'name = "x"\ntitle = "X"\nsource = "s"\nlicence = "l"\n'
        'unconfirmed = ["defaults"]\n[defaults]\nwidth = 64\nheight = 64\n'
        '[[sequences]]\nname = "a"\nfile = "a.yuv"\nheight = 32\n'
    )
    (a,) = ugc.sequences
    assert not a.confirmed("width") and a.confirmed("height")


def test_loaders_read_the_manifests():
    ctc = load_manifest("hevc-ctc")
    for e in ctc.sequences:
        base = e.file.split("_", 1)[0]
        if base in named.HEVC_CTC_CLASSES:
            assert named.HEVC_CTC_CLASSES[base] == e.facts["class"]
        else:  # RaceHorses: one name, two classes by width
            assert named._BY_WIDTH[base][e.facts["width"]] == e.facts["class"]
    assert named.BVI_DVC_CLASSES == load_manifest("bvi-dvc").data["classes"]
    for name, conv in named.CONVENTIONS.items():
        assert conv.pattern.pattern == load_manifest(name).naming["pattern"]
    mini = load_manifest("mini")
    assert [s.name for s in builtin.MINI_SEQUENCES] == [e.name for e in mini.sequences]
    assert builtin.MINI_SEQUENCES[0].start == mini.sequences[0].extra["start"] == 24


def test_shipped_mini_media_match_their_checksums():
    import hashlib

    for item in builtin.MINI_SEQUENCES:
        path = builtin._package_file(item.package, *item.file.split("/"))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item.sha256, item.name


def test_malformed_manifests_are_refused():
    with pytest.raises(UnknownNameError, match="uvg"):
        load_manifest("uvgg")
    with pytest.raises(DatasetError, match="licence"):
        parse_manifest('name = "x"\ntitle = "X"\nsource = "s"\n')
    with pytest.raises(DatasetError, match="duplicate"):
        parse_manifest(
            'name = "x"\ntitle = "X"\nsource = "s"\nlicence = "l"\n'
            '[[sequences]]\nname = "a"\nfile = "a.yuv"\n'
            '[[sequences]]\nname = "a"\nfile = "b.yuv"\n'
        )
    with pytest.raises(DatasetError, match="frames"):
        parse_manifest(
            'name = "x"\ntitle = "X"\nsource = "s"\nlicence = "l"\n'
            '[[protocols]]\nname = "p"\nframes = 0\n'
        )
