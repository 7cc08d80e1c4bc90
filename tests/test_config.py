"""The typed config objects and the checks that need no registry (vqabench/config.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from vqabench.config import (
    DEFAULT_LADDERS,
    CodecSpec,
    MetricSpec,
    compare_configs,
    default_config,
    parse_anchors,
    parse_scalar,
    parse_size,
    positive_int,
)
from vqabench.errors import ConfigError


def test_size():
    assert parse_size("256x144") == (256, 144) and parse_size(" 1920 X 1080 ") == (1920, 1080)
    for bad in ("256*144", "0x144", "256x", "-2x4"):
        with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
            parse_size(bad)


def test_scalars_keep_text_that_is_not_a_plain_number():
    assert [parse_scalar(t) for t in (".264", "32", "-1.5", "1e3", "True", "x264", "+7")] == [
        ".264",
        32,
        -1.5,
        1000.0,
        True,
        "x264",
        7,
    ]


def test_positive_int_and_anchors_name_the_argument():
    assert positive_int("8", "frames") == 8
    with pytest.raises(ConfigError, match="frames='0' is not allowed: .*integer >= 1"):
        positive_int("0", "frames")
    assert parse_anchors("source, reference", "--anchors") == ("source", "reference")
    with pytest.raises(ConfigError, match="--anchors='source,source'"):
        parse_anchors("source,source", "--anchors")


def test_identity_ignores_jobs_and_out_only():
    cfg = default_config()
    assert cfg.identity() == replace(cfg, jobs=7, out="elsewhere").identity()
    assert cfg.identity() != replace(cfg, frames=8).identity()
    assert cfg.identity() != replace(cfg, sequences=("Coffee",)).identity()


def test_identity_of_the_default_config_is_pinned():
    # Computed by vqabench at c973f8f, before [dataset] sequences existed: run directories
    # made then keep their identity, so a re-run reuses them instead of asking for --force.
    # The default ladders changed on purpose since (issue 30, item 1): that config is the
    # current default with the old ladders.
    old_ladders = {
        "x264": (22, 27, 32, 37),
        "x265": (22, 27, 32, 37),
        "vp9": (28, 36, 44, 52),
        "svt-av1": (28, 36, 44, 52),
        "vvenc": (22, 27, 32, 37),
    }
    before = replace(
        default_config(), codecs=tuple(CodecSpec(n, "qp", v) for n, v in old_ladders.items())
    )
    assert before.identity() == ("70e3c9c366012b95afc731768eaa55b36d06d441438d06e55e5ab34c52f8c7ee")
    assert default_config().identity() == (
        "5bf025da38011ea45d53821c811d951de646e10a1f50e9a31b33fdc278515e23"
    )


def test_default_ladders_are_the_calibrated_ones():
    """The ladders of a bare ``vqabench run`` (docs/ladders.md: chosen so that each codec's
    quality range overlaps x264 qp=22..37 on the mini sequences)."""
    assert [c.text for c in default_config().codecs] == [
        "x264:qp=22,27,32,37",
        "x265:qp=22,27,32,37",
        "vp9:qp=11,24,33,42",
        "svt-av1:qp=26,38,47,57",
        "vvenc:qp=20,26,31,37",
    ]
    assert DEFAULT_LADDERS["aom-av1"] == ("qp", (12, 25, 34, 43))


def test_compare_configs_tells_extension_from_change():
    old = default_config()
    more = replace(
        old,
        metrics=old.metrics + (MetricSpec("ms_ssim"),),
        codecs=old.codecs + (CodecSpec("aom-av1", "qp", (30, 40)),),
    )
    change = compare_configs(old, more)
    assert change.kind == "extends"
    assert change.details == ("adds codec aom-av1", "adds metric ms_ssim")
    ladder = replace(old, codecs=(CodecSpec("x264", "qp", (22, 27)),) + old.codecs[1:])
    assert compare_configs(old, ladder).kind == "differs"
    assert "changes codec x264" in compare_configs(old, ladder).details
    assert compare_configs(old, replace(old, jobs=1)).kind == "same"
    subset = compare_configs(old, replace(old, sequences=("Rocket",)))
    assert subset.kind == "differs"
    assert subset.details == ("changes sequences (None -> ('Rocket',))",)


_FIELD_VALUES = {
    "dataset": "other",
    "frames": 3,
    "sequences": "Coffee,Rocket",
    "size": "64x48",
    "fps": "30000/1001",
    "interlaced": "progressive",
    "codecs": None,
    "metrics": None,
    "out": "runs/x",
    "jobs": 97,
    "anchor": "x265",
    "root": "/data",
    "reference": None,
    "anchors": "source,reference",
    "targets_from": None,
}


def test_every_field_reads_the_same_from_its_toml_key_and_its_flag(tmp_path):
    """One table, one path: a field's TOML key and its command-line value give the same
    typed config (the spec fields are covered by the CLI and TOML tests)."""
    from vqabench.config import FIELDS
    from vqabench.experiment import load_config

    assert [f.name for f in FIELDS] == list(_FIELD_VALUES)
    base = {"codecs": ["x264:qp=22,32", "x265:qp=22,32"], "reference": "x264:qp=30,37,42"}
    for f in FIELDS:
        value = _FIELD_VALUES[f.name]
        if value is None:
            continue
        section, key = f.toml
        text = value.split(",") if f.name in ("sequences", "anchors") else value
        toml = tmp_path / f"{f.name}.toml"
        codec = 'codec = "x264"\nqp = [30, 37, 42]\n' if section == "reference" else ""
        toml.write_text(f"[{section}]\n{codec}{key} = {json.dumps(text)}\n")
        from_file = load_config(toml, **base)
        from_flag = load_config(None, **base, **{f.name: str(value)})
        assert from_file == from_flag, f.name
        assert getattr(from_flag, f.name) != getattr(load_config(None, **base), f.name)


def test_a_bad_value_names_the_flag_or_the_key(tmp_path):
    from vqabench.experiment import load_config

    with pytest.raises(ConfigError, match="^--frames='0' is not allowed"):
        load_config(None, frames="0")
    (tmp_path / "c.toml").write_text("[dataset]\nframes = 0\n")
    with pytest.raises(ConfigError, match="^dataset.frames=0 is not allowed"):
        load_config(tmp_path / "c.toml")
    with pytest.raises(TypeError, match=r"unknown override\(s\) \['frame'\]"):
        load_config(None, frame=3)
