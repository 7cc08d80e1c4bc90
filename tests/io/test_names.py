"""The one file-name sanitiser (vqabench/io/names.py)."""

from __future__ import annotations

import pytest

from vqabench.codecs import RatePoint
from vqabench.codecs.external import import_stem
from vqabench.io.names import safe_name


@pytest.mark.parametrize("text, expected", [
    ("x264:qp=37", "x264_qp_37"),
    ("aom-av1", "aom-av1"),
    ("Big Buck/Bunny", "Big_Buck_Bunny"),
    ("../etc", ".._etc"),
    ("a::b", "a__b"),          # one for one: no two labels collapse into one name
    ("Straße_1.5", "Straße_1.5"),
    ("", ""),
])
def test_safe_name(text, expected):
    assert safe_name(text) == expected
    assert len(safe_name(text)) == len(text)


def test_external_import_folders_use_the_same_names():
    assert import_stem(RatePoint("q", 0.5)) == safe_name("q0.5") == "q0.5"
