"""The one file-name sanitiser and the file-or-folder rule (vqabench/io/names.py)."""

from __future__ import annotations

import pytest

from vqabench.codecs import RatePoint
from vqabench.codecs.external import import_stem
from vqabench.io.names import safe_name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x264:qp=37", "x264_qp_37"),
        ("aom-av1", "aom-av1"),
        ("Big Buck/Bunny", "Big_Buck_Bunny"),
        ("../etc", ".._etc"),
        ("a::b", "a__b"),  # one for one: no two labels collapse into one name
        ("Straße_1.5", "Straße_1.5"),
        ("", ""),
    ],
)
def test_safe_name(text, expected):
    assert safe_name(text) == expected
    assert len(safe_name(text)) == len(text)


def test_external_import_folders_use_the_same_names():
    assert import_stem(RatePoint("q", 0.5)) == safe_name("q0.5") == "q0.5"


def test_file_in_takes_the_file_or_the_folder_holding_it(tmp_path):
    from vqabench.errors import DatasetError
    from vqabench.io.names import file_in

    (tmp_path / "results.csv").write_text("x\n")
    assert file_in(tmp_path, "results.csv", what="results file ", hint="h") == (
        tmp_path / "results.csv"
    )
    assert file_in(tmp_path / "results.csv", "other.csv", what="", hint="") == (
        tmp_path / "results.csv"
    )
    with pytest.raises(
        DatasetError,
        match=r"^manifest='.*manifest\.csv' does not exist; "
        r"make one$",
    ):
        file_in(tmp_path, "manifest.csv", what="manifest=", hint="make one")
