"""Options typed from the ``__init__`` declaration (vqabench/options.py).

The expected values are hand-derived from the module's table: each spelling, each type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Never

import pytest

from vqabench import codecs, metrics
from vqabench.errors import ConfigError
from vqabench.options import Range, declaration, parse_options, parse_value


class _Toy:
    def __init__(
        self,
        *,
        flag: bool = False,
        count: Annotated[int, Range(1, 5)] = 3,
        scale: float = 1.0,
        net: Literal["alex", "vgg", "squeeze"] = "alex",
        preset: str | int | None = None,
        name: str = "x",
        extra: list[str] = (),
    ):
        pass


class _Base:
    def __init__(self, *, seed: int = 0):
        pass


class _Forwards(_Base):  # **options go to _Base: its options join the declaration
    def __init__(self, *, net: str = "alex", **options: Any):
        super().__init__(**options)


class _NoOptions:
    def __init__(self) -> None:
        pass


class _Open(_NoOptions):  # nothing above takes **options: the class takes any option
    def __init__(self, *, pooling: str = "mean", **library_options: Any):
        pass


def _one(value: object, name: str = "flag", *, text: bool = False) -> object:
    return parse_options(_Toy, {name: value}, "metric 'toy'", text=text)[name]


@pytest.mark.parametrize(
    "spelling, want",
    [
        ("true", True),
        ("false", False),
        ("yes", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ("1", True),
        ("0", False),
        ("No", False),
        ("OFF", False),
        (" Yes ", True),
    ],
)
def test_every_bool_spelling(spelling, want):
    assert _one(spelling, text=True) is want
    assert _one(spelling) is want  # a TOML string too


def test_toml_bools_and_0_1():
    assert [_one(v) for v in (True, False, 1, 0)] == [True, False, True, False]


@pytest.mark.parametrize("bad", ["maybe", "2", "", "nope", 2, 0.5, None])
def test_anything_else_is_refused_by_name(bad):
    with pytest.raises(ConfigError) as err:
        _one(bad, text=isinstance(bad, str))
    assert str(err.value) == (
        f"metric 'toy': flag={bad!r} is not allowed: expected true/false/yes/no/on/off/1/0"
    )


def test_int_with_range():
    assert _one("5", "count", text=True) == 5 and _one(4.0, "count") == 4
    assert type(_one(4.0, "count")) is int
    for bad in ("6", "0", 9, "2.5", "x", True):
        with pytest.raises(
            ConfigError,
            match=r"count=.* is not allowed: expected an integer "
            r"in 1\.\.5",
        ):
            _one(bad, "count", text=isinstance(bad, str))


def test_float_keeps_an_int_an_int():  # stored configs and job keys keep what was written
    assert type(_one("2", "scale", text=True)) is int and _one(2, "scale") == 2
    assert _one("0.25", "scale", text=True) == 0.25 and _one("1e-3", "scale", text=True) == 1e-3
    for bad in ("abc", "nan", True, "", [1]):
        with pytest.raises(ConfigError, match="scale=.* expected a number"):
            _one(bad, "scale", text=isinstance(bad, str))


def test_literal_with_close_match():
    assert _one("vgg", "net", text=True) == "vgg"
    with pytest.raises(ConfigError) as err:
        _one("vggg", "net", text=True)
    assert str(err.value) == (
        "metric 'toy': net='vggg' is not allowed: expected "
        "alex | vgg | squeeze; did you mean 'vgg'?"
    )


def test_union_and_none():
    assert _one("8", "preset", text=True) == 8  # command-line text: numbers first
    assert _one("fast", "preset", text=True) == "fast"
    assert _one("none", "preset", text=True) is None and _one("NULL", "preset", text=True) is None
    assert _one("8", "preset") == "8"  # a TOML string stays the string it is
    with pytest.raises(ConfigError, match="expected none or an integer or a text"):
        _one(True, "preset")


def test_text_and_structures():
    assert _one("12", "name", text=True) == "12" and _one(12, "name") == 12
    with pytest.raises(ConfigError, match="name=True .* expected a text"):
        _one(True, "name")
    assert _one(["-x", "1"], "extra") == ["-x", "1"]  # left to the class


def test_unknown_name_lists_options_with_a_close_match():
    with pytest.raises(ConfigError) as err:
        parse_options(_Toy, {"cnt": 1}, "metric 'toy'")
    assert str(err.value) == (
        "metric 'toy' has no option 'cnt'; did you mean 'count'? "
        "(options: flag, count, scale, net, preset, name, extra)"
    )
    with pytest.raises(ConfigError, match=r"has no option 'zzz' \(options: flag,"):
        parse_options(_Toy, {"zzz": 1}, "metric 'toy'")


def test_kwargs_forwarded_up_the_chain_or_open():
    assert list(declaration(_Forwards).options) == ["net", "seed"]
    assert not declaration(_Forwards).open
    assert parse_options(_Forwards, {"seed": "7"}, "x", text=True) == {"seed": 7}
    assert declaration(_Open).open and list(declaration(_Open).options) == ["pooling"]
    assert parse_options(_Open, {"k": "4", "j": "none"}, "x", text=True) == {"k": 4, "j": None}
    with pytest.raises(ConfigError, match=r"has no option 'x' \(options: none\)"):
        parse_options(_NoOptions, {"x": 1}, "metric 'n'")


def test_parse_value_alone():
    assert parse_value(bool, "off", "downsample") is False
    with pytest.raises(ConfigError, match="^downsample='maybe' is not allowed"):
        parse_value(bool, "maybe", "downsample")


def test_real_classes():
    assert metrics.create("ssim", downsample="no").downsample is False
    with pytest.raises(ConfigError) as err:
        metrics.create("vmaf", modle="x")
    assert str(err.value) == (
        "metric 'vmaf' has no option 'modle'; did you mean 'model'? "
        "(options: model, pooling, n_threads)"
    )
    assert codecs.create("x264", gop="-1", threads="0").options["gop"] == -1
    assert list(declaration(metrics.get_class("lpips")).options)[:2] == [
        "net",
        "pretrained_backbone",
    ]


class _Refuses:
    def __init__(self, **options: Never):
        pass


class _OpenOverRefuses(_Refuses):
    def __init__(self, **library_options: Any):
        pass


def test_never_kwargs_take_no_options():
    assert not declaration(_Refuses).open and not declaration(_Refuses).options
    assert declaration(_OpenOverRefuses).open
    assert not declaration(metrics.get_class("consistency_pixel")).open
    from vqabench.metrics.perceptual import PyiqaMetric  # pyiqa:NAME (pyiqa's own options)

    assert declaration(PyiqaMetric).open
